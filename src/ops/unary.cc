// Element-wise unary ops: Clip (min, max; Relu and Relu6 are clips), LeakyRelu
// (alpha, float only), Logistic and Tanh. int8 logistic / tanh use TFLite's
// fixed-point path and require its fixed output scales.
#include <fmt/format.h>

#include <cmath>

#include "ops/lower_util.h"

namespace tml {
namespace {

Status InferUnary(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  Tensor& y = Out(g, n);
  y.shape = x.shape;
  y.dtype = x.dtype;
  return Status::Ok();
}

class UnaryOp : public LoweredOp {
 public:
  tml_unary_params p{};
  bool int8 = false;
  void Run(const KernelIO& io) const override {
    if (int8)
      tml_unary_s8(&p, static_cast<const int8_t*>(io.in[0]), static_cast<int8_t*>(io.out[0]));
    else
      tml_unary_f32(&p, static_cast<const float*>(io.in[0]), static_cast<float*>(io.out[0]));
  }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = int8 ? TML_K_UNARY_S8 : TML_K_UNARY_F32;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"unary.c"}; }
};

Status PrepareInt8(const Graph& g, const Node& n, tml_unary_params& p) {
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  const std::string where = NodeWhere(n);
  TML_RETURN_IF_ERROR(RequirePerTensorQuant(x, where));
  TML_RETURN_IF_ERROR(RequirePerTensorQuant(y, where));
  p.in_zero_point = static_cast<int32_t>(x.quant.zero_point[0]);
  p.out_zero_point = static_cast<int32_t>(y.quant.zero_point[0]);
  int shift = 0;
  p.q_min = -128;
  p.q_max = 127;
  switch (n.op) {
    case OpType::kClip:
      QuantizeMultiplier(static_cast<double>(x.quant.scale[0]) / y.quant.scale[0], &p.mult, &shift);
      p.shift = shift;
      QuantizedActivationRange(p.min, p.max, y.quant, &p.q_min, &p.q_max);
      return Status::Ok();
    case OpType::kLogistic:
    case OpType::kTanh: {
      const bool logistic = n.op == OpType::kLogistic;
      const float want_scale = logistic ? 1.0f / 256 : 1.0f / 128;
      const int64_t want_zp = logistic ? -128 : 0;
      if (std::fabs(y.quant.scale[0] - want_scale) > 1e-6f * want_scale ||
          y.quant.zero_point[0] != want_zp)
        return Status::Errorf("{}: int8 output must have scale {} and zero point {}", where,
                              want_scale, want_zp);
      const int kInputIntegerBits = 4;
      const double real = static_cast<double>(x.quant.scale[0]) *
                          static_cast<double>(1 << (31 - kInputIntegerBits));
      const double q = std::frexp(real, &shift);
      p.mult = static_cast<int32_t>(std::round(q * static_cast<double>(1LL << 31)));
      p.shift = shift;
      p.input_range_radius = InputRadius(kInputIntegerBits, shift);
      return Status::Ok();
    }
    default:
      return Status::Errorf("{}: no int8 kernel", where);
  }
}

Result<std::unique_ptr<LoweredOp>> LowerUnary(const Graph& g, const Node& n) {
  auto op = std::make_unique<UnaryOp>();
  const Tensor& x = In(g, n, 0);
  tml_unary_params& p = op->p;
  p.count = static_cast<int32_t>(x.numel());
  switch (n.op) {
    case OpType::kClip:
      p.kind = TML_UN_CLIP;
      break;
    case OpType::kLogistic:
      p.kind = TML_UN_LOGISTIC;
      break;
    case OpType::kTanh:
      p.kind = TML_UN_TANH;
      break;
    default:
      p.kind = TML_UN_LEAKY_RELU;
      break;
  }
  p.min = n.attrs.Float("min", kNoMin);
  p.max = n.attrs.Float("max", kNoMax);
  p.alpha = n.attrs.Float("alpha", 0.01f);
  if (x.dtype == DType::kInt8) {
    op->int8 = true;
    TML_RETURN_IF_ERROR(PrepareInt8(g, n, p));
  } else if (x.dtype != DType::kFloat32) {
    return Status::Errorf("{}: unsupported input type {}", NodeWhere(n), DTypeName(x.dtype));
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterUnaryOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kClip, 1, 1, InferUnary, LowerUnary, nullptr, Inplace::kElementwise,
               QuantRule::kActivation, true});
  // No int8 LeakyRelu kernel yet: no quantization rule (the quantizer used to claim one and
  // then fail to compile the result; the registry-facts test found it).
  r.push_back({OpType::kLeakyRelu, 1, 1, InferUnary, LowerUnary, nullptr, Inplace::kElementwise});
  r.push_back({OpType::kLogistic, 1, 1, InferUnary, LowerUnary, nullptr, Inplace::kElementwise,
               QuantRule::kFixedSigmoid, true});
  r.push_back({OpType::kTanh, 1, 1, InferUnary, LowerUnary, nullptr, Inplace::kElementwise,
               QuantRule::kFixedTanh, true});
}

}  // namespace tml
