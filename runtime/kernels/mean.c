/* Reference mean over H and W of an NHWC tensor, float32 and int8. */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

void tml_mean_hw_f32(const tml_mean_params* p, const float* in, float* out) {
  const int32_t n = p->h * p->w;
  for (int b = 0; b < p->batch; ++b)
    for (int c = 0; c < p->channels; ++c) {
      float sum = 0.0f;
      for (int32_t i = 0; i < n; ++i) sum += in[((int32_t)b * n + i) * p->channels + c];
      out[(int32_t)b * p->channels + c] = sum / (float)n;
    }
}

void tml_mean_hw_s8(const tml_mean_params* p, const int8_t* in, int8_t* out) {
  const int32_t n = p->h * p->w;
  for (int b = 0; b < p->batch; ++b)
    for (int c = 0; c < p->channels; ++c) {
      int32_t acc = 0;
      for (int32_t i = 0; i < n; ++i)
        acc += (int32_t)in[((int32_t)b * n + i) * p->channels + c] - p->in_zero_point;
      acc = tml_mul_by_quantized_multiplier(acc, p->mult, p->shift);
      acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
      out[(int32_t)b * p->channels + c] = (int8_t)tml_clamp_i32(acc + p->out_zero_point, -128, 127);
    }
}
