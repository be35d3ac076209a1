// Conv2D (filter OHWI) and DepthwiseConv2D (filter 1HW(C*M)), NHWC.
// Attributes: stride_h/w, dilation_h/w, pad_top/left/bottom/right, act_min/max.
#include <fmt/format.h>

#include "ops/lower_util.h"

namespace tml {
namespace {

template <bool kDepthwise>
Status InferConv(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  const Tensor& w = In(g, n, 1);
  const std::string where = NodeWhere(n);
  if (x.shape.size() != 4)
    return Status::Errorf("{}: input must be 4-D NHWC, got {}", where, ShapeStr(x.shape));
  if (w.shape.size() != 4)
    return Status::Errorf("{}: filter must be 4-D, got {}", where, ShapeStr(w.shape));
  const int64_t kh = w.shape[1], kw = w.shape[2];
  const int64_t oc = kDepthwise ? w.shape[3] : w.shape[0];
  if (!kDepthwise && w.shape[3] != x.shape[3])
    return Status::Errorf("{}: filter {} expects {} input channels, input has {}", where,
                          ShapeStr(w.shape), w.shape[3], x.shape[3]);
  if (kDepthwise && (w.shape[0] != 1 || x.shape[3] <= 0 || oc % x.shape[3] != 0))
    return Status::Errorf("{}: depthwise filter {} does not fit {} input channels", where,
                          ShapeStr(w.shape), x.shape[3]);
  const int64_t sh = n.attrs.Int("stride_h", 1), sw = n.attrs.Int("stride_w", 1);
  const int64_t dh = n.attrs.Int("dilation_h", 1), dw = n.attrs.Int("dilation_w", 1);
  const int64_t pt = n.attrs.Int("pad_top"), pb = n.attrs.Int("pad_bottom");
  const int64_t pl = n.attrs.Int("pad_left"), pr = n.attrs.Int("pad_right");
  if (sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 || pt < 0 || pb < 0 || pl < 0 || pr < 0 || kh <= 0 ||
      kw <= 0)
    return Status::Errorf("{}: invalid stride, dilation, padding or kernel size", where);
  const int64_t oh = (x.shape[1] + pt + pb - dh * (kh - 1) - 1) / sh + 1;
  const int64_t ow = (x.shape[2] + pl + pr - dw * (kw - 1) - 1) / sw + 1;
  if (oh <= 0 || ow <= 0)
    return Status::Errorf("{}: kernel {}x{} does not fit input {}", where, kh, kw,
                          ShapeStr(x.shape));
  if (const Tensor* b = g.input(n, 2); b && b->numel() != oc)
    return Status::Errorf("{}: bias '{}' has {} elements for {} output channels", where, b->name,
                          b->numel(), oc);
  Tensor& y = Out(g, n);
  y.shape = {x.shape[0], oh, ow, oc};
  y.dtype = x.dtype;
  return Status::Ok();
}

template <bool kDepthwise>
int64_t ConvMacs(const Graph& g, const Node& n) {
  const Tensor& w = In(g, n, 1);
  const Tensor& y = g.tensor(n.outputs[0]);
  const int64_t per_output =
      kDepthwise ? w.shape[1] * w.shape[2] : w.shape[1] * w.shape[2] * w.shape[3];
  return y.numel() * per_output;
}

template <bool kDepthwise>
class ConvOp : public LoweredOp {
 public:
  tml_conv_params p{};
  Requant rq;
  bool int8 = false;
  std::vector<int32_t> corr;    // non-empty: generated code uses the optimized kernel
  std::vector<int8_t> wpack;    // Conv2D fast path: weights in the tml_conv2d_s8_fast layout
  std::vector<int32_t> blocks;  // depthwise fast path: tml_depthwise_conv2d_s8_fast layout

  void Run(const KernelIO& io) const override {
    tml_conv_params q = p;
    q.q.multiplier = rq.mult.data();
    q.q.shift = rq.shift.data();
    if (int8) {
      auto f = kDepthwise ? tml_depthwise_conv2d_s8 : tml_conv2d_s8;
      f(&q, static_cast<const int8_t*>(io.in[0]), static_cast<const int8_t*>(io.in[1]),
        static_cast<const int32_t*>(io.in[2]), static_cast<int8_t*>(io.out[0]));
    } else {
      auto f = kDepthwise ? tml_depthwise_conv2d_f32 : tml_conv2d_f32;
      f(&q, static_cast<const float*>(io.in[0]), static_cast<const float*>(io.in[1]),
        static_cast<const float*>(io.in[2]), static_cast<float*>(io.out[0]));
    }
  }
  KernelCall Call(bool reference_kernels) const override {
    KernelCall k;
    tml_conv_params q = p;
    q.q = int8 ? CallRequant(k, rq, reference_kernels) : tml_requant{};
    k.params = q;
    if (!corr.empty() && !reference_kernels) {
      if (kDepthwise) {
        k.kernel = TML_K_DEPTHWISE_S8_FAST;
        k.args = {CallArg::In(0), CallArg::Const(k.Array("blocks", blocks)), CallArg::Out(),
                  CallArg::Scratch()};
      } else {
        k.kernel = TML_K_CONV2D_S8_FAST;
        const int w = k.Array("wpack", wpack), c = k.Array("corr", corr);
        k.args = {CallArg::In(0), CallArg::Const(w), CallArg::Const(c), CallArg::Out(),
                  CallArg::Scratch()};
      }
      return k;
    }
    k.kernel = kDepthwise ? (int8 ? TML_K_DEPTHWISE_S8 : TML_K_DEPTHWISE_F32)
                          : (int8 ? TML_K_CONV2D_S8 : TML_K_CONV2D_F32);
    k.args = {CallArg::In(0), CallArg::In(1), CallArg::In(2), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override {
    // Both: the call depends on reference_kernels.
    if (!corr.empty()) return {kDepthwise ? "dwconv_fast.c" : "conv_fast.c", "conv.c"};
    return {"conv.c"};
  }
  int64_t ScratchBytes(bool reference_kernels) const override {
    if (corr.empty() || reference_kernels) return 0;
    if (kDepthwise)  // column buffer of the k_h input rows, channels padded to groups of 4
      return static_cast<int64_t>(p.k_h) *
             ((p.out_w - 1) * p.stride_w + (p.k_w - 1) * p.dil_w + 1) * 4 * ((p.in_c + 3) / 4);
    return 20 * Groups();  // widened pixel pair (16 bytes per group) + int8 field
  }
  int64_t Groups() const { return (static_cast<int64_t>(p.k_h) * p.k_w * p.in_c + 3) / 4; }
  // Output channels in pairs (zero row for an odd count), rows zero-padded to whole
  // groups of four, per group the pair's two words: row 2j, then row 2j + 1.
  void Pack(const Tensor& w) {
    const int64_t k = static_cast<int64_t>(p.k_h) * p.k_w * p.in_c, groups = Groups();
    const int64_t pairs = (p.out_c + 1) / 2;
    wpack.assign(static_cast<size_t>(pairs * 8 * groups), 0);
    for (int64_t oc = 0; oc < p.out_c; ++oc)
      for (int64_t i = 0; i < k; ++i)
        wpack[static_cast<size_t>((oc / 2) * 8 * groups + (i / 4) * 8 + (oc % 2) * 4 + i % 4)] =
            w.as<int8_t>()[oc * k + i];
    corr.resize(static_cast<size_t>(pairs * 2), 0);
  }
};

template <bool kDepthwise>
Result<std::unique_ptr<LoweredOp>> LowerConv(const Graph& g, const Node& n) {
  auto op = std::make_unique<ConvOp<kDepthwise>>();
  const Tensor& x = In(g, n, 0);
  const Tensor& w = In(g, n, 1);
  const Tensor& y = g.tensor(n.outputs[0]);
  tml_conv_params& p = op->p;
  p.batch = static_cast<int32_t>(x.shape[0]);
  p.in_h = static_cast<int32_t>(x.shape[1]);
  p.in_w = static_cast<int32_t>(x.shape[2]);
  p.in_c = static_cast<int32_t>(x.shape[3]);
  p.out_h = static_cast<int32_t>(y.shape[1]);
  p.out_w = static_cast<int32_t>(y.shape[2]);
  p.out_c = static_cast<int32_t>(y.shape[3]);
  p.k_h = static_cast<int32_t>(w.shape[1]);
  p.k_w = static_cast<int32_t>(w.shape[2]);
  ApplyWindow(n, p);
  p.depth_multiplier = kDepthwise ? p.out_c / p.in_c : 1;
  const ActRange act = NodeAct(n);
  p.act_min = act.lo;
  p.act_max = act.hi;
  TML_RETURN_IF_ERROR(PrepareWeighted(g, n, p.out_c, false, &op->int8, &op->rq));
  p.q = op->rq.q;
  if constexpr (!kDepthwise) {
    if (op->int8 && w.is_const && p.q.filter_offset == 0) {
      op->corr = AccumulatorCorrections(w, g.input(n, 2), p.q);
      op->Pack(w);
      EnableFastRequant(&op->rq,
                        AccumulatorBound(op->corr, static_cast<int64_t>(p.k_h) * p.k_w * p.in_c),
                        p.out_c);
    }
  } else {
    if (op->int8 && w.is_const && p.depth_multiplier == 1 && p.q.filter_offset == 0) {
      // Weights [1, KH, KW, C]: sum each channel over the taps.
      const Tensor* bias = g.input(n, 2);
      op->corr.resize(static_cast<size_t>(p.out_c));
      for (int32_t ch = 0; ch < p.out_c; ++ch) {
        uint32_t sum = 0;
        for (int64_t t = 0; t < static_cast<int64_t>(p.k_h) * p.k_w; ++t)
          sum += static_cast<uint32_t>(static_cast<int32_t>(w.as<int8_t>()[t * p.out_c + ch]));
        const uint32_t v = (bias ? static_cast<uint32_t>(bias->as<int32_t>()[ch]) : 0u) +
                           static_cast<uint32_t>(p.q.input_offset) * sum;
        op->corr[static_cast<size_t>(ch)] = static_cast<int32_t>(v);
      }
      EnableFastRequant(&op->rq, AccumulatorBound(op->corr, static_cast<int64_t>(p.k_h) * p.k_w),
                        p.out_c);
      // Per group of four channels (the last padded): corr[4], then per tap in kx-major
      // order the int16 pairs (w0 w2) (w1 w3), the SXTB16 order, one int32 word each.
      const int64_t groups = (p.out_c + 3) / 4;
      static const int kOrder[4] = {0, 2, 1, 3};
      const auto weight = [&](int64_t ch, int32_t ky, int32_t kx) -> uint32_t {
        if (ch >= p.out_c) return 0;
        return static_cast<uint16_t>(
            static_cast<int16_t>(w.as<int8_t>()[(ky * p.k_w + kx) * p.out_c + ch]));
      };
      op->corr.resize(static_cast<size_t>(groups * 4), 0);
      for (int64_t gi = 0; gi < groups; ++gi) {
        for (int j = 0; j < 4; ++j) op->blocks.push_back(op->corr[static_cast<size_t>(gi * 4 + j)]);
        for (int32_t kx = 0; kx < p.k_w; ++kx)
          for (int32_t ky = 0; ky < p.k_h; ++ky)
            for (int j = 0; j < 4; j += 2)
              op->blocks.push_back(
                  static_cast<int32_t>(weight(gi * 4 + kOrder[j], ky, kx) |
                                       weight(gi * 4 + kOrder[j + 1], ky, kx) << 16));
      }
    }
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterConvOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kConv2D, 2, 3, InferConv<false>, LowerConv<false>, ConvMacs<false>,
               Inplace::kNone, QuantRule::kWeighted, true});
  r.back().fused_activation = true;
  r.push_back({OpType::kDepthwiseConv2D, 2, 3, InferConv<true>, LowerConv<true>, ConvMacs<true>,
               Inplace::kNone, QuantRule::kWeighted, true});
  r.back().fused_activation = true;
}

}  // namespace tml
