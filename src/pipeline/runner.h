// Runs a pipeline file step by step with a step cache: a step's key is the SHA-256 of
// its component, its parameters with references resolved, the contents of the files
// it reads, and the tool version. A step whose key ran before (and whose output
// files still exist) is not run again; changing a step re-runs it and, because its
// outputs change, whatever reads them.
//
//   TML_ASSIGN_OR_RETURN(PipelineSpec p, LoadPipeline("examples/fashion-mnist.yaml"));
//   TML_ASSIGN_OR_RETURN(auto steps, RunPipeline(p, ws, {}));
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/dataset_store.h"
#include "pipeline/pipeline_spec.h"

namespace tml {

struct StepOutcome {
  std::string step, component, key;
  bool cached = false;
  double seconds = 0;
  std::map<std::string, std::string> outputs;
};

struct RunOptions {
  std::function<void(const std::string& line)> log;  // progress lines
};

Result<std::vector<StepOutcome>> RunPipeline(const PipelineSpec& p, Workspace& ws,
                                             const RunOptions& opts);

}  // namespace tml
