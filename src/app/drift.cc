#include "app/drift.h"

#include <fmt/ranges.h>

#include "app/evaluate.h"
#include "core/clock.h"
#include "core/distribution.h"
#include "store/rollout_store.h"
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
    // The group: the devices with enough inferences to judge (a few answers each from
    // many devices that saw the same moments are no sample of what the group sees).
    if (sum.inferences >= q.min_inferences) all.Merge(sum);
    out.devices.push_back(Judge("device:" + id, sum, ref, q));
  }
  if (!q.group.empty()) out.devices.push_back(Judge("group:" + q.group, all, ref, q));
  for (DeviceDrift& d : out.devices) {
    if (!d.drift) continue;
    ++out.drifting;
    if (!q.record_alerts) continue;
    if (q.quiet_ms > 0) {
      TML_ASSIGN_OR_RETURN(auto last, ListAlerts(db, d.subject, 1));
      if (!last.empty() && last[0].kind == "drift" && last[0].created_ms > NowMs() - q.quiet_ms)
        continue;
    }
    d.alerted = true;
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

Result<DriftReference> RolloutReference(MetaStore& db, int64_t id, DriftQuery* q) {
  TML_ASSIGN_OR_RETURN(RolloutRecord ro, GetRollout(db, id));
  const json plan = json::parse(ro.plan, nullptr, false);
  if (!plan.is_object() || !plan.contains("reference") || !plan["reference"].is_object())
    return Status::FailedPrecondition(
        "rollout {} has no reference evaluation (create it with a reference dataset)", id);
  const json& pr = plan["reference"];
  DriftReference ref;
  ref.source = pr.value("data", "");
  ref.predicted = pr.value("predicted", std::vector<int64_t>{});
  ref.confidence = pr.value("confidence_bins", std::vector<int64_t>{});
  ref.confidence_mean = pr.value("confidence_mean", 0.0);
  q->group = ro.group;
  q->model_version = plan.value("version", int64_t{-1});
  return ref;
}

Result<DriftCheck> CheckDrift(Workspace& ws, const DriftReference& ref, const DriftQuery& q,
                              const DriftCapture& capture, Progress& progress) {
  DriftCheck out;
  TML_ASSIGN_OR_RETURN(out.report, MeasureDrift(*ws.db, ref, q));
  if (capture.dataset.empty()) return out;
  CaptureRequest c;
  for (const DeviceDrift& d : out.report.devices)
    if (d.alerted && d.subject.rfind("device:", 0) == 0) c.devices.push_back(d.subject.substr(7));
  if (c.devices.empty()) return out;
  c.dataset = capture.dataset;
  c.count = capture.count;
  c.below = capture.below;
  c.label_by_model = capture.label_by_model;
  c.broker = capture.broker;
  progress.Log(fmt::format("drift: capturing from {} into dataset {}", fmt::join(c.devices, ", "),
                           c.dataset));
  TML_ASSIGN_OR_RETURN(out.capture, Capture(ws, c, progress));
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
