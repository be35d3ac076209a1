// Drift as a component, behind `tinymlaas drift`: the live class and confidence
// histograms of devices (telemetry aggregates) against the model's evaluation results,
// per device and for the group, by the population stability index (core/distribution.h;
// the usual reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a
// significant one). Above the threshold an alert is recorded (store/telemetry_store.h),
// and CheckDrift can then capture samples from the drifting devices (app/capture.h):
// what `tinymlaas drift --capture-into` does once, and `tinymlaas control --drift-every`
// on a schedule against each group's newest finished rollout.
//
//   TML_ASSIGN_OR_RETURN(DriftReference ref, EvaluationReference(ws, "fm.onnx", "fashion@2@test",
//                                                                200, progress));
//   DriftQuery q;  q.group = "hall";  q.since_ms = now - 3600000;
//   TML_ASSIGN_OR_RETURN(DriftReport r, MeasureDrift(*ws.db, ref, q));
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/capture.h"
#include "core/progress.h"
#include "data/dataset_store.h"

namespace tml {

// What the model answers on its evaluation set.
struct DriftReference {
  std::string source;               // the evaluation set (DATASET@V@SPLIT)
  std::vector<int64_t> predicted;   // samples per predicted class
  std::vector<int64_t> confidence;  // samples per confidence bin
  double confidence_mean = 0;
};

Result<DriftReference> EvaluationReference(Workspace& ws, const std::string& model,
                                           const std::string& data, int64_t samples,
                                           Progress& progress);

struct DriftQuery {
  std::vector<std::string> devices;
  std::string group;  // or every device of a group
  int64_t since_ms = 0;
  int64_t model_version = -1;   // -1: any version
  double threshold = 0.25;      // PSI above: drift
  int64_t min_inferences = 30;  // fewer: not judged (too few to tell)
  bool record_alerts = true;    // false: only measure (a look from the dashboard)
  // A subject alerted less than this long ago is not alerted again (a check on a
  // schedule); 0: every check that finds drift alerts.
  int64_t quiet_ms = 0;
};

struct DeviceDrift {
  std::string subject;  // device:ID, or group:G for the group's sum
  int64_t inferences = 0;
  double psi_classes = 0, psi_confidence = 0, confidence_mean = 0;
  bool judged = false, drift = false;
  bool alerted = false;                       // an alert was recorded for it by this check
  std::vector<int64_t> classes, confidences;  // the live histograms judged
};

struct DriftReport {
  std::vector<DeviceDrift> devices;  // per device, then the group's (with a group)
  int drifting = 0;
};

// Judges each device's (and the group's) telemetry since q.since_ms; records an alert
// for each that drifts.
Result<DriftReport> MeasureDrift(MetaStore& db, const DriftReference& ref, const DriftQuery& q);

// What `rollout create --reference` evaluated for rollout `id`, with q's group and model
// version set to the rollout's; a failed precondition when it was made without one.
Result<DriftReference> RolloutReference(MetaStore& db, int64_t id, DriftQuery* q);

// What to do about drifting devices: capture samples from each device alerted into a new
// version of `dataset` ("" none).
struct DriftCapture {
  std::string dataset;
  int64_t count = 20;
  double below = 1e9;
  bool label_by_model = false;
  ControlOptions broker;
};

struct DriftCheck {
  DriftReport report;
  std::optional<CaptureOutcome> capture;  // when some device was captured from
};

// MeasureDrift, then the capture from the devices it alerted.
Result<DriftCheck> CheckDrift(Workspace& ws, const DriftReference& ref, const DriftQuery& q,
                              const DriftCapture& capture, Progress& progress);

// The one JSON form (`drift --json`, the API).
nlohmann::json DriftJson(const DriftReference& ref, const DriftReport& r, double threshold);

}  // namespace tml
