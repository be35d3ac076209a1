// Helpers shared by op files: activation attributes, requantization setup and
// emission of the common parameter structs.
#pragma once

#include <string>
#include <vector>

#include "ops/op.h"
#include "ops/quant_util.h"
#include "tml_kernels.h"

namespace tml {

struct ActRange {
  float lo = kNoMin, hi = kNoMax;
};
ActRange NodeAct(const Node& n);  // attrs act_min / act_max

// Per-output-channel requantization of an int32 accumulator (conv, dwconv, fc).
struct Requant {
  tml_requant q{};
  std::vector<int32_t> mult, shift;
  std::vector<int32_t> fast;  // optional, see tml_requant::fast
  void Bind() {               // re-point q at the vectors (call after copying)
    q.multiplier = mult.data();
    q.shift = shift.data();
    q.fast = fast.empty() ? nullptr : fast.data();
  }
};

// Fills Requant::fast for `channels` output channels when every accumulator is bounded
// by acc_bound < 2^30 in magnitude and every channel shifts right by 1..22 bits: then
// (SMMLAR(2 acc, M, R) + sign(acc)) >> r is exactly the reference result (tml_simd.h).
void EnableFastRequant(Requant* r, int64_t acc_bound, int64_t channels);
// Largest |corr[c]| + k * 128 * 128: a bound on int8 accumulators of length k.
int64_t AccumulatorBound(const std::vector<int32_t>& corr, int64_t k);

// in_scale * w_scale[c] / out_scale per channel. TFLite forms the per-tensor
// fully-connected product in float before widening; conv uses double.
Status MakeAccumulatorRequant(const Graph& g, const Node& n, int channels, bool float_product,
                              Requant* r);
// Per output channel of constant int8 weights [channels, k]: bias + io * sum(w) + k * fo * io,
// the accumulator start the optimized kernels use (conv_fast.c).
std::vector<int32_t> AccumulatorCorrections(const Tensor& w, const Tensor* bias,
                                            const tml_requant& q);
// The requantization a kernel call passes, its tables registered as the call's arrays:
// the packed table for optimized kernels when there is one, else multiplier and shift.
tml_requant CallRequant(KernelCall& k, const Requant& r, bool reference_kernels);

// Stride, dilation and leading padding of a windowed op (conv, pool).
struct Window {
  int32_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
};
Window NodeWindow(const Node& n);
// Copies a node's window into a kernel parameter struct (tml_conv_params, tml_pool_params).
template <typename P>
void ApplyWindow(const Node& n, P& p) {
  const Window w = NodeWindow(n);
  p.stride_h = w.stride_h;
  p.stride_w = w.stride_w;
  p.dil_h = w.dil_h;
  p.dil_w = w.dil_w;
  p.pad_top = w.pad_top;
  p.pad_left = w.pad_left;
}

// Type checks of a weighted op (conv, depthwise, fully connected): float32
// everywhere, or int8 input / weights / output with an int32 bias, in which
// case the requantization is prepared into rq and *int8 is set.
Status PrepareWeighted(const Graph& g, const Node& n, int channels, bool float_product, bool* int8,
                       Requant* rq);

// Checks that an input exists and is a constant of the given dtype.
Status RequireConst(const Graph& g, const Node& n, size_t k, DType dtype, const char* what);
// Checks that every present input has dtype t.
Status RequireDType(const Graph& g, const Node& n, size_t k, DType t);

// Output tensor of a node (first output).
inline Tensor& Out(Graph& g, const Node& n, size_t k = 0) {
  return g.tensor(n.outputs[k]);
}
inline const Tensor& In(const Graph& g, const Node& n, size_t k) {
  return g.tensor(n.inputs[k]);
}

}  // namespace tml
