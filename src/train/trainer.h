// Training a model spec with libtorch, behind a header that does not include torch
// (only src/train/torch_trainer.cc does; it compiles slowly).
//
//   TrainOptions o;  o.epochs = 5;
//   TML_ASSIGN_OR_RETURN(TrainResult r, TrainModel(spec, train, &val, o, {}));
//   TML_ASSIGN_OR_RETURN(Graph g, SpecToGraph(spec, r.params));   // export.h
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/loader.h"
#include "train/augment.h"
#include "train/model_spec.h"

namespace tml {

using TrainData = LabeledData;  // data/loader.h

struct TrainOptions {
  int epochs = 10;
  int batch = 64;
  double lr = 1e-3;                 // Adam
  std::string schedule = "cosine";  // constant, cosine, step (x0.1 at 1/2 and 3/4 of the epochs)
  double weight_decay = 0.0;
  uint64_t seed = 1;
  int threads = 0;         // 0: every core
  int patience = 0;        // stop after this many epochs without a better val loss; 0: never
  std::string checkpoint;  // file written after every epoch ("" = none)
  bool resume = false;     // continue from `checkpoint` if it exists
  int64_t max_steps = 0;   // stop after this many steps in total (0: no limit; for tests)
  Augmentation augment;    // applied to every training batch
  LabeledData noise_bank;  // background clips for augment.background (same sample shape)
  // Transfer learning: initial values per parameter (SpecParams order); an empty
  // entry keeps the fresh initialization (see InitFromGraph in export.h).
  std::vector<std::vector<float>> init;
  int freeze = 0;  // the first `freeze` conv / dense layers keep their initial weights
  // Quantization-aware training: weights fake-quantized per output channel
  // (symmetric, +-127, as the quantizer does it) and every layer output per tensor
  // (asymmetric int8, ranges tracked by a moving average), straight-through gradients.
  bool fake_quant = false;
};

struct EpochMetrics {
  int epoch = 0;  // 1-based
  double lr = 0, train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0, seconds = 0;
};

struct TrainResult {
  std::vector<std::vector<float>> params;  // the best epoch's, in SpecParams order
  std::vector<EpochMetrics> epochs;
  int best_epoch = 0;
  double seconds = 0, steps_per_second = 0;
  int threads = 0;
  bool stopped_early = false;
};

struct TrainCallbacks {
  std::function<void(int epoch, int64_t step, int64_t steps, double loss, double acc)> step;
  std::function<void(const EpochMetrics&)> epoch;
  std::function<bool()> cancelled;  // polled every batch: true stops with "cancelled"
};

// val may be null (then the best epoch is the last).
Result<TrainResult> TrainModel(const ModelSpec& spec, const TrainData& train, const TrainData* val,
                               const TrainOptions& options, const TrainCallbacks& callbacks);

// Fraction of correct argmax predictions and mean cross-entropy of `params` on data,
// with the torch model (float); used to check an export against its training.
Result<std::pair<double, double>> EvaluateParams(const ModelSpec& spec,
                                                 const std::vector<std::vector<float>>& params,
                                                 const TrainData& data);

}  // namespace tml
