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

}  // namespace tml
