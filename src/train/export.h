// Trained parameters of a model spec -> the float model in the IR (batch norm folded
// into the convolution or dense layer before it, activations fused, dropout dropped,
// softmax appended), ready for ONNX export, quantization and the compiler.
//
//   std::vector<ParamInfo> info = SpecParams(spec);            // what the trainer fills
//   TML_ASSIGN_OR_RETURN(Graph g, SpecToGraph(spec, values));  // values[i] has info[i]'s shape
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "train/model_spec.h"

namespace tml {

// One trainable (or running-statistics) tensor of a spec, in the order the layers
// list them (a residual block's layers, then its projection shortcut). Layouts:
// conv2d w [O, kh, kw, I], b [O]; depthwise w [kh, kw, C], b [C]; dense w [out, in],
// b [out]; batch_norm gamma, beta, running mean, running variance [C]; projection
// shortcut w [O, 1, 1, I], b [O].
struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const;
};
std::vector<ParamInfo> SpecParams(const ModelSpec& spec);

inline constexpr float kBatchNormEps = 1e-5f;

Result<Graph> SpecToGraph(const ModelSpec& spec, const std::vector<std::vector<float>>& values);

// Transfer learning: initial values for the spec's parameters taken from a float
// model (e.g. one `train` wrote, or any imported ONNX in the registry). The spec's
// conv2d / depthwise_conv2d / dense layers (and projection shortcuts) are matched in
// order with the model's Conv2D / DepthwiseConv2D / FullyConnected nodes; a pair
// whose weight shapes agree is copied (the model's weights have batch norm folded
// in, so a following batch_norm starts as the identity), others (a new head) keep
// their fresh initialization: init[i] stays empty.
struct InitReport {
  int copied = 0, total = 0;
  std::vector<std::string> skipped;  // "layer 7 (dense): [10, 64] vs [2, 64]"
};
Result<InitReport> InitFromGraph(const ModelSpec& spec, const Graph& pretrained,
                                 std::vector<std::vector<float>>* init);

// The spec with every batch_norm layer removed (for fine-tuning a model whose batch
// norms were folded into its weights, e.g. quantization-aware training).
ModelSpec WithoutBatchNorm(const ModelSpec& spec);

}  // namespace tml
