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

/* Copies n bytes, a word at a time where it can (unaligned words are fine on
 * ARMv7-M and on the host). */
static inline void tml_copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) *(tml_u32_unaligned*)(dst + i) = *(const tml_u32_unaligned*)(src + i);
  for (; i < n; ++i) dst[i] = src[i];
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
  const int32_t run = p->k_w * in_c; /* bytes of one window row */
  if (p->dil_w == 1 && iy0 >= 0 && ix0 >= 0 && iy0 + (p->k_h - 1) * p->dil_h < in_h &&
      ix0 + p->k_w <= in_w) {
    /* Interior window: each window row is one contiguous run. */
    for (int32_t ky = 0; ky < p->k_h; ++ky, dst += run)
      tml_copy_bytes(dst, image + ((iy0 + ky * p->dil_h) * in_w + ix0) * in_c, run);
    for (int32_t i = k; i < 4 * groups; ++i) row[i] = 0;
    tml_widen_row(row, groups, col, s);
    return;
  }
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
  /* 17 instructions per 16 MACs: post-indexed LDRD, which GCC does not emit here. */
  const int16_t* x = col;
  const int8_t* wp = w;
  int32_t n = groups;
  uint32_t w0, w1, x0, x1, t;
  __asm__ volatile(
      "1:\n\t"
      "ldrd %[w0], %[w1], [%[wp]], #8\n\t"
      "ldrd %[x0], %[x1], [%[x]], #8\n\t"
      "sxtb16 %[t], %[w0]\n\t"
      "smlad %[s00], %[x0], %[t], %[s00]\n\t"
      "smlad %[s10], %[x1], %[t], %[s10]\n\t"
      "sxtb16 %[t], %[w1]\n\t"
      "smlad %[s01], %[x0], %[t], %[s01]\n\t"
      "smlad %[s11], %[x1], %[t], %[s11]\n\t"
      "ldrd %[x0], %[x1], [%[x]], #8\n\t"
      "sxtb16 %[t], %[w0], ror #8\n\t"
      "smlad %[s00], %[x0], %[t], %[s00]\n\t"
      "smlad %[s10], %[x1], %[t], %[s10]\n\t"
      "sxtb16 %[t], %[w1], ror #8\n\t"
      "smlad %[s01], %[x0], %[t], %[s01]\n\t"
      "smlad %[s11], %[x1], %[t], %[s11]\n\t"
      "subs %[n], %[n], #1\n\t"
      "bne 1b"
      : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [x] "+r"(x),
        [wp] "+r"(wp), [n] "+r"(n), [w0] "=&r"(w0), [w1] "=&r"(w1), [x0] "=&r"(x0), [x1] "=&r"(x1),
        [t] "=&r"(t)
      : "m"(*(const int16_t(*)[8 * groups]) col), "m"(*(const int8_t(*)[8 * groups]) w)
      : "cc");
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

/* All whole channel pairs of one pixel pair with fast requantization: per tile the
 * four results are packed into one word (y0[oc] y0[oc + 1] y1[oc] y1[oc + 1]),
 * clamped with two SEL steps and stored as two halfwords. Kept out of line so that
 * its loops get the registers. */
__attribute__((noinline)) static void tml_conv_pairs_fast(const int16_t* col, const int8_t* w,
                                                          const int32_t* corr, const int32_t* f,
                                                          int8_t* y0, int8_t* y1, int32_t pairs,
                                                          int32_t groups, uint32_t lo4,
                                                          uint32_t hi4) {
  for (; pairs > 0; --pairs, w += 8 * groups, corr += 2, f += 6, y0 += 2, y1 += 2) {
    int32_t a00 = corr[0], a01 = corr[1];
    int32_t a10 = a00, a11 = a01;
    tml_tile_2x2(col, w, groups, &a00, &a01, &a10, &a11);
    const uint32_t v = tml_clamp4(tml_pack4(tml_rq_fast(f, a00), tml_rq_fast(f + 3, a01),
                                            tml_rq_fast(f, a10), tml_rq_fast(f + 3, a11)),
                                  lo4, hi4);
    *(tml_u16_unaligned*)y0 = (uint16_t)v;
    *(tml_u16_unaligned*)y1 = (uint16_t)(v >> 16);
  }
}

void tml_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int8_t* wpack,
                        const int32_t* corr, int8_t* out, int8_t* scratch) {
  const tml_requant* q = &p->q;
  const tml_rq rq = tml_rq_load(q);
  const uint32_t lo4 = tml_splat4(rq.lo), hi4 = tml_splat4(rq.hi);
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
    int32_t oc = 0;
    if (rq.fast && two) {
      const int32_t pairs = out_c >> 1;
      tml_conv_pairs_fast(col, w, corr, rq.fast, y0, y1, pairs, groups, lo4, hi4);
      oc = 2 * pairs;
      w += 8 * groups * pairs;
    }
    for (; oc < out_c; oc += 2, w += 8 * groups) {
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
