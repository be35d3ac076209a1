#include "ops/lower_util.h"

namespace tml {

ActRange NodeAct(const Node& n) {
  ActRange a;
  a.lo = n.attrs.Float("act_min", kNoMin);
  a.hi = n.attrs.Float("act_max", kNoMax);
  return a;
}

Status MakeAccumulatorRequant(const Graph& g, const Node& n, int channels, bool float_product,
                              Requant* r) {
  const Tensor& in = In(g, n, 0);
  const Tensor& w = In(g, n, 1);
  const Tensor& out = g.tensor(n.outputs[0]);
  const std::string where = NodeWhere(n);
  TML_RETURN_IF_ERROR(RequirePerTensorQuant(in, where));
  TML_RETURN_IF_ERROR(RequirePerTensorQuant(out, where));
  if (w.quant.empty()) return Status::Errorf("{}: weights '{}' are not quantized", where, w.name);
  const bool per_channel = w.quant.per_channel();
  if (per_channel && static_cast<int>(w.quant.scale.size()) != channels)
    return Status::Errorf("{}: weights '{}' have {} scales for {} output channels", where, w.name,
                          w.quant.scale.size(), channels);
  for (int64_t zp : w.quant.zero_point)
    if (per_channel && zp != 0)
      return Status::Errorf("{}: per-channel weights '{}' must be symmetric (zero point 0)", where,
                            w.name);
  const int count = per_channel ? channels : 1;
  r->mult.resize(static_cast<size_t>(count));
  r->shift.resize(static_cast<size_t>(count));
  for (int c = 0; c < count; ++c) {
    const float ws = w.quant.scale[static_cast<size_t>(c)];
    double real;
    if (float_product)
      real = static_cast<double>(in.quant.scale[0] * ws) / static_cast<double>(out.quant.scale[0]);
    else
      real = static_cast<double>(in.quant.scale[0]) * static_cast<double>(ws) /
             static_cast<double>(out.quant.scale[0]);
    int shift;
    QuantizeMultiplier(real, &r->mult[static_cast<size_t>(c)], &shift);
    r->shift[static_cast<size_t>(c)] = shift;
  }
  r->q.input_offset = -static_cast<int32_t>(in.quant.zero_point[0]);
  r->q.filter_offset = per_channel ? 0 : -static_cast<int32_t>(w.quant.zero_point[0]);
  r->q.output_offset = static_cast<int32_t>(out.quant.zero_point[0]);
  r->q.per_channel = per_channel ? 1 : 0;
  const ActRange act = NodeAct(n);
  QuantizedActivationRange(act.lo, act.hi, out.quant, &r->q.act_min, &r->q.act_max);
  r->Bind();
  return Status::Ok();
}

std::vector<int32_t> AccumulatorCorrections(const Tensor& w, const Tensor* bias,
                                            const tml_requant& q) {
  const int64_t channels = w.shape[0];
  const int64_t k = channels ? w.numel() / channels : 0;
  std::vector<int32_t> corr(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    int32_t sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += w.as<int8_t>()[c * k + i];
    // Unsigned arithmetic: wraps exactly like the int32 accumulator on the device.
    uint32_t v = bias ? static_cast<uint32_t>(bias->as<int32_t>()[c]) : 0u;
    v += static_cast<uint32_t>(q.input_offset) * static_cast<uint32_t>(sum);
    v += static_cast<uint32_t>(k) * static_cast<uint32_t>(q.filter_offset) *
         static_cast<uint32_t>(q.input_offset);
    corr[static_cast<size_t>(c)] = static_cast<int32_t>(v);
  }
  return corr;
}

void EnableFastRequant(Requant* r, int64_t acc_bound, int64_t channels) {
  r->fast.clear();
  if (acc_bound >= (int64_t{1} << 30) || channels <= 0) return;
  std::vector<int32_t> fast;
  const int64_t padded = (channels + 3) / 4 * 4;
  for (int64_t c = 0; c < padded; ++c) {
    // Per-tensor parameters repeat; padding channels repeat the last one.
    const size_t i = r->shift.size() == 1 ? 0 : static_cast<size_t>(std::min(c, channels - 1));
    const int rs = -r->shift[i];
    if (rs < 1 || rs > 22) return;
    const int64_t v = (int64_t{1} << (rs - 1)) + (static_cast<int64_t>(r->q.output_offset) << rs);
    if (v >= (int64_t{1} << 30) || v <= -(int64_t{1} << 30)) return;
    fast.insert(fast.end(), {r->mult[i], static_cast<int32_t>(v), rs});
  }
  r->fast = std::move(fast);
  r->Bind();
}

int64_t AccumulatorBound(const std::vector<int32_t>& corr, int64_t k) {
  int64_t m = 0;
  for (int32_t c : corr) m = std::max<int64_t>(m, c < 0 ? -int64_t{c} : c);
  return m + k * 128 * 128;
}

tml_requant CallRequant(KernelCall& k, const Requant& r, bool reference_kernels) {
  tml_requant q = r.q;
  if (!r.fast.empty() && !reference_kernels) {
    // The optimized kernels read only the packed parameters.
    q.multiplier = q.shift = nullptr;
    q.fast = r.fast.data();
    k.Array("fast", r.fast);
  } else {
    q.multiplier = r.mult.data();
    q.shift = r.shift.data();
    q.fast = nullptr;
    k.Array("mult", r.mult);
    k.Array("shift", r.shift);
  }
  return q;
}

Window NodeWindow(const Node& n) {
  auto get = [&](const char* k, int64_t def) { return static_cast<int32_t>(n.attrs.Int(k, def)); };
  return {get("stride_h", 1),   get("stride_w", 1), get("dilation_h", 1),
          get("dilation_w", 1), get("pad_top", 0),  get("pad_left", 0)};
}

Status PrepareWeighted(const Graph& g, const Node& n, int channels, bool float_product, bool* int8,
                       Requant* rq) {
  const Tensor& x = In(g, n, 0);
  *int8 = x.dtype == DType::kInt8;
  if (*int8) {
    TML_RETURN_IF_ERROR(RequireDType(g, n, 1, DType::kInt8));
    TML_RETURN_IF_ERROR(RequireDType(g, n, 2, DType::kInt32));
    if (g.tensor(n.outputs[0]).dtype != DType::kInt8)
      return Status::Errorf("{}: int8 input needs an int8 output", NodeWhere(n));
    return MakeAccumulatorRequant(g, n, channels, float_product, rq);
  }
  if (x.dtype != DType::kFloat32)
    return Status::Errorf("{}: unsupported input type {}", NodeWhere(n), DTypeName(x.dtype));
  TML_RETURN_IF_ERROR(RequireDType(g, n, 1, DType::kFloat32));
  return RequireDType(g, n, 2, DType::kFloat32);
}

Status RequireConst(const Graph& g, const Node& n, size_t k, DType dtype, const char* what) {
  const Tensor* t = g.input(n, k);
  if (!t) return Status::Errorf("{}: {} (input {}) is missing", NodeWhere(n), what, k);
  if (!t->is_const)
    return Status::Errorf("{}: {} '{}' must be a constant", NodeWhere(n), what, t->name);
  if (t->dtype != dtype)
    return Status::Errorf("{}: {} '{}' must be {}, got {}", NodeWhere(n), what, t->name,
                          DTypeName(dtype), DTypeName(t->dtype));
  return Status::Ok();
}

Status RequireDType(const Graph& g, const Node& n, size_t k, DType t) {
  const Tensor* x = g.input(n, k);
  if (x && x->dtype != t)
    return Status::Errorf("{}: input '{}' must be {}, got {}", NodeWhere(n), x->name, DTypeName(t),
                          DTypeName(x->dtype));
  return Status::Ok();
}

}  // namespace tml
