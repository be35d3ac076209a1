// Pruning a trained model end to end: the spec without batch norm initialized from
// the model, channels pruned (train/prune.h), then fine-tuned and exported.
//
//   TML_ASSIGN_OR_RETURN(PruneRun r, PruneAndFineTune(spec, model, train, &val, 0.5, o, {}));
//   SaveOnnx(r.graph, "small.onnx");  SpecToYaml(r.pruned.spec);
#pragma once

#include "train/export.h"
#include "train/prune.h"
#include "train/trainer.h"

namespace tml {

struct PruneRun {
  ModelSpec base;                               // the spec without batch norm
  std::vector<std::vector<float>> base_params;  // taken from the model
  Pruned pruned;                                // before fine-tuning
  TrainResult tuned;
  Graph graph;  // the fine-tuned pruned model
};

// `o.init` is set here; `val` may be null.
Result<PruneRun> PruneAndFineTune(const ModelSpec& spec, const Graph& model,
                                  const LabeledData& train, const LabeledData* val, double ratio,
                                  TrainOptions o, const TrainCallbacks& cb);

}  // namespace tml
