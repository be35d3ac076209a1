/* Optimized int8 Conv2D and FullyConnected, bit-exact with the reference
 * kernels in conv.c and fully_connected.c.
 *
 * Zero-point corrections leave the inner loop through an exact integer identity:
 * sum (w + fo)(x + io) = sum w x + io sum w + fo sum x + K fo io, where padded
 * taps hold x = -io (the input zero point) so they add nothing, just as the
 * reference kernel skips them. corr[oc] = bias[oc] + io * sum(w[oc]) + K fo io
 * is computed when the model is compiled (weights are constants).
 *
 * Conv2D computes 2 output pixels x 2 output channels per pass (each loaded
 * input word serves two channels, each weight word two pixels). The receptive
 * fields of the pixel pair are widened once to int16 in the order SXTB16 leaves
 * bytes in (x0 x2 | x1 x3), interleaved per pixel, so that one SXTB16 of a
 * weight word pairs with one input word in SMLAD. Weights are packed at compile
 * time (layout below) so the pair of rows streams through one
 * pointer. Cores without the DSP extension run the same layout in plain C. */
#include "tml_simd.h"

static inline int32_t tml_sum_s8(const int8_t* a, int32_t n) {
  int32_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += a[i];
  return s;
}

/* ---- Conv2D, 2x2 register tiles ------------------------------------------------
 * Packed weights: output channels in pairs (a zero row completes an odd count);
 * each row zero-padded to k4 = roundup(k_h * k_w * in_c, 4); for every group of
 * four k values, the pair's two 4-byte words (row 2j, then row 2j + 1).
 * Widened field of a pixel pair, per group g, four int16x2 words:
 * [pixel 0: x0 x2][pixel 1: x0 x2][pixel 0: x1 x3][pixel 1: x1 x3]. */

/* Widens four int8 values (one word) into slot s of group word quad w. */
static inline void tml_widen4(const int8_t* src, int16_t* w, int s) {
#ifdef TML_HAVE_DSP
  const uint32_t v = *(const tml_u32_unaligned*)src;
  ((int16x2_t*)w)[s] = __sxtb16(v);
  ((int16x2_t*)w)[2 + s] = tml_sxtb16_ror8((v));
#else
  w[2 * s] = src[0];
  w[2 * s + 1] = src[2];
  w[4 + 2 * s] = src[1];
  w[4 + 2 * s + 1] = src[3];
#endif
}

static void tml_widen_row(const int8_t* src, int32_t groups, int16_t* col, int s) {
  for (int32_t g = 0; g < groups; ++g) tml_widen4(src + 4 * g, col + 8 * g, s);
}

/* Widens the receptive field of output pixel (b, oy, ox) into slot s of col;
 * row: k4 bytes of scratch for fields whose taps do not align with groups. */
static void tml_conv_field(const tml_conv_params* p, const int8_t* in, int32_t b, int32_t oy,
                           int32_t ox, int8_t* row, int16_t* col, int s) {
  const int32_t in_c = p->in_c, in_h = p->in_h, in_w = p->in_w;
  const int32_t k = p->k_h * p->k_w * in_c, groups = (k + 3) >> 2;
  const int8_t zp = (int8_t)(-p->q.input_offset);
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  const int8_t* image = in + b * in_h * in_w * in_c;
  if ((in_c & 3) == 0) {
    /* Taps align with groups: widen straight from the input, padded taps from zp. */
    const int8_t zp4[4] = {zp, zp, zp, zp};
    const int32_t tap_groups = in_c >> 2;
    int16_t* dst = col;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
      const int32_t iy = iy0 + ky * p->dil_h;
      for (int32_t kx = 0; kx < p->k_w; ++kx, dst += 8 * tap_groups) {
        const int32_t ix = ix0 + kx * p->dil_w;
        if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) {
          for (int32_t g = 0; g < tap_groups; ++g) tml_widen4(zp4, dst + 8 * g, s);
        } else {
          tml_widen_row(image + (iy * in_w + ix) * in_c, tap_groups, dst, s);
        }
      }
    }
    return;
  }
  /* Gather the int8 field (zp for padded taps, zeros after k), then widen it. */
  int8_t* dst = row;
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dil_h;
    for (int32_t kx = 0; kx < p->k_w; ++kx, dst += in_c) {
      const int32_t ix = ix0 + kx * p->dil_w;
      const int inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
      const int8_t* src = image + (iy * in_w + ix) * in_c;
      for (int32_t c = 0; c < in_c; ++c) dst[c] = inside ? src[c] : zp;
    }
  }
  for (int32_t i = k; i < 4 * groups; ++i) row[i] = 0;
  tml_widen_row(row, groups, col, s);
}

/* acc[pixel][channel] += field pair . weight row pair over `groups` groups. */
static inline void tml_tile_2x2(const int16_t* col, const int8_t* w, int32_t groups, int32_t* a00,
                                int32_t* a01, int32_t* a10, int32_t* a11) {
  int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
#ifdef TML_HAVE_DSP
  const int16x2_t* x = (const int16x2_t*)col;
  const uint32_t* wp = (const uint32_t*)w;
  for (int32_t g = 0; g < groups; ++g, x += 4, wp += 2) {
    const uint32_t w0 = wp[0], w1 = wp[1];
    const int16x2_t xe0 = x[0], xe1 = x[1];
    int16x2_t t = __sxtb16(w0);
    s00 = __smlad(xe0, t, s00);
    s10 = __smlad(xe1, t, s10);
    t = __sxtb16(w1);
    s01 = __smlad(xe0, t, s01);
    s11 = __smlad(xe1, t, s11);
    const int16x2_t xo0 = x[2], xo1 = x[3];
    t = tml_sxtb16_ror8((w0));
    s00 = __smlad(xo0, t, s00);
    s10 = __smlad(xo1, t, s10);
    t = tml_sxtb16_ror8((w1));
    s01 = __smlad(xo0, t, s01);
    s11 = __smlad(xo1, t, s11);
  }
#else
  for (int32_t g = 0; g < groups; ++g, col += 8, w += 8) {
    /* col: p0 (x0 x2) p1 (x0 x2) p0 (x1 x3) p1 (x1 x3); w: row0 w0..w3, row1 w0..w3 */
    const int32_t p0x0 = col[0], p0x2 = col[1], p1x0 = col[2], p1x2 = col[3];
    const int32_t p0x1 = col[4], p0x3 = col[5], p1x1 = col[6], p1x3 = col[7];
    s00 += p0x0 * w[0] + p0x1 * w[1] + p0x2 * w[2] + p0x3 * w[3];
    s10 += p1x0 * w[0] + p1x1 * w[1] + p1x2 * w[2] + p1x3 * w[3];
    s01 += p0x0 * w[4] + p0x1 * w[5] + p0x2 * w[6] + p0x3 * w[7];
    s11 += p1x0 * w[4] + p1x1 * w[5] + p1x2 * w[6] + p1x3 * w[7];
  }
#endif
  *a00 = s00, *a01 = s01, *a10 = s10, *a11 = s11;
}

void tml_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int8_t* wpack,
                        const int32_t* corr, int8_t* out, int8_t* scratch) {
  const tml_requant* q = &p->q;
  const tml_rq rq = tml_rq_load(q);
  const int32_t out_c = p->out_c, out_w = p->out_w;
  const int32_t groups = (p->k_h * p->k_w * p->in_c + 3) >> 2;
  const int32_t pixels = p->batch * p->out_h * out_w;
  int16_t* col = (int16_t*)scratch; /* 16 * groups bytes */
  int8_t* row = scratch + 16 * groups;
  for (int32_t pix = 0; pix < pixels; pix += 2) {
    const int two = pix + 1 < pixels; /* an odd last pixel is computed twice, stored once */
    for (int s = 0; s < 2; ++s) {
      const int32_t i = s && two ? pix + 1 : pix;
      const int32_t ox = i % out_w, rest = i / out_w;
      tml_conv_field(p, in, rest / p->out_h, rest % p->out_h, ox, row, col, s);
    }
    int8_t* y0 = out + pix * out_c;
    int8_t* y1 = y0 + out_c;
    const int8_t* w = wpack;
    for (int32_t oc = 0; oc < out_c; oc += 2, w += 8 * groups) {
      int32_t a00 = corr[oc], a01 = corr[oc + 1];
      int32_t a10 = a00, a11 = a01;
      tml_tile_2x2(col, w, groups, &a00, &a01, &a10, &a11);
      y0[oc] = tml_rq_apply(rq, a00, oc);
      if (two) y1[oc] = tml_rq_apply(rq, a10, oc);
      if (oc + 1 < out_c) {
        y0[oc + 1] = tml_rq_apply(rq, a01, oc + 1);
        if (two) y1[oc + 1] = tml_rq_apply(rq, a11, oc + 1);
      }
    }
  }
}

/* ---- FullyConnected ------------------------------------------------------------ */

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
    const int16x2_t a_even = __sxtb16(va), a_odd = tml_sxtb16_ror8((va));
    s0 = __smlad(a_even, __sxtb16(v0), s0);
    s0 = __smlad(a_odd, tml_sxtb16_ror8((v0)), s0);
    s1 = __smlad(a_even, __sxtb16(v1), s1);
    s1 = __smlad(a_odd, tml_sxtb16_ror8((v1)), s1);
  }
#endif
  for (; i < n; ++i) {
    s0 += (int32_t)a[i] * b0[i];
    s1 += (int32_t)a[i] * b1[i];
  }
  *acc0 = s0;
  *acc1 = s1;
}

void tml_fully_connected_s8_fast(const tml_fc_params* p, const int8_t* in, const int8_t* w,
                                 const int32_t* corr, int8_t* out) {
  const tml_requant* q = &p->q;
  const tml_rq rq = tml_rq_load(q);
  const int32_t k = p->in_features, n = p->out_features;
  for (int32_t b = 0; b < p->batch; ++b) {
    const int8_t* x = in + b * k;
    int8_t* y = out + b * n;
    const int32_t xsum = q->filter_offset ? q->filter_offset * tml_sum_s8(x, k) : 0;
    int32_t o = 0;
    for (; o + 2 <= n; o += 2) {
      int32_t a0 = corr[o] + xsum, a1 = corr[o + 1] + xsum;
      tml_dot2(x, w + o * k, w + (o + 1) * k, k, &a0, &a1);
      y[o] = tml_rq_apply(rq, a0, o);
      y[o + 1] = tml_rq_apply(rq, a1, o + 1);
    }
    if (o < n) {
      int32_t a0 = corr[o] + xsum, unused = 0;
      tml_dot2(x, w + o * k, w + o * k, k, &a0, &unused);
      y[o] = tml_rq_apply(rq, a0, o);
    }
  }
}
