// DSP front ends (runtime/dsp): each block against hand-computed values and a float64
// reference written here with libm, and the MLPerf Tiny KWS front end against a float64
// implementation of the same parameters (max and RMS error printed).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <random>
#include <vector>

#include "dsp_reference.h"
#include "tml_dsp.h"

namespace {

using tml_test::FrameFeatures64;
using tml_test::kPi;
using tml_test::MelReference;

TEST(Dsp, CosAndLogWithoutLibmMatchLibm) {
  double worst_cos = 0, worst_log = 0;
  for (double x = -200.0; x <= 200.0; x += 0.0137)
    worst_cos = std::max(worst_cos, std::fabs(tml_dsp_cos(x) - std::cos(x)));
  for (double x = 1e-300; x < 1e300; x *= 1.37)
    worst_log = std::max(worst_log,
                         std::fabs(tml_dsp_log(x) - std::log(x)) / std::fabs(std::log(x) + 1e-300));
  EXPECT_LT(worst_cos, 1e-14);
  EXPECT_LT(worst_log, 1e-14);
  EXPECT_NEAR(tml_dsp_log(1.0), 0.0, 1e-16);
  EXPECT_NEAR(tml_dsp_cos(kPi), -1.0, 1e-16);
}

TEST(Dsp, PeriodicWindowsByHand) {
  float w[4];
  tml_dsp_window(TML_WINDOW_HANN, 4, w);
  const float hann[4] = {0.0f, 0.5f, 1.0f, 0.5f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(w[i], hann[i], 1e-7f) << i;
  tml_dsp_window(TML_WINDOW_HAMMING, 4, w);
  const float hamming[4] = {0.08f, 0.54f, 1.0f, 0.54f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(w[i], hamming[i], 1e-7f) << i;
}

TEST(Dsp, FftAgainstTheDefinition) {
  const int n = 512;
  std::vector<float> tw(n), re(n), im(n, 0.0f);
  tml_dsp_twiddles(n, tw.data());
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (float& v : re) v = g(rng);
  const std::vector<float> x = re;
  ASSERT_EQ(tml_dsp_fft(n, tw.data(), re.data(), im.data()), 0);
  double worst = 0;
  for (int k = 0; k < n; ++k) {
    std::complex<double> want = 0;
    for (int t = 0; t < n; ++t) want += double(x[t]) * std::polar(1.0, -2 * kPi * k * t / n);
    worst = std::max(worst, std::abs(want - std::complex<double>(re[k], im[k])));
  }
  EXPECT_LT(worst, 1e-4) << "|X| is about 22 here";
  // An impulse: every bin 1, exactly.
  std::fill(re.begin(), re.end(), 0.0f);
  std::fill(im.begin(), im.end(), 0.0f);
  re[0] = 1.0f;
  ASSERT_EQ(tml_dsp_fft(n, tw.data(), re.data(), im.data()), 0);
  for (int k = 0; k < n; ++k) ASSERT_EQ(re[k], 1.0f) << k;
  EXPECT_EQ(tml_dsp_fft(100, tw.data(), re.data(), im.data()), -1);
}

TEST(Dsp, SpectrumOfACosineAtABinIsThatBin) {
  const int n = 64;
  std::vector<float> tw(n), x(n), scratch(2 * n), p(n / 2 + 1);
  tml_dsp_twiddles(n, tw.data());
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(std::cos(2 * kPi * 5 * i / n));
  ASSERT_EQ(tml_dsp_spectrum(n, tw.data(), x.data(), n, nullptr, 0, scratch.data(), p.data()), 0);
  for (int k = 0; k <= n / 2; ++k) EXPECT_NEAR(p[k], k == 5 ? n / 2.0 : 0.0, 1e-4) << k;
}

TEST(Dsp, MelBankIsTensorFlowsMatrix) {
  const int n_fft = 512, rate = 16000, num_mel = 40;
  std::vector<int32_t> index(3 * num_mel);
  std::vector<float> weights(tml_dsp_mel_weight_count(n_fft, num_mel));
  tml_mel_bank bank;
  ASSERT_EQ(tml_dsp_mel_bank(n_fft, rate, num_mel, 20, 4000, index.data(), weights.data(), &bank),
            0);
  const auto want = MelReference(n_fft, rate, num_mel, 20, 4000);
  for (int b = 0; b < num_mel; ++b) {
    ASSERT_GT(bank.count[b], 0) << "band " << b << " is empty";
    for (int k = 0; k < bank.num_bins; ++k) {
      const int i = k - bank.first[b];
      const double got = i >= 0 && i < bank.count[b] ? bank.weights[bank.offset[b] + i] : 0.0;
      ASSERT_NEAR(got, want[b][k], 1e-6) << "band " << b << " bin " << k;
    }
  }
  EXPECT_EQ(tml_dsp_mel_bank(n_fft, rate, num_mel, 20, 9000, index.data(), weights.data(), &bank),
            -1);
  EXPECT_EQ(tml_dsp_mel_bank(n_fft, rate, 0, 20, 4000, index.data(), weights.data(), &bank), -1);
}

TEST(Dsp, DctOfAConstantIsItsFirstCoefficient) {
  const int n = 40, k = 10;
  std::vector<float> table(n * k), x(n, 3.0f), y(k);
  tml_dsp_dct_table(n, k, table.data());
  tml_dsp_dct(n, k, table.data(), x.data(), y.data());
  EXPECT_NEAR(y[0], 3.0 * 2 * n / std::sqrt(2.0 * n), 1e-4);
  for (int i = 1; i < k; ++i) EXPECT_NEAR(y[i], 0.0, 1e-4) << i;
}

// The MLPerf Tiny KWS features of one second against the same computation in double.
TEST(Dsp, MlperfKwsFrontEndAgainstAFloat64Implementation) {
  const tml_mfcc_config c = tml_mfcc_mlperf_kws();
  size_t nt = 0, ni = 0, ns = 0;
  tml_mfcc_sizes(&c, &nt, &ni, &ns);
  std::vector<float> tables(nt), scratch(ns);
  std::vector<int32_t> index(ni);
  tml_mfcc_plan plan;
  ASSERT_EQ(tml_mfcc_init(&c, tables.data(), index.data(), &plan), 0);
  std::vector<float> audio(16000);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  for (size_t i = 0; i < audio.size(); ++i)
    audio[i] = static_cast<float>(0.3 * std::sin(2 * kPi * 440 * i / 16000.0) *
                                      (0.5 + 0.5 * std::sin(2 * kPi * 3 * i / 16000.0)) +
                                  0.1 * std::sin(2 * kPi * 1700 * i / 16000.0)) +
               noise(rng);
  const int frames = tml_mfcc_frames(&c, static_cast<long>(audio.size()));
  ASSERT_EQ(frames, 49);
  const auto mel_w = MelReference(512, 16000, 40, 20, 4000);
  double worst = 0, sq = 0;
  int count = 0;
  for (int f = 0; f < frames; ++f) {
    std::vector<float> got(10);
    tml_mfcc_frame(&plan, audio.data() + f * c.frame_step, scratch.data(), got.data());
    const std::vector<double> x(audio.begin() + f * 320, audio.begin() + f * 320 + 480);
    const std::vector<double> want = FrameFeatures64(c, mel_w, x.data());
    for (int k = 0; k < 10; ++k) {
      const double e = std::fabs(want[static_cast<size_t>(k)] - got[k]);
      worst = std::max(worst, e);
      sq += e * e;
      ++count;
    }
  }
  const double rms = std::sqrt(sq / count);
  std::printf("float MFCC vs float64: max error %.3g, RMS %.3g over %d values\n", worst, rms,
              count);
  EXPECT_LT(worst, 1e-3);
}

TEST(Dsp, DeltasAndNormalizationByHand) {
  const float x[4] = {0, 1, 4, 9};
  float d[4];
  tml_dsp_deltas(4, 1, 1, x, 1, d, 1);
  const float w1[4] = {0.5f, 2.0f, 4.0f, 2.5f};
  for (int t = 0; t < 4; ++t) EXPECT_FLOAT_EQ(d[t], w1[t]) << t;
  tml_dsp_deltas(4, 1, 2, x, 1, d, 1);
  const float w2[4] = {0.9f, 2.2f, 2.6f, 2.1f};
  for (int t = 0; t < 4; ++t) EXPECT_FLOAT_EQ(d[t], w2[t]) << t;
  // Two features per frame: each is its own sequence.
  const float xy[6] = {0, 10, 1, 20, 4, 40};
  float dxy[6];
  tml_dsp_deltas(3, 2, 1, xy, 2, dxy, 2);
  EXPECT_FLOAT_EQ(dxy[0], 0.5f);
  EXPECT_FLOAT_EQ(dxy[1], 5.0f);
  EXPECT_FLOAT_EQ(dxy[5], 10.0f);
  const float mean[2] = {1, 20}, inv_std[2] = {0.5f, 0.1f};
  float n[6];
  tml_dsp_normalize(3, 2, mean, inv_std, xy, n);
  const float want[6] = {-0.5f, -1.0f, 0.0f, 0.0f, 1.5f, 2.0f};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(n[i], want[i]) << i;
}

// Two tones on bins of a 128-point window at 100 Hz (0.78125 Hz per bin) over an offset:
// the RMS without the offset, both peaks at their frequencies with the magnitudes A n / 2,
// and the band powers against a float64 DFT.
TEST(Dsp, SpectralFeaturesOfTwoTones) {
  const int n = 128, rate = 100;
  std::vector<float> x(n), tw(n), scratch(3 * n + 2);
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    x[i] = static_cast<float>(3.0 + 2.0 * std::sin(2 * kPi * 12.5 * t) +
                              0.5 * std::sin(2 * kPi * 25.0 * t));
  }
  tml_dsp_twiddles(n, tw.data());
  const float edges[4] = {0.0f, 10.0f, 20.0f, 50.1f};
  std::vector<float> out(1 + 2 * 3 + 3);
  ASSERT_EQ(tml_dsp_spectral_features(n, tw.data(), x.data(), n, rate, 3, 3, edges, scratch.data(),
                                      out.data()),
            0);
  EXPECT_NEAR(out[0], std::sqrt(2.125), 1e-5);
  EXPECT_FLOAT_EQ(out[1], 12.5f);
  EXPECT_NEAR(out[2], 128.0f, 1e-3);
  EXPECT_FLOAT_EQ(out[3], 25.0f);
  EXPECT_NEAR(out[4], 32.0f, 1e-3);
  EXPECT_LT(out[6], 1e-3f) << "no third peak above the rounding noise";
  // float64 reference: mean power per band of the centred window's DFT.
  double mean = 0;
  for (float v : x) mean += v;
  mean /= n;
  for (int b = 0; b < 3; ++b) {
    double sum = 0;
    int count = 0;
    for (int k = 0; k <= n / 2; ++k) {
      const double f = static_cast<double>(k) * rate / n;
      if (f < edges[b] || f >= edges[b + 1]) continue;
      std::complex<double> acc = 0;
      for (int i = 0; i < n; ++i) acc += (x[i] - mean) * std::polar(1.0, -2 * kPi * k * i / n);
      sum += std::norm(acc);
      ++count;
    }
    const double want = sum / count / n;
    EXPECT_NEAR(out[7 + b], want, 1e-4 * std::max(1.0, want)) << "band " << b;
  }
  EXPECT_GT(out[8], 100 * out[7]) << "the 12.5 Hz tone's band dominates";
  EXPECT_EQ(tml_dsp_spectral_features(n, tw.data(), x.data(), n + 1, rate, 3, 3, edges,
                                      scratch.data(), out.data()),
            -1);
}

// A 3 s signal pushed in chunks of odd sizes: every sliding window of 49 frames equals the
// batch front end's frames at that position, bit for bit, with one frame computed per stride.
TEST(Dsp, StreamingFeaturesEqualTheBatchFrontEnd) {
  for (int deltas : {0, 2}) {
    tml_mfcc_config c = tml_mfcc_mlperf_kws();
    c.deltas = deltas;
    size_t tf = 0, ti = 0, sf = 0;
    tml_mfcc_sizes(&c, &tf, &ti, &sf);
    std::vector<float> tables(tf), scratch(sf);
    std::vector<int32_t> index(ti);
    tml_mfcc_plan plan;
    ASSERT_EQ(tml_mfcc_init(&c, tables.data(), index.data(), &plan), 0);
    const int n = 48000, window = 49, per = 10, row = deltas ? 20 : 10;
    std::mt19937 rng(4);
    std::normal_distribution<float> g(0.0f, 0.2f);
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i)
      x[i] = 0.3f * static_cast<float>(std::sin(0.01 * i + 1e-7 * i * i)) + g(rng);
    const int frames = tml_mfcc_frames(&c, n);
    std::vector<float> batch(static_cast<size_t>(frames) * per);
    for (int f = 0; f < frames; ++f)
      tml_mfcc_frame(&plan, x.data() + f * c.frame_step, scratch.data(), batch.data() + f * per);
    std::vector<float> samples(c.frame_length), ring(window * per), win(window * row);
    tml_mfcc_stream st;
    tml_mfcc_stream_init(&st, &plan, samples.data(), ring.data(), window);
    const int chunks[] = {1, 7, 333, 320, 4000, 19};
    int pos = 0, computed = 0, windows = 0;
    for (int k = 0; pos < n; ++k) {
      const int len = std::min(chunks[k % 6], n - pos);
      computed += tml_mfcc_stream_push(&st, x.data() + pos, len, scratch.data());
      pos += len;
      EXPECT_EQ(computed, tml_mfcc_frames(&c, pos)) << "frames after " << pos << " samples";
      if (!tml_mfcc_stream_window(&st, win.data())) {
        EXPECT_LT(computed, window);
        continue;
      }
      ++windows;
      const int first = computed - window;
      std::vector<float> want(static_cast<size_t>(window) * row);
      for (int f = 0; f < window; ++f)
        std::memcpy(want.data() + f * row, batch.data() + (first + f) * per, per * 4);
      if (deltas) tml_dsp_deltas(window, per, deltas, want.data(), row, want.data() + per, row);
      ASSERT_EQ(std::memcmp(win.data(), want.data(), want.size() * 4), 0)
          << "window at frame " << first << ", deltas " << deltas;
    }
    EXPECT_EQ(computed, frames);
    EXPECT_GT(windows, 20);
  }
}

TEST(Dsp, DetectorSmoothsFiresOnceAndIgnoresNonKeywords) {
  const uint8_t keyword[3] = {1, 1, 0};  // yes, no, unknown
  std::vector<float> history(3 * 3);
  tml_kws_detector d;
  tml_kws_detector_init(&d, 3, 3, 2, 0.55f, keyword, history.data());
  const float posts[][3] = {
      {0.9f, 0.0f, 0.1f},  // mean yes 0.9 -> fires
      {0.9f, 0.0f, 0.1f},  // quiet (refractory 2)
      {0.9f, 0.0f, 0.1f},  // quiet
      {0.0f, 0.1f, 0.9f},  // yes mean (0.9 + 0.9 + 0) / 3 = 0.6 >= 0.55 -> fires again
      {0.0f, 0.0f, 1.0f},  // quiet
      {0.0f, 0.0f, 1.0f},  // quiet
      {0.0f, 0.0f, 1.0f},  // the last three are unknown: no keyword near 0.55
      {0.0f, 0.95f, 0.05f}, {0.0f, 0.95f, 0.05f},  // no mean 0.317, 0.633 -> fires
  };
  const int want[] = {0, -1, -1, 0, -1, -1, -1, -1, 1};
  for (int k = 0; k < 9; ++k) {
    float score = 0;
    EXPECT_EQ(tml_kws_detect(&d, posts[k], &score), want[k]) << "posterior " << k;
    if (want[k] >= 0) EXPECT_GE(score, 0.55f);
  }
}

TEST(Dsp, BadConfigurationsAreRefused) {
  tml_mfcc_config c = tml_mfcc_mlperf_kws();
  std::vector<float> tables(1 << 16);
  std::vector<int32_t> index(1024);
  tml_mfcc_plan plan;
  c.fft_length = 500;
  EXPECT_EQ(tml_mfcc_init(&c, tables.data(), index.data(), &plan), -1);
  c = tml_mfcc_mlperf_kws();
  c.fft_length = 256;  // shorter than the frame
  EXPECT_EQ(tml_mfcc_init(&c, tables.data(), index.data(), &plan), -1);
  c = tml_mfcc_mlperf_kws();
  c.num_mfcc = 41;
  EXPECT_EQ(tml_mfcc_init(&c, tables.data(), index.data(), &plan), -1);
  EXPECT_EQ(tml_mfcc_frames(&c, 479), 0);
  EXPECT_EQ(tml_mfcc_frames(&c, 480), 1);
}

}  // namespace
