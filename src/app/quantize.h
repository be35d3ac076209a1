// The quantize operation as one component, behind the CLI's `quantize` and the
// pipeline's quantize step: post-training int8 quantization calibrated on a dataset
// split, the per-layer SQNR report, optionally float and int8 accuracy on a test split
// and quantization-aware fine-tuning when the accuracy drop is too large. The int8
// model is written into the workspace by content.
//
//   QuantizeRequest q;  q.model = "fm.onnx";  q.calibration = "fashion@3";
//   TML_ASSIGN_OR_RETURN(QuantizeOutcome r, Quantize(ws, q, progress));
//   // r.model_path, r.layers (SQNR), r.float_accuracy / r.int8_accuracy with q.eval
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/dataset_store.h"
#include "graph/graph.h"
#include "squeeze/report.h"

namespace tml {

struct QuantizeRequest {
  std::string model;              // float model file
  std::string calibration;        // DATASET[@VERSION][@SPLIT]; the train split by default
  std::string method = "minmax";  // minmax, percentile, mse
  double percentile = 99.99;      // kept share of each tail for percentile
  int64_t samples = 200;          // calibration samples, spread over the split
  int64_t report_samples = 50;    // samples for the per-layer SQNR report
  bool float_io = false;          // keep float input and output
  std::string eval;               // also measure float and int8 accuracy here ("" = no)
  // Quantization-aware training when the drop measured on `eval` exceeds qat_threshold
  // points: the spec the float model was trained from ("" = never).
  std::string qat;
  double qat_threshold = 0.5, qat_lr = 1e-4;
  int qat_epochs = 1;
  int threads = 0;  // evaluation and training threads (0: every core)
};

struct QuantizeOutcome {
  Graph graph;             // the int8 model
  std::string model_path;  // WORKSPACE/artifacts/<hash>.onnx
  int64_t calibration_samples = 0;
  std::vector<LayerSqnrRow> layers;  // per-layer SQNR (+inf when a layer is exact)
  std::optional<double> float_accuracy, int8_accuracy, qat_int8_accuracy;
  bool qat_kept = false;  // the quantization-aware model was better and is the result
};

Result<QuantizeOutcome> Quantize(Workspace& ws, const QuantizeRequest& request, Progress& progress);

// The one JSON form (--json, the pipeline's int8 model artifacts, the API): an exact
// layer's SQNR is null (JSON has no infinity).
nlohmann::json QuantizationJson(const QuantizeRequest& request, const QuantizeOutcome& r);

}  // namespace tml
