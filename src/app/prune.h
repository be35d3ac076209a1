// The prune operation as one component, behind the CLI's `prune` and the pipeline's
// prune step: structured pruning of a trained model (the output channels and units
// with the smallest L1 norm), fine-tuning on a dataset version, and the MACs, weights
// and accuracy before and after. The pruned model (ONNX) is written into the
// workspace by content, its spec (YAML) beside it.
//
//   PruneRequest q;  q.model = "fm.onnx";  q.spec = "tiny_cnn.yaml";  q.data = "fashion@3";
//   TML_ASSIGN_OR_RETURN(PruneOutcome r, Prune(ws, q, progress));
//   // r.model_path, r.spec_path, r.accuracy_after, r.macs_after
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/dataset_store.h"
#include "graph/graph.h"
#include "train/trainer.h"

namespace tml {

struct PruneRequest {
  std::string model;     // float model trained from `spec`
  std::string spec;      // its model spec (YAML)
  std::string data;      // DATASET[@VERSION]: fine-tune on train, measure on val (else train)
  double ratio = 0.5;    // share of channels removed from each prunable layer
  TrainOptions options;  // fine-tuning: epochs (1), lr, batch, threads; init is set here
};

struct PruneOutcome {
  Graph graph;                       // the fine-tuned pruned model
  std::string model_path;            // WORKSPACE/artifacts/<hash>.onnx
  std::string spec_path;             // WORKSPACE/artifacts/<hash>.yaml: the pruned spec
  std::vector<std::string> changes;  // one line per pruned layer
  TrainResult tuned;                 // fine-tuning epochs
  int64_t macs_before = 0, macs_after = 0, weights_before = 0, weights_after = 0;
  // Accuracy on the measured split: the model, pruned before and after fine-tuning.
  std::string measured_on;  // "val" or "train"
  int64_t measured_samples = 0;
  double accuracy_before = 0, accuracy_pruned = 0, accuracy_after = 0;
};

Result<PruneOutcome> Prune(Workspace& ws, const PruneRequest& request, Progress& progress);

// The one JSON form (--json, the pipeline's pruned model artifacts, the API).
nlohmann::json PruneJson(const PruneRequest& request, const PruneOutcome& r);

}  // namespace tml
