// Svdf: TFLite's SVDF (singular value decomposition filter), the recurrent layer of
// TensorFlow Lite Micro's keyword models. Inputs: x [batch, input_size], weights_feature
// [filters, input_size], weights_time [filters, memory], bias [units] (optional), state
// [batch, filters x memory] (a state tensor: kept in the arena between invocations, zero
// at start). Output [batch, units], units = filters / rank (attribute rank). Float, or
// int8 with int16 time weights and state and int32 bias (TFLite's integer scheme).
// Attributes: rank; act_min / act_max (fused activation; TFLite's integer reference
// applies none, so the importer sets none for int8).
#include <fmt/format.h>

#include "ops/lower_util.h"

namespace tml {
namespace {

struct SvdfDims {
  int64_t batch, input_size, filters, memory, rank, units;
};

Result<SvdfDims> Dims(const Graph& g, const Node& n) {
  const std::string where = NodeWhere(n);
  if (n.inputs.size() != 5)
    return Status::Errorf("{}: takes input, weights_feature, weights_time, bias, state", where);
  const Tensor &x = In(g, n, 0), &wf = In(g, n, 1), &wt = In(g, n, 2), &st = In(g, n, 4);
  if (x.shape.size() != 2 || wf.shape.size() != 2 || wt.shape.size() != 2)
    return Status::Errorf("{}: input {}, weights_feature {} and weights_time {} must be 2-D", where,
                          ShapeStr(x.shape), ShapeStr(wf.shape), ShapeStr(wt.shape));
  SvdfDims d{x.shape[0], x.shape[1], wf.shape[0], wt.shape[1], n.attrs.Int("rank", 1), 0};
  if (wf.shape[1] != d.input_size)
    return Status::Errorf("{}: weights_feature {} does not take input {}", where,
                          ShapeStr(wf.shape), ShapeStr(x.shape));
  if (wt.shape[0] != d.filters || d.memory < 1)
    return Status::Errorf("{}: weights_time {} must be [{}, memory]", where, ShapeStr(wt.shape),
                          d.filters);
  if (d.rank < 1 || d.filters % d.rank != 0)
    return Status::Errorf("{}: rank {} must divide the {} filters", where, d.rank, d.filters);
  d.units = d.filters / d.rank;
  if (!wf.is_const || !wt.is_const)
    return Status::Errorf("{}: the weights must be constants", where);
  if (!st.is_state || st.numel() != d.batch * d.filters * d.memory)
    return Status::Errorf("{}: state '{}' {} must be a state tensor of {} x {} x {} values", where,
                          st.name, ShapeStr(st.shape), d.batch, d.filters, d.memory);
  if (n.inputs[3] >= 0 && In(g, n, 3).numel() != d.units)
    return Status::Errorf("{}: bias {} must have {} values", where, ShapeStr(In(g, n, 3).shape),
                          d.units);
  return d;
}

bool IsInt8(const Graph& g, const Node& n) {
  return In(g, n, 0).dtype == DType::kInt8;
}

Status CheckTypes(const Graph& g, const Node& n) {
  const std::string where = NodeWhere(n);
  const bool q = IsInt8(g, n);
  const DType want[5] = {q ? DType::kInt8 : DType::kFloat32, q ? DType::kInt8 : DType::kFloat32,
                         q ? DType::kInt16 : DType::kFloat32, q ? DType::kInt32 : DType::kFloat32,
                         q ? DType::kInt16 : DType::kFloat32};
  const char* names[5] = {"input", "weights_feature", "weights_time", "bias", "state"};
  for (int k = 0; k < 5; ++k) {
    if (n.inputs[static_cast<size_t>(k)] < 0) continue;
    const Tensor& t = In(g, n, k);
    if (t.dtype != want[k])
      return Status::Errorf("{}: {} '{}' is {}, expected {} ({} SVDF)", where, names[k], t.name,
                            DTypeName(t.dtype), DTypeName(want[k]), q ? "int8" : "float");
  }
  return Status::Ok();
}

Status InferSvdf(Graph& g, const Node& n) {
  TML_ASSIGN_OR_RETURN(SvdfDims d, Dims(g, n));
  TML_RETURN_IF_ERROR(CheckTypes(g, n));
  Tensor& y = Out(g, n);
  y.shape = {d.batch, d.units};
  if (!IsInt8(g, n)) y.dtype = DType::kFloat32;
  return Status::Ok();
}

int64_t SvdfMacs(const Graph& g, const Node& n) {
  auto d = Dims(g, n);
  return d.ok() ? d->batch * d->filters * (d->input_size + d->memory) : 0;
}

class SvdfOp : public LoweredOp {
 public:
  tml_svdf_params p{};
  bool int8 = false;
  void Run(const KernelIO& io) const override {
    std::vector<int32_t> scratch(static_cast<size_t>(p.filters));
    if (int8)
      tml_svdf_s8(&p, static_cast<const int8_t*>(io.in[0]), static_cast<const int8_t*>(io.in[1]),
                  static_cast<const int16_t*>(io.in[2]), static_cast<const int32_t*>(io.in[3]),
                  static_cast<int16_t*>(const_cast<void*>(io.in[4])),
                  static_cast<int8_t*>(io.out[0]), scratch.data());
    else
      tml_svdf_f32(&p, static_cast<const float*>(io.in[0]), static_cast<const float*>(io.in[1]),
                   static_cast<const float*>(io.in[2]), static_cast<const float*>(io.in[3]),
                   static_cast<float*>(const_cast<void*>(io.in[4])), static_cast<float*>(io.out[0]),
                   scratch.data());
  }
  KernelCall Call(bool reference_kernels) const override {
    KernelCall k;
    k.kernel = !int8 ? TML_K_SVDF_F32 : reference_kernels ? TML_K_SVDF_S8 : TML_K_SVDF_S8_FAST;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::In(1), CallArg::In(2),    CallArg::In(3),
              CallArg::In(4), CallArg::Out(), CallArg::Scratch()};
    return k;
  }
  std::vector<std::string> Sources() const override {
    // Both: the call depends on reference_kernels.
    if (int8) return {"svdf.c", "svdf_fast.c"};
    return {"svdf.c"};
  }
  int64_t ScratchBytes(bool) const override {
    return 4 * static_cast<int64_t>(p.filters) + 2 * (static_cast<int64_t>(p.input_size) + 3);
  }
};

Result<std::unique_ptr<LoweredOp>> LowerSvdf(const Graph& g, const Node& n) {
  TML_ASSIGN_OR_RETURN(SvdfDims d, Dims(g, n));
  TML_RETURN_IF_ERROR(CheckTypes(g, n));
  auto op = std::make_unique<SvdfOp>();
  tml_svdf_params& p = op->p;
  p.batch = static_cast<int32_t>(d.batch);
  p.input_size = static_cast<int32_t>(d.input_size);
  p.filters = static_cast<int32_t>(d.filters);
  p.memory = static_cast<int32_t>(d.memory);
  p.rank = static_cast<int32_t>(d.rank);
  p.units = static_cast<int32_t>(d.units);
  const ActRange act = NodeAct(n);
  p.act_min_f = act.lo;
  p.act_max_f = act.hi;
  op->int8 = IsInt8(g, n);
  if (!op->int8) return std::unique_ptr<LoweredOp>(std::move(op));
  const std::string where = NodeWhere(n);
  const Tensor &x = In(g, n, 0), &wf = In(g, n, 1), &wt = In(g, n, 2), &st = In(g, n, 4);
  const Tensor& y = g.tensor(n.outputs[0]);
  for (const Tensor* t : {&x, &wf, &wt, &st, &y})
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(*t, where));
  if (st.quant.zero_point[0] != 0 || wt.quant.zero_point[0] != 0 || wf.quant.zero_point[0] != 0)
    return Status::Errorf("{}: the state and the weights must be quantized symmetrically", where);
  int s1 = 0, s2 = 0;
  QuantizeMultiplier(static_cast<double>(x.quant.scale[0]) * wf.quant.scale[0] / st.quant.scale[0],
                     &p.mult1, &s1);
  QuantizeMultiplier(static_cast<double>(st.quant.scale[0]) * wt.quant.scale[0] / y.quant.scale[0],
                     &p.mult2, &s2);
  p.shift1 = s1;
  p.shift2 = s2;
  p.in_zero_point = static_cast<int32_t>(x.quant.zero_point[0]);
  p.out_zero_point = static_cast<int32_t>(y.quant.zero_point[0]);
  // TFLite's integer reference clamps to int8 only (the importer sets no activation); an
  // activation set here clamps to its quantized range.
  QuantizedActivationRange(act.lo, act.hi, y.quant, &p.act_min, &p.act_max);
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterSvdfOps(std::vector<OpSchema>& r) {
  OpSchema s{OpType::kSvdf,    5,    5, InferSvdf, LowerSvdf, SvdfMacs, Inplace::kNone,
             QuantRule::kSvdf, false};
  s.fused_activation = true;
  r.push_back(s);
}

}  // namespace tml
