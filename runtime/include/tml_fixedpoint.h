/* Fixed-point arithmetic of the TFLite int8 quantization specification.
 *
 * These helpers define how every TinyMLaaS device requantizes: a 32-bit
 * multiplier in Q31 plus a power-of-two shift, applied with a saturating
 * rounding doubling high multiply followed by a rounding right shift. The host
 * interpreter and generated firmware both use this header, so they agree bit
 * for bit. The exp / reciprocal / logistic / tanh helpers follow gemmlowp's
 * published fixed-point algorithms (Q-format with a given number of integer
 * bits), which TFLite's int8 softmax, logistic and tanh are defined by.
 *
 * C99, header-only, no libc beyond <stdint.h>.
 */
#ifndef TML_FIXEDPOINT_H
#define TML_FIXEDPOINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline int32_t tml_sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  /* gemmlowp writes (ab + (ab >= 0 ? 2^30 : 1 - 2^30)) / 2^31 with truncation toward
   * zero; floor((ab + 2^30) / 2^31) is the same integer for every product (for ab < 0,
   * ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31)), and compiles into one
   * SMLAL and a funnel shift instead of a 64-bit division. */
  return (int32_t)(((int64_t)a * (int64_t)b + (1 << 30)) >> 31);
}

static inline int32_t tml_rounding_divide_by_pot(int32_t x, int exponent) {
  int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift with TFLite rounding (shift may be negative). */
static inline int32_t tml_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  int left = shift > 0 ? shift : 0;
  int right = shift > 0 ? 0 : -shift;
  /* Wraps like the reference on overflow instead of being undefined. */
  int32_t shifted = (int32_t)((uint32_t)x << left);
  return tml_rounding_divide_by_pot(tml_sat_rounding_doubling_high_mul(shifted, multiplier), right);
}

static inline int32_t tml_clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Saturating x * 2^exponent for exponent > 0 (gemmlowp SaturatingRoundingMultiplyByPOT). */
static inline int32_t tml_sat_shift_left(int32_t x, int exponent) {
  int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* Changes the number of integer bits of a Q-format raw value. */
static inline int32_t tml_fp_rescale(int32_t raw, int src_int_bits, int dst_int_bits) {
  int exponent = src_int_bits - dst_int_bits;
  if (exponent > 0) return tml_sat_shift_left(raw, exponent);
  if (exponent < 0) return tml_rounding_divide_by_pot(raw, -exponent);
  return raw;
}

static inline int32_t tml_rounding_half_sum(int32_t a, int32_t b) {
  int64_t sum = (int64_t)a + (int64_t)b;
  int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static inline int32_t tml_fp_exp_quarter(int32_t a) {
  const int32_t constant_term = 1895147668;    /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883; /* 1/3 */
  int32_t x = a + (1 << 28);                   /* a + 1/8 */
  int32_t x2 = tml_sat_rounding_doubling_high_mul(x, x);
  int32_t x3 = tml_sat_rounding_doubling_high_mul(x2, x);
  int32_t x4 = tml_sat_rounding_doubling_high_mul(x2, x2);
  int32_t x4_over_4 = tml_rounding_divide_by_pot(x4, 2);
  int32_t poly = tml_rounding_divide_by_pot(
      tml_sat_rounding_doubling_high_mul(x4_over_4 + x3, constant_1_over_3) + x2, 1);
  return constant_term + tml_sat_rounding_doubling_high_mul(constant_term, x + poly);
}

/* exp(a) for a <= 0 given with int_bits integer bits; result in Q0.31. */
static inline int32_t tml_fp_exp_on_negative_values(int32_t a, int int_bits) {
  static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                         39332535,   720401,     242};
  const int frac_bits = 31 - int_bits;
  const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
  const int32_t mask = one_quarter - 1;
  int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
  int32_t result = tml_fp_exp_quarter(tml_fp_rescale(a_mod_quarter_minus_one_quarter, int_bits, 0));
  int32_t remainder = a_mod_quarter_minus_one_quarter - a;
  for (int e = -2; e <= 4; ++e) {
    if (int_bits > e) {
      int shift = frac_bits + e;
      if (remainder & ((int32_t)1 << shift))
        result = tml_sat_rounding_doubling_high_mul(result, multipliers[e + 2]);
    }
  }
  if (int_bits > 5) {
    int b = 36 - int_bits;
    int32_t clamp = -((int32_t)1 << b);
    if (a < clamp) result = 0;
  }
  if (a == 0) result = INT32_MAX;
  return result;
}

/* Newton-Raphson 1/(1+x)/2 iteration shared by the reciprocal helpers; Q2.29 out. */
static inline int32_t tml_fp_half_reciprocal_q2(int32_t half_denominator) {
  const int32_t c48_17 = 1515870810;     /* 48/17 in Q2.29 */
  const int32_t cneg32_17 = -1010580540; /* -32/17 in Q2.29 */
  int32_t x = c48_17 + tml_sat_rounding_doubling_high_mul(half_denominator, cneg32_17);
  for (int i = 0; i < 3; ++i) {
    int32_t hd_x = tml_sat_rounding_doubling_high_mul(half_denominator, x);
    int32_t one_minus = ((int32_t)1 << 29) - hd_x;
    x = x + tml_fp_rescale(tml_sat_rounding_doubling_high_mul(x, one_minus), 4, 2);
  }
  return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t tml_fp_one_over_one_plus_x(int32_t a) {
  int32_t x = tml_fp_half_reciprocal_q2(tml_rounding_half_sum(a, INT32_MAX));
  return tml_fp_rescale(x, 1, 0); /* x / 2 seen as Q1.30, back to Q0.31 */
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t tml_fp_one_minus_x_over_one_plus_x(int32_t a) {
  int32_t x = tml_fp_half_reciprocal_q2(tml_rounding_half_sum(a, INT32_MAX));
  return tml_fp_rescale(x - ((int32_t)1 << 29), 2, 0);
}

static inline int32_t tml_fp_logistic(int32_t a, int int_bits) {
  if (a == 0) return (int32_t)1 << 30;
  int32_t abs_a = a > 0 ? a : -a;
  int32_t pos = tml_fp_one_over_one_plus_x(tml_fp_exp_on_negative_values(-abs_a, int_bits));
  return a > 0 ? pos : INT32_MAX - pos;
}

static inline int32_t tml_fp_tanh(int32_t a, int int_bits) {
  if (a == 0) return 0;
  int32_t n = a < 0 ? a : -a;
  /* exp(2n): doubling n is exact when seen with one more integer bit. */
  int32_t t = tml_fp_one_minus_x_over_one_plus_x(tml_fp_exp_on_negative_values(n, int_bits + 1));
  return a < 0 ? -t : t;
}

static inline int tml_count_leading_zeros_u32(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

#ifdef __cplusplus
}
#endif

#endif /* TML_FIXEDPOINT_H */
