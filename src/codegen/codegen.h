// C code generator: a prepared Graph -> self-contained C99 sources.
//
//   CodegenOptions opt;                       // prefix "model"
//   TML_ASSIGN_OR_RETURN(CodegenResult r, GenerateC(graph, "out/", opt));
//   // out/model.h, out/model.c, out/kernels/{tml_kernels.h, conv.c, ...}
//
// The generated code has no malloc and no static constructors; it needs libc
// only for <stdint.h>/<stddef.h>, and <math.h> (libm) only for float ops.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "prepare/planner.h"

namespace tml {

struct CodegenOptions {
  std::string prefix = "model";    // C identifier prefix and file stem
  bool reference_kernels = false;  // portable reference kernels only (benchmarks the speed-up)
};

struct CodegenResult {
  std::vector<std::string> files;    // written paths
  std::vector<std::string> sources;  // C files to compile (model.c + kernels)
  std::string include_dir;           // directory with the kernel headers
  MemoryPlan plan;
  int64_t weight_bytes = 0;
  int64_t scratch_bytes = 0;  // static kernel scratch outside the arena
};

Result<CodegenResult> GenerateC(const Graph& g, const std::string& out_dir,
                                const CodegenOptions& opt = {});

// Directory holding runtime/ (sources of the device kernels and harnesses).
std::string RuntimeDir();

}  // namespace tml
