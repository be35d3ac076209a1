// Add, Sub, Mul, Div with numpy broadcasting. Attributes: act_min/max.
// int8 add/sub follow TFLite (inputs rescaled to a common 2x-max scale with a
// 20-bit headroom shift); int8 mul uses one output multiplier. Div is float only.
#include <fmt/format.h>

#include <algorithm>

#include "ops/lower_util.h"

namespace tml {
namespace {

Result<Shape> BroadcastShapes(const Shape& a, const Shape& b, const Node& n) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return Status::Errorf("{}: shapes {} and {} do not broadcast", NodeWhere(n), ShapeStr(a),
                            ShapeStr(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Status InferBinary(Graph& g, const Node& n) {
  const Tensor& a = In(g, n, 0);
  const Tensor& b = In(g, n, 1);
  if (a.dtype != b.dtype)
    return Status::Errorf("{}: input types differ ({} vs {})", NodeWhere(n), DTypeName(a.dtype),
                          DTypeName(b.dtype));
  TML_ASSIGN_OR_RETURN(Shape s, BroadcastShapes(a.shape, b.shape, n));
  if (s.size() > TML_MAX_DIMS)
    return Status::Errorf("{}: rank {} exceeds {}", NodeWhere(n), s.size(), TML_MAX_DIMS);
  Tensor& y = Out(g, n);
  y.shape = s;
  y.dtype = a.dtype;
  return Status::Ok();
}

void BroadcastStrides(const Shape& in, const Shape& out, int32_t* stride) {
  const size_t off = TML_MAX_DIMS - out.size();
  const size_t in_off = out.size() - in.size();
  int32_t s = 1;
  for (int d = TML_MAX_DIMS - 1; d >= 0; --d) stride[d] = 0;
  for (int d = static_cast<int>(out.size()) - 1; d >= 0; --d) {
    if (static_cast<size_t>(d) < in_off) continue;
    const int64_t dim = in[static_cast<size_t>(d) - in_off];
    stride[static_cast<size_t>(d) + off] = dim == 1 ? 0 : s;
    s *= static_cast<int32_t>(dim);
  }
}

class BinaryOp : public LoweredOp {
 public:
  tml_binary_params p{};
  bool int8 = false;
  void Run(const KernelIO& io) const override {
    if (int8)
      tml_binary_s8(&p, static_cast<const int8_t*>(io.in[0]), static_cast<const int8_t*>(io.in[1]),
                    static_cast<int8_t*>(io.out[0]));
    else
      tml_binary_f32(&p, static_cast<const float*>(io.in[0]), static_cast<const float*>(io.in[1]),
                     static_cast<float*>(io.out[0]));
  }
  KernelCall Call(bool reference_kernels) const override {
    KernelCall k;
    k.kernel = !int8                          ? TML_K_BINARY_F32
               : Fast() && !reference_kernels ? TML_K_ADD_S8_FAST
                                              : TML_K_BINARY_S8;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::In(1), CallArg::Out()};
    return k;
  }
  bool Fast() const { return int8 && p.flat && (p.kind == TML_BIN_ADD || p.kind == TML_BIN_SUB); }
  std::vector<std::string> Sources() const override {
    if (Fast()) return {"binary.c", "eltwise_fast.c"};
    return {"binary.c"};
  }
};

Status PrepareInt8(const Graph& g, const Node& n, tml_binary_params& p) {
  const Tensor& a = In(g, n, 0);
  const Tensor& b = In(g, n, 1);
  const Tensor& y = g.tensor(n.outputs[0]);
  const std::string where = NodeWhere(n);
  TML_RETURN_IF_ERROR(RequirePerTensorQuant(a, where));
  TML_RETURN_IF_ERROR(RequirePerTensorQuant(b, where));
  TML_RETURN_IF_ERROR(RequirePerTensorQuant(y, where));
  const double sa = a.quant.scale[0], sb = b.quant.scale[0], so = y.quant.scale[0];
  p.a_offset = -static_cast<int32_t>(a.quant.zero_point[0]);
  p.b_offset = -static_cast<int32_t>(b.quant.zero_point[0]);
  p.out_offset = static_cast<int32_t>(y.quant.zero_point[0]);
  int shift = 0;
  if (n.op == OpType::kMul) {
    QuantizeMultiplier(sa * sb / so, &p.out_mult, &shift);
    p.out_shift = shift;
  } else if (n.op == OpType::kAdd || n.op == OpType::kSub) {
    p.left_shift = 20;
    const double twice_max =
        2.0 * static_cast<double>(std::max(a.quant.scale[0], b.quant.scale[0]));
    QuantizeMultiplier(sa / twice_max, &p.a_mult, &shift);
    p.a_shift = shift;
    QuantizeMultiplier(sb / twice_max, &p.b_mult, &shift);
    p.b_shift = shift;
    QuantizeMultiplier(twice_max / ((1 << p.left_shift) * so), &p.out_mult, &shift);
    p.out_shift = shift;
  } else {
    return Status::Errorf("{}: int8 division is not supported", where);
  }
  const ActRange act = NodeAct(n);
  QuantizedActivationRange(act.lo, act.hi, y.quant, &p.q_act_min, &p.q_act_max);
  return Status::Ok();
}

Result<std::unique_ptr<LoweredOp>> LowerBinary(const Graph& g, const Node& n) {
  auto op = std::make_unique<BinaryOp>();
  const Tensor& a = In(g, n, 0);
  const Tensor& b = In(g, n, 1);
  const Tensor& y = g.tensor(n.outputs[0]);
  tml_binary_params& p = op->p;
  switch (n.op) {
    case OpType::kAdd:
      p.kind = TML_BIN_ADD;
      break;
    case OpType::kSub:
      p.kind = TML_BIN_SUB;
      break;
    case OpType::kMul:
      p.kind = TML_BIN_MUL;
      break;
    default:
      p.kind = TML_BIN_DIV;
      break;
  }
  for (int d = 0; d < TML_MAX_DIMS; ++d) p.out_shape[d] = 1;
  const size_t off = TML_MAX_DIMS - y.shape.size();
  for (size_t d = 0; d < y.shape.size(); ++d)
    p.out_shape[d + off] = static_cast<int32_t>(y.shape[d]);
  BroadcastStrides(a.shape, y.shape, p.a_stride);
  BroadcastStrides(b.shape, y.shape, p.b_stride);
  p.count = static_cast<int32_t>(y.numel());
  p.flat = a.numel() == y.numel() && b.numel() == y.numel() ? 1 : 0;
  const ActRange act = NodeAct(n);
  p.act_min = act.lo;
  p.act_max = act.hi;
  if (a.dtype == DType::kInt8) {
    op->int8 = true;
    TML_RETURN_IF_ERROR(PrepareInt8(g, n, p));
  } else if (a.dtype != DType::kFloat32) {
    return Status::Errorf("{}: unsupported input type {}", NodeWhere(n), DTypeName(a.dtype));
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterBinaryOps(std::vector<OpSchema>& r) {
  for (OpType op : {OpType::kAdd, OpType::kSub, OpType::kMul, OpType::kDiv}) {
    const bool int8 = op != OpType::kDiv;  // no int8 division kernel
    r.push_back({op, 2, 2, InferBinary, LowerBinary, nullptr, Inplace::kElementwise,
                 int8 ? QuantRule::kActivation : QuantRule::kNone, int8});
    r.back().fused_activation = true;
  }
}

}  // namespace tml
