// Data movement ops: Reshape (attr shape, resolved; a view of its input),
// Identity, Transpose (attr perm), Pad (attrs pads = begins then ends, value),
// Concat (attr axis). They work on any element type.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/lower_util.h"

namespace tml {
namespace {

Status InferReshape(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  Shape s = n.attrs.Ints("shape");
  int64_t known = 1;
  int unknown = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (unknown >= 0) return Status::Errorf("{}: more than one -1 in shape", NodeWhere(n));
      unknown = static_cast<int>(i);
    } else if (s[i] < 0) {
      return Status::Errorf("{}: invalid dimension {} in shape", NodeWhere(n), s[i]);
    } else {
      known *= s[i];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || x.numel() % known != 0)
      return Status::Errorf("{}: cannot reshape {} to {}", NodeWhere(n), ShapeStr(x.shape),
                            ShapeStr(s));
    s[static_cast<size_t>(unknown)] = x.numel() / known;
  }
  if (NumElements(s) != x.numel())
    return Status::Errorf("{}: cannot reshape {} ({} elements) to {}", NodeWhere(n),
                          ShapeStr(x.shape), x.numel(), ShapeStr(s));
  Tensor& y = Out(g, n);
  y.shape = s;
  y.dtype = x.dtype;
  return Status::Ok();
}

Status InferIdentity(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  Tensor& y = Out(g, n);
  y.shape = x.shape;
  y.dtype = x.dtype;
  return Status::Ok();
}

// A copy unless the planner made the output share the input's bytes.
class CopyOp : public LoweredOp {
 public:
  int32_t bytes = 0;
  void Run(const KernelIO& io) const override { tml_copy(io.in[0], io.out[0], bytes); }
  // An in-place view (input and output at the same place) copies nothing.
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = TML_K_COPY;
    k.params = tml_copy_params{bytes};
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"data_movement.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerCopy(const Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  if (IsQuantizedDType(x.dtype) && !(x.quant == y.quant))
    return Status::Errorf("{}: input and output are quantized differently", NodeWhere(n));
  auto op = std::make_unique<CopyOp>();
  op->bytes = static_cast<int32_t>(In(g, n, 0).nbytes());
  return std::unique_ptr<LoweredOp>(std::move(op));
}

Status InferTranspose(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  auto perm = n.attrs.Ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < x.shape.size(); ++i)
      perm.push_back(static_cast<int64_t>(x.shape.size() - 1 - i));
  if (perm.size() != x.shape.size() || perm.size() > TML_MAX_DIMS)
    return Status::Errorf("{}: perm {} does not match input rank {}", NodeWhere(n), ShapeStr(perm),
                          x.shape.size());
  std::vector<char> seen(perm.size(), 0);
  Shape s(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(perm.size()) ||
        seen[static_cast<size_t>(perm[i])]++)
      return Status::Errorf("{}: perm {} is not a permutation", NodeWhere(n), ShapeStr(perm));
    s[i] = x.shape[static_cast<size_t>(perm[i])];
  }
  Tensor& y = Out(g, n);
  y.shape = s;
  y.dtype = x.dtype;
  return Status::Ok();
}

class TransposeOp : public LoweredOp {
 public:
  tml_transpose_params p{};
  void Run(const KernelIO& io) const override { tml_transpose(&p, io.in[0], io.out[0]); }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = TML_K_TRANSPOSE;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"data_movement.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerTranspose(const Graph& g, const Node& n) {
  auto op = std::make_unique<TransposeOp>();
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  auto perm = n.attrs.Ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < x.shape.size(); ++i)
      perm.push_back(static_cast<int64_t>(x.shape.size() - 1 - i));
  const size_t rank = x.shape.size();
  std::vector<int32_t> in_strides(rank, 1);
  for (int d = static_cast<int>(rank) - 2; d >= 0; --d)
    in_strides[static_cast<size_t>(d)] = in_strides[static_cast<size_t>(d) + 1] *
                                         static_cast<int32_t>(x.shape[static_cast<size_t>(d) + 1]);
  op->p.rank = static_cast<int32_t>(rank);
  op->p.elem_size = static_cast<int32_t>(DTypeSize(x.dtype));
  for (size_t d = 0; d < rank; ++d) {
    op->p.out_shape[d] = static_cast<int32_t>(y.shape[d]);
    op->p.in_stride[d] = in_strides[static_cast<size_t>(perm[d])];
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

Status InferPad(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  const auto pads = n.attrs.Ints("pads");
  const size_t rank = x.shape.size();
  if (pads.size() != 2 * rank || rank > TML_MAX_DIMS)
    return Status::Errorf("{}: pads {} do not match input rank {}", NodeWhere(n), ShapeStr(pads),
                          rank);
  Shape s(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (pads[d] < 0 || pads[d + rank] < 0)
      return Status::Errorf("{}: negative padding is not supported", NodeWhere(n));
    s[d] = x.shape[d] + pads[d] + pads[d + rank];
  }
  Tensor& y = Out(g, n);
  y.shape = s;
  y.dtype = x.dtype;
  return Status::Ok();
}

class PadOp : public LoweredOp {
 public:
  tml_pad_params p{};
  void Run(const KernelIO& io) const override { tml_pad(&p, io.in[0], io.out[0]); }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = TML_K_PAD;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"data_movement.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerPad(const Graph& g, const Node& n) {
  auto op = std::make_unique<PadOp>();
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  const auto pads = n.attrs.Ints("pads");
  const size_t rank = x.shape.size();
  op->p.rank = static_cast<int32_t>(rank);
  op->p.elem_size = static_cast<int32_t>(DTypeSize(x.dtype));
  for (size_t d = 0; d < rank; ++d) {
    op->p.in_shape[d] = static_cast<int32_t>(x.shape[d]);
    op->p.out_shape[d] = static_cast<int32_t>(y.shape[d]);
    op->p.pad_before[d] = static_cast<int32_t>(pads[d]);
  }
  const float v = n.attrs.Float("value", 0.0f);
  if (op->p.elem_size > 4)
    return Status::Errorf("{}: {} padding is not supported", NodeWhere(n), DTypeName(x.dtype));
  if (x.dtype == DType::kFloat32) {
    std::memcpy(op->p.pad_value, &v, 4);
  } else if (!y.quant.empty()) {
    const int32_t q = static_cast<int32_t>(y.quant.zero_point[0]) + RoundAway(v / y.quant.scale[0]);
    const int32_t lo = x.dtype == DType::kUInt8 ? 0 : -128,
                  hi = x.dtype == DType::kUInt8 ? 255 : 127;
    op->p.pad_value[0] = static_cast<uint8_t>(std::clamp(q, lo, hi));
  } else {
    const int32_t q = static_cast<int32_t>(v);
    std::memcpy(op->p.pad_value, &q, static_cast<size_t>(op->p.elem_size));
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

Status InferConcat(Graph& g, const Node& n) {
  const Tensor& x0 = In(g, n, 0);
  const int64_t rank = static_cast<int64_t>(x0.shape.size());
  int64_t axis = n.attrs.Int("axis");
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank)
    return Status::Errorf("{}: axis {} out of range for rank {}", NodeWhere(n), n.attrs.Int("axis"),
                          rank);
  Shape s = x0.shape;
  for (size_t k = 1; k < n.inputs.size(); ++k) {
    const Tensor& x = In(g, n, k);
    if (x.shape.size() != x0.shape.size() || x.dtype != x0.dtype)
      return Status::Errorf("{}: input '{}' {} does not match '{}' {}", NodeWhere(n), x.name,
                            ShapeStr(x.shape), x0.name, ShapeStr(x0.shape));
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && x.shape[static_cast<size_t>(d)] != s[static_cast<size_t>(d)])
        return Status::Errorf("{}: input '{}' {} does not match '{}' {} off the axis", NodeWhere(n),
                              x.name, ShapeStr(x.shape), x0.name, ShapeStr(x0.shape));
    s[static_cast<size_t>(axis)] += x.shape[static_cast<size_t>(axis)];
  }
  Tensor& y = Out(g, n);
  y.shape = s;
  y.dtype = x0.dtype;
  return Status::Ok();
}

class ConcatOp : public LoweredOp {
 public:
  tml_concat_params p{};
  void Run(const KernelIO& io) const override { tml_concat(&p, io.in.data(), io.out[0]); }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = TML_K_CONCAT;
    k.params = p;
    for (int i = 0; i < p.num_inputs; ++i) k.args.push_back(CallArg::In(i));
    k.args.push_back(CallArg::Out());
    return k;
  }
  std::vector<std::string> Sources() const override { return {"data_movement.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerConcat(const Graph& g, const Node& n) {
  auto op = std::make_unique<ConcatOp>();
  const Tensor& x0 = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  if (n.inputs.size() > 8) return Status::Errorf("{}: more than 8 inputs", NodeWhere(n));
  int64_t axis = n.attrs.Int("axis");
  if (axis < 0) axis += static_cast<int64_t>(x0.shape.size());
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x0.shape[static_cast<size_t>(d)];
  op->p.outer = static_cast<int32_t>(outer);
  op->p.num_inputs = static_cast<int32_t>(n.inputs.size());
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    const Tensor& x = In(g, n, k);
    if (IsQuantizedDType(x.dtype) && !(x.quant == y.quant))
      return Status::Errorf("{}: input '{}' is quantized differently from the output", NodeWhere(n),
                            x.name);
    op->p.inner_bytes[k] =
        static_cast<int32_t>(outer ? x.nbytes() / static_cast<size_t>(outer) : 0);
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterShapeOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kReshape, 1, 1, InferReshape, LowerCopy, nullptr, Inplace::kAlias,
               QuantRule::kSameAsInput, true, true});
  r.push_back({OpType::kIdentity, 1, 1, InferIdentity, LowerCopy, nullptr, Inplace::kAlias,
               QuantRule::kSameAsInput, false, true});
  r.push_back({OpType::kTranspose, 1, 1, InferTranspose, LowerTranspose, nullptr, Inplace::kNone,
               QuantRule::kSameAsInput, true, true});
  r.push_back({OpType::kPad, 1, 1, InferPad, LowerPad, nullptr, Inplace::kNone,
               QuantRule::kSameAsInput, true, true});
  r.push_back({OpType::kConcat, 1, 8, InferConcat, LowerConcat, nullptr, Inplace::kNone,
               QuantRule::kConcat, true, true});
}

}  // namespace tml
