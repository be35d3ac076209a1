/* Optimized int8 depthwise Conv2D (depth multiplier 1, filter offset 0),
 * bit-exact with tml_depthwise_conv2d_s8.
 *
 * corr[c] = bias[c] + io * (sum over taps of w[c]) is computed when the model is
 * compiled; padded taps read the input zero point, which cancels their share
 * of corr exactly.
 *
 * Channels go in groups of four (the last group padded). For each output row the
 * k_h input rows under it are copied into a column buffer, per group:
 *   cols[g][x][ky] = the group's four channels at buffer column x of row ky,
 * one word each, the zero point where the window leaves the image. The taps of
 * one output pixel and group are then k_w runs of k_h consecutive words (one run
 * of k_h * k_w words without dilation), read in the same order as the weights,
 * which the compiler widened to int16. `blocks` holds per group corr[4] (bias
 * and zero-point corrections, zero for padding channels) and then, per tap in
 * kx-major order, the int16 words (w0 w2) and (w1 w3): the order SXTB16 leaves
 * bytes in.
 * On DSP cores each tap is one load, two SXTB16, one LDRD and four SMLABB /
 * SMLATT. Four results are requantized together and stored as one word. */
#include "tml_simd.h"

/* Word of channels c .. c + 3 at src, the zero point past the last channel. */
static inline uint32_t tml_dw_word(const int8_t* src, int32_t n, int8_t zp) {
  if (n >= 4) return *(const tml_u32_unaligned*)src;
  uint32_t v = 0;
  for (int32_t j = 0; j < 4; ++j) v |= (uint32_t)(uint8_t)(j < n ? src[j] : zp) << (8 * j);
  return v;
}

/* Fills the column buffer for output row oy (layout above). */
static void tml_dw_cols(const tml_conv_params* p, const int8_t* image, int32_t oy, int32_t width,
                        int8_t* cols) {
  const int32_t c_total = p->in_c, in_w = p->in_w, k_h = p->k_h, groups = (c_total + 3) >> 2;
  const int8_t zp = (int8_t)(-p->q.input_offset);
  const uint32_t zp4 = tml_splat4(zp);
  const int32_t iy0 = oy * p->stride_h - p->pad_top, dy = p->dil_h * in_w * c_total;
  const int rows_inside = iy0 >= 0 && iy0 + (k_h - 1) * p->dil_h < p->in_h;
  /* Buffer columns [lo, hi) lie inside the image. */
  int32_t lo = p->pad_left < width ? p->pad_left : width;
  int32_t hi = in_w + p->pad_left < width ? in_w + p->pad_left : width;
  if (hi < lo) hi = lo;
  uint32_t* d = (uint32_t*)(void*)cols;
  for (int32_t g = 0; g < groups; ++g) {
    const int32_t n = c_total - 4 * g; /* channels left from this group on */
    for (int32_t i = 0; i < lo * k_h; ++i) *d++ = zp4;
    const int8_t* s = image + (lo - p->pad_left) * c_total + 4 * g;
    if (rows_inside && n >= 4 && k_h == 3) {
      s += iy0 * in_w * c_total;
      for (int32_t x = lo; x < hi; ++x, s += c_total, d += 3) {
        d[0] = *(const tml_u32_unaligned*)s;
        d[1] = *(const tml_u32_unaligned*)(s + dy);
        d[2] = *(const tml_u32_unaligned*)(s + 2 * dy);
      }
    } else {
      for (int32_t x = lo; x < hi; ++x, s += c_total)
        for (int32_t ky = 0; ky < k_h; ++ky) {
          const int32_t iy = iy0 + ky * p->dil_h;
          *d++ = iy >= 0 && iy < p->in_h ? tml_dw_word(s + iy * in_w * c_total, n, zp) : zp4;
        }
    }
    for (int32_t i = hi * k_h; i < width * k_h; ++i) *d++ = zp4;
  }
}

#ifdef TML_HAVE_DSP
#define TML_DW_TAP(XP, W)                                          \
  do {                                                             \
    const uint32_t x_ = *(XP);                                     \
    const int16x2_t xe_ = __sxtb16(x_), xo_ = tml_sxtb16_ror8(x_); \
    const int32_t we_ = (int32_t)(W)[0], wo_ = (int32_t)(W)[1];    \
    a0 = __smlabb((int32_t)xe_, we_, a0);                          \
    a2 = __smlatt((int32_t)xe_, we_, a2);                          \
    a1 = __smlabb((int32_t)xo_, wo_, a1);                          \
    a3 = __smlatt((int32_t)xo_, wo_, a3);                          \
  } while (0)
#else
#define TML_DW_TAP(XP, W)                    \
  do {                                       \
    const int8_t* x_ = (const int8_t*)(XP);  \
    const int16_t* w_ = (const int16_t*)(W); \
    a0 += x_[0] * w_[0];                     \
    a2 += x_[2] * w_[1];                     \
    a1 += x_[1] * w_[2];                     \
    a3 += x_[3] * w_[3];                     \
  } while (0)
#endif

/* One output row of one group with 3x3 taps, dilation 1, fast requantization and
 * all four channels stored: the hot case, kept small so that its loop stays in
 * registers. blk: corr[4] then the 18 weight words; step: words between pixels. */
__attribute__((noinline)) static void tml_dw_row9(const uint32_t* xp, const int32_t* blk,
                                                  const int32_t* f, int8_t* y, int32_t count,
                                                  int32_t step, int32_t ystride, uint32_t lo4,
                                                  uint32_t hi4) {
  const uint32_t* w = (const uint32_t*)(const void*)(blk + 4);
  for (; count > 0; --count, xp += step, y += ystride) {
    int32_t a0 = blk[0], a1 = blk[1], a2 = blk[2], a3 = blk[3];
    TML_DW_TAP(xp + 0, w + 0);
    TML_DW_TAP(xp + 1, w + 2);
    TML_DW_TAP(xp + 2, w + 4);
    TML_DW_TAP(xp + 3, w + 6);
    TML_DW_TAP(xp + 4, w + 8);
    TML_DW_TAP(xp + 5, w + 10);
    TML_DW_TAP(xp + 6, w + 12);
    TML_DW_TAP(xp + 7, w + 14);
    TML_DW_TAP(xp + 8, w + 16);
    *(tml_u32_unaligned*)y = tml_clamp4(tml_pack4(tml_rq_fast(f, a0), tml_rq_fast(f + 3, a1),
                                                  tml_rq_fast(f + 6, a2), tml_rq_fast(f + 9, a3)),
                                        lo4, hi4);
  }
}

/* Any other case: n channels stored (the last group may be partial). */
__attribute__((noinline)) static void tml_dw_row(const tml_conv_params* p, const uint32_t* xp,
                                                 const int32_t* blk, int32_t g, int32_t n,
                                                 int8_t* y) {
  const tml_rq rq = tml_rq_load(&p->q);
  const int32_t k_h = p->k_h, k_w = p->k_w, run = p->dil_w * k_h, step = p->stride_w * k_h;
  const int32_t* f = rq.fast ? rq.fast + 12 * g : 0;
  const uint32_t lo4 = tml_splat4(rq.lo), hi4 = tml_splat4(rq.hi);
  for (int32_t ox = 0; ox < p->out_w; ++ox, xp += step, y += p->in_c) {
    int32_t a0 = blk[0], a1 = blk[1], a2 = blk[2], a3 = blk[3];
    const uint32_t* w = (const uint32_t*)(const void*)(blk + 4);
    const uint32_t* xk = xp;
    for (int32_t kx = 0; kx < k_w; ++kx, xk += run)
      for (int32_t ky = 0; ky < k_h; ++ky, w += 2) TML_DW_TAP(xk + ky, w);
    if (f) {
      const uint32_t v = tml_clamp4(tml_pack4(tml_rq_fast(f, a0), tml_rq_fast(f + 3, a1),
                                              tml_rq_fast(f + 6, a2), tml_rq_fast(f + 9, a3)),
                                    lo4, hi4);
      for (int32_t j = 0; j < n; ++j) y[j] = (int8_t)(v >> (8 * j));
    } else {
      const int32_t c = 4 * g;
      y[0] = tml_rq_apply(rq, a0, c);
      if (n > 1) y[1] = tml_rq_apply(rq, a1, c + 1);
      if (n > 2) y[2] = tml_rq_apply(rq, a2, c + 2);
      if (n > 3) y[3] = tml_rq_apply(rq, a3, c + 3);
    }
  }
}

/* cols: scratch of k_h * width * 4 * ceil(in_c / 4) bytes, 4-byte aligned, with
 * width = (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1. */
void tml_depthwise_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int32_t* blocks,
                                  int8_t* out, int8_t* cols) {
  const int32_t c_total = p->in_c, in_h = p->in_h, in_w = p->in_w, k_h = p->k_h, k_w = p->k_w;
  const int32_t out_h = p->out_h, out_w = p->out_w, taps = k_h * k_w;
  const int32_t width = (out_w - 1) * p->stride_w + (k_w - 1) * p->dil_w + 1;
  const int32_t groups = (c_total + 3) >> 2, tail = c_total & 3;
  const int32_t gstride = width * k_h; /* words between groups */
  const int nine = p->dil_w == 1 && taps == 9 && p->q.fast;
  const uint32_t lo4 = tml_splat4(p->q.act_min), hi4 = tml_splat4(p->q.act_max);
  for (int32_t b = 0; b < p->batch; ++b) {
    const int8_t* image = in + b * in_h * in_w * c_total;
    for (int32_t oy = 0; oy < out_h; ++oy) {
      tml_dw_cols(p, image, oy, width, cols);
      int8_t* const yrow = out + (b * out_h + oy) * out_w * c_total;
      for (int32_t g = 0; g < groups; ++g) {
        const int32_t* blk = blocks + g * (4 + 2 * taps);
        const int32_t n = g + 1 < groups || !tail ? 4 : tail; /* channels stored */
        const uint32_t* xp = (const uint32_t*)(const void*)cols + g * gstride;
        if (nine && n == 4)
          tml_dw_row9(xp, blk, p->q.fast + 12 * g, yrow + 4 * g, out_w, p->stride_w * k_h, c_total,
                      lo4, hi4);
        else
          tml_dw_row(p, xp, blk, g, n, yrow + 4 * g);
      }
    }
  }
}
