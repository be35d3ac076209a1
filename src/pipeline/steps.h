// The pipeline components' work: each takes its parameters (references resolved)
// and returns its named outputs plus the artifacts it made, with their parents,
// so lineage and reports read from the database what every step produced.
//
//   StepContext ctx{ws, params, key, inputs, log};
//   TML_ASSIGN_OR_RETURN(StepResult r, RunStep("quantize", ctx));
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset_store.h"
#include "pipeline/pipeline_spec.h"

namespace tml {

struct StepContext {
  Workspace& ws;
  const StepParams& params;  // references resolved
  std::string key;           // the step's cache key
  // Parameter -> ids of the artifacts it names (earlier outputs, input files).
  std::map<std::string, std::vector<std::string>> inputs;
  std::function<void(const std::string& line)> log;
  std::function<void(const nlohmann::json& event)> event;  // structured progress (epochs)
  std::function<bool()> cancelled;                         // see RunOptions::cancelled
  std::vector<std::string> AllInputs() const;
};

struct StepResult {
  std::map<std::string, std::string> outputs;      // output name -> value
  std::map<std::string, std::string> artifact_of;  // output name -> artifact id
  std::vector<ArtifactRecord> artifacts;           // to record, parents first
};

Result<StepResult> RunStep(const std::string& component, StepContext& ctx);

// "file:<first 32 hex of the SHA-256>" of a file's contents.
Result<std::string> FileArtifactId(const std::string& path);

}  // namespace tml
