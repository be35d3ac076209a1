// Quantization arithmetic used when preparing int8 kernels (TFLite conventions).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace tml {

// Splits a real multiplier into a Q31 value and a power-of-two exponent.
void QuantizeMultiplier(double real, int32_t* multiplier, int* shift);
// Rounds half away from zero, as TFLite does.
int32_t RoundAway(float v);
// Quantized clamp bounds for fused activation bounds [lo, hi] on an int8 output.
void QuantizedActivationRange(float lo, float hi, const QuantParams& q, int32_t* qmin,
                              int32_t* qmax);
// Scale / zero point of a quantized tensor (per-tensor), error if absent.
Status RequirePerTensorQuant(const Tensor& t, const std::string& where);
// Largest |input| (in zero-point-relative units) worth computing for a Qn.31-n
// fixed-point input after left shift (TFLite CalculateInputRadius).
int32_t InputRadius(int int_bits, int left_shift, int total_signed_bits = 31);

}  // namespace tml
