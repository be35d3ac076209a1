/* Portable float math for the float kernels: exp, log, tanh built only from
 * IEEE-754 single-precision add, multiply, divide and integer bit operations.
 * Every platform that rounds those correctly (x86 SSE, Cortex-M FPU, soft
 * float) computes the same bits, which libm implementations do not promise;
 * so float models are bit-exact between host and device too. Compile with
 * -ffp-contract=off (no fused multiply-add).
 *
 * Accuracy: relative error below 2e-7 over the normal range. */
#ifndef TML_MATH_H
#define TML_MATH_H

#include <stdint.h>

static inline float tml_bits_to_float(uint32_t u) {
  union {
    uint32_t u;
    float f;
  } v;
  v.u = u;
  return v.f;
}

static inline uint32_t tml_float_to_bits(float f) {
  union {
    uint32_t u;
    float f;
  } v;
  v.f = f;
  return v.u;
}

/* e^x. Range reduction x = k ln2 + r (|r| <= ln2 / 2, Cody-Waite split of ln2),
 * a degree-7 Taylor polynomial for e^r, then scaling by 2^k through the exponent bits. */
static inline float tml_expf(float x) {
  if (x != x) return x;                                     /* NaN */
  if (x > 88.72283f) return tml_bits_to_float(0x7f800000u); /* +inf */
  if (x < -87.33654f) return 0.0f;                          /* below the smallest normal */
  const float kLog2e = 1.44269504f;
  const float kLn2Hi = 0.693145752f; /* ln2 with the low 12 bits cleared: k * kLn2Hi is exact */
  const float kLn2Lo = 1.42860677e-6f;
  const float t = x * kLog2e;
  const int32_t k = (int32_t)(t + (t >= 0.0f ? 0.5f : -0.5f));
  const float kf = (float)k;
  const float r = (x - kf * kLn2Hi) - kf * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  /* 2^k in two steps so that k = 128 or k = -126.. stays representable. */
  const int32_t k1 = k / 2, k2 = k - k / 2;
  return p * tml_bits_to_float((uint32_t)(k1 + 127) << 23) *
         tml_bits_to_float((uint32_t)(k2 + 127) << 23);
}

/* e^x - 1, accurate near 0 (Taylor to degree 9 for |x| < 0.35). */
static inline float tml_expm1f(float x) {
  if (x > 0.35f || x < -0.35f) return tml_expf(x) - 1.0f;
  float p = 1.0f / 362880.0f;
  p = p * x + 1.0f / 40320.0f;
  p = p * x + 1.0f / 5040.0f;
  p = p * x + 1.0f / 720.0f;
  p = p * x + 1.0f / 120.0f;
  p = p * x + 1.0f / 24.0f;
  p = p * x + 1.0f / 6.0f;
  p = p * x + 0.5f;
  p = p * x + 1.0f;
  return p * x;
}

/* ln x for x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m-1)/(m+1)). */
static inline float tml_logf(float x) {
  if (x != x || x < 0.0f) return tml_bits_to_float(0x7fc00000u); /* NaN */
  if (x == 0.0f) return tml_bits_to_float(0xff800000u);          /* -inf */
  uint32_t u = tml_float_to_bits(x);
  int32_t e = 0;
  if ((u >> 23) == 0) { /* subnormal: scale into the normal range */
    x = x * 16777216.0f;
    u = tml_float_to_bits(x);
    e = -24;
  }
  if ((u >> 23) >= 255) return x; /* +inf */
  e += (int32_t)(u >> 23) - 127;
  float m = tml_bits_to_float((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
  if (m > 1.41421356f) {
    m = m * 0.5f;
    e += 1;
  }
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  float p = 1.0f / 11.0f;
  p = p * s2 + 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  p = p * s2 + 1.0f;
  const float ln_m = 2.0f * s * p;
  const float ef = (float)e;
  return (ef * 0.693145752f + ln_m) + ef * 1.42860677e-6f;
}

/* tanh x = e / (e + 2) with e = expm1(2|x|), sign restored. */
static inline float tml_tanhf(float x) {
  if (x != x) return x;
  const float a = x < 0.0f ? -x : x;
  float t;
  if (a > 9.0f) {
    t = 1.0f;
  } else {
    const float e = tml_expm1f(2.0f * a);
    t = e / (e + 2.0f);
  }
  return x < 0.0f ? -t : t;
}

#endif /* TML_MATH_H */
