/* Reference element-wise binary ops with broadcasting, float32 and int8. */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

static inline float tml_bin_f32(int kind, float a, float b) {
  switch (kind) {
    case TML_BIN_ADD:
      return a + b;
    case TML_BIN_SUB:
      return a - b;
    case TML_BIN_MUL:
      return a * b;
    default:
      return a / b;
  }
}

static inline int8_t tml_bin_s8(const tml_binary_params* p, int32_t a, int32_t b) {
  int32_t raw;
  a += p->a_offset;
  b += p->b_offset;
  if (p->kind == TML_BIN_MUL) {
    raw = tml_mul_by_quantized_multiplier(a * b, p->out_mult, p->out_shift);
  } else {
    const int32_t sa =
        tml_mul_by_quantized_multiplier(a * (1 << p->left_shift), p->a_mult, p->a_shift);
    const int32_t sb =
        tml_mul_by_quantized_multiplier(b * (1 << p->left_shift), p->b_mult, p->b_shift);
    raw = tml_mul_by_quantized_multiplier(p->kind == TML_BIN_ADD ? sa + sb : sa - sb, p->out_mult,
                                          p->out_shift);
  }
  return (int8_t)tml_clamp_i32(raw + p->out_offset, p->q_act_min, p->q_act_max);
}

/* Walks the broadcast index space; calls are resolved per element type below. */
#define TML_BROADCAST_LOOP(BODY)                    \
  do {                                              \
    int32_t idx[TML_MAX_DIMS] = {0, 0, 0, 0, 0, 0}; \
    int32_t ia = 0, ib = 0;                         \
    for (int32_t i = 0; i < p->count; ++i) {        \
      BODY;                                         \
      for (int d = TML_MAX_DIMS - 1; d >= 0; --d) { \
        ia += p->a_stride[d];                       \
        ib += p->b_stride[d];                       \
        if (++idx[d] < p->out_shape[d]) break;      \
        ia -= p->a_stride[d] * p->out_shape[d];     \
        ib -= p->b_stride[d] * p->out_shape[d];     \
        idx[d] = 0;                                 \
      }                                             \
    }                                               \
  } while (0)

void tml_binary_f32(const tml_binary_params* p, const float* a, const float* b, float* out) {
  if (p->flat) {
    for (int32_t i = 0; i < p->count; ++i) {
      float v = tml_bin_f32(p->kind, a[i], b[i]);
      out[i] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
    }
    return;
  }
  TML_BROADCAST_LOOP({
    float v = tml_bin_f32(p->kind, a[ia], b[ib]);
    out[i] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
  });
}

void tml_binary_s8(const tml_binary_params* p, const int8_t* a, const int8_t* b, int8_t* out) {
  if (p->flat) {
    for (int32_t i = 0; i < p->count; ++i) out[i] = tml_bin_s8(p, a[i], b[i]);
    return;
  }
  TML_BROADCAST_LOOP(out[i] = tml_bin_s8(p, a[ia], b[ib]));
}
