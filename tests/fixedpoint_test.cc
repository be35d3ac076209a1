// The fixed-point helpers against their real-valued meaning and TFLite's
// documented examples.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/quant_util.h"
#include "tml_fixedpoint.h"
#include "tml_math.h"
#include "tml_simd.h"

namespace tml {
namespace {

TEST(FixedPoint, SaturatingRoundingDoublingHighMul) {
  EXPECT_EQ(tml_sat_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  EXPECT_EQ(tml_sat_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);  // 0.5 * 0.5
  EXPECT_EQ(tml_sat_rounding_doubling_high_mul(-(1 << 30), 1 << 30), -(1 << 29));
}

// gemmlowp's formulation, kept here as the specification of the faster one.
int32_t GemmlowpHighMul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = static_cast<int64_t>(a) * b;
  const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

TEST(FixedPoint, HighMulEqualsGemmlowpFormulation) {
  const int32_t edges[] = {INT32_MIN, INT32_MIN + 1, -(1 << 30),    -3,       -2, -1, 0, 1, 2,
                           3,         1 << 30,       INT32_MAX - 1, INT32_MAX};
  for (int32_t a : edges)
    for (int32_t b : edges)
      ASSERT_EQ(tml_sat_rounding_doubling_high_mul(a, b), GemmlowpHighMul(a, b));
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < 2000000; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const int32_t a = static_cast<int32_t>(s), b = static_cast<int32_t>(s >> 32);
    // Small magnitudes too, where the rounding boundaries are dense.
    const int32_t c = a >> (s % 31), d = b >> ((s >> 8) % 31);
    ASSERT_EQ(tml_sat_rounding_doubling_high_mul(a, b), GemmlowpHighMul(a, b)) << a << " " << b;
    ASSERT_EQ(tml_sat_rounding_doubling_high_mul(c, d), GemmlowpHighMul(c, d)) << c << " " << d;
    ASSERT_EQ(tml_sat_rounding_doubling_high_mul(c, b), GemmlowpHighMul(c, b)) << c << " " << b;
  }
}

TEST(FixedPoint, RoundingDivideByPotRoundsHalfAwayFromZero) {
  EXPECT_EQ(tml_rounding_divide_by_pot(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(tml_rounding_divide_by_pot(-5, 1), -3);  // -2.5 -> -3
  EXPECT_EQ(tml_rounding_divide_by_pot(4, 2), 1);
  EXPECT_EQ(tml_rounding_divide_by_pot(-6, 2), -2);  // -1.5 -> -2
}

TEST(FixedPoint, QuantizeMultiplierRoundTrips) {
  for (double real : {0.5, 0.75, 1.0, 1.5, 0.0012345, 3.75e-5, 17.0}) {
    int32_t m;
    int shift;
    QuantizeMultiplier(real, &m, &shift);
    EXPECT_NEAR(m * std::ldexp(1.0, shift - 31), real, real * 1e-9) << real;
  }
  int32_t m;
  int shift;
  QuantizeMultiplier(0.0, &m, &shift);
  EXPECT_EQ(m, 0);
}

TEST(FixedPoint, MultiplyByQuantizedMultiplierMatchesRealProduct) {
  for (double real : {0.3, 0.0049, 1.7}) {
    int32_t m;
    int shift;
    QuantizeMultiplier(real, &m, &shift);
    for (int32_t x : {-100000, -777, -1, 0, 1, 999, 123456}) {
      const double want = std::round(x * real);
      EXPECT_NEAR(tml_mul_by_quantized_multiplier(x, m, shift), want, 1.0) << real << " " << x;
    }
  }
}

// The optimized kernels' requantization (SMMLAR form, sign of the accumulator for the
// sign of the product) against the reference MultiplyByQuantizedMultiplier, over the
// range the compiler allows: |acc| < 2^30, right shifts 1..22.
TEST(FixedPoint, FastRequantEqualsReference) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> mult(1 << 30, INT32_MAX), shift(1, 22), off(-128, 127);
  std::uniform_int_distribution<int32_t> big(-(1 << 30) + 1, (1 << 30) - 1), small(-5000, 5000);
  for (int i = 0; i < 400000; ++i) {
    const int32_t m = i % 7 == 0 ? (1 << 30) : mult(rng), r = shift(rng), o = off(rng);
    // Small accumulators hit exact halves and zero products; big ones the saturation.
    int32_t acc = i % 2 ? small(rng) : big(rng) >> (i % 23);
    if (i % 5 == 0) acc = ((acc >> r) << r) | (1 << (r - 1));  // near a tie
    const int32_t prm[3] = {m, (1 << (r - 1)) + o * (1 << r), r};
    const int32_t want = tml_clamp_i32(tml_mul_by_quantized_multiplier(acc, m, -r) + o, -128, 127);
    ASSERT_EQ(tml_rq_fast(prm, acc), want) << "acc " << acc << " M " << m << " r " << r;
  }
}

TEST(FixedPoint, PackedClampMatchesScalar) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> v(-128, 127);
  for (int i = 0; i < 20000; ++i) {
    const int32_t a = v(rng), b = v(rng), c = v(rng), d = v(rng);
    int32_t lo = v(rng), hi = v(rng);
    if (lo > hi) std::swap(lo, hi);
    const uint32_t got = tml_clamp4(tml_pack4(a, b, c, d), tml_splat4(lo), tml_splat4(hi));
    const int32_t in[4] = {a, b, c, d};
    for (int j = 0; j < 4; ++j)
      ASSERT_EQ(static_cast<int8_t>(got >> (8 * j)), tml_clamp_i32(in[j], lo, hi));
  }
}

TEST(FixedPoint, ExpOnNegativeValuesApproximatesExp) {
  for (double v : {-0.01, -0.2, -0.25, -1.0, -2.5, -7.0, -15.0}) {
    const int32_t raw = static_cast<int32_t>(std::lround(v * (1 << 26)));  // Q5.26
    const double got = tml_fp_exp_on_negative_values(raw, 5) / 2147483648.0;
    EXPECT_NEAR(got, std::exp(v), 2e-6) << v;
  }
  EXPECT_EQ(tml_fp_exp_on_negative_values(0, 5), INT32_MAX);
}

TEST(FixedPoint, ReciprocalLogisticTanh) {
  for (double a : {0.0, 0.1, 0.5, 0.9}) {
    const int32_t raw = static_cast<int32_t>(a * 2147483648.0);
    EXPECT_NEAR(tml_fp_one_over_one_plus_x(raw) / 2147483648.0, 1.0 / (1.0 + a), 1e-6);
  }
  for (double v : {-6.0, -1.0, -0.3, 0.0, 0.4, 2.0, 7.5}) {
    const int32_t raw = static_cast<int32_t>(std::lround(v * (1 << 27)));  // Q4.27
    EXPECT_NEAR(tml_fp_logistic(raw, 4) / 2147483648.0, 1.0 / (1.0 + std::exp(-v)), 2e-6) << v;
    EXPECT_NEAR(tml_fp_tanh(raw, 4) / 2147483648.0, std::tanh(v), 4e-6) << v;
  }
}

TEST(QuantUtil, ActivationRangeFollowsTflite) {
  int32_t lo, hi;
  QuantParams q;
  q.scale = {0.05f};
  q.zero_point = {-10};
  QuantizedActivationRange(0.0f, 6.0f, q, &lo, &hi);
  EXPECT_EQ(lo, -10);
  EXPECT_EQ(hi, 110);
  QuantizedActivationRange(kNoMin, kNoMax, q, &lo, &hi);
  EXPECT_EQ(lo, -128);
  EXPECT_EQ(hi, 127);
}

}  // namespace
}  // namespace tml

namespace tml {
namespace {

// The portable float math must stay close to libm (it replaces it so that
// host and device agree bit for bit).
TEST(PortableMath, ExpLogTanhMatchLibm) {
  for (float x = -87.0f; x < 88.5f; x += 0.0731f) {
    const double want = std::exp(static_cast<double>(x));
    EXPECT_NEAR(tml_expf(x), want, want * 3e-7) << x;
  }
  for (float x = 1e-30f; x < 1e30f; x *= 1.37f) {
    const double want = std::log(static_cast<double>(x));
    EXPECT_NEAR(tml_logf(x), want, std::fabs(want) * 3e-7 + 1e-7) << x;
  }
  for (float x = -10.0f; x < 10.0f; x += 0.0173f) {
    const double want = std::tanh(static_cast<double>(x));
    EXPECT_NEAR(tml_tanhf(x), want, std::fabs(want) * 3e-7 + 1e-9) << x;
  }
  EXPECT_EQ(tml_expf(0.0f), 1.0f);
  EXPECT_EQ(tml_expf(-100.0f), 0.0f);
  EXPECT_TRUE(std::isinf(tml_expf(100.0f)));
  EXPECT_EQ(tml_tanhf(0.0f), 0.0f);
}

}  // namespace
}  // namespace tml
