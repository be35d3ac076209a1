#include "app/evaluate.h"

#include <fmt/format.h>

#include <cstring>

#include "data/loader.h"
#include "formats/import.h"
#include "targets/device_eval.h"

namespace tml {

namespace {

double ElementValue(DType t, const uint8_t* p) {
  switch (t) {
    case DType::kFloat32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::kInt8:
      return static_cast<int8_t>(*p);
    default:
      return *p;
  }
}

}  // namespace

int64_t FirstDifferingSample(const Tensor& out, const LabeledData& d, const EvalResult& host,
                             const EvalResult& device, const std::string& target,
                             std::string* what) {
  const size_t per = out.nbytes(), elem = DTypeSize(out.dtype);
  for (int64_t i = 0; i < d.count(); ++i) {
    const uint8_t* h = host.outputs.data() + static_cast<size_t>(i) * per;
    const uint8_t* v = device.outputs.data() + static_cast<size_t>(i) * per;
    if (std::memcmp(h, v, per) == 0) continue;
    size_t k = 0;
    while (k + elem <= per && std::memcmp(h + k, v + k, elem) == 0) k += elem;
    *what = fmt::format("sample {} (label {}): output element {} is {} on {} and {} on the host", i,
                        d.y[static_cast<size_t>(i)], k / elem, ElementValue(out.dtype, v + k),
                        target, ElementValue(out.dtype, h + k));
    return i;
  }
  return -1;
}

Result<EvaluateOutcome> Evaluate(Workspace& ws, const EvaluateRequest& q, Progress& progress) {
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(q.model));
  TML_ASSIGN_OR_RETURN(LoadedSplit split, LoadSplitRef(ws, q.data, Split::kTest));
  if (q.samples < 0) return Status::Errorf("samples {} must not be negative", q.samples);
  const LabeledData d = q.samples > 0 ? Spread(split.data, q.samples) : split.data;
  const int classes = static_cast<int>(split.classes.size());
  EvaluateOutcome r;
  r.classes = split.classes;
  const bool device = q.target != "host";
  EvalOptions o;
  o.threads = q.threads;
  o.keep_outputs = device;
  TML_ASSIGN_OR_RETURN(r.host, EvaluateClassifier(g, d, classes, o));
  if (!device) {
    r.result = r.host;
    return r;
  }
  DeviceEvalOptions dev;
  dev.work_dir = q.work_dir;
  dev.built = [&](const std::string& elf) { r.firmware = elf; };
  dev.progress = [&](int64_t done, int64_t total) {
    progress.Log(fmt::format("{}/{} samples on {}", done, total, q.target));
  };
  TML_ASSIGN_OR_RETURN(r.result, EvaluateOnTarget(g, d, classes, q.target, dev));
  r.first_differing = FirstDifferingSample(g.tensor(g.outputs[0]), d, r.host, r.result, q.target,
                                           &r.first_difference);
  r.equal_to_host = r.first_differing < 0;
  return r;
}

nlohmann::json EvaluationJson(const EvaluateRequest& q, const EvaluateOutcome& r) {
  nlohmann::json j = {{"model", q.model},
                      {"data", q.data},
                      {"target", q.target},
                      {"accuracy", r.result.accuracy},
                      {"samples", r.result.count},
                      {"classes", r.classes},
                      {"confusion", r.result.confusion},
                      {"precision", r.result.precision},
                      {"recall", r.result.recall},
                      {"seconds", r.result.seconds}};
  // The answers' distribution by the reference interpreter (bit-exact with the devices):
  // what rollouts and drift compare live telemetry with.
  const EvalResult& ref = r.result.confidence_bins.empty() ? r.host : r.result;
  if (!ref.confidence_bins.empty()) {
    j["confidence_mean"] = ref.confidence_mean;
    j["confidence_bins"] = ref.confidence_bins;
    j["predicted"] = ref.predicted;
  }
  if (q.target != "host") {
    j["host_accuracy"] = r.host.accuracy;
    j["equal_to_host"] = r.equal_to_host;
    if (!r.equal_to_host) {
      j["first_differing_sample"] = r.first_differing;
      j["first_difference"] = r.first_difference;
    }
  }
  return j;
}

}  // namespace tml
