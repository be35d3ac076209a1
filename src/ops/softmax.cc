// Softmax and LogSoftmax over the last axis (importers move other axes last).
// Attribute: beta (default 1). int8 softmax follows TFLite: output scale 1/256,
// zero point -128.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ops/lower_util.h"

namespace tml {
namespace {

Status InferSoftmax(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  if (x.shape.empty()) return Status::Errorf("{}: input must have rank >= 1", NodeWhere(n));
  Tensor& y = Out(g, n);
  y.shape = x.shape;
  y.dtype = x.dtype;
  return Status::Ok();
}

class SoftmaxOp : public LoweredOp {
 public:
  tml_softmax_params p{};
  bool int8 = false;
  void Run(const KernelIO& io) const override {
    if (int8)
      tml_softmax_s8(&p, static_cast<const int8_t*>(io.in[0]), static_cast<int8_t*>(io.out[0]));
    else
      tml_softmax_f32(&p, static_cast<const float*>(io.in[0]), static_cast<float*>(io.out[0]));
  }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = int8 ? TML_K_SOFTMAX_S8 : TML_K_SOFTMAX_F32;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"softmax.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerSoftmax(const Graph& g, const Node& n) {
  auto op = std::make_unique<SoftmaxOp>();
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  tml_softmax_params& p = op->p;
  p.depth = static_cast<int32_t>(x.shape.back());
  p.outer = p.depth ? static_cast<int32_t>(x.numel() / p.depth) : 0;
  p.beta = n.attrs.Float("beta", 1.0f);
  p.log = n.op == OpType::kLogSoftmax ? 1 : 0;
  if (x.dtype == DType::kInt8) {
    const std::string where = NodeWhere(n);
    if (p.log) return Status::Errorf("{}: int8 log-softmax is not supported", where);
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(x, where));
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(y, where));
    if (std::fabs(y.quant.scale[0] - 1.0f / 256) > 1e-6f || y.quant.zero_point[0] != -128)
      return Status::Errorf("{}: int8 output must have scale 1/256 and zero point -128", where);
    op->int8 = true;
    const int kScaledDiffIntegerBits = 5;
    const double real =
        std::min(static_cast<double>(p.beta) * static_cast<double>(x.quant.scale[0]) *
                     static_cast<double>(1 << (31 - kScaledDiffIntegerBits)),
                 static_cast<double>((1LL << 31) - 1));
    int shift = 0;
    QuantizeMultiplier(real, &p.input_multiplier, &shift);
    if (shift < 0) shift = 0;
    p.input_left_shift = shift;
    p.diff_min = -InputRadius(kScaledDiffIntegerBits, shift);
  } else if (x.dtype != DType::kFloat32) {
    return Status::Errorf("{}: unsupported input type {}", NodeWhere(n), DTypeName(x.dtype));
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterSoftmaxOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kSoftmax, 1, 1, InferSoftmax, LowerSoftmax, nullptr, Inplace::kNone,
               QuantRule::kFixedSigmoid, true});
  r.push_back({OpType::kLogSoftmax, 1, 1, InferSoftmax, LowerSoftmax, nullptr, Inplace::kNone});
}

}  // namespace tml
