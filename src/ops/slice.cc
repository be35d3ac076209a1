// Slice (attrs starts, steps, sizes): runs on the strided-copy kernel of
// Transpose with the input pointer moved to the first element, so any element
// type and negative steps work and host and device share one kernel.
#include "ops/slice.h"

#include <fmt/format.h>

#include <algorithm>

#include "ops/lower_util.h"

namespace tml {

SliceAxis ResolveSliceAxis(int64_t dim, int64_t begin, int64_t end, int64_t step) {
  const bool fwd = step > 0;
  auto clamp = [&](int64_t i) {
    if (i < 0) i += dim;
    return fwd ? std::clamp<int64_t>(i, 0, dim) : std::clamp<int64_t>(i, -1, dim - 1);
  };
  const int64_t s = begin == kSliceFromStart ? (fwd ? 0 : dim - 1)
                    : begin == kSliceToEnd   ? (fwd ? dim : -1)
                                             : clamp(begin);
  const int64_t e = end == kSliceToEnd       ? (fwd ? dim : -1)
                    : end == kSliceFromStart ? (fwd ? 0 : dim - 1)
                                             : clamp(end);
  const int64_t span = fwd ? e - s : s - e;
  const int64_t mag = fwd ? step : -step;
  SliceAxis a;
  a.start = s;
  a.size = span <= 0 ? 0 : (span + mag - 1) / mag;
  return a;
}

namespace {

struct SliceAttrs {
  std::vector<int64_t> starts, steps, sizes;
};

Result<SliceAttrs> ReadSlice(const Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  SliceAttrs a{n.attrs.Ints("starts"), n.attrs.Ints("steps"), n.attrs.Ints("sizes")};
  const size_t rank = x.shape.size();
  if (rank > TML_MAX_DIMS || a.starts.size() != rank || a.steps.size() != rank ||
      a.sizes.size() != rank)
    return Status::Errorf(
        "{}: starts {}, steps {} and sizes {} must each have one entry per "
        "dimension of the input {}",
        NodeWhere(n), ShapeStr(a.starts), ShapeStr(a.steps), ShapeStr(a.sizes), ShapeStr(x.shape));
  for (size_t d = 0; d < rank; ++d) {
    const int64_t dim = x.shape[d], st = a.starts[d], step = a.steps[d], size = a.sizes[d];
    if (step == 0) return Status::Errorf("{}: step of dimension {} is 0", NodeWhere(n), d);
    if (size < 0) return Status::Errorf("{}: negative size in dimension {}", NodeWhere(n), d);
    if (size == 0) continue;
    const int64_t last = st + (size - 1) * step;
    if (st < 0 || st >= dim || last < 0 || last >= dim)
      return Status::Errorf("{}: dimension {} reads indices {}..{} of an axis of {}", NodeWhere(n),
                            d, st, last, dim);
  }
  return a;
}

Status InferSlice(Graph& g, const Node& n) {
  TML_ASSIGN_OR_RETURN(SliceAttrs a, ReadSlice(g, n));
  const DType t = In(g, n, 0).dtype;
  Tensor& y = Out(g, n);
  y.shape = a.sizes;
  y.dtype = t;
  return Status::Ok();
}

class SliceOp : public LoweredOp {
 public:
  tml_transpose_params p{};
  int64_t offset_bytes = 0;
  void Run(const KernelIO& io) const override {
    tml_transpose(&p, static_cast<const uint8_t*>(io.in[0]) + offset_bytes, io.out[0]);
  }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = TML_K_TRANSPOSE;
    k.params = p;
    k.args = {CallArg::In(0, offset_bytes), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"data_movement.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerSlice(const Graph& g, const Node& n) {
  TML_ASSIGN_OR_RETURN(SliceAttrs a, ReadSlice(g, n));
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  if (IsQuantizedDType(x.dtype) && !(x.quant == y.quant))
    return Status::Errorf("{}: input and output are quantized differently", NodeWhere(n));
  auto op = std::make_unique<SliceOp>();
  const size_t rank = x.shape.size();
  int64_t stride = 1, offset = 0;
  op->p.rank = static_cast<int32_t>(rank);
  op->p.elem_size = static_cast<int32_t>(DTypeSize(x.dtype));
  for (size_t k = rank; k-- > 0;) {
    op->p.out_shape[k] = static_cast<int32_t>(a.sizes[k]);
    op->p.in_stride[k] = static_cast<int32_t>(stride * a.steps[k]);
    offset += a.starts[k] * stride;
    stride *= x.shape[k];
  }
  op->offset_bytes = offset * op->p.elem_size;
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterSliceOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kSlice, 1, 1, InferSlice, LowerSlice, nullptr, Inplace::kNone,
               QuantRule::kSameAsInput, true, true});
}

}  // namespace tml
