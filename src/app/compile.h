// The compile and profile operations as components, behind the CLI's `compile` and
// `profile`, the pipeline's compile step and the dashboard's compile jobs.
// Compile generates the C for a model, builds it for the target (a host program or
// a firmware ELF) and, with `profile`, measures that build: the static profile, and
// on an emulated board instructions per layer, flash and RAM from one code
// generation (the probed twin is linked from the same sources).
//
//   CompileRequest q;  q.model = "fm_int8.onnx";  q.target = "cortex-m4";  q.out_dir = "out";
//   q.profile = true;
//   TML_ASSIGN_OR_RETURN(CompileOutcome r, Compile(q, progress));
//   // r.build.executable, r.profile->device->instructions
#pragma once

#include <optional>
#include <string>

#include "core/progress.h"
#include "graph/graph.h"
#include "targets/mcu.h"
#include "targets/profile.h"

namespace tml {

struct CompileRequest {
  std::string model;             // model file (.onnx or .tflite)
  std::string target = "host";   // host or a target profile (cortex-m4, ...)
  std::string out_dir;           // where the code and the executable go
  std::string prefix = "model";  // C prefix and file stem of the generated API
  bool profile = false;          // also measure the build
};

struct CompileOutcome {
  Graph graph;
  TargetBuild build;
  std::optional<ProfileReport> profile;  // with request.profile
};

Result<CompileOutcome> Compile(const CompileRequest& request, Progress& progress);

// The profile of a model on a target without keeping a build: static on the host,
// measured on an emulated board (in a scratch directory).
Result<ProfileReport> Profile(const std::string& model, const std::string& target,
                              Progress& progress);

}  // namespace tml
