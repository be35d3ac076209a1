/* Optimized int8 max / average pooling, bit-exact with pool.c. Windows are
 * clipped to the image once per output pixel; on DSP cores four channels go
 * per word: max with SSUB8 + SEL (per-byte compare and select), sums with
 * SXTAB16 into two int16 pairs (exact for windows of up to 256 taps). */
#include "tml_simd.h"

/* First and one-past-last window tap inside [0, size). */
static inline void tml_clip_window(int32_t start, int32_t k, int32_t dil, int32_t size, int32_t* lo,
                                   int32_t* hi) {
  int32_t a = 0, b = k;
  while (a < b && start + a * dil < 0) ++a;
  while (b > a && start + (b - 1) * dil >= size) --b;
  *lo = a;
  *hi = b;
}

static void tml_pool_s8_fast(const tml_pool_params* p, const int8_t* in, int8_t* out, int is_max) {
  const int32_t c_total = p->channels, in_h = p->in_h, in_w = p->in_w;
  const int32_t lo_q = p->q_act_min, hi_q = p->q_act_max;
  int8_t* y = out;
  for (int32_t b = 0; b < p->batch; ++b) {
    const int8_t* image = in + b * in_h * in_w * c_total;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      int32_t ky0, ky1;
      tml_clip_window(iy0, p->k_h, p->dil_h, in_h, &ky0, &ky1);
      for (int32_t ox = 0; ox < p->out_w; ++ox, y += c_total) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        int32_t kx0, kx1;
        tml_clip_window(ix0, p->k_w, p->dil_w, in_w, &kx0, &kx1);
        int32_t count = (ky1 - ky0) * (kx1 - kx0);
        int32_t c = 0;
#ifdef TML_HAVE_DSP
        if (count <= 256) {
          for (; c + 4 <= c_total; c += 4) {
            uint32_t m = 0x80808080u; /* -128 in every byte */
            int16x2_t se = 0, so = 0;
            for (int32_t ky = ky0; ky < ky1; ++ky) {
              const int8_t* xp = image + ((iy0 + ky * p->dil_h) * in_w + ix0) * c_total + c;
              for (int32_t kx = kx0; kx < kx1; ++kx) {
                const uint32_t v = *(const tml_u32_unaligned*)(xp + kx * p->dil_w * c_total);
                if (is_max) {
                  (void)__ssub8(v, m); /* GE flags: v >= m per byte */
                  m = __sel(v, m);
                } else {
                  se = __sxtab16(se, v);
                  so = __sxtab16(so, tml_ror8(v));
                }
              }
            }
            for (int j = 0; j < 4; ++j) {
              int32_t r;
              if (is_max) {
                r = (int8_t)(m >> (8 * j));
              } else {
                const int32_t pair = (j & 1) ? (int32_t)so : (int32_t)se;
                const int32_t sum = (j & 2) ? pair >> 16 : (int32_t)(int16_t)pair;
                const int32_t n = count ? count : 1;
                r = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
              }
              y[c + j] = (int8_t)(r < lo_q ? lo_q : (r > hi_q ? hi_q : r));
            }
          }
        }
#endif
        for (; c < c_total; ++c) {
          int32_t acc = is_max ? -128 : 0;
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            const int8_t* xp = image + ((iy0 + ky * p->dil_h) * in_w + ix0) * c_total + c;
            for (int32_t kx = kx0; kx < kx1; ++kx) {
              const int32_t v = xp[kx * p->dil_w * c_total];
              acc = is_max ? (v > acc ? v : acc) : acc + v;
            }
          }
          if (!is_max) {
            const int32_t n = count ? count : 1;
            acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
          }
          y[c] = (int8_t)(acc < lo_q ? lo_q : (acc > hi_q ? hi_q : acc));
        }
        (void)count;
      }
    }
  }
}

void tml_max_pool_s8_fast(const tml_pool_params* p, const int8_t* in, int8_t* out) {
  tml_pool_s8_fast(p, in, out, 1);
}

void tml_avg_pool_s8_fast(const tml_pool_params* p, const int8_t* in, int8_t* out) {
  tml_pool_s8_fast(p, in, out, 0);
}
