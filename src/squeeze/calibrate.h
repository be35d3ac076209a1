// Activation range calibration for post-training quantization: runs the float
// reference interpreter over calibration inputs and chooses a [lo, hi] range for
// every tensor the graph computes (graph inputs included).
//
//   TML_ASSIGN_OR_RETURN(auto ranges, Calibrate(float_graph, inputs, {Calibration::kMinMax}));
//   ranges[t].lo, ranges[t].hi  // for tensor index t (valid when ranges[t].seen)
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml {

enum class Calibration { kMinMax, kPercentile, kMse };
Result<Calibration> ParseCalibration(const std::string& name);  // minmax | percentile | mse
const char* CalibrationName(Calibration c);

struct CalibrationOptions {
  Calibration method = Calibration::kMinMax;
  double percentile = 99.99;  // kPercentile: kept share of each tail, in percent
};

struct TensorRange {
  bool seen = false;
  float lo = 0.0f, hi = 0.0f;
};

// One sample = the float values of every graph input, in order. The graph must
// be prepared (PrepareGraph) and float. Ranges always include 0.
Result<std::vector<TensorRange>> Calibrate(
    const Graph& g, const std::vector<std::vector<std::vector<float>>>& samples,
    const CalibrationOptions& opts);

}  // namespace tml
