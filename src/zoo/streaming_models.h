// Streaming models: recurrent layers keep what they saw in their state, so a model is fed
// one feature frame per invocation instead of a window of frames. Seeded weights, float32
// graphs, prepared (quantize with QuantizeSynthetic).
#pragma once

#include "graph/graph.h"

namespace tml::zoo {

// A keyword model in the manner of TensorFlow Lite Micro's SVDF speech model: one frame of
// 10 MFCCs -> SVDF (64 units, rank 1, over the last 49 frames, ReLU) -> SVDF (32 units,
// rank 1, 8 frames, ReLU) -> FC 12 -> Softmax. Fed every stride, its view spans ~1 s.
Result<Graph> SvdfKws(uint64_t seed = 1);

}  // namespace tml::zoo
