// Model specs in YAML: what `tinymlaas train` builds. Parsed and checked (every
// layer's output shape) before any training; errors name the file and line.
//
//   name: tiny_cnn
//   input: [28, 28, 1]          # height, width, channels
//   classes: 10
//   layers:
//     - conv2d: {filters: 8, kernel: 3, activation: relu}
//     - max_pool: {size: 2}
//     - flatten: {}
//     - dense: {units: 10}       # the last layer gives the class logits
//
//   TML_ASSIGN_OR_RETURN(ModelSpec spec, LoadModelSpec("examples/models/tiny_cnn.yaml"));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "frontend/frontend.h"

namespace tml {

enum class LayerKind {
  kConv2D,
  kDepthwiseConv2D,
  kDense,
  kMaxPool,
  kAvgPool,
  kGlobalAvgPool,
  kBatchNorm,
  kActivation,
  kDropout,
  kFlatten,
  kResidual,
};
const char* LayerKindName(LayerKind k);

enum class Activation { kNone, kRelu, kRelu6 };

struct LayerSpec {
  LayerKind kind = LayerKind::kFlatten;
  int filters = 0, units = 0;  // conv2d / dense
  int kernel_h = 1, kernel_w = 1, stride = 1;
  bool same = true;                           // padding: same | valid
  int size = 2;                               // pooling window (stride defaults to size)
  float rate = 0.0f;                          // dropout
  Activation activation = Activation::kNone;  // fused into conv / dense, or the activation layer
  std::vector<LayerSpec> block;               // residual: out = act(block(x) + shortcut(x))
  int line = 0;                               // 1-based line in the spec file
  // Filled by CheckModelSpec: input and output shapes, HWC (or {features}).
  std::vector<int64_t> in_shape, out_shape;
  bool projection = false;  // residual: the shortcut is a 1x1 conv (shape changes)
};

struct ModelSpec {
  std::string name, file;
  std::vector<int64_t> input;  // {H, W, C} or {features}
  int classes = 0;
  // Width multiplier (MobileNet's alpha): every conv2d's filters are scaled by it
  // (rounded, at least 1) when the spec is read; 1 leaves them as written.
  double width = 1.0;
  // The feature front end the model is trained behind (docs/frontends.md): training
  // computes its features from the dataset's audio, and the trained model carries it.
  std::optional<FrontEnd> frontend;
  std::vector<LayerSpec> layers;
};

Result<ModelSpec> LoadModelSpec(const std::string& path);
// `file` is used in error messages.
Result<ModelSpec> ParseModelSpec(const std::string& yaml_text, const std::string& file);
// Infers every layer's shapes; the last layer must output {classes}.
Status CheckModelSpec(ModelSpec& spec);
// Multiply-accumulates of one inference (for reports).
int64_t SpecMacs(const ModelSpec& spec);
// The spec as YAML that ParseModelSpec reads back to the same spec.
std::string SpecToYaml(const ModelSpec& spec);

}  // namespace tml
