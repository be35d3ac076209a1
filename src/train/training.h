// The train operation as one component: the CLI's `train`, the pipeline's train
// step and the dashboard's training jobs are thin adapters over Train(). It loads
// the spec and the dataset version, starts from a pretrained model when asked
// (init, freeze), trains, writes the float model into the workspace by content and
// keeps the run record (running, then done or failed) with one JSON form of the
// configuration and the metrics.
//
//   TrainRequest q;  q.spec = "examples/models/tiny_cnn.yaml";  q.data = "fashion@3";
//   TML_ASSIGN_OR_RETURN(TrainOutcome r, Train(ws, q, progress));
//   // r.model_path: WORKSPACE/artifacts/<hash>.onnx; r.run_id: the run record
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/progress.h"
#include "data/dataset_store.h"
#include "graph/graph.h"
#include "train/export.h"
#include "train/trainer.h"

namespace tml {

struct TrainRequest {
  std::string spec;      // model spec file (YAML)
  std::string data;      // DATASET[@VERSION]: its train split trains, its val split validates
  TrainOptions options;  // epochs, batch, lr, ...; augment, init and noise_bank are set here
  std::string augment;   // augmentation list (ParseAugmentation)
  std::string init;      // transfer learning: a float model to start from ("" = fresh)
  std::string noise;     // background clips for augment background=: DATASET[@V][@SPLIT]
};

struct TrainOutcome {
  int64_t run_id = 0;
  std::string model_path;    // the float model (ONNX), named by its content
  std::string model_sha256;  // of that file: the run record's output
  Graph graph;               // the same model
  TrainResult result;
  InitReport init;         // what `init` copied (empty without init)
  bool validated = false;  // the dataset version has a val split
  nlohmann::json config;   // as recorded in the run record
  nlohmann::json metrics;  // as recorded: epochs, best_epoch, val_acc, train_acc, ...
};

Result<TrainOutcome> Train(Workspace& ws, const TrainRequest& request, Progress& progress);

// Training callbacks that report to `progress`: batches as Advance, epochs as a log
// line and an "epoch" event, cancellation polled every batch.
TrainCallbacks ProgressCallbacks(Progress& progress, int epochs, bool has_val);

// The JSON form of one epoch's metrics (run records, job events, reports).
nlohmann::json EpochJson(const EpochMetrics& m);

}  // namespace tml
