// The fixed-point front end (runtime/kernels/dsp_fixed.c): each block against a float64
// reference (max and RMS error printed, recorded in docs/frontends.md), and whole front
// ends (MFCC, log-mel, power spectrum, deltas) against float64 implementations of the
// same parameters on the same int16 samples.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <random>
#include <vector>

#include "dsp_reference.h"
#include "tml_dsp.h"

namespace {

using tml_test::FrameFeatures64;
using tml_test::kPi;
using tml_test::MelReference;

struct ErrorStats {
  double max = 0, sq = 0;
  long n = 0;
  void Add(double e) {
    max = std::max(max, std::fabs(e));
    sq += e * e;
    ++n;
  }
  double rms() const { return n ? std::sqrt(sq / static_cast<double>(n)) : 0; }
  void Print(const char* what) const {
    std::printf("fixed point %s vs float64: max error %.3g, RMS %.3g over %ld values\n", what, max,
                rms(), n);
  }
};

struct FixedPlan {
  tml_mfcc_config c;
  std::vector<int32_t> tables, index, scratch;
  tml_mfccq_plan plan{};
  explicit FixedPlan(const tml_mfcc_config& cfg) : c(cfg) {
    size_t nt = 0, ni = 0, ns = 0;
    tml_mfccq_sizes(&c, &nt, &ni, &ns);
    tables.resize(nt);
    index.resize(ni);
    scratch.resize(ns);
    ok = tml_mfccq_init(&c, tables.data(), index.data(), &plan) == 0;
  }
  bool ok = false;
};

TEST(DspFixed, MagnitudeIsTheRoundedRootTo16Bits) {
  std::mt19937_64 rng(3);
  ErrorStats rel;
  for (uint64_t v : {0ull, 1ull, 2ull, 3ull, 4ull, 15ull, 16ull, 0xFFFFFFFFull})
    EXPECT_EQ(tml_dspq_magnitude(v),
              static_cast<uint32_t>(std::floor(std::sqrt(static_cast<long double>(v)) + 0.5L)))
        << v;
  for (int i = 0; i < 200000; ++i) {
    const int bits = 1 + static_cast<int>(rng() % 62);
    const uint64_t v = rng() >> (64 - bits);
    const long double want = std::sqrt(static_cast<long double>(v));
    const uint32_t got = tml_dspq_magnitude(v);
    if (v < (1ull << 32)) {  // exact below 2^32
      ASSERT_EQ(got, static_cast<uint32_t>(std::floor(want + 0.5L))) << v;
    } else {
      rel.Add(static_cast<double>((got - want) / want));
    }
  }
  rel.Print("magnitude (relative)");
  EXPECT_LT(rel.max, 1.0 / 32768);
}

TEST(DspFixed, LogAgainstLibm) {
  FixedPlan q(tml_mfcc_mlperf_kws());
  ASSERT_TRUE(q.ok);
  std::mt19937_64 rng(5);
  ErrorStats err;
  const double offset = static_cast<double>(q.c.log_offset);
  EXPECT_NEAR(tml_dspq_log(&q.plan, 0, 0) / 16777216.0, std::log(offset), 1e-5);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t m = rng() >> (rng() % 64);
    const int e = 20 + static_cast<int>(rng() % 80);
    const double want = std::log(std::ldexp(static_cast<double>(m), -e) + offset);
    err.Add(tml_dspq_log(&q.plan, m, e) / 16777216.0 - want);
  }
  err.Print("ln");
  EXPECT_LT(err.max, 2e-5);
}

TEST(DspFixed, FftAgainstTheDefinition) {
  FixedPlan q(tml_mfcc_mlperf_kws());  // twiddles of 512 points: a 256-point FFT at stride 2
  ASSERT_TRUE(q.ok);
  const int n = 256;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> value(-(1 << 27), 1 << 27);
  ErrorStats err;
  for (int trial = 0; trial < 4; ++trial) {
    std::vector<int32_t> z(2 * n);
    for (int32_t& v : z) v = value(rng);
    if (trial == 3)  // a full-scale tone: one bin takes all (the overflow case)
      for (int t = 0; t < n; ++t) {
        z[2 * t] = static_cast<int32_t>((1 << 28) * 0.99 * std::cos(2 * kPi * 5 * t / n));
        z[2 * t + 1] = static_cast<int32_t>((1 << 28) * 0.99 * std::sin(2 * kPi * 5 * t / n));
      }
    const std::vector<int32_t> x = z;
    tml_dspq_fft(n, q.plan.twiddles, 2, z.data());
    for (int k = 0; k < n; ++k) {
      std::complex<double> want = 0;
      for (int t = 0; t < n; ++t)
        want +=
            std::complex<double>(x[2 * t], x[2 * t + 1]) * std::polar(1.0, -2 * kPi * k * t / n);
      want /= n;  // every stage halves
      err.Add(std::abs(want - std::complex<double>(z[2 * k], z[2 * k + 1])));
    }
    if (trial == 3) EXPECT_NEAR(z[10], (1 << 28) * 0.99, 16);
  }
  err.Print("FFT / n (output units; values up to 2^28)");
  EXPECT_LT(err.max, 16.0);  // about one unit of truncation per stage
}

// Test signals: tones, an envelope and noise at five levels, rounded to int16.
std::vector<int16_t> Pcm(int n, double level, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::vector<int16_t> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double v = level * (0.6 * std::sin(2 * kPi * 440 * i / 16000.0) *
                                  (0.5 + 0.5 * std::sin(2 * kPi * 3 * i / 16000.0)) +
                              0.2 * std::sin(2 * kPi * 1700 * i / 16000.0) + noise(rng));
    x[static_cast<size_t>(i)] =
        static_cast<int16_t>(std::clamp(std::lround(v * 32768), -32768L, 32767L));
  }
  return x;
}

ErrorStats FrontEndError(const tml_mfcc_config& c) {
  FixedPlan q(c);
  EXPECT_TRUE(q.ok);
  const auto mel = MelReference(c.fft_length, c.sample_rate, c.num_mel, c.lower_hz, c.upper_hz);
  const int per = c.num_mfcc > 0 ? c.num_mfcc : c.num_mel;
  ErrorStats err;
  for (double level : {1.0, 0.3, 0.03, 0.003}) {
    const std::vector<int16_t> pcm = Pcm(16000, level, static_cast<uint32_t>(level * 1000));
    for (int f = 0; f < tml_mfcc_frames(&c, 16000); f += 3) {
      const int16_t* frame = pcm.data() + f * c.frame_step;
      std::vector<int32_t> got(static_cast<size_t>(per));
      tml_mfccq_frame(&q.plan, frame, q.scratch.data(), got.data());
      std::vector<double> x(static_cast<size_t>(c.frame_length));
      for (int t = 0; t < c.frame_length; ++t) x[static_cast<size_t>(t)] = frame[t] / 32768.0;
      const std::vector<double> want = FrameFeatures64(c, mel, x.data());
      for (int k = 0; k < per; ++k)
        err.Add(got[static_cast<size_t>(k)] / 16777216.0 - want[static_cast<size_t>(k)]);
    }
  }
  return err;
}

TEST(DspFixed, MlperfKwsFrontEndAgainstAFloat64Implementation) {
  const ErrorStats err = FrontEndError(tml_mfcc_mlperf_kws());
  err.Print("MLPerf KWS MFCC");
  EXPECT_LT(err.max, 2e-3);
}

TEST(DspFixed, LogMelAndPowerSpectraAgainstFloat64) {
  tml_mfcc_config c = tml_mfcc_mlperf_kws();
  c.num_mfcc = 0;
  const ErrorStats logmel = FrontEndError(c);
  logmel.Print("log-mel (magnitude)");
  EXPECT_LT(logmel.max, 2e-3);
  c.power = 1;
  c.window = TML_WINDOW_HAMMING;
  c.fft_length = 1024;
  c.frame_length = 640;
  c.num_mel = 64;
  c.upper_hz = 8000;
  const ErrorStats power = FrontEndError(c);
  power.Print("log-mel (power, Hamming, 1024-point)");
  EXPECT_LT(power.max, 2e-3);
}

TEST(DspFixed, DeltasMatchTheFloatDeltas) {
  tml_mfcc_config c = tml_mfcc_mlperf_kws();
  c.deltas = 2;
  FixedPlan q(c);
  ASSERT_TRUE(q.ok);
  const int frames = 7, n = 3;
  std::vector<int32_t> x(frames * n), d(frames * n);
  std::vector<float> xf(frames * n), df(frames * n);
  for (int i = 0; i < frames * n; ++i) {
    x[static_cast<size_t>(i)] = (i * 7919 % 97 - 48) * (1 << 20);
    xf[static_cast<size_t>(i)] = static_cast<float>(x[static_cast<size_t>(i)] / 16777216.0);
  }
  tml_mfccq_deltas(&q.plan, frames, n, x.data(), n, d.data(), n);
  tml_dsp_deltas(frames, n, 2, xf.data(), n, df.data(), n);
  for (int i = 0; i < frames * n; ++i)
    EXPECT_NEAR(d[static_cast<size_t>(i)] / 16777216.0, df[static_cast<size_t>(i)], 1e-6) << i;
}

TEST(DspFixed, TheKernelEqualsItsFramesAndIsSilentForSilence) {
  tml_mfcc_config c = tml_mfcc_mlperf_kws();
  FixedPlan q(c);
  ASSERT_TRUE(q.ok);
  tml_mfcc_params p{};
  tml_mfcc_params_of(&c, 49, &p);
  std::vector<int16_t> pcm = Pcm(16000, 0.5, 9);
  std::vector<int32_t> scratch(q.scratch.size() + 49 * 10);
  std::vector<float> out(49 * 10);
  tml_mfcc_q15(&p, pcm.data(), q.tables.data(), q.index.data(), out.data(), scratch.data());
  for (int f = 0; f < 49; f += 12) {
    std::vector<int32_t> one(10);
    tml_mfccq_frame(&q.plan, pcm.data() + f * 320, q.scratch.data(), one.data());
    for (int k = 0; k < 10; ++k)
      EXPECT_EQ(out[static_cast<size_t>(f * 10 + k)], static_cast<float>(one[k]) / 16777216.0f);
  }
  // Silence: every log-mel energy is ln(offset), so MFCC 0 is 40 ln(1e-6) x 2 / sqrt(80).
  std::fill(pcm.begin(), pcm.end(), 0);
  tml_mfcc_q15(&p, pcm.data(), q.tables.data(), q.index.data(), out.data(), scratch.data());
  EXPECT_NEAR(out[0], 40 * std::log(1e-6) * 2 / std::sqrt(80.0), 1e-3);
  EXPECT_NEAR(out[1], 0.0, 1e-4);
}

TEST(DspFixed, BadConfigurationsAreRefused) {
  tml_mfcc_config c = tml_mfcc_mlperf_kws();
  c.log_offset = 1e-35f;
  EXPECT_FALSE(FixedPlan(c).ok);
  c = tml_mfcc_mlperf_kws();
  c.fft_length = 500;
  EXPECT_FALSE(FixedPlan(c).ok);
  c = tml_mfcc_mlperf_kws();
  c.num_mfcc = 41;
  EXPECT_FALSE(FixedPlan(c).ok);
}

}  // namespace
