// Float64 references for the DSP front-end tests, written with libm from the definitions
// (TensorFlow's mel matrix and MFCC), independent of runtime/kernels/dsp*.c.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "tml_dsp.h"

namespace tml_test {

constexpr double kPi = 3.14159265358979323846;

// TensorFlow's linear_to_mel_weight_matrix, in double: [num_mel][n_fft / 2 + 1].
inline std::vector<std::vector<double>> MelReference(int n_fft, int rate, int num_mel, double lo,
                                                     double hi) {
  const auto mel = [](double f) { return 1127.0 * std::log(1.0 + f / 700.0); };
  const int bins = n_fft / 2 + 1;
  std::vector<std::vector<double>> w(static_cast<size_t>(num_mel), std::vector<double>(bins, 0.0));
  const double mlo = mel(lo), step = (mel(hi) - mlo) / (num_mel + 1);
  for (int b = 0; b < num_mel; ++b)
    for (int k = 1; k < bins; ++k) {
      const double m = mel(double(k) * rate / n_fft), l = mlo + step * b, c = l + step,
                   r = c + step;
      w[b][k] = std::max(0.0, std::min((m - l) / (c - l), (r - m) / (r - c)));
    }
  return w;
}

// One frame's features (num_mfcc MFCCs, or num_mel log-mel energies) of config c, in
// double, from the DFT's definition; mel: MelReference for c.
inline std::vector<double> FrameFeatures64(const tml_mfcc_config& c,
                                           const std::vector<std::vector<double>>& mel,
                                           const double* x) {
  const int bins = c.fft_length / 2 + 1;
  std::vector<double> spec(static_cast<size_t>(bins)), logmel(static_cast<size_t>(c.num_mel));
  for (int k = 0; k < bins; ++k) {
    std::complex<double> s = 0;
    for (int t = 0; t < c.frame_length; ++t) {
      const double a = std::cos(2 * kPi * t / c.frame_length);
      const double w = c.window == TML_WINDOW_HANN      ? 0.5 - 0.5 * a
                       : c.window == TML_WINDOW_HAMMING ? 0.54 - 0.46 * a
                                                        : 1.0;
      s += x[t] * w * std::polar(1.0, -2 * kPi * k * t / c.fft_length);
    }
    spec[static_cast<size_t>(k)] = c.power ? std::norm(s) : std::abs(s);
  }
  for (int b = 0; b < c.num_mel; ++b) {
    double m = 0;
    for (int k = 0; k < bins; ++k) m += spec[static_cast<size_t>(k)] * mel[b][k];
    logmel[static_cast<size_t>(b)] = std::log(m + c.log_offset);
  }
  if (c.num_mfcc == 0) return logmel;
  std::vector<double> out(static_cast<size_t>(c.num_mfcc));
  for (int k = 0; k < c.num_mfcc; ++k) {
    double v = 0;
    for (int n = 0; n < c.num_mel; ++n)
      v += logmel[static_cast<size_t>(n)] * 2 * std::cos(kPi * k * (2 * n + 1) / (2.0 * c.num_mel));
    out[static_cast<size_t>(k)] = v / std::sqrt(2.0 * c.num_mel);
  }
  return out;
}

}  // namespace tml_test
