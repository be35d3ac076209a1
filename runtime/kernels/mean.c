/* Reference mean over the middle axis of [outer, reduce, inner], float32 and
 * int8 (TFLite's integer mean: rescale the sum, then divide rounding half away
 * from zero). */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

void tml_mean_f32(const tml_mean_params* p, const float* in, float* out) {
  for (int32_t o = 0; o < p->outer; ++o)
    for (int32_t c = 0; c < p->inner; ++c) {
      float sum = 0.0f;
      for (int32_t r = 0; r < p->reduce; ++r) sum += in[(o * p->reduce + r) * p->inner + c];
      out[o * p->inner + c] = sum / (float)p->reduce;
    }
}

void tml_mean_s8(const tml_mean_params* p, const int8_t* in, int8_t* out) {
  const int32_t n = p->reduce;
  for (int32_t o = 0; o < p->outer; ++o)
    for (int32_t c = 0; c < p->inner; ++c) {
      int32_t acc = 0;
      for (int32_t r = 0; r < n; ++r)
        acc += (int32_t)in[(o * n + r) * p->inner + c] - p->in_zero_point;
      acc = tml_mul_by_quantized_multiplier(acc, p->mult, p->shift);
      acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
      out[o * p->inner + c] = (int8_t)tml_clamp_i32(acc + p->out_zero_point, -128, 127);
    }
}
