/* Shared pieces of the optimized int8 kernels: ACLE SIMD intrinsics on cores
 * with the DSP extension, and a requantization step with hoisted parameters.
 * Used by the runtime kernels only. */
#ifndef TML_SIMD_H
#define TML_SIMD_H

#include "tml_fixedpoint.h"
#include "tml_kernels.h"

/* Words at any address: the compiler emits plain loads and stores where the core
 * allows unaligned access (ARMv7-M, the host) and byte accesses elsewhere. */
typedef uint32_t tml_u32_unaligned __attribute__((aligned(1)));
typedef uint16_t tml_u16_unaligned __attribute__((aligned(1)));

#if (defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP) || \
    (defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT)
#include <arm_acle.h>
#endif
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TML_HAVE_DSP 1
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

/* Saturates to int8: SSAT on Arm cores (ARMv7-M has it without the DSP extension). */
static inline int32_t tml_sat8(int32_t v) {
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
  return __ssat(v, 8);
#else
  return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

/* Fast requantization, per channel three words {M, R, r} (tml_requant::fast):
 * |acc| < 2^30 and right shift r in 1..22, proved by the compiler.
 *   SMMULR(2 acc, M) = floor((acc M + 2^30) / 2^31) is the doubling high multiply;
 *   SMMLAR adds R = 2^(r-1) + (offset << r) on top, exactly;
 *   adding (acc < 0 ? -1 : 0) then shifting right by r rounds half away from zero
 *   (tml_rounding_divide_by_pot) and adds offset after the shift.
 * The sign of acc stands for the sign of the product: they differ only where the
 * product is 0, and there 2^(r-1) - 1 and 2^(r-1) both shift to 0. Returns the
 * value saturated to int8; the activation clamp is the caller's. */
static inline int32_t tml_rq_fast(const int32_t* prm, int32_t acc) {
#ifdef TML_HAVE_DSP
  int32_t v;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(v) : "r"(acc * 2), "r"(prm[0]), "r"(prm[1]));
#else
  int32_t v = (int32_t)(((int64_t)acc * prm[0] + (1LL << 30)) >> 31) + prm[1];
#endif
  v = (v + (acc >> 31)) >> prm[2];
  return tml_sat8(v);
}

/* Four int8 values (already in range) as one little-endian word. */
static inline uint32_t tml_pack4(int32_t a, int32_t b, int32_t c, int32_t d) {
#ifdef TML_HAVE_DSP
  uint32_t r = (uint32_t)a;
  __asm__("bfi %0, %1, #8, #8\n\tbfi %0, %2, #16, #8\n\tbfi %0, %3, #24, #8"
          : "+r"(r)
          : "r"(b), "r"(c), "r"(d));
  return r;
#else
  return (uint32_t)(a & 0xff) | ((uint32_t)(b & 0xff) << 8) | ((uint32_t)(c & 0xff) << 16) |
         ((uint32_t)d << 24);
#endif
}

/* Activation clamp of four packed int8 values; lo4 / hi4 hold the bounds in every byte. */
static inline uint32_t tml_clamp4(uint32_t v, uint32_t lo4, uint32_t hi4) {
#ifdef TML_HAVE_DSP
  /* SSUB8 sets GE per byte where v >= bound; SEL picks by GE. */
  uint32_t t;
  __asm__(
      "ssub8 %[t], %[v], %[lo]\n\tsel %[v], %[v], %[lo]\n\t"
      "ssub8 %[t], %[v], %[hi]\n\tsel %[v], %[hi], %[v]"
      : [v] "+r"(v), [t] "=&r"(t)
      : [lo] "r"(lo4), [hi] "r"(hi4)
      : "cc");
  return v;
#else
  uint32_t r = 0;
  for (int i = 0; i < 32; i += 8) {
    const int32_t x = (int8_t)(v >> i), lo = (int8_t)(lo4 >> i), hi = (int8_t)(hi4 >> i);
    r |= (uint32_t)((x < lo ? lo : (x > hi ? hi : x)) & 0xff) << i;
  }
  return r;
#endif
}

static inline uint32_t tml_splat4(int32_t v) {
  return (uint32_t)(v & 0xff) * 0x01010101u;
}

/* Requantization parameters copied into locals: stores through int8 output
 * pointers may alias the parameter struct, which would force reloads. */
typedef struct {
  const int32_t* mult;
  const int32_t* shift;
  const int32_t* fast;
  int32_t per_channel, offset, lo, hi;
} tml_rq;

static inline tml_rq tml_rq_load(const tml_requant* q) {
  tml_rq r;
  r.mult = q->multiplier;
  r.shift = q->shift;
  r.fast = q->fast;
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
  int32_t v;
  if (r.fast) {
    v = tml_rq_fast(r.fast + 3 * ch, acc);
  } else {
    const int32_t c = ch * r.per_channel;
    const int32_t m = r.mult[c], shift = r.shift[c];
    const int32_t x = shift > 0 ? (int32_t)((uint32_t)acc << shift) : acc;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int64_t prod = (int64_t)x * (int64_t)m + (int64_t)(1 << 30);
    v = (int32_t)(prod >> 31);
    /* Rounding divide by 2^right, half away from zero (tml_rounding_divide_by_pot). */
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)v >> 31);
    v = (v >> right) + ((v & mask) > threshold) + r.offset;
  }
  return (int8_t)(v < r.lo ? r.lo : (v > r.hi ? r.hi : v));
}

#endif
