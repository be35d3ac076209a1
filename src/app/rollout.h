// Staged rollouts as a component, behind `tinymlaas rollout` and the control plane's
// loop (app/control_loop.h): a model for a group, in stages by cohort (a canary of
// named devices or a count, then cumulative percentages), each advancing when its
// success condition holds (the share of its devices installed and healthy) and halted
// when its error condition holds (failed installs, self-test refusals, resets,
// latency above the profile's prediction, confidence below the evaluation set's). A
// halt stops new installs; a rollback (asked for, or automatic with rollback_on_halt)
// sends every device that took the model back to its previous confirmed model.
//
// Everything is in the metadata store (store/rollout_store.h) and every step is
// idempotent: AdvanceRollout after a restart finds each device where it was, and a
// device whose send broke off is checked against its HELLO before it is sent again,
// so no device is updated twice. A device offline at its stage is installed when it
// is back.
//
//   RolloutRequest q;  q.model = "kws_v2.onnx";  q.group = "hall";  q.stages = {25, 100};
//   TML_ASSIGN_OR_RETURN(RolloutRecord r, CreateRollout(ws, q, progress));
//   while (...) TML_ASSIGN_OR_RETURN(r, AdvanceRollout(ws, cp, r.id, progress));
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/deploy.h"
#include "store/rollout_store.h"

namespace tml {

// When a stage advances, and when a rollout halts (--halt-on).
struct RolloutConditions {
  double success_share = 1.0;     // of a stage's devices healthy for it to advance
  double max_failed_share = 0.0;  // of the devices so far whose install failed: above, halt
  int64_t max_resets = 0;         // restarts of a device on the new model: above, it failed
  // Mean ticks over the profile's prediction (0: unchecked). The prediction is the
  // compiled model's instructions on the emulated board; devices run the package
  // runtime, which costs more (2.6x on a one-convolution model, less on big ones).
  double max_latency_ratio = 3.0;
  double max_confidence_drop = 0.2;  // below the evaluation's mean confidence by more: failed
                                     // (checked when the rollout has a reference)
  int64_t min_inferences = 3;        // a device's, on the new model, before it can be healthy
  int64_t max_attempts = 3;          // sends that broke off before the install counts as failed
  // The shadow stage (RolloutRequest::shadow): over shadow_samples live inputs, the new
  // package's top class must agree with the active model's on at least min_agreement of
  // them, and its mean confidence may fall below the active one's by at most
  // max_confidence_shift; otherwise the device fails without ever serving the model.
  double min_agreement = 0.9;
  double max_confidence_shift = 0.2;
  int64_t shadow_samples = 10;
};

// "failed=0,resets=0,latency=1.5,confidence-drop=0.2,success=100,min-inferences=3,
// disagreement=10,confidence-shift=0.2,shadow-samples=10" into c (given keys only); the
// error names the bad key or value.
Status ParseHaltOn(const std::string& text, RolloutConditions* c);

struct RolloutRequest {
  DeployRequest deploy;  // the model (and alternatives), group, version, key, broker
  std::vector<std::string> canary_devices;     // the first stage: these devices,
  int canary_count = 0;                        // or this many (the first by id)
  std::vector<double> stages = {10, 50, 100};  // then cumulative percentages of the group
  RolloutConditions conditions;
  bool rollback_on_halt = false;
  // The evaluation set the live confidence is compared with (DATASET[@V][@SPLIT]); "":
  // no confidence check.
  std::string reference_data;
  int64_t reference_samples = 200;
  // Profile the model on each core of the group (QEMU) for the latency check.
  bool profile_latency = true;
  // A shadow stage per device before its install: the package is staged (sent, not
  // activated) and runs beside the active model on the device's live inputs; the
  // agreement and confidence shift are judged (RolloutConditions) before activation.
  // Devices without a sensor of their own (a gateway's device) skip it.
  bool shadow = false;
  // Installs sent at once (a wave; the halt condition is judged after each): 0 picks a
  // tenth of the stage, at least 1 and at most 32.
  int parallel = 0;
};

// "--stages 10,50,100" (cumulative percentages) and "--canary 2" (a count) or
// "--canary m4-1,m4-2" (devices; "" none) into q; the error names the bad item.
Status ParseStagesAndCanary(const std::string& stages, const std::string& canary,
                            RolloutRequest* q);

// Packages the model, fixes the cohorts and records the rollout (status running, stage
// 0); nothing is sent yet. Refused: an empty group, a device already in a running or
// paused rollout, stages that are not increasing percentages ending at 100.
Result<RolloutRecord> CreateRollout(Workspace& ws, const RolloutRequest& request,
                                    Progress& progress);

// One step of a running (or rolling-back) rollout against the registry as it is (the
// caller syncs it): sends that broke off are reconciled, shadowing and installed devices
// judged,
// the error condition checked (halt, and rollback if set), pending devices of the
// stages so far installed, the stage advanced when its success condition holds.
// Paused, halted and finished rollouts are left as they are.
Result<RolloutRecord> AdvanceRollout(Workspace& ws, ControlPlane& cp, int64_t id,
                                     Progress& progress);

// pause (running -> paused), resume (paused or halted -> running), halt (running or
// paused -> halted), rollback (-> rolling_back, carried out by AdvanceRollout).
Result<RolloutRecord> ControlRollout(MetaStore& db, int64_t id, const std::string& action);

// The one JSON form of a rollout (`rollout status --json`, the API, the dashboard): the
// record, its plan, per-stage counts and every device.
Result<nlohmann::json> RolloutJson(MetaStore& db, int64_t id);

}  // namespace tml
