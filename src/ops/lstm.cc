// Lstm: TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM as Keras builds it (no peepholes, projection,
// layer norm or CIFG; tanh). Inputs: x [time, batch, input] (attribute time_major = 1) or
// [batch, time, input]; w_in [4 units, input] and w_rec [4 units, units], the gates stacked
// in TFLite's order input, forget, cell, output; bias [4 units] (optional); h and c [batch,
// units], state tensors. Output: every step's h, [time, batch, units] or [batch, time,
// units]. Attribute cell_clip (0: none). Three forms, as TFLite's integer LSTM:
//   float;  int8 ("8x8_16": int8 x, h and output, int8 weights, int32 bias, int16 c);
//   int16 ("16x8": int16 x, h and output, symmetric, int8 weights, int64 bias, int16 c).
// Weights may carry one scale per gate (per-channel along axis 0, constant within a gate);
// the cell state's scale must be a power of two; the output has the hidden state's
// quantization (it is the hidden state).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "ops/lower_util.h"

namespace tml {
namespace {

struct LstmDims {
  int64_t time, batch, input, units;
  bool time_major;
};

enum class Form { kFloat, kInt8, kInt16 };

Form FormOf(const Graph& g, const Node& n) {
  const DType t = In(g, n, 0).dtype;
  return t == DType::kInt8 ? Form::kInt8 : t == DType::kInt16 ? Form::kInt16 : Form::kFloat;
}

Result<LstmDims> Dims(const Graph& g, const Node& n) {
  const std::string where = NodeWhere(n);
  if (n.inputs.size() != 6)
    return Status::Errorf(
        "{}: takes input, input weights, recurrent weights, bias, hidden "
        "state and cell state",
        where);
  const Tensor &x = In(g, n, 0), &wi = In(g, n, 1), &wr = In(g, n, 2), &h = In(g, n, 4),
               &c = In(g, n, 5);
  if (x.shape.size() != 3)
    return Status::Errorf("{}: input {} must be 3-D (time, batch, input or batch, time, input)",
                          where, ShapeStr(x.shape));
  LstmDims d{};
  d.time_major = n.attrs.Int("time_major", 0) != 0;
  d.time = x.shape[d.time_major ? 0 : 1];
  d.batch = x.shape[d.time_major ? 1 : 0];
  d.input = x.shape[2];
  if (wr.shape.size() != 2 || wr.shape[0] % 4 != 0 || wr.shape[0] != 4 * wr.shape[1])
    return Status::Errorf("{}: recurrent weights {} must be [4 units, units]", where,
                          ShapeStr(wr.shape));
  d.units = wr.shape[1];
  if (wi.shape != Shape{4 * d.units, d.input})
    return Status::Errorf("{}: input weights {} must be [{}, {}]", where, ShapeStr(wi.shape),
                          4 * d.units, d.input);
  if (!wi.is_const || !wr.is_const)
    return Status::Errorf("{}: the weights must be constants", where);
  if (n.inputs[3] >= 0 && (In(g, n, 3).numel() != 4 * d.units || !In(g, n, 3).is_const))
    return Status::Errorf("{}: bias {} must be a constant of {} values", where,
                          ShapeStr(In(g, n, 3).shape), 4 * d.units);
  for (const Tensor* s : {&h, &c})
    if (!s->is_state || s->numel() != d.batch * d.units)
      return Status::Errorf("{}: '{}' {} must be a state tensor of {} x {} values", where, s->name,
                            ShapeStr(s->shape), d.batch, d.units);
  if (d.time < 1 || d.batch < 1 || d.input < 1 || d.units < 1)
    return Status::Errorf("{}: empty input {}", where, ShapeStr(x.shape));
  return d;
}

Status CheckTypes(const Graph& g, const Node& n) {
  const Form f = FormOf(g, n);
  const DType act = f == Form::kInt8    ? DType::kInt8
                    : f == Form::kInt16 ? DType::kInt16
                                        : DType::kFloat32;
  const DType w = f == Form::kFloat ? DType::kFloat32 : DType::kInt8;
  const DType b = f == Form::kInt8    ? DType::kInt32
                  : f == Form::kInt16 ? DType::kInt64
                                      : DType::kFloat32;
  const DType cell = f == Form::kFloat ? DType::kFloat32 : DType::kInt16;
  const DType want[6] = {act, w, w, b, act, cell};
  const char* names[6] = {"input", "input weights", "recurrent weights",
                          "bias",  "hidden state",  "cell state"};
  for (int k = 0; k < 6; ++k) {
    if (n.inputs[static_cast<size_t>(k)] < 0) continue;
    const Tensor& t = In(g, n, k);
    if (t.dtype != want[k])
      return Status::Errorf("{}: {} '{}' is {}, expected {} ({} LSTM)", NodeWhere(n), names[k],
                            t.name, DTypeName(t.dtype), DTypeName(want[k]),
                            f == Form::kInt8    ? "int8"
                            : f == Form::kInt16 ? "16x8"
                                                : "float");
  }
  return Status::Ok();
}

Status InferLstm(Graph& g, const Node& n) {
  TML_ASSIGN_OR_RETURN(LstmDims d, Dims(g, n));
  TML_RETURN_IF_ERROR(CheckTypes(g, n));
  Tensor& y = Out(g, n);
  y.shape = d.time_major ? Shape{d.time, d.batch, d.units} : Shape{d.batch, d.time, d.units};
  if (FormOf(g, n) == Form::kFloat) y.dtype = DType::kFloat32;
  return Status::Ok();
}

int64_t LstmMacs(const Graph& g, const Node& n) {
  auto d = Dims(g, n);
  return d.ok() ? d->time * d->batch * 4 * d->units * (d->input + d->units) : 0;
}

class LstmOp : public LoweredOp {
 public:
  tml_lstm_params p{};
  Form form = Form::kFloat;
  void Run(const KernelIO& io) const override {
    std::vector<int32_t> scratch(static_cast<size_t>(5 * p.units));
    void* h = const_cast<void*>(io.in[4]);
    void* c = const_cast<void*>(io.in[5]);
    switch (form) {
      case Form::kFloat:
        tml_lstm_f32(&p, static_cast<const float*>(io.in[0]), static_cast<const float*>(io.in[1]),
                     static_cast<const float*>(io.in[2]), static_cast<const float*>(io.in[3]),
                     static_cast<float*>(h), static_cast<float*>(c), static_cast<float*>(io.out[0]),
                     scratch.data());
        break;
      case Form::kInt8:
        tml_lstm_s8(&p, static_cast<const int8_t*>(io.in[0]), static_cast<const int8_t*>(io.in[1]),
                    static_cast<const int8_t*>(io.in[2]), static_cast<const int32_t*>(io.in[3]),
                    static_cast<int8_t*>(h), static_cast<int16_t*>(c),
                    static_cast<int8_t*>(io.out[0]), scratch.data());
        break;
      case Form::kInt16:
        tml_lstm_s16(&p, static_cast<const int16_t*>(io.in[0]),
                     static_cast<const int8_t*>(io.in[1]), static_cast<const int8_t*>(io.in[2]),
                     static_cast<const int64_t*>(io.in[3]), static_cast<int16_t*>(h),
                     static_cast<int16_t*>(c), static_cast<int16_t*>(io.out[0]), scratch.data());
        break;
    }
  }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = form == Form::kFloat  ? TML_K_LSTM_F32
               : form == Form::kInt8 ? TML_K_LSTM_S8
                                     : TML_K_LSTM_S16;
    k.params = p;
    k.args = {CallArg::In(0), CallArg::In(1), CallArg::In(2), CallArg::In(3),
              CallArg::In(4), CallArg::In(5), CallArg::Out(), CallArg::Scratch()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"lstm.c"}; }
  int64_t ScratchBytes(bool) const override { return 20 * static_cast<int64_t>(p.units); }
};

// The scale of gate k's rows of a stacked weight tensor (per tensor, or per channel
// constant within each gate).
Result<std::array<double, 4>> GateScales(const Tensor& w, int64_t units, const std::string& where) {
  std::array<double, 4> s{};
  const QuantParams& q = w.quant;
  if (q.empty()) return Status::Errorf("{}: weights '{}' have no quantization", where, w.name);
  for (int64_t k = 0; k < 4; ++k) {
    if (!q.per_channel()) {
      s[k] = q.scale[0];
    } else {
      if (q.axis != 0 || static_cast<int64_t>(q.scale.size()) != 4 * units)
        return Status::Errorf("{}: weights '{}' must have one scale per tensor or per row", where,
                              w.name);
      s[k] = q.scale[static_cast<size_t>(k * units)];
      for (int64_t r = 0; r < units; ++r)
        if (q.scale[static_cast<size_t>(k * units + r)] != q.scale[static_cast<size_t>(k * units)])
          return Status::Errorf("{}: weights '{}' must have one scale per gate", where, w.name);
    }
    for (int64_t r = 0; r < (q.per_channel() ? units : 1); ++r)
      if (q.zero_point[static_cast<size_t>(q.per_channel() ? k * units + r : 0)] != 0)
        return Status::Errorf("{}: weights '{}' must be quantized symmetrically", where, w.name);
  }
  return s;
}

Result<std::unique_ptr<LoweredOp>> LowerLstm(const Graph& g, const Node& n) {
  TML_ASSIGN_OR_RETURN(LstmDims d, Dims(g, n));
  TML_RETURN_IF_ERROR(CheckTypes(g, n));
  auto op = std::make_unique<LstmOp>();
  tml_lstm_params& p = op->p;
  p.time = static_cast<int32_t>(d.time);
  p.batch = static_cast<int32_t>(d.batch);
  p.input_size = static_cast<int32_t>(d.input);
  p.units = static_cast<int32_t>(d.units);
  p.time_major = d.time_major ? 1 : 0;
  p.cell_clip_f = n.attrs.Float("cell_clip", 0.0f);
  op->form = FormOf(g, n);
  if (op->form == Form::kFloat) return std::unique_ptr<LoweredOp>(std::move(op));

  const std::string where = NodeWhere(n);
  const Tensor &x = In(g, n, 0), &wi = In(g, n, 1), &wr = In(g, n, 2), &h = In(g, n, 4),
               &c = In(g, n, 5);
  const Tensor& y = g.tensor(n.outputs[0]);
  for (const Tensor* t : {&x, &h, &c, &y}) TML_RETURN_IF_ERROR(RequirePerTensorQuant(*t, where));
  if (!(y.quant == h.quant))
    return Status::Errorf("{}: the output '{}' must have the hidden state's quantization", where,
                          y.name);
  if (c.quant.zero_point[0] != 0)
    return Status::Errorf("{}: the cell state must be quantized symmetrically", where);
  const bool int16 = op->form == Form::kInt16;
  if (int16 && (x.quant.zero_point[0] != 0 || h.quant.zero_point[0] != 0))
    return Status::Errorf("{}: a 16x8 LSTM's input and hidden state must be symmetric", where);
  int cell_power = 0;
  const double cs = c.quant.scale[0];
  if (!(cs > 0) || std::frexp(cs, &cell_power) != 0.5 || cell_power - 1 < -24 || cell_power - 1 > 0)
    return Status::Errorf("{}: the cell state's scale {} must be a power of two from 2^-24 to 1",
                          where, cs);
  cell_power -= 1;  // cs = 2^cell_power
  TML_ASSIGN_OR_RETURN(auto si, GateScales(wi, d.units, where));
  TML_ASSIGN_OR_RETURN(auto sr, GateScales(wr, d.units, where));
  const double q312 = 1.0 / 4096, q15 = 1.0 / 32768;
  const auto mult = [](double real, int32_t* m, int32_t* s) {
    int shift = 0;
    QuantizeMultiplier(real, m, &shift);
    *s = shift;
  };
  for (int k = 0; k < 4; ++k) {
    mult(x.quant.scale[0] * si[k] / q312, &p.in_mult[k], &p.in_shift[k]);
    mult(h.quant.scale[0] * sr[k] / q312, &p.rec_mult[k], &p.rec_shift[k]);
  }
  mult(q15, &p.fc_mult, &p.fc_shift);
  mult(q15 * q15 / cs, &p.ig_mult, &p.ig_shift);
  mult(q15 * q15 / h.quant.scale[0], &p.h_mult, &p.h_shift);
  // The int16 tanh reads Q3.12: c x 2^(cell_power + 12), by a multiplier of 3 folded in.
  const int left = 15 + cell_power - 3;
  p.th_mult = left >= 0 ? 3 << left : 3;
  p.th_shift = left >= 0 ? 0 : -left;
  p.in_zero_point = static_cast<int32_t>(x.quant.zero_point[0]);
  p.h_zero_point = static_cast<int32_t>(h.quant.zero_point[0]);
  p.h_min = int16 ? -32768 : -128;
  p.h_max = int16 ? 32767 : 127;
  if (p.cell_clip_f > 0)
    p.cell_clip = static_cast<int32_t>(std::clamp(p.cell_clip_f / cs, -32768.0, 32767.0));
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterLstmOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kLstm, 6, 6, InferLstm, LowerLstm, LstmMacs, Inplace::kNone,
               QuantRule::kLstm, false});
}

}  // namespace tml
