/* Reference softmax over the innermost dimension. The int8 path is TFLite's
 * fixed-point algorithm (exp in Q5.26, sums in Q12.19, output scale 1/256,
 * zero point -128). */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"
#include "tml_math.h"

void tml_softmax_f32(const tml_softmax_params* p, const float* in, float* out) {
  for (int32_t o = 0; o < p->outer; ++o) {
    const float* x = in + o * p->depth;
    float* y = out + o * p->depth;
    float m = x[0];
    for (int32_t i = 1; i < p->depth; ++i)
      if (x[i] > m) m = x[i];
    float sum = 0.0f;
    for (int32_t i = 0; i < p->depth; ++i) sum += tml_expf((x[i] - m) * p->beta);
    if (p->log) {
      const float log_sum = tml_logf(sum);
      for (int32_t i = 0; i < p->depth; ++i) y[i] = (x[i] - m) * p->beta - log_sum;
    } else {
      for (int32_t i = 0; i < p->depth; ++i) y[i] = tml_expf((x[i] - m) * p->beta) / sum;
    }
  }
}

void tml_softmax_s8(const tml_softmax_params* p, const int8_t* in, int8_t* out) {
  enum { kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12 };
  for (int32_t o = 0; o < p->outer; ++o) {
    const int8_t* x = in + o * p->depth;
    int8_t* y = out + o * p->depth;
    int32_t max_in_row = -128;
    for (int32_t i = 0; i < p->depth; ++i)
      if (x[i] > max_in_row) max_in_row = x[i];
    int32_t sum_of_exps = 0; /* Q12.19 */
    for (int32_t i = 0; i < p->depth; ++i) {
      const int32_t diff = (int32_t)x[i] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled = tml_sat_rounding_doubling_high_mul(
            (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
        sum_of_exps += tml_fp_rescale(tml_fp_exp_on_negative_values(scaled, kScaledDiffIntegerBits),
                                      0, kAccumulationIntegerBits);
      }
    }
    const int headroom_plus_one = tml_count_leading_zeros_u32((uint32_t)sum_of_exps);
    const int num_bits_over_unit = kAccumulationIntegerBits - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
    const int32_t shifted_scale = tml_fp_one_over_one_plus_x(shifted_sum_minus_one);
    for (int32_t i = 0; i < p->depth; ++i) {
      const int32_t diff = (int32_t)x[i] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled = tml_sat_rounding_doubling_high_mul(
            (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
        const int32_t e = tml_fp_exp_on_negative_values(scaled, kScaledDiffIntegerBits);
        const int32_t unsat = tml_rounding_divide_by_pot(
            tml_sat_rounding_doubling_high_mul(shifted_scale, e), num_bits_over_unit + 31 - 8);
        y[i] = (int8_t)tml_clamp_i32(unsat - 128, -128, 127);
      } else {
        y[i] = -128;
      }
    }
  }
}
