#include "app/compile.h"

#include <fmt/format.h>

#include "formats/import.h"

namespace tml {

Result<CompileOutcome> Compile(const CompileRequest& q, Progress& progress) {
  TML_RETURN_IF_ERROR(CheckTarget(q.target));
  if (q.out_dir.empty()) return Status::Error("compile needs an output directory");
  CompileOutcome r;
  TML_ASSIGN_OR_RETURN(r.graph, LoadModel(q.model));
  CodegenOptions opt;
  opt.prefix = q.prefix;
  progress.Log(fmt::format("generating C for {} and building it for {}", q.model, q.target));
  TML_ASSIGN_OR_RETURN(r.build, BuildForTarget(r.graph, q.target, q.out_dir, opt));
  if (!q.profile) return r;
  TML_ASSIGN_OR_RETURN(r.profile, ProfileGraph(r.graph));
  if (q.target != "host") {
    progress.Log(fmt::format("measuring the firmware on the emulated {}", q.target));
    TML_ASSIGN_OR_RETURN(r.profile->device, MeasureFirmware(r.graph, r.build));
  }
  return r;
}

Result<ProfileReport> Profile(const std::string& model, const std::string& target,
                              Progress& progress) {
  TML_RETURN_IF_ERROR(CheckTarget(target));
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(model));
  if (target != "host") progress.Log(fmt::format("measuring {} on the emulated {}", model, target));
  return ProfileGraphOnTarget(g, target);
}

}  // namespace tml
