// Structured (channel) pruning of a model spec with its trained parameters: the
// output channels of conv2d layers and the units of hidden dense layers with the
// smallest L1 norm are removed, together with the matching input channels of the
// next layer (a depthwise conv in between keeps the same channels), so the
// smaller model really has fewer MACs and weights. Layers whose output reaches a
// residual addition, and the last layer, keep all their channels.
//
//   TML_ASSIGN_OR_RETURN(Pruned p, PruneChannels(spec, params, 0.5));   // batch-norm-free spec
//   // fine-tune p.spec from p.params, then SpecToGraph(p.spec, ...)
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "train/model_spec.h"

namespace tml {

struct Pruned {
  ModelSpec spec;                          // without batch norm, channels reduced
  std::vector<std::vector<float>> params;  // SpecParams(spec) order
  std::vector<std::string> changes;        // "line 5 conv2d: 24 -> 12 filters"
};

// spec must have no batch_norm layers (see WithoutBatchNorm) and params in its
// SpecParams order. ratio: the share of channels removed from each prunable layer
// (at least one channel stays).
Result<Pruned> PruneChannels(const ModelSpec& spec, const std::vector<std::vector<float>>& params,
                             double ratio);

// Weight count of a spec (every parameter tensor; int8 bytes after quantization, about).
int64_t SpecWeights(const ModelSpec& spec);

}  // namespace tml
