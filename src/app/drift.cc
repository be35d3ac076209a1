#include "app/drift.h"

#include "app/evaluate.h"
#include "core/distribution.h"
#include "store/telemetry_store.h"

namespace tml {

using nlohmann::json;

Result<DriftReference> EvaluationReference(Workspace& ws, const std::string& model,
                                           const std::string& data, int64_t samples,
                                           Progress& progress) {
  EvaluateRequest e;
  e.model = model;
  e.data = data;
  e.samples = samples;
  progress.Log("evaluating " + model + " on " + data + " (the reference of its answers)");
  TML_ASSIGN_OR_RETURN(EvaluateOutcome r, Evaluate(ws, e, progress));
  const EvalResult& ref = r.result.confidence_bins.empty() ? r.host : r.result;
  return DriftReference{data, ref.predicted, ref.confidence_bins, ref.confidence_mean};
}

namespace {

DeviceDrift Judge(const std::string& subject, const TelemetryMinute& sum, const DriftReference& ref,
                  const DriftQuery& q) {
  DeviceDrift d;
  d.subject = subject;
  d.inferences = sum.inferences;
  d.confidence_mean = sum.inferences ? sum.confidence_sum / static_cast<double>(sum.inferences) : 0;
  d.classes = sum.classes;
  d.confidences = sum.confidences;
  d.judged = sum.inferences >= q.min_inferences;
  if (!d.judged) return d;
  d.psi_classes = PopulationStability(ref.predicted, sum.classes);
  d.psi_confidence = PopulationStability(ref.confidence, sum.confidences);
  d.drift = std::max(d.psi_classes, d.psi_confidence) > q.threshold;
  return d;
}

}  // namespace

Result<DriftReport> MeasureDrift(MetaStore& db, const DriftReference& ref, const DriftQuery& q) {
  if (q.devices.empty() == q.group.empty())
    return Status::Error("drift: name devices or a group, not both");
  std::vector<std::string> ids = q.devices;
  if (!q.group.empty()) {
    TML_ASSIGN_OR_RETURN(auto members, db.ListDevices(q.group));
    for (const DeviceRecord& d : members) ids.push_back(d.id);
    if (ids.empty()) return Status::NotFound("drift: no device in group '{}'", q.group);
  }
  DriftReport out;
  TelemetryMinute all;
  for (const std::string& id : ids) {
    TelemetryQuery tq;
    tq.device = id;
    tq.since_ms = q.since_ms;
    tq.model_version = q.model_version;
    TML_ASSIGN_OR_RETURN(auto minutes, FindTelemetryMinutes(db, tq));
    TelemetryMinute sum;
    for (const TelemetryMinute& m : minutes) sum.Merge(m);
    all.Merge(sum);
    out.devices.push_back(Judge("device:" + id, sum, ref, q));
  }
  if (!q.group.empty()) out.devices.push_back(Judge("group:" + q.group, all, ref, q));
  for (const DeviceDrift& d : out.devices) {
    if (!d.drift) continue;
    ++out.drifting;
    if (!q.record_alerts) continue;
    TML_RETURN_IF_ERROR(
        AddAlert(db, {0, "drift", d.subject,
                      fmt::format("{}: drift against {}: PSI {:.3f} on classes, {:.3f} on "
                                  "confidence (threshold {}) over {} inferences",
                                  d.subject, ref.source, d.psi_classes, d.psi_confidence,
                                  q.threshold, d.inferences),
                      json{{"psi_classes", d.psi_classes},
                           {"psi_confidence", d.psi_confidence},
                           {"inferences", d.inferences},
                           {"reference", ref.source}}
                          .dump(),
                      0})
            .status());
  }
  return out;
}

json DriftJson(const DriftReference& ref, const DriftReport& r, double threshold) {
  json devices = json::array();
  for (const DeviceDrift& d : r.devices)
    devices.push_back({{"subject", d.subject},
                       {"inferences", d.inferences},
                       {"confidence_mean", d.confidence_mean},
                       {"psi_classes", d.psi_classes},
                       {"psi_confidence", d.psi_confidence},
                       {"judged", d.judged},
                       {"drift", d.drift},
                       {"classes", d.classes},
                       {"confidence_bins", d.confidences}});
  return {{"reference",
           {{"source", ref.source},
            {"predicted", ref.predicted},
            {"confidence_bins", ref.confidence},
            {"confidence_mean", ref.confidence_mean}}},
          {"threshold", threshold},
          {"distance", "population stability index"},
          {"drifting", r.drifting},
          {"devices", devices}};
}

}  // namespace tml
