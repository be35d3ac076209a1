/* Reference quantize / requantize / dequantize, per tensor or per channel. */
#include <math.h>

#include "tml_fixedpoint.h"
#include "tml_kernels.h"

static inline int32_t tml_channel(const tml_quant_params* p, int32_t i) {
  return p->channels > 1 ? (i / p->inner) % p->channels : 0;
}

static inline int32_t tml_quantize_one(const tml_quant_params* p, float x, int32_t c) {
  const float v = x / p->scale[c];
  float r = p->round_half_even ? nearbyintf(v) : roundf(v);
  /* Saturate before converting: out-of-range float to int is undefined. */
  if (r > 2147483520.0f) r = 2147483520.0f;
  if (r < -2147483520.0f) r = -2147483520.0f;
  return tml_clamp_i32((int32_t)r + p->zero_point[c], p->q_min, p->q_max);
}

void tml_quantize_f32_s8(const tml_quant_params* p, const float* in, int8_t* out) {
  for (int32_t i = 0; i < p->count; ++i)
    out[i] = (int8_t)tml_quantize_one(p, in[i], tml_channel(p, i));
}

void tml_quantize_f32_u8(const tml_quant_params* p, const float* in, uint8_t* out) {
  for (int32_t i = 0; i < p->count; ++i)
    out[i] = (uint8_t)tml_quantize_one(p, in[i], tml_channel(p, i));
}

void tml_requantize_s8(const tml_quant_params* p, const int8_t* in, int8_t* out) {
  for (int32_t i = 0; i < p->count; ++i) {
    const int32_t v =
        tml_mul_by_quantized_multiplier((int32_t)in[i] - p->in_zero_point, p->mult, p->shift) +
        p->zero_point[0];
    out[i] = (int8_t)tml_clamp_i32(v, p->q_min, p->q_max);
  }
}

void tml_dequantize_s8_f32(const tml_quant_params* p, const int8_t* in, float* out) {
  for (int32_t i = 0; i < p->count; ++i) {
    const int32_t c = tml_channel(p, i);
    out[i] = (float)((double)p->scale[c] * (double)((int32_t)in[i] - p->zero_point[c]));
  }
}

void tml_dequantize_u8_f32(const tml_quant_params* p, const uint8_t* in, float* out) {
  for (int32_t i = 0; i < p->count; ++i) {
    const int32_t c = tml_channel(p, i);
    out[i] = (float)((double)p->scale[c] * (double)((int32_t)in[i] - p->zero_point[c]));
  }
}

void tml_dequantize_s32_f32(const tml_quant_params* p, const int32_t* in, float* out) {
  for (int32_t i = 0; i < p->count; ++i) {
    const int32_t c = tml_channel(p, i);
    out[i] = (float)((double)p->scale[c] * ((double)in[i] - (double)p->zero_point[c]));
  }
}
