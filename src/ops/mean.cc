// Mean over a contiguous set of axes (global average pooling: axes 1, 2 of
// NHWC). Attributes: axes, keep_dims. int8 follows TFLite's integer mean.
#include <fmt/format.h>

#include <algorithm>

#include "ops/lower_util.h"

namespace tml {
namespace {

// Normalized, sorted axes; they must be contiguous.
Result<std::vector<int64_t>> MeanAxes(const Tensor& x, const Node& n) {
  auto axes = n.attrs.Ints("axes");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  for (auto& a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank)
      return Status::Errorf("{}: axis out of range for {}", NodeWhere(n), ShapeStr(x.shape));
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty()) return Status::Errorf("{}: no axes to reduce", NodeWhere(n));
  if (axes.back() - axes.front() + 1 != static_cast<int64_t>(axes.size()))
    return Status::Errorf("{}: mean over non-contiguous axes {} is not supported", NodeWhere(n),
                          ShapeStr(axes));
  return axes;
}

Status InferMean(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  TML_ASSIGN_OR_RETURN(auto axes, MeanAxes(x, n));
  const bool keep = n.attrs.Int("keep_dims", 1) != 0;
  Shape s;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(d));
    if (!reduced)
      s.push_back(x.shape[d]);
    else if (keep)
      s.push_back(1);
  }
  Tensor& y = Out(g, n);
  y.shape = s;
  y.dtype = x.dtype;
  return Status::Ok();
}

class MeanOp : public LoweredOp {
 public:
  tml_mean_params p{};
  bool int8 = false;
  void Run(const KernelIO& io) const override {
    if (int8)
      tml_mean_s8(&p, static_cast<const int8_t*>(io.in[0]), static_cast<int8_t*>(io.out[0]));
    else
      tml_mean_f32(&p, static_cast<const float*>(io.in[0]), static_cast<float*>(io.out[0]));
  }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = int8 ? TML_K_MEAN_S8 : TML_K_MEAN_F32;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"mean.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerMean(const Graph& g, const Node& n) {
  auto op = std::make_unique<MeanOp>();
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  tml_mean_params& p = op->p;
  TML_ASSIGN_OR_RETURN(auto axes, MeanAxes(x, n));
  p.outer = p.reduce = p.inner = 1;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    const int32_t dim = static_cast<int32_t>(x.shape[d]);
    if (static_cast<int64_t>(d) < axes.front())
      p.outer *= dim;
    else if (static_cast<int64_t>(d) > axes.back())
      p.inner *= dim;
    else
      p.reduce *= dim;
  }
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
  r.push_back({OpType::kMean, 1, 1, InferMean, LowerMean, nullptr, Inplace::kNone,
               QuantRule::kActivation, true});
}

}  // namespace tml
