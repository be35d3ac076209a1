// AveragePool2D and MaxPool2D, NHWC. Attributes: kernel_h/w, stride_h/w,
// dilation_h/w, pad_top/left/bottom/right, count_include_pad, act_min/max.
#include <fmt/format.h>

#include "ops/lower_util.h"

namespace tml {
namespace {

Status InferPool(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  const std::string where = NodeWhere(n);
  if (x.shape.size() != 4)
    return Status::Errorf("{}: input must be 4-D NHWC, got {}", where, ShapeStr(x.shape));
  const int64_t kh = n.attrs.Int("kernel_h"), kw = n.attrs.Int("kernel_w");
  const int64_t sh = n.attrs.Int("stride_h", 1), sw = n.attrs.Int("stride_w", 1);
  const int64_t dh = n.attrs.Int("dilation_h", 1), dw = n.attrs.Int("dilation_w", 1);
  const int64_t pt = n.attrs.Int("pad_top"), pb = n.attrs.Int("pad_bottom");
  const int64_t pl = n.attrs.Int("pad_left"), pr = n.attrs.Int("pad_right");
  if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 || pt < 0 || pb < 0 ||
      pl < 0 || pr < 0)
    return Status::Errorf("{}: invalid kernel, stride, dilation or padding", where);
  const int64_t oh = (x.shape[1] + pt + pb - dh * (kh - 1) - 1) / sh + 1;
  const int64_t ow = (x.shape[2] + pl + pr - dw * (kw - 1) - 1) / sw + 1;
  if (oh <= 0 || ow <= 0)
    return Status::Errorf("{}: window {}x{} does not fit input {}", where, kh, kw,
                          ShapeStr(x.shape));
  Tensor& y = Out(g, n);
  y.shape = {x.shape[0], oh, ow, x.shape[3]};
  y.dtype = x.dtype;
  return Status::Ok();
}

template <bool kMax>
class PoolOp : public LoweredOp {
 public:
  tml_pool_params p{};
  bool int8 = false;
  void Run(const KernelIO& io) const override {
    if (int8)
      (kMax ? tml_max_pool_s8 : tml_avg_pool_s8)(&p, static_cast<const int8_t*>(io.in[0]),
                                                 static_cast<int8_t*>(io.out[0]));
    else
      (kMax ? tml_max_pool_f32 : tml_avg_pool_f32)(&p, static_cast<const float*>(io.in[0]),
                                                   static_cast<float*>(io.out[0]));
  }
  KernelCall Call(bool reference_kernels) const override {
    KernelCall k;
    if (kMax)
      k.kernel = !int8               ? TML_K_MAX_POOL_F32
                 : reference_kernels ? TML_K_MAX_POOL_S8
                                     : TML_K_MAX_POOL_S8_FAST;
    else
      k.kernel = !int8               ? TML_K_AVG_POOL_F32
                 : reference_kernels ? TML_K_AVG_POOL_S8
                                     : TML_K_AVG_POOL_S8_FAST;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override {
    if (int8) return {"pool.c", "pool_fast.c"};
    return {"pool.c"};
  }
};

template <bool kMax>
Result<std::unique_ptr<LoweredOp>> LowerPool(const Graph& g, const Node& n) {
  auto op = std::make_unique<PoolOp<kMax>>();
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  tml_pool_params& p = op->p;
  p.batch = static_cast<int32_t>(x.shape[0]);
  p.in_h = static_cast<int32_t>(x.shape[1]);
  p.in_w = static_cast<int32_t>(x.shape[2]);
  p.channels = static_cast<int32_t>(x.shape[3]);
  p.out_h = static_cast<int32_t>(y.shape[1]);
  p.out_w = static_cast<int32_t>(y.shape[2]);
  p.k_h = static_cast<int32_t>(n.attrs.Int("kernel_h"));
  p.k_w = static_cast<int32_t>(n.attrs.Int("kernel_w"));
  ApplyWindow(n, p);
  p.count_include_pad = static_cast<int32_t>(n.attrs.Int("count_include_pad"));
  const ActRange act = NodeAct(n);
  p.act_min = act.lo;
  p.act_max = act.hi;
  if (x.dtype == DType::kInt8) {
    op->int8 = true;
    const std::string where = NodeWhere(n);
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(x, where));
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(y, where));
    if (!(x.quant == y.quant))
      return Status::Errorf("{}: int8 pooling needs equal input and output quantization", where);
    if (p.count_include_pad)
      return Status::Errorf("{}: int8 average pooling cannot count padding", where);
    QuantizedActivationRange(act.lo, act.hi, y.quant, &p.q_act_min, &p.q_act_max);
  } else if (x.dtype != DType::kFloat32) {
    return Status::Errorf("{}: unsupported input type {}", NodeWhere(n), DTypeName(x.dtype));
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterPoolOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kAveragePool2D, 1, 1, InferPool, LowerPool<false>, nullptr, Inplace::kNone,
               QuantRule::kSameAsInput, true});
  r.back().fused_activation = true;
  r.push_back({OpType::kMaxPool2D, 1, 1, InferPool, LowerPool<true>, nullptr, Inplace::kNone,
               QuantRule::kSameAsInput, true, /*data_movement=*/true});
  r.back().fused_activation = true;
}

}  // namespace tml
