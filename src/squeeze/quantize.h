// Post-training int8 quantization of a prepared float graph (TFLite conventions):
// per-channel symmetric int8 weights, per-tensor asymmetric int8 activations,
// int32 biases with scale = input scale x weight scale. The result is an
// ordinary int8 IR graph (compile it, verify it, export it as ONNX QDQ).
//
//   TML_ASSIGN_OR_RETURN(auto ranges, Calibrate(g, samples, {}));
//   TML_ASSIGN_OR_RETURN(Graph q, QuantizeGraph(g, ranges, {}));
#pragma once

#include <vector>

#include "graph/graph.h"
#include "squeeze/calibrate.h"

namespace tml {

struct QuantizeOptions {
  // true: inputs and outputs stay float with Quantize / Dequantize at the edges.
  // false (default): int8 inputs and outputs, as MCU deployments use them.
  bool float_io = false;
};

Result<Graph> QuantizeGraph(const Graph& float_graph, const std::vector<TensorRange>& ranges,
                            const QuantizeOptions& opts);

// Asymmetric int8 parameters covering [lo, hi] (which must include 0).
QuantParams ActivationQuant(float lo, float hi);
// Float values to int8 with a per-tensor scale / zero point (round half away, saturate).
std::vector<int8_t> QuantizeValues(const float* v, size_t n, const QuantParams& q);
float DequantizeValue(int8_t v, const QuantParams& q);

}  // namespace tml
