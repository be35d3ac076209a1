// The evaluate operation as one component, behind the CLI's `evaluate` and the
// pipeline's evaluate step: a classifier's accuracy, per-class precision and recall
// and confusion matrix on a dataset split, by the host reference interpreter and,
// for a device target, by the generated firmware on the emulated board. On a device
// every sample's output bytes are compared with the host's, so "equal to the host"
// means equal predictions and equal scores, and a difference names its first sample.
//
//   EvaluateRequest q;  q.model = "fm_int8.onnx";  q.data = "fashion@3@test";
//   q.target = "cortex-m4";  q.samples = 500;
//   TML_ASSIGN_OR_RETURN(EvaluateOutcome r, Evaluate(ws, q, progress));
//   if (!r.equal_to_host) ... r.first_difference ...
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/dataset_store.h"
#include "interp/evaluate.h"

namespace tml {

struct EvaluateRequest {
  std::string model;            // model file
  std::string data;             // DATASET[@VERSION][@SPLIT]; the test split by default
  int64_t samples = 0;          // 0: the whole split; else this many, spread evenly over it
  std::string target = "host";  // or an emulated board (targets/*.yaml)
  std::string work_dir;         // keep the firmware here ("" = a temporary directory)
  int threads = 0;              // host interpreter threads (0: every core)
};

struct EvaluateOutcome {
  EvalResult result;  // on the target (for host: the reference interpreter)
  EvalResult host;    // the reference interpreter
  std::vector<std::string> classes;
  std::string firmware;       // the ELF that ran (device targets)
  bool equal_to_host = true;  // every sample's output bytes equal the host's
  int64_t first_differing = -1;
  std::string first_difference;  // "sample 17 (label 3): output element 4 is ..."
};

Result<EvaluateOutcome> Evaluate(Workspace& ws, const EvaluateRequest& request, Progress& progress);

// The first sample whose output bytes differ between two runs of a model with output
// tensor `out` (-1: none), and what differs there.
int64_t FirstDifferingSample(const Tensor& out, const LabeledData& data, const EvalResult& host,
                             const EvalResult& device, const std::string& target,
                             std::string* what);

// The one JSON form of an evaluation (--json, pipeline artifacts, the API).
nlohmann::json EvaluationJson(const EvaluateRequest& request, const EvaluateOutcome& r);

}  // namespace tml
