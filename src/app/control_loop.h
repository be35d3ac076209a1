// The control plane as a long-running process (`tinymlaas control`): it ingests what
// devices report into the store (fleet/telemetry_ingest.h), keeps the device registry
// in step with the broker, and drives every running rollout (app/rollout.h) one step
// per tick, and (when asked) checks drift on a schedule. All its state is in the metadata store, so
// a control plane killed and started again carries on where the last one stopped; its broker
// session is a persistent one (one per workspace), so device messages sent while it was away are
// queued by the broker and ingested when it is back.
//
//   ControlLoopOptions o;  o.broker.broker_port = 1883;
//   std::atomic<bool> stop{false};
//   TML_RETURN_IF_ERROR(RunControlLoop(ws, o, stop, progress));   // until stop
#pragma once

#include <atomic>
#include <functional>

#include "app/drift.h"
#include "app/rollout.h"
#include "fleet/telemetry_ingest.h"

namespace tml {

struct ControlLoopOptions {
  ControlOptions broker;
  IngestOptions ingest;
  int tick_ms = 1000;  // registry sync and rollout steps this often
  bool rollouts = true;
  // Drift on a schedule (0: off): every drift_every_ms, each group's newest finished
  // rollout that has a reference evaluation is checked (app/drift.h) on the telemetry of
  // the last drift_window_ms. A device or group alerted is not alerted again within
  // the window; the devices alerted are captured from when drift_capture.dataset is set.
  int64_t drift_every_ms = 0;
  int64_t drift_window_ms = 3600000;
  double drift_threshold = 0.25;
  int64_t drift_min_inferences = 30;
  DriftCapture drift_capture;  // its broker: the loop's
  // Called after every tick with the ingest's figures (the CLI's status line, tests).
  std::function<void(const IngestStats&)> on_tick;
};

// Runs until `stop` is set; an error when the broker or the store cannot be reached at
// the start. Later failures (a broker restart, a rollout step that failed) are logged
// and tried again at the next tick.
Status RunControlLoop(Workspace& ws, const ControlLoopOptions& o, const std::atomic<bool>& stop,
                      Progress& progress);

}  // namespace tml
