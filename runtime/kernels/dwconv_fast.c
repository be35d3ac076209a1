/* Optimized int8 depthwise Conv2D (depth multiplier 1, filter offset 0),
 * bit-exact with tml_depthwise_conv2d_s8.
 *
 * corr[c] = bias[c] + io * (sum over taps of w[c]) is computed when the model is
 * compiled; padded taps read the input zero point, which cancels their share
 * of corr exactly. On cores with the DSP extension four channels go per pass:
 * per tap one input word, widened by SXTB16 into (x0 x2) and (x1 x3), against
 * weights widened to int16 at compile time in the same order (`wide`: per group
 * of four channels, per tap, the int16 words (w0 w2) (w1 w3)), with SMLABB and
 * SMLATT. Channels past the last whole group, and every channel on cores
 * without DSP, take the plain C loop over the original int8 filter. */
#include <string.h>

#include "tml_simd.h"

#ifdef TML_HAVE_DSP
#define TML_DW_TAP(X4, W)                                          \
  do {                                                             \
    const int16x2_t xe_ = __sxtb16(X4), xo_ = tml_sxtb16_ror8(X4); \
    const int32_t we_ = (int32_t)(W)[0], wo_ = (int32_t)(W)[1];    \
    a0 = __smlabb((int32_t)xe_, we_, a0);                          \
    a2 = __smlatt((int32_t)xe_, we_, a2);                          \
    a1 = __smlabb((int32_t)xo_, wo_, a1);                          \
    a3 = __smlatt((int32_t)xo_, wo_, a3);                          \
  } while (0)
#endif

/* Copies the k_h input rows under output row oy into rows (zero point where
 * the window leaves the image), so every window of the row is interior. */
static void tml_dw_rows(const tml_conv_params* p, const int8_t* image, int32_t oy, int32_t width,
                        int8_t* rows) {
  const int32_t c = p->in_c, in_w = p->in_w, stride = width * c;
  const int8_t zp = (int8_t)(-p->q.input_offset);
  const int32_t x0 = -p->pad_left; /* input column of buffer column 0 */
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
    int8_t* dst = rows + ky * stride;
    if (iy < 0 || iy >= p->in_h) {
      memset(dst, zp, (size_t)stride);
      continue;
    }
    const int32_t lo = x0 < 0 ? -x0 : 0; /* first buffer column inside the image */
    int32_t hi = in_w - x0;              /* one past the last */
    if (hi > width) hi = width;
    if (hi <= lo) {
      memset(dst, zp, (size_t)stride);
      continue;
    }
    memset(dst, zp, (size_t)(lo * c));
    memcpy(dst + lo * c, image + (iy * in_w + x0 + lo) * c, (size_t)((hi - lo) * c));
    memset(dst + hi * c, zp, (size_t)(stride - hi * c));
  }
}

/* rows: scratch of k_h * width * in_c bytes, width = (out_w - 1) * stride_w + (k_w - 1) * dil_w
 * + 1. */
void tml_depthwise_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int8_t* filter,
                                  const int16_t* wide, const int32_t* corr, int8_t* out,
                                  int8_t* rows) {
  /* Locals: stores through out may alias *p, so the compiler would reload it. */
  const tml_rq rq = tml_rq_load(&p->q);
  const int32_t c_total = p->in_c, in_h = p->in_h, in_w = p->in_w, k_h = p->k_h, k_w = p->k_w;
  const int32_t out_h = p->out_h, out_w = p->out_w;
  const int32_t width = (out_w - 1) * p->stride_w + (k_w - 1) * p->dil_w + 1;
  const int32_t row = width * c_total, dx = p->dil_w * c_total, step = p->stride_w * c_total;
#ifdef TML_HAVE_DSP
  const int32_t groups = c_total >> 2, taps = k_h * k_w;
#else
  (void)wide;
#endif
  int8_t* y = out;
  for (int32_t b = 0; b < p->batch; ++b) {
    const int8_t* image = in + b * in_h * in_w * c_total;
    for (int32_t oy = 0; oy < out_h; ++oy) {
      tml_dw_rows(p, image, oy, width, rows);
      const int8_t* base = rows;
      for (int32_t ox = 0; ox < out_w; ++ox, y += c_total, base += step) {
        int32_t c = 0;
#ifdef TML_HAVE_DSP
        const uint32_t* wq = (const uint32_t*)(const void*)wide;
        for (int32_t g = 0; g < groups; ++g, c += 4, wq += 2 * taps) {
          int32_t a0 = corr[c], a1 = corr[c + 1], a2 = corr[c + 2], a3 = corr[c + 3];
          const uint32_t* w = wq;
          const int8_t* xp = base + c;
          if (k_w == 3) {
            for (int32_t ky = 0; ky < k_h; ++ky, xp += row, w += 6) {
              const uint32_t x0 = *(const tml_u32_unaligned*)xp;
              const uint32_t x1 = *(const tml_u32_unaligned*)(xp + dx);
              const uint32_t x2 = *(const tml_u32_unaligned*)(xp + 2 * dx);
              TML_DW_TAP(x0, w);
              TML_DW_TAP(x1, w + 2);
              TML_DW_TAP(x2, w + 4);
            }
          } else {
            for (int32_t ky = 0; ky < k_h; ++ky, xp += row - k_w * dx)
              for (int32_t kx = 0; kx < k_w; ++kx, xp += dx, w += 2) {
                const uint32_t x4 = *(const tml_u32_unaligned*)xp;
                TML_DW_TAP(x4, w);
              }
          }
          y[c] = tml_rq_apply(rq, a0, c);
          y[c + 1] = tml_rq_apply(rq, a1, c + 1);
          y[c + 2] = tml_rq_apply(rq, a2, c + 2);
          y[c + 3] = tml_rq_apply(rq, a3, c + 3);
        }
#endif
        for (; c < c_total; ++c) {
          int32_t acc = corr[c];
          for (int32_t ky = 0; ky < k_h; ++ky)
            for (int32_t kx = 0; kx < k_w; ++kx)
              acc += base[ky * row + kx * dx + c] * filter[(ky * k_w + kx) * c_total + c];
          y[c] = tml_rq_apply(rq, acc, c);
        }
      }
    }
  }
}
