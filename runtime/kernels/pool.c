/* Reference average and max pooling, float32 and int8 (TFLite semantics: padding
 * cells are skipped, average rounds half away from zero). */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

static inline int tml_max_i(int a, int b) {
  return a > b ? a : b;
}

void tml_avg_pool_f32(const tml_pool_params* p, const float* in, float* out) {
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox)
        for (int c = 0; c < p->channels; ++c) {
          const int iy0 = oy * p->stride_h - p->pad_top;
          const int ix0 = ox * p->stride_w - p->pad_left;
          float sum = 0.0f;
          int count = 0, padded = 0;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + ky * p->dil_h;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = ix0 + kx * p->dil_w;
              if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                ++padded;
                continue;
              }
              sum += in[(((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->channels + c];
              ++count;
            }
          }
          if (p->count_include_pad) count += padded;
          float v = count ? sum / (float)count : 0.0f;
          if (v < p->act_min) v = p->act_min;
          if (v > p->act_max) v = p->act_max;
          out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->channels + c] = v;
        }
}

void tml_avg_pool_s8(const tml_pool_params* p, const int8_t* in, int8_t* out) {
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox)
        for (int c = 0; c < p->channels; ++c) {
          const int iy0 = oy * p->stride_h - p->pad_top;
          const int ix0 = ox * p->stride_w - p->pad_left;
          int32_t sum = 0;
          int count = 0;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = ix0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              sum += in[(((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->channels + c];
              ++count;
            }
          }
          if (count == 0) count = 1;
          sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
          out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->channels + c] =
              (int8_t)tml_clamp_i32(sum, p->q_act_min, p->q_act_max);
        }
}

void tml_max_pool_f32(const tml_pool_params* p, const float* in, float* out) {
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox)
        for (int c = 0; c < p->channels; ++c) {
          const int iy0 = oy * p->stride_h - p->pad_top;
          const int ix0 = ox * p->stride_w - p->pad_left;
          float m = -3.402823466e+38f;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = ix0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const float v = in[(((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->channels + c];
              if (v > m) m = v;
            }
          }
          if (m < p->act_min) m = p->act_min;
          if (m > p->act_max) m = p->act_max;
          out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->channels + c] = m;
        }
}

void tml_max_pool_s8(const tml_pool_params* p, const int8_t* in, int8_t* out) {
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox)
        for (int c = 0; c < p->channels; ++c) {
          const int iy0 = oy * p->stride_h - p->pad_top;
          const int ix0 = ox * p->stride_w - p->pad_left;
          int m = -128;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = ix0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              m = tml_max_i(m, in[(((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->channels + c]);
            }
          }
          out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->channels + c] =
              (int8_t)tml_clamp_i32(m, p->q_act_min, p->q_act_max);
        }
}
