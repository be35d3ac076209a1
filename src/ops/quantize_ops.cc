// Quantize (float32 -> int8/uint8 with the output tensor's parameters, or int8
// -> int8 requantization) and Dequantize (int8/uint8 -> float32). Attribute
// round_half_even selects ONNX rounding instead of TFLite's half-away-from-zero.
#include <fmt/format.h>

#include "ops/lower_util.h"

namespace tml {
namespace {

Status InferQuantize(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  Tensor& y = Out(g, n);
  y.shape = x.shape;
  if (n.op == OpType::kDequantize) y.dtype = DType::kFloat32;
  if (n.op == OpType::kQuantize && !IsQuantizedDType(y.dtype))
    return Status::Errorf("{}: output '{}' must be int8 or uint8, got {}", NodeWhere(n), y.name,
                          DTypeName(y.dtype));
  return Status::Ok();
}

enum class Mode { kQuantS8, kQuantU8, kRequant, kDequantS8, kDequantU8, kDequantS32 };

class QuantOp : public LoweredOp {
 public:
  tml_quant_params p{};
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  Mode mode = Mode::kQuantS8;

  tml_quant_params Bound() const {
    tml_quant_params q = p;
    q.scale = scale.data();
    q.zero_point = zero_point.data();
    return q;
  }
  void Run(const KernelIO& io) const override {
    const tml_quant_params q = Bound();
    switch (mode) {
      case Mode::kQuantS8:
        tml_quantize_f32_s8(&q, static_cast<const float*>(io.in[0]),
                            static_cast<int8_t*>(io.out[0]));
        break;
      case Mode::kQuantU8:
        tml_quantize_f32_u8(&q, static_cast<const float*>(io.in[0]),
                            static_cast<uint8_t*>(io.out[0]));
        break;
      case Mode::kRequant:
        tml_requantize_s8(&q, static_cast<const int8_t*>(io.in[0]),
                          static_cast<int8_t*>(io.out[0]));
        break;
      case Mode::kDequantS8:
        tml_dequantize_s8_f32(&q, static_cast<const int8_t*>(io.in[0]),
                              static_cast<float*>(io.out[0]));
        break;
      case Mode::kDequantU8:
        tml_dequantize_u8_f32(&q, static_cast<const uint8_t*>(io.in[0]),
                              static_cast<float*>(io.out[0]));
        break;
      case Mode::kDequantS32:
        tml_dequantize_s32_f32(&q, static_cast<const int32_t*>(io.in[0]),
                               static_cast<float*>(io.out[0]));
        break;
    }
  }
  KernelCall Call(bool) const override {
    KernelCall k;
    static const tml_kernel_id kKernels[] = {TML_K_QUANTIZE_F32_S8,   TML_K_QUANTIZE_F32_U8,
                                             TML_K_REQUANTIZE_S8,     TML_K_DEQUANTIZE_S8_F32,
                                             TML_K_DEQUANTIZE_U8_F32, TML_K_DEQUANTIZE_S32_F32};
    k.kernel = kKernels[static_cast<int>(mode)];
    k.Array("scale", scale);
    k.Array("zp", zero_point);
    k.params = Bound();
    k.args = {CallArg::In(0), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override { return {"quantize.c"}; }
};

Result<std::unique_ptr<LoweredOp>> LowerQuantize(const Graph& g, const Node& n) {
  auto op = std::make_unique<QuantOp>();
  const Tensor& x = In(g, n, 0);
  const Tensor& y = g.tensor(n.outputs[0]);
  const std::string where = NodeWhere(n);
  const bool quantize = n.op == OpType::kQuantize;
  const Tensor& q = quantize ? y : x;  // the quantized side
  if (q.quant.empty())
    return Status::Errorf("{}: tensor '{}' has no quantization parameters", where, q.name);
  if (q.quant.scale.size() != q.quant.zero_point.size())
    return Status::Errorf("{}: tensor '{}' has {} scales but {} zero points", where, q.name,
                          q.quant.scale.size(), q.quant.zero_point.size());
  for (float s : q.quant.scale)
    if (!(s > 0.0f)) return Status::Errorf("{}: tensor '{}' has scale {}", where, q.name, s);
  op->scale = q.quant.scale;
  for (int64_t z : q.quant.zero_point) op->zero_point.push_back(static_cast<int32_t>(z));
  tml_quant_params& p = op->p;
  p.count = static_cast<int32_t>(x.numel());
  p.channels = static_cast<int32_t>(op->scale.size());
  p.inner = 1;
  if (p.channels > 1) {
    const int axis =
        q.quant.axis < 0 ? q.quant.axis + static_cast<int>(q.shape.size()) : q.quant.axis;
    if (axis < 0 || axis >= static_cast<int>(q.shape.size()) ||
        q.shape[static_cast<size_t>(axis)] != p.channels)
      return Status::Errorf("{}: {} per-channel parameters do not fit axis {} of {}", where,
                            p.channels, q.quant.axis, ShapeStr(q.shape));
    for (size_t d = static_cast<size_t>(axis) + 1; d < q.shape.size(); ++d)
      p.inner *= static_cast<int32_t>(q.shape[d]);
  }
  p.round_half_even = static_cast<int32_t>(n.attrs.Int("round_half_even"));
  const bool u8 = q.dtype == DType::kUInt8;
  p.q_min = u8 ? 0 : -128;
  p.q_max = u8 ? 255 : 127;
  if (quantize && x.dtype == DType::kFloat32) {
    op->mode = u8 ? Mode::kQuantU8 : Mode::kQuantS8;
  } else if (quantize && x.dtype == DType::kInt8 && y.dtype == DType::kInt8) {
    op->mode = Mode::kRequant;
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(x, where));
    TML_RETURN_IF_ERROR(RequirePerTensorQuant(y, where));
    p.in_zero_point = static_cast<int32_t>(x.quant.zero_point[0]);
    int shift = 0;
    QuantizeMultiplier(static_cast<double>(x.quant.scale[0]) / y.quant.scale[0], &p.mult, &shift);
    p.shift = shift;
  } else if (!quantize && IsQuantizedDType(x.dtype)) {
    op->mode = u8 ? Mode::kDequantU8 : Mode::kDequantS8;
  } else if (!quantize && x.dtype == DType::kInt32) {
    op->mode = Mode::kDequantS32;
  } else {
    return Status::Errorf("{}: cannot convert {} to {}", where, DTypeName(x.dtype),
                          DTypeName(y.dtype));
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterQuantizeOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kQuantize, 1, 1, InferQuantize, LowerQuantize, nullptr, Inplace::kNone});
  r.push_back({OpType::kDequantize, 1, 1, InferQuantize, LowerQuantize, nullptr, Inplace::kNone});
}

}  // namespace tml
