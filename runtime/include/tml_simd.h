/* Shared pieces of the optimized int8 kernels: ACLE SIMD intrinsics on cores
 * with the DSP extension, and a requantization step with hoisted parameters.
 * Used by the runtime kernels only. */
#ifndef TML_SIMD_H
#define TML_SIMD_H

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

#ifdef TML_HAVE_DSP
/* SXTB16 with its ROR #8 operand (GCC's __sxtb16 has no rotation argument). */
static inline int16x2_t tml_sxtb16_ror8(uint32_t x) {
  int16x2_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
#endif

/* Rounded high word of a 32 x 32 product: (a b + 2^31) >> 32. */
static inline int32_t tml_smmulr(int32_t a, int32_t b) {
#ifdef TML_HAVE_DSP
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (int32_t)(((int64_t)a * b + 0x80000000LL) >> 32);
#endif
}

/* Requantization parameters copied into locals: stores through int8 output
 * pointers may alias the parameter struct, which would force reloads. */
typedef struct {
  const int32_t* mult;
  const int32_t* shift;
  const int32_t* rounding;
  int32_t per_channel, offset, lo, hi;
} tml_rq;

static inline tml_rq tml_rq_load(const tml_requant* q) {
  tml_rq r;
  r.mult = q->multiplier;
  r.shift = q->shift;
  r.rounding = q->rounding;
  r.per_channel = q->per_channel ? 1 : 0;
  r.offset = q->output_offset;
  r.lo = q->act_min;
  r.hi = q->act_max;
  return r;
}

/* clamp(MBQM(acc, mult[ch], shift[ch]) + offset): the reference requantization
 * with a positive multiplier (as QuantizeMultiplier produces), so the
 * INT32_MIN x INT32_MIN saturation case cannot occur. */
static inline int8_t tml_rq_apply(tml_rq r, int32_t acc, int32_t ch) {
  const int32_t c = ch * r.per_channel;
  if (r.rounding) {
    /* |acc| < 2^30 and right shift r in 1..22 (checked by the compiler):
     * SMMULR(2 acc, M) = floor((acc M + 2^30) / 2^31), the doubling high multiply;
     * (v + 2^(r-1) + (v < 0 ? -1 : 0)) >> r rounds half away from zero like
     * tml_rounding_divide_by_pot, and adding offset << r before the shift adds
     * offset after it. */
    const int32_t r_shift = -r.shift[c];
    int32_t v = tml_smmulr(acc * 2, r.mult[c]);
    v = (v + r.rounding[c] + (v >> 31)) >> r_shift;
    return (int8_t)(v < r.lo ? r.lo : (v > r.hi ? r.hi : v));
  }
  const int32_t m = r.mult[c], shift = r.shift[c];
  const int32_t x = shift > 0 ? (int32_t)((uint32_t)acc << shift) : acc;
  const int32_t right = shift > 0 ? 0 : -shift;
  const int64_t prod = (int64_t)x * (int64_t)m + (int64_t)(1 << 30);
  int32_t v = (int32_t)(prod >> 31);
  /* Rounding divide by 2^right, half away from zero (tml_rounding_divide_by_pot). */
  const int32_t mask = (int32_t)((1u << right) - 1u);
  const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)v >> 31);
  v = (v >> right) + ((v & mask) > threshold) + r.offset;
  return (int8_t)(v < r.lo ? r.lo : (v > r.hi ? r.hi : v));
}

#endif
