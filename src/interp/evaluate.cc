#include "interp/evaluate.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "core/distribution.h"
#include "interp/interpreter.h"

namespace tml {
void EncodeInput(const Tensor& in, const float* x, uint8_t* out) {
  const int64_t per = in.numel();
  if (in.dtype == DType::kFloat32) {
    std::memcpy(out, x, static_cast<size_t>(per) * sizeof(float));
    return;
  }
  // An int16 input without quantization holds PCM samples (q / 32768, the Mfcc op's).
  const float scale = !in.quant.scale.empty()     ? in.quant.scale[0]
                      : in.dtype == DType::kInt16 ? 1.0f / 32768.0f
                                                  : 1.0f;
  const float zp = in.quant.zero_point.empty() ? 0.0f : static_cast<float>(in.quant.zero_point[0]);
  for (int64_t k = 0; k < per; ++k) {
    const float v = std::round(x[k] / scale) + zp;  // half away from zero
    if (in.dtype == DType::kInt16) {
      const auto q = static_cast<int16_t>(std::clamp(v, -32768.0f, 32767.0f));
      std::memcpy(out + 2 * k, &q, 2);
    } else if (in.dtype == DType::kUInt8) {
      out[k] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
    } else {
      out[k] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f)));
    }
  }
}

int32_t ArgmaxClass(const Tensor& out, const uint8_t* bytes) {
  const int64_t classes = out.numel();
  int32_t best = 0;
  if (out.dtype == DType::kFloat32) {
    std::vector<float> y(static_cast<size_t>(classes));
    std::memcpy(y.data(), bytes, y.size() * sizeof(float));
    for (int64_t c = 1; c < classes; ++c)
      if (y[static_cast<size_t>(c)] > y[static_cast<size_t>(best)]) best = static_cast<int32_t>(c);
  } else {
    const auto* y = reinterpret_cast<const int8_t*>(bytes);
    for (int64_t c = 1; c < classes; ++c)
      if (y[c] > y[best]) best = static_cast<int32_t>(c);
  }
  return best;
}

double TopConfidence(const Tensor& out, const uint8_t* bytes) {
  const int32_t c = ArgmaxClass(out, bytes);
  if (out.dtype == DType::kFloat32) {
    float v;
    std::memcpy(&v, bytes + static_cast<size_t>(c) * sizeof(float), sizeof v);
    return v;
  }
  const float scale = out.quant.scale.empty() ? 1.0f : out.quant.scale[0];
  const int32_t zp =
      out.quant.zero_point.empty() ? 0 : static_cast<int32_t>(out.quant.zero_point[0]);
  return static_cast<float>(static_cast<int32_t>(reinterpret_cast<const int8_t*>(bytes)[c]) - zp) *
         scale;
}

namespace {

// Argmax of the scores of samples [begin, end) into pred.
Status Predict(const Graph& g, const LabeledData& d, int64_t begin, int64_t end,
               std::vector<int32_t>* pred, std::vector<double>* confidence,
               std::vector<uint8_t>* outputs) {
  TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(g));
  const Tensor& in = g.tensor(g.inputs[0]);
  const Tensor& out = g.tensor(g.outputs[0]);
  const int64_t per = in.numel();
  for (int64_t i = begin; i < end; ++i) {
    EncodeInput(in, d.x.data() + i * per, static_cast<uint8_t*>(interp->input(0)));
    interp->Invoke();
    const auto* y = static_cast<const uint8_t*>(interp->output(0));
    (*pred)[static_cast<size_t>(i)] = ArgmaxClass(out, y);
    (*confidence)[static_cast<size_t>(i)] = TopConfidence(out, y);
    if (outputs)
      std::copy(y, y + out.nbytes(), outputs->data() + static_cast<size_t>(i) * out.nbytes());
  }
  return Status::Ok();
}

}  // namespace

Status CheckClassifier(const Graph& g, const LabeledData& d, int classes) {
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    return Status::Errorf("{}: a classifier has one input and one output ({} and {} here)", g.name,
                          g.inputs.size(), g.outputs.size());
  const Tensor& in = g.tensor(g.inputs[0]);
  const Tensor& out = g.tensor(g.outputs[0]);
  int64_t per = 1;
  for (int64_t s : d.shape) per *= s;
  if (in.numel() != per)
    return Status::Errorf("{}: input '{}' {} holds {} values, the samples have {}", g.name, in.name,
                          ShapeStr(in.shape), in.numel(), per);
  if (in.dtype != DType::kFloat32 && in.dtype != DType::kInt8)
    return Status::Errorf("{}: input '{}' is {}; float32 or int8 expected", g.name, in.name,
                          DTypeName(in.dtype));
  if (out.numel() != classes || (out.dtype != DType::kFloat32 && out.dtype != DType::kInt8))
    return Status::Errorf("{}: output '{}' {} {} does not give {} class scores", g.name, out.name,
                          DTypeName(out.dtype), ShapeStr(out.shape), classes);
  if (d.count() == 0) return Status::Error("no samples to evaluate");
  return Status::Ok();
}

Result<EvalResult> MetricsFromPredictions(const std::vector<int32_t>& pred, const LabeledData& d,
                                          int classes) {
  EvalResult r;
  r.count = d.count();
  r.confusion.assign(static_cast<size_t>(classes),
                     std::vector<int64_t>(static_cast<size_t>(classes)));
  int64_t correct = 0;
  for (int64_t i = 0; i < d.count(); ++i) {
    const int32_t y = d.y[static_cast<size_t>(i)], p = pred[static_cast<size_t>(i)];
    if (y < 0 || y >= classes)
      return Status::Errorf("sample {}: label {} outside 0..{}", i, y, classes - 1);
    ++r.confusion[static_cast<size_t>(y)][static_cast<size_t>(p)];
    correct += y == p;
  }
  r.accuracy = static_cast<double>(correct) / static_cast<double>(d.count());
  for (int c = 0; c < classes; ++c) {
    int64_t tp = r.confusion[static_cast<size_t>(c)][static_cast<size_t>(c)], col = 0, row = 0;
    for (int k = 0; k < classes; ++k) {
      col += r.confusion[static_cast<size_t>(k)][static_cast<size_t>(c)];
      row += r.confusion[static_cast<size_t>(c)][static_cast<size_t>(k)];
    }
    r.predicted.push_back(col);
    r.precision.push_back(col ? static_cast<double>(tp) / static_cast<double>(col) : 0.0);
    r.recall.push_back(row ? static_cast<double>(tp) / static_cast<double>(row) : 0.0);
  }
  return r;
}

Result<EvalResult> EvaluateClassifier(const Graph& g, const LabeledData& d, int classes,
                                      const EvalOptions& opts) {
  TML_RETURN_IF_ERROR(CheckClassifier(g, d, classes));
  const auto t0 = std::chrono::steady_clock::now();
  int threads = opts.threads > 0
                    ? opts.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, d.count()));
  std::vector<int32_t> pred(static_cast<size_t>(d.count()));
  std::vector<double> confidence(pred.size());
  std::vector<uint8_t> outputs;
  if (opts.keep_outputs)
    outputs.resize(static_cast<size_t>(d.count()) * g.tensor(g.outputs[0]).nbytes());
  std::vector<Status> st(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  const int64_t chunk = (d.count() + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int64_t b = t * chunk, e = std::min(d.count(), b + chunk);
    pool.emplace_back([&, t, b, e] {
      st[static_cast<size_t>(t)] =
          Predict(g, d, b, e, &pred, &confidence, opts.keep_outputs ? &outputs : nullptr);
    });
  }
  for (auto& th : pool) th.join();
  for (const Status& s : st) TML_RETURN_IF_ERROR(s);
  TML_ASSIGN_OR_RETURN(EvalResult r, MetricsFromPredictions(pred, d, classes));
  r.confidence_bins.assign(kConfidenceBins, 0);
  for (double c : confidence) {
    r.confidence_mean += c / static_cast<double>(confidence.size());
    ++r.confidence_bins[static_cast<size_t>(ConfidenceBin(c))];
  }
  r.outputs = std::move(outputs);
  r.threads = threads;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace tml
