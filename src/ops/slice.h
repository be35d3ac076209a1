// Slice: a strided box of the input (attrs starts, steps, sizes: one entry per
// dimension, already resolved to in-range indices). TFLite's STRIDED_SLICE and
// ONNX's Slice both import onto it through ResolveSliceAxis, which applies the
// clamping rule they share (numpy's): indices past either end are clamped, a
// negative index counts from the end.
//
//   SliceAxis a = ResolveSliceAxis(10, -3, kSliceToEnd, 1);   // {start 7, size 3}
#pragma once

#include <cstdint>
#include <limits>

namespace tml {

inline constexpr int64_t kSliceToEnd = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kSliceFromStart = std::numeric_limits<int64_t>::min();

struct SliceAxis {
  int64_t start = 0, size = 0;
};

// begin / end as written in the model (negative counts from the end); kSliceFromStart /
// kSliceToEnd for "the whole way" in the direction of step. step must not be 0.
SliceAxis ResolveSliceAxis(int64_t dim, int64_t begin, int64_t end, int64_t step);

}  // namespace tml
