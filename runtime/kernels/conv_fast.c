/* Optimized int8 Conv2D and FullyConnected, bit-exact with the reference
 * kernels in conv.c and fully_connected.c.
 *
 * The zero-point corrections are moved out of the inner loop with an exact
 * integer identity: sum (w + fo)(x + io) = sum w x + io sum w + fo sum x + K fo io,
 * where padded taps hold x = -io (the input zero point) so they add nothing,
 * just as the reference kernel skips them. The receptive field of each output
 * pixel is gathered once (im2col) into scratch and reused by every output
 * channel. On cores with the DSP extension the dot product uses SXTB16 and
 * SMLAD (ACLE intrinsics): four multiply-accumulates per pair of SMLADs, two
 * output channels per pass so the unpacked inputs are shared.
 *
 * corr[oc] = bias[oc] + io * sum(w[oc]) + K * fo * io is computed once, when the
 * model is compiled (weights are constants). col: k_h * k_w * in_c bytes of
 * scratch for the gathered receptive field (conv only). */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TML_HAVE_DSP 1
typedef uint32_t tml_u32_unaligned __attribute__((aligned(1)));
/* Rotate right by 8: compiles into the ROR #8 operand of SXTB16. */
static inline uint32_t tml_ror8(uint32_t x) {
  return (x >> 8) | (x << 24);
}
#endif

/* acc0 += a . b0 and acc1 += a . b1 over n int8 values. */
static void tml_dot2(const int8_t* a, const int8_t* b0, const int8_t* b1, int32_t n, int32_t* acc0,
                     int32_t* acc1) {
  int32_t s0 = *acc0, s1 = *acc1;
  int32_t i = 0;
#ifdef TML_HAVE_DSP
  for (; i + 4 <= n; i += 4) {
    const uint32_t va = *(const tml_u32_unaligned*)(a + i);
    const uint32_t v0 = *(const tml_u32_unaligned*)(b0 + i);
    const uint32_t v1 = *(const tml_u32_unaligned*)(b1 + i);
    const int16x2_t a_even = __sxtb16(va), a_odd = __sxtb16(tml_ror8(va));
    s0 = __smlad(a_even, __sxtb16(v0), s0);
    s0 = __smlad(a_odd, __sxtb16(tml_ror8(v0)), s0);
    s1 = __smlad(a_even, __sxtb16(v1), s1);
    s1 = __smlad(a_odd, __sxtb16(tml_ror8(v1)), s1);
  }
#endif
  for (; i < n; ++i) {
    s0 += (int32_t)a[i] * b0[i];
    s1 += (int32_t)a[i] * b1[i];
  }
  *acc0 = s0;
  *acc1 = s1;
}

static int32_t tml_dot1(const int8_t* a, const int8_t* b, int32_t n) {
  int32_t s = 0;
  int32_t i = 0;
#ifdef TML_HAVE_DSP
  for (; i + 4 <= n; i += 4) {
    const uint32_t va = *(const tml_u32_unaligned*)(a + i);
    const uint32_t vb = *(const tml_u32_unaligned*)(b + i);
    s = __smlad(__sxtb16(va), __sxtb16(vb), s);
    s = __smlad(__sxtb16(tml_ror8(va)), __sxtb16(tml_ror8(vb)), s);
  }
#endif
  for (; i < n; ++i) s += (int32_t)a[i] * b[i];
  return s;
}

static inline int32_t tml_sum_s8(const int8_t* a, int32_t n) {
  int32_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += a[i];
  return s;
}

static inline int8_t tml_requantize_acc(const tml_requant* q, int32_t acc, int32_t ch) {
  const int c = q->per_channel ? ch : 0;
  acc = tml_mul_by_quantized_multiplier(acc, q->multiplier[c], q->shift[c]) + q->output_offset;
  return (int8_t)tml_clamp_i32(acc, q->act_min, q->act_max);
}

/* y[o] = requant(corr[o] + fo * sum(x) + x . w[o]) for o < n; rows of w are k long. */
static void tml_dot_rows(const tml_requant* q, const int8_t* x, const int8_t* w, int32_t k,
                         const int32_t* corr, int32_t n, int8_t* y) {
  const int32_t xsum = q->filter_offset ? q->filter_offset * tml_sum_s8(x, k) : 0;
  int32_t o = 0;
  for (; o + 2 <= n; o += 2) {
    int32_t a0 = corr[o] + xsum, a1 = corr[o + 1] + xsum;
    tml_dot2(x, w + o * k, w + (o + 1) * k, k, &a0, &a1);
    y[o] = tml_requantize_acc(q, a0, o);
    y[o + 1] = tml_requantize_acc(q, a1, o + 1);
  }
  for (; o < n; ++o) y[o] = tml_requantize_acc(q, corr[o] + xsum + tml_dot1(x, w + o * k, k), o);
}

void tml_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int8_t* filter,
                        const int32_t* corr, int8_t* out, int8_t* col) {
  const tml_requant* q = &p->q;
  const int32_t k = p->k_h * p->k_w * p->in_c;
  const int8_t pad = (int8_t)(-q->input_offset);
  const int direct = p->k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0;
  for (int32_t b = 0; b < p->batch; ++b)
    for (int32_t oy = 0; oy < p->out_h; ++oy)
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        const int8_t* x;
        if (direct && iy0 < p->in_h && ix0 < p->in_w) {
          x = in + ((b * p->in_h + iy0) * p->in_w + ix0) * p->in_c;
        } else {
          int8_t* dst = col;
          for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = ix0 + kx * p->dil_w;
              if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                for (int32_t c = 0; c < p->in_c; ++c) dst[c] = pad;
              } else {
                const int8_t* src = in + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c;
                for (int32_t c = 0; c < p->in_c; ++c) dst[c] = src[c];
              }
              dst += p->in_c;
            }
          }
          x = col;
        }
        tml_dot_rows(q, x, filter, k, corr, p->out_c,
                     out + ((b * p->out_h + oy) * p->out_w + ox) * p->out_c);
      }
}

void tml_fully_connected_s8_fast(const tml_fc_params* p, const int8_t* in, const int8_t* w,
                                 const int32_t* corr, int8_t* out) {
  const tml_requant* q = &p->q;
  const int32_t k = p->in_features;
  for (int32_t b = 0; b < p->batch; ++b)
    tml_dot_rows(q, in + b * k, w, k, corr, p->out_features, out + b * p->out_features);
}

/* Depthwise, depth multiplier 1, per-channel weights (filter offset 0).
 * corr[c] = bias[c] + io * sum over taps of w[c]; padded taps read the input
 * zero point, which cancels their share of corr exactly. Four channels per
 * pass: one word of inputs and one of weights per tap, SMLABB / SMLATT on the
 * SXTB16-widened halves. */
void tml_depthwise_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int8_t* filter,
                                  const int32_t* corr, int8_t* out) {
  /* Locals: stores through out may alias *p, so the compiler would reload it. */
  const tml_requant* q = &p->q;
  const int32_t c_total = p->in_c, in_h = p->in_h, in_w = p->in_w, k_h = p->k_h, k_w = p->k_w;
  const int32_t dil_h = p->dil_h, dil_w = p->dil_w, stride_h = p->stride_h, stride_w = p->stride_w;
  const int32_t out_h = p->out_h, out_w = p->out_w, pad_top = p->pad_top, pad_left = p->pad_left;
  const int32_t row = in_w * c_total;
  const int8_t zp = (int8_t)(-q->input_offset);
  int8_t* y = out;
  for (int32_t b = 0; b < p->batch; ++b) {
    const int8_t* image = in + b * in_h * row;
    for (int32_t oy = 0; oy < out_h; ++oy)
      for (int32_t ox = 0; ox < out_w; ++ox, y += c_total) {
        const int32_t iy0 = oy * stride_h - pad_top;
        const int32_t ix0 = ox * stride_w - pad_left;
        const int interior = iy0 >= 0 && iy0 + (k_h - 1) * dil_h < in_h && ix0 >= 0 &&
                             ix0 + (k_w - 1) * dil_w < in_w;
        int32_t c = 0;
#ifdef TML_HAVE_DSP
        const uint32_t zp4 = (uint32_t)(uint8_t)zp * 0x01010101u;
        for (; c + 4 <= c_total; c += 4) {
          int32_t a0 = corr[c], a1 = corr[c + 1], a2 = corr[c + 2], a3 = corr[c + 3];
          const int8_t* wp = filter + c;
          for (int32_t ky = 0; ky < k_h; ++ky) {
            const int32_t iy = iy0 + ky * dil_h;
            const int row_ok = iy >= 0 && iy < in_h;
            const int8_t* xp = image + iy * row + ix0 * c_total + c;
            for (int32_t kx = 0; kx < k_w; ++kx, xp += dil_w * c_total, wp += c_total) {
              const int32_t ix = ix0 + kx * dil_w;
              const uint32_t x4 = (interior || (row_ok && ix >= 0 && ix < in_w))
                                      ? *(const tml_u32_unaligned*)xp
                                      : zp4;
              const uint32_t w4 = *(const tml_u32_unaligned*)wp;
              const int16x2_t xe = __sxtb16(x4), xo = __sxtb16(tml_ror8(x4));
              const int16x2_t we = __sxtb16(w4), wo = __sxtb16(tml_ror8(w4));
              a0 = __smlabb((int32_t)xe, (int32_t)we, a0);
              a1 = __smlabb((int32_t)xo, (int32_t)wo, a1);
              a2 = __smlatt((int32_t)xe, (int32_t)we, a2);
              a3 = __smlatt((int32_t)xo, (int32_t)wo, a3);
            }
          }
          y[c] = tml_requantize_acc(q, a0, c);
          y[c + 1] = tml_requantize_acc(q, a1, c + 1);
          y[c + 2] = tml_requantize_acc(q, a2, c + 2);
          y[c + 3] = tml_requantize_acc(q, a3, c + 3);
        }
#endif
        /* Channels left over (and every channel without DSP): padded taps read the zero point. */
        for (; c < c_total; ++c) {
          int32_t acc = corr[c];
          for (int32_t ky = 0; ky < k_h; ++ky) {
            const int32_t iy = iy0 + ky * dil_h;
            for (int32_t kx = 0; kx < k_w; ++kx) {
              const int32_t ix = ix0 + kx * dil_w;
              const int32_t x = (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
                                    ? image[iy * row + ix * c_total + c]
                                    : zp;
              acc += x * filter[(ky * k_w + kx) * c_total + c];
            }
          }
          y[c] = tml_requantize_acc(q, acc, c);
        }
        (void)interior;
      }
  }
}
