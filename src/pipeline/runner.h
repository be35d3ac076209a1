// Runs a pipeline file step by step with a step cache: a step's key is the SHA-256 of
// its component, its parameters with references resolved, the contents of the files
// it reads, and the tool version. A step whose key ran before (and whose output
// files still exist) is not run again; changing a step re-runs it and, because its
// outputs change, whatever reads them. Every step records its artifacts with their
// parents (lineage); the run is recorded as a "pipeline" run with an HTML report.
//
//   TML_ASSIGN_OR_RETURN(PipelineSpec p, LoadPipeline("examples/fashion-mnist.yaml"));
//   TML_ASSIGN_OR_RETURN(PipelineRun r, RunPipeline(p, ws, {}));
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset_store.h"
#include "pipeline/outcome.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/sweep.h"

namespace tml {

struct RunOptions {
  std::function<void(const std::string& line)> log;  // progress lines
  // Structured progress: {"type": "step", "index", "of", "step", "component", "state":
  // running | cached | done} and the steps' own events ({"type": "epoch", ...}).
  std::function<void(const nlohmann::json& event)> event;
  bool report = true;  // write the HTML report
  // Polled between steps and inside long steps (every training batch): true stops
  // the run with the error "cancelled".
  std::function<bool()> cancelled;
};

struct PipelineRun {
  int64_t run_id = 0;  // the "pipeline" run record
  std::vector<StepOutcome> steps;
  std::vector<SweepRow> sweep;  // with a sweep block
  std::string report;           // the HTML report's path
};

Result<PipelineRun> RunPipeline(const PipelineSpec& p, Workspace& ws, const RunOptions& opts);
// {"run", "report", "steps": [{step, component, cached, seconds, outputs, artifacts}],
// "sweep": rows (with a sweep)}: what `run --json` prints and a job's result.
nlohmann::json PipelineRunJson(const PipelineRun& r, const PipelineSpec& p);

}  // namespace tml
