/* SVDF int8, optimized (tml_svdf_s8's results exactly): the state shifted a word at a time,
 * the feature projections from the input widened once (minus its zero point) and the
 * weights four at a time, the time products two at a time, with SMLAD on cores with the
 * DSP extension. Integer sums in another order are the same sums, so the output and the
 * state are the reference kernel's bits. scratch: filters int32, then input_size + 3 int16. */

#include "tml_simd.h"

/* Two int16 at any address, read and written as one word (may alias the int16 arrays). */
typedef uint32_t pair_t __attribute__((aligned(1), may_alias));

/* dst[i] = dst[i + 1] for i < n - 1, two elements per word where the core allows. */
static void shift_left_one(int16_t* s, long n) {
  long i = 0;
  for (; i + 3 <= n; i += 2) {
    const uint32_t w = *(const pair_t*)(const void*)(s + i + 1);
    *(pair_t*)(void*)(s + i) = w;
  }
  for (; i + 1 < n; ++i) s[i] = s[i + 1];
}

/* Sum of a[k] b[k] over n int16 pairs. */
static int32_t dot_s16(const int16_t* a, const int16_t* b, int n) {
  int32_t acc = 0;
  int k = 0;
#ifdef TML_HAVE_DSP
  for (; k + 2 <= n; k += 2)
    acc = __smlad(*(const pair_t*)(const void*)(a + k), *(const pair_t*)(const void*)(b + k), acc);
#endif
  for (; k < n; ++k) acc += (int32_t)a[k] * b[k];
  return acc;
}

/* Sum of w[k] x[k], w int8, x the widened input in SXTB16 order: each group of four
 * inputs stored as x0, x2, x1, x3 (the tail plain). */
static int32_t dot_s8_s16(const int8_t* w, const int16_t* xp, int n) {
  int32_t acc = 0;
  int k = 0;
#ifdef TML_HAVE_DSP
  for (; k + 4 <= n; k += 4) {
    const uint32_t wq = *(const pair_t*)(const void*)(w + k);
    acc = __smlad(__sxtb16(wq), *(const pair_t*)(const void*)(xp + k), acc);
    acc = __smlad(tml_sxtb16_ror8(wq), *(const pair_t*)(const void*)(xp + k + 2), acc);
  }
#else
  for (; k + 4 <= n; k += 4)
    acc += w[k] * xp[k] + w[k + 2] * xp[k + 1] + w[k + 1] * xp[k + 2] + w[k + 3] * xp[k + 3];
#endif
  for (; k < n; ++k) acc += (int32_t)w[k] * xp[k];
  return acc;
}

void tml_svdf_s8_fast(const tml_svdf_params* p, const int8_t* in, const int8_t* wf,
                      const int16_t* wt, const int32_t* bias, int16_t* state, int8_t* out,
                      void* scratch) {
  const int F = p->filters, M = p->memory, n_in = p->input_size;
  int32_t* acc = (int32_t*)scratch;         /* filters */
  int16_t* xp = (int16_t*)(void*)(acc + F); /* input_size, SXTB16 order */
  shift_left_one(state, (long)p->batch * F * M);
  for (int b = 0; b < p->batch; ++b) {
    const int8_t* x = in + (long)b * n_in;
    int16_t* st = state + (long)b * F * M;
    int k = 0;
    for (; k + 4 <= n_in; k += 4) {
      xp[k] = (int16_t)(x[k] - p->in_zero_point);
      xp[k + 1] = (int16_t)(x[k + 2] - p->in_zero_point);
      xp[k + 2] = (int16_t)(x[k + 1] - p->in_zero_point);
      xp[k + 3] = (int16_t)(x[k + 3] - p->in_zero_point);
    }
    for (; k < n_in; ++k) xp[k] = (int16_t)(x[k] - p->in_zero_point);
    for (int f = 0; f < F; ++f) {
      int32_t d = dot_s8_s16(wf + (long)f * n_in, xp, n_in);
      d = tml_mul_by_quantized_multiplier(d, p->mult1, p->shift1);
      st[(long)f * M + M - 1] = (int16_t)tml_clamp_i32(d, -32768, 32767);
    }
    for (int f = 0; f < F; ++f) acc[f] = dot_s16(wt + (long)f * M, st + (long)f * M, M);
    tml_svdf_units_s8(p, acc, bias, out + (long)b * p->units);
  }
}
