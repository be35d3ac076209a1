// The host target: generated C compiled with the system C compiler and run as
// a process, fed through files. The same path a device takes, minus the board.
//
//   TML_ASSIGN_OR_RETURN(HostBuild b, BuildForHost(graph, "out/"));
//   TML_ASSIGN_OR_RETURN(HostRun r, RunOnHost(b, input_bytes, /*trace=*/false));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/codegen.h"
#include "graph/graph.h"

namespace tml {

// Generated code built for one target: a host executable, or a firmware ELF
// that QEMU runs.
struct TargetBuild {
  std::string target = "host";
  std::string dir;
  std::string executable;    // host program or firmware ELF
  std::string qemu_machine;  // set for emulated boards
  CodegenResult code;
  CodegenOptions options;  // what the code was generated with
  bool profiling = false;  // built with the per-layer probes (firmware)
};

// Generates C into dir and compiles it with $CC (default cc) and the harness.
Result<TargetBuild> BuildForHost(const Graph& g, const std::string& dir,
                                 const CodegenOptions& opt = {});

struct HostRun {
  std::vector<uint8_t> outputs;  // all samples, all outputs in order
  std::vector<uint8_t> trace;    // all samples, every layer's first output
};

// inputs: `samples` samples back to back.
Result<HostRun> RunOnHost(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                          bool trace);

}  // namespace tml
