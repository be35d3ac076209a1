// Mean over the spatial axes (1, 2) of an NHWC tensor: global average pooling.
// Attributes: axes, keep_dims. int8 follows TFLite's integer mean.
#include <fmt/format.h>

#include <algorithm>

#include "ops/lower_util.h"

namespace tml {
namespace {

Status InferMean(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  auto axes = n.attrs.Ints("axes");
  for (auto& a : axes)
    if (a < 0) a += static_cast<int64_t>(x.shape.size());
  std::sort(axes.begin(), axes.end());
  if (x.shape.size() != 4 || axes != std::vector<int64_t>{1, 2})
    return Status::Errorf("{}: only the mean over H and W of a 4-D NHWC tensor is supported (input "
                          "{}, axes {})",
                          NodeWhere(n), ShapeStr(x.shape), ShapeStr(n.attrs.Ints("axes")));
  Tensor& y = Out(g, n);
  y.shape = n.attrs.Int("keep_dims", 1) ? Shape{x.shape[0], 1, 1, x.shape[3]}
                                        : Shape{x.shape[0], x.shape[3]};
  y.dtype = x.dtype;
  return Status::Ok();
}

class MeanOp : public LoweredOp {
 public:
  tml_mean_params p{};
  bool int8 = false;
  void Run(const KernelIO& io) const override {
    if (int8)
      tml_mean_hw_s8(&p, static_cast<const int8_t*>(io.in[0]), static_cast<int8_t*>(io.out[0]));
    else
      tml_mean_hw_f32(&p, static_cast<const float*>(io.in[0]), static_cast<float*>(io.out[0]));
  }
  void Emit(const EmitContext& c) const override {
    CInit i;
    i.F("batch", p.batch).F("h", p.h).F("w", p.w).F("channels", p.channels);
    i.F("in_zero_point", p.in_zero_point).F("out_zero_point", p.out_zero_point);
    i.F("mult", p.mult).F("shift", p.shift);
    const std::string name = EmitParams(c, "tml_mean_params", i.str());
    c.body.Line(fmt::format("{}(&{}, {}, {});", int8 ? "tml_mean_hw_s8" : "tml_mean_hw_f32", name,
                            c.in[0], c.out[0]));
  }
  std::vector<std::string> Sources() const override { return {"mean.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerMean(const Graph& g, const Node& n) {
  auto op = std::make_unique<MeanOp>();
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  tml_mean_params& p = op->p;
  p.batch = static_cast<int32_t>(x.shape[0]);
  p.h = static_cast<int32_t>(x.shape[1]);
  p.w = static_cast<int32_t>(x.shape[2]);
  p.channels = static_cast<int32_t>(x.shape[3]);
  if (x.dtype == DType::kInt8) {
    op->int8 = true;
    const std::string where = NodeWhere(n);
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(x, where));
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(y, where));
    p.in_zero_point = static_cast<int32_t>(x.quant.zero_point[0]);
    p.out_zero_point = static_cast<int32_t>(y.quant.zero_point[0]);
    int shift = 0;
    QuantizeMultiplier(static_cast<double>(x.quant.scale[0]) / y.quant.scale[0], &p.mult, &shift);
    p.shift = shift;
  } else if (x.dtype != DType::kFloat32) {
    return Status::Errorf("{}: unsupported input type {}", NodeWhere(n), DTypeName(x.dtype));
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterMeanOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kMean, 1, 1, InferMean, LowerMean, nullptr, Inplace::kNone});
}

}  // namespace tml
