#include "ops/quant_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tml {

void QuantizeMultiplier(double real, int32_t* multiplier, int* shift) {
  if (real == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  const double q = std::frexp(real, shift);
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(1LL << 31)));
  if (q_fixed == (1LL << 31)) {
    q_fixed /= 2;
    ++*shift;
  }
  if (*shift < -31) {
    *shift = 0;
    q_fixed = 0;
  }
  if (*shift > 30) {
    *shift = 30;
    q_fixed = (1LL << 31) - 1;
  }
  *multiplier = static_cast<int32_t>(q_fixed);
}

int32_t RoundAway(float v) {
  return static_cast<int32_t>(std::round(v));
}

void QuantizedActivationRange(float lo, float hi, const QuantParams& q, int32_t* qmin,
                              int32_t* qmax) {
  const float scale = q.scale.empty() ? 1.0f : q.scale[0];
  const int32_t zp = q.zero_point.empty() ? 0 : static_cast<int32_t>(q.zero_point[0]);
  auto quantize = [&](float f) {
    const float v = std::clamp(f / scale, -1e9f, 1e9f);
    return zp + RoundAway(v);
  };
  *qmin = -128;
  *qmax = 127;
  // Both bounds stay in the int8 range (a bound beyond it would wrap in the kernels'
  // int8 parameters); a range above or below every value pins the output to its end.
  if (!std::isinf(lo)) *qmin = std::clamp(quantize(lo), -128, 127);
  if (!std::isinf(hi)) *qmax = std::clamp(quantize(hi), -128, 127);
}

Status RequirePerTensorQuant(const Tensor& t, const std::string& where) {
  if (t.quant.empty())
    return Status::Errorf("{}: tensor '{}' is {} but has no quantization parameters", where, t.name,
                          DTypeName(t.dtype));
  if (t.quant.per_channel())
    return Status::Errorf("{}: tensor '{}' must be quantized per tensor", where, t.name);
  if (!(t.quant.scale[0] > 0.0f) || !std::isfinite(t.quant.scale[0]))
    return Status::Errorf("{}: tensor '{}' has invalid scale {}", where, t.name, t.quant.scale[0]);
  return Status::Ok();
}

int32_t InputRadius(int int_bits, int left_shift, int total_signed_bits) {
  const double max_input_rescaled = 1.0 * ((1 << int_bits) - 1) *
                                    static_cast<double>(1LL << (total_signed_bits - int_bits)) /
                                    static_cast<double>(1LL << left_shift);
  return static_cast<int32_t>(std::floor(max_input_rescaled));
}

}  // namespace tml
