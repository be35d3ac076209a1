// Classification metrics of a model (float or int8) on labeled data, computed by the
// reference interpreter: for an int8 model the host figure is the device figure.
//
//   TML_ASSIGN_OR_RETURN(EvalResult r, EvaluateClassifier(graph, data, {}));
//   r.accuracy, r.confusion[true_class][predicted_class]
#pragma once

#include <string>
#include <vector>

#include "data/loader.h"
#include "graph/graph.h"

namespace tml {

struct EvalResult {
  int64_t count = 0;
  double accuracy = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  std::vector<double> precision, recall;        // per class (0 when undefined)
  double seconds = 0;
  int threads = 1;
  // The top score as a device reports it (dequantized: TopConfidence), over the samples:
  // the reference a fleet's live answers are compared with (rollouts, drift).
  double confidence_mean = 0;
  std::vector<int64_t> confidence_bins;  // core/distribution.h
  std::vector<int64_t> predicted;        // samples per predicted class
  // Every sample's output bytes in sample order (EvalOptions::keep_outputs; always on a
  // device), so two runners can be compared sample by sample, not only by their counts.
  std::vector<uint8_t> outputs;
};

struct EvalOptions {
  int threads = 0;  // 0: every core
  bool keep_outputs = false;
};

// The graph has one input (each sample's shape, batch 1) and one output of
// `classes` scores. Float inputs are fed as is; int8 inputs are quantized with the
// input's scale and zero point (round half away from zero, saturate).
Result<EvalResult> EvaluateClassifier(const Graph& g, const LabeledData& data, int classes,
                                      const EvalOptions& opts);

// The pieces, for other runners of the same model (generated code on a device):
// checks that g is a classifier for data; the input bytes of one sample as the
// model takes them; the predicted class from the output bytes; the metrics.
Status CheckClassifier(const Graph& g, const LabeledData& data, int classes);
void EncodeInput(const Tensor& input, const float* x, uint8_t* out);
int32_t ArgmaxClass(const Tensor& output, const uint8_t* bytes);
// The top score, dequantized ((q - zero_point) * scale for int8), as devices report it.
double TopConfidence(const Tensor& output, const uint8_t* bytes);
Result<EvalResult> MetricsFromPredictions(const std::vector<int32_t>& predicted,
                                          const LabeledData& data, int classes);

}  // namespace tml
