#include "squeeze/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "interp/evaluate.h"
#include "interp/interpreter.h"

namespace tml {
namespace {

constexpr int kBins = 2048;

struct Histogram {
  std::vector<double> count = std::vector<double>(kBins, 0.0);
  double total = 0.0;
};

// Calls visit(tensor, values, n) for every graph input and node output of one sample.
template <typename Visit>
Status RunSample(Interpreter& interp, const Graph& g, const std::vector<std::vector<float>>& sample,
                 Visit&& visit) {
  if (sample.size() != g.inputs.size())
    return Status::Errorf("calibration sample has {} inputs, the model takes {}", sample.size(),
                          g.inputs.size());
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const Tensor& t = g.tensor(g.inputs[i]);
    if (static_cast<int64_t>(sample[i].size()) != t.numel())
      return Status::Errorf("calibration input '{}' has {} values, expected {} for shape {}",
                            t.name, sample[i].size(), t.numel(), ShapeStr(t.shape));
    if (t.dtype == DType::kInt16) {  // PCM samples feeding a fixed-point front end
      EncodeInput(t, sample[i].data(), static_cast<uint8_t*>(interp.input(i)));
      continue;
    }
    std::memcpy(interp.input(i), sample[i].data(), t.nbytes());
    visit(g.inputs[i], sample[i].data(), t.numel());
  }
  interp.Invoke([&](size_t node, const void* data, size_t bytes) {
    const int out = g.nodes[node].outputs[0];
    if (g.tensor(out).dtype == DType::kFloat32)
      visit(out, static_cast<const float*>(data), static_cast<int64_t>(bytes / sizeof(float)));
  });
  // Recurrent state (SVDF's): its values after the invocation.
  for (int t = 0; t < static_cast<int>(g.tensors.size()); ++t)
    if (g.tensor(t).is_state && g.tensor(t).dtype == DType::kFloat32)
      visit(t, static_cast<const float*>(interp.tensor_data(t)), g.tensor(t).numel());
  return Status::Ok();
}

// Fraction of the histogram's mass below bin b (exclusive) -> value at quantile.
float Quantile(const Histogram& h, float lo, float hi, double q) {
  const double target = q * h.total;
  double acc = 0.0;
  for (int b = 0; b < kBins; ++b) {
    acc += h.count[static_cast<size_t>(b)];
    if (acc >= target) return lo + (hi - lo) * static_cast<float>(b + 1) / kBins;
  }
  return hi;
}

// Expected squared error of quantizing the histogram's values to 256 levels over [a, b].
double QuantError(const Histogram& h, float lo, float hi, float a, float b) {
  const double step = std::max(1e-12, static_cast<double>(b - a) / 255.0);
  double err = 0.0;
  for (int i = 0; i < kBins; ++i) {
    const double c = h.count[static_cast<size_t>(i)];
    if (c == 0.0) continue;
    const double v = lo + (hi - lo) * (i + 0.5) / kBins;
    if (v < a)
      err += c * (a - v) * (a - v);
    else if (v > b)
      err += c * (v - b) * (v - b);
    else
      err += c * step * step / 12.0;
  }
  return err;
}

}  // namespace

Result<Calibration> ParseCalibration(const std::string& name) {
  if (name == "minmax") return Calibration::kMinMax;
  if (name == "percentile") return Calibration::kPercentile;
  if (name == "mse") return Calibration::kMse;
  return Status::Errorf("unknown calibration method '{}' (expected minmax, percentile or mse)",
                        name);
}

const char* CalibrationName(Calibration c) {
  switch (c) {
    case Calibration::kMinMax:
      return "minmax";
    case Calibration::kPercentile:
      return "percentile";
    case Calibration::kMse:
      return "mse";
  }
  return "?";
}

Result<std::vector<TensorRange>> Calibrate(
    const Graph& g, const std::vector<std::vector<std::vector<float>>>& samples,
    const CalibrationOptions& opts) {
  if (samples.empty()) return Status::Error("calibration needs at least one sample");
  for (int in : g.inputs)
    if (g.tensor(in).dtype != DType::kFloat32 && g.tensor(in).dtype != DType::kInt16)
      return Status::Errorf("calibration needs a float model; input '{}' is {}", g.tensor(in).name,
                            DTypeName(g.tensor(in).dtype));
  TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(g));
  std::vector<TensorRange> r(g.tensors.size());
  for (const auto& s : samples) {
    TML_RETURN_IF_ERROR(RunSample(*interp, g, s, [&](int t, const float* v, int64_t n) {
      TensorRange& tr = r[static_cast<size_t>(t)];
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(v[i])) continue;
        if (!tr.seen) tr.lo = tr.hi = v[i], tr.seen = true;
        tr.lo = std::min(tr.lo, v[i]);
        tr.hi = std::max(tr.hi, v[i]);
      }
    }));
  }
  for (auto& tr : r) {
    if (!tr.seen) continue;
    tr.lo = std::min(tr.lo, 0.0f);
    tr.hi = std::max(tr.hi, 0.0f);
  }
  if (opts.method == Calibration::kMinMax) return r;
  if (!(opts.percentile > 50.0 && opts.percentile <= 100.0))
    return Status::Errorf("percentile must be in (50, 100], got {}", opts.percentile);

  // Second pass: histograms over the min/max ranges, then narrower ranges from them.
  std::vector<Histogram> hist(g.tensors.size());
  for (const auto& s : samples) {
    TML_RETURN_IF_ERROR(RunSample(*interp, g, s, [&](int t, const float* v, int64_t n) {
      const TensorRange& tr = r[static_cast<size_t>(t)];
      Histogram& h = hist[static_cast<size_t>(t)];
      const float w = tr.hi - tr.lo;
      if (w <= 0.0f) return;
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(v[i])) continue;
        const int b = std::clamp(static_cast<int>((v[i] - tr.lo) / w * kBins), 0, kBins - 1);
        h.count[static_cast<size_t>(b)] += 1.0;
        h.total += 1.0;
      }
    }));
  }
  for (size_t t = 0; t < r.size(); ++t) {
    TensorRange& tr = r[t];
    const Histogram& h = hist[t];
    if (!tr.seen || h.total == 0.0) continue;
    float a = tr.lo, b = tr.hi;
    if (opts.method == Calibration::kPercentile) {
      const double tail = (100.0 - opts.percentile) / 100.0;
      if (tr.lo < 0.0f) a = Quantile(h, tr.lo, tr.hi, tail);
      b = Quantile(h, tr.lo, tr.hi, 1.0 - tail);
    } else {
      double best = QuantError(h, tr.lo, tr.hi, a, b);
      for (int k = 1; k <= 60; ++k) {
        const float f = 1.0f - 0.015f * static_cast<float>(k);
        const double e = QuantError(h, tr.lo, tr.hi, tr.lo * f, tr.hi * f);
        if (e < best) best = e, a = tr.lo * f, b = tr.hi * f;
      }
    }
    tr.lo = std::min(a, 0.0f);
    tr.hi = std::max(b, 0.0f);
  }
  return r;
}

}  // namespace tml
