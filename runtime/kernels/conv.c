/* Reference Conv2D and DepthwiseConv2D, float32 and int8 (TFLite per-channel scheme). */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

static inline float tml_clampf(float v, float lo, float hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

void tml_conv2d_f32(const tml_conv_params* p, const float* in, const float* filter,
                    const float* bias, float* out) {
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int iy0 = oy * p->stride_h - p->pad_top;
        const int ix0 = ox * p->stride_w - p->pad_left;
        for (int oc = 0; oc < p->out_c; ++oc) {
          float acc = 0.0f;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = ix0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const float* ip = in + (((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c;
              const float* fp = filter + (((int32_t)oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
              for (int ic = 0; ic < p->in_c; ++ic) acc += ip[ic] * fp[ic];
            }
          }
          if (bias) acc += bias[oc];
          out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
              tml_clampf(acc, p->act_min, p->act_max);
        }
      }
}

void tml_conv2d_s8(const tml_conv_params* p, const int8_t* in, const int8_t* filter,
                   const int32_t* bias, int8_t* out) {
  const tml_requant* q = &p->q;
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int iy0 = oy * p->stride_h - p->pad_top;
        const int ix0 = ox * p->stride_w - p->pad_left;
        for (int oc = 0; oc < p->out_c; ++oc) {
          int32_t acc = 0;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = ix0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const int8_t* ip = in + (((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c;
              const int8_t* fp = filter + (((int32_t)oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
              for (int ic = 0; ic < p->in_c; ++ic)
                acc += ((int32_t)fp[ic] + q->filter_offset) * ((int32_t)ip[ic] + q->input_offset);
            }
          }
          if (bias) acc += bias[oc];
          const int ch = q->per_channel ? oc : 0;
          acc = tml_mul_by_quantized_multiplier(acc, q->multiplier[ch], q->shift[ch]);
          acc += q->output_offset;
          out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
              (int8_t)tml_clamp_i32(acc, q->act_min, q->act_max);
        }
      }
}

void tml_depthwise_conv2d_f32(const tml_conv_params* p, const float* in, const float* filter,
                              const float* bias, float* out) {
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int iy0 = oy * p->stride_h - p->pad_top;
        const int ix0 = ox * p->stride_w - p->pad_left;
        for (int ic = 0; ic < p->in_c; ++ic)
          for (int m = 0; m < p->depth_multiplier; ++m) {
            const int oc = ic * p->depth_multiplier + m;
            float acc = 0.0f;
            for (int ky = 0; ky < p->k_h; ++ky) {
              const int iy = iy0 + ky * p->dil_h;
              if (iy < 0 || iy >= p->in_h) continue;
              for (int kx = 0; kx < p->k_w; ++kx) {
                const int ix = ix0 + kx * p->dil_w;
                if (ix < 0 || ix >= p->in_w) continue;
                acc += in[(((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic] *
                       filter[((int32_t)ky * p->k_w + kx) * p->out_c + oc];
              }
            }
            if (bias) acc += bias[oc];
            out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                tml_clampf(acc, p->act_min, p->act_max);
          }
      }
}

void tml_depthwise_conv2d_s8(const tml_conv_params* p, const int8_t* in, const int8_t* filter,
                             const int32_t* bias, int8_t* out) {
  const tml_requant* q = &p->q;
  for (int b = 0; b < p->batch; ++b)
    for (int oy = 0; oy < p->out_h; ++oy)
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int iy0 = oy * p->stride_h - p->pad_top;
        const int ix0 = ox * p->stride_w - p->pad_left;
        for (int ic = 0; ic < p->in_c; ++ic)
          for (int m = 0; m < p->depth_multiplier; ++m) {
            const int oc = ic * p->depth_multiplier + m;
            int32_t acc = 0;
            for (int ky = 0; ky < p->k_h; ++ky) {
              const int iy = iy0 + ky * p->dil_h;
              if (iy < 0 || iy >= p->in_h) continue;
              for (int kx = 0; kx < p->k_w; ++kx) {
                const int ix = ix0 + kx * p->dil_w;
                if (ix < 0 || ix >= p->in_w) continue;
                const int32_t iv = in[(((int32_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic];
                const int32_t fv = filter[((int32_t)ky * p->k_w + kx) * p->out_c + oc];
                acc += (fv + q->filter_offset) * (iv + q->input_offset);
              }
            }
            if (bias) acc += bias[oc];
            const int ch = q->per_channel ? oc : 0;
            acc = tml_mul_by_quantized_multiplier(acc, q->multiplier[ch], q->shift[ch]);
            acc += q->output_offset;
            out[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                (int8_t)tml_clamp_i32(acc, q->act_min, q->act_max);
          }
      }
}
