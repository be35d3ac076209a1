/* Reference unary element-wise ops, float32 and int8. */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"
#include "tml_math.h"

void tml_unary_f32(const tml_unary_params* p, const float* in, float* out) {
  for (int32_t i = 0; i < p->count; ++i) {
    const float x = in[i];
    float y;
    switch (p->kind) {
      case TML_UN_CLIP: /* min(max(x, lo), hi): hi wins when lo > hi, as in ONNX */
        y = x < p->min ? p->min : x;
        y = y > p->max ? p->max : y;
        break;
      case TML_UN_LOGISTIC:
        y = 1.0f / (1.0f + tml_expf(-x));
        break;
      case TML_UN_TANH:
        y = tml_tanhf(x);
        break;
      default:
        y = x < 0.0f ? x * p->alpha : x;
        break;
    }
    out[i] = y;
  }
}

void tml_unary_s8(const tml_unary_params* p, const int8_t* in, int8_t* out) {
  for (int32_t i = 0; i < p->count; ++i) {
    const int32_t x = (int32_t)in[i] - p->in_zero_point;
    int32_t y;
    if (p->kind == TML_UN_CLIP) {
      y = p->out_zero_point + tml_mul_by_quantized_multiplier(x, p->mult, p->shift);
    } else if (x <= -p->input_range_radius) {
      y = -128; /* both saturate to the int8 minimum */
    } else if (x >= p->input_range_radius) {
      y = 127;
    } else {
      const int32_t x_q4 = tml_mul_by_quantized_multiplier(x, p->mult, p->shift);
      if (p->kind == TML_UN_LOGISTIC) {
        y = tml_rounding_divide_by_pot(tml_fp_logistic(x_q4, 4), 23) - 128;
      } else {
        y = tml_rounding_divide_by_pot(tml_fp_tanh(x_q4, 4), 24);
      }
    }
    out[i] = (int8_t)tml_clamp_i32(y, p->q_min, p->q_max);
  }
}
