#include "app/control_loop.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "core/clock.h"
#include "core/sha256.h"

namespace tml {

namespace {

// Forwards to `inner`, and is cancelled once `stop` is set: a deploy or a rollback
// waiting for a device's answer gives up when the control plane is asked to stop.
class StoppableProgress : public Progress {
 public:
  StoppableProgress(Progress& inner, const std::atomic<bool>& stop) : inner_(inner), stop_(stop) {}
  void Log(const std::string& line) override { inner_.Log(line); }
  void Advance(int64_t done, int64_t total, const std::string& status) override {
    inner_.Advance(done, total, status);
  }
  void Event(const nlohmann::json& event) override { inner_.Event(event); }
  bool Cancelled() override { return stop_.load() || inner_.Cancelled(); }

 private:
  Progress& inner_;
  const std::atomic<bool>& stop_;
};

// Each group's newest finished rollout with a reference, checked for drift.
Status CheckFleetDrift(Workspace& ws, const ControlLoopOptions& o, const ControlOptions& broker,
                       Progress& progress) {
  TML_ASSIGN_OR_RETURN(auto done, ListRollouts(*ws.db, "done"));
  std::map<std::string, int64_t> newest;  // group -> rollout
  for (const RolloutRecord& r : done) newest[r.group] = std::max(newest[r.group], r.id);
  for (const auto& [group, id] : newest) {
    DriftQuery q;
    auto ref = RolloutReference(*ws.db, id, &q);
    if (!ref.ok()) continue;  // made without a reference: nothing to compare with
    q.since_ms = NowMs() - o.drift_window_ms;
    q.threshold = o.drift_threshold;
    q.min_inferences = o.drift_min_inferences;
    q.quiet_ms = o.drift_window_ms;
    DriftCapture capture = o.drift_capture;
    capture.broker = broker;
    capture.broker.client_id.clear();  // a connection of its own
    capture.broker.persistent_session = false;
    capture.broker.on_device_message = nullptr;
    TML_ASSIGN_OR_RETURN(DriftCheck c, CheckDrift(ws, *ref, q, capture, progress));
    for (const DeviceDrift& d : c.report.devices)
      if (d.alerted)
        progress.Log(
            fmt::format("drift: {} against rollout {}'s reference {}: PSI {:.3f} on "
                        "classes, {:.3f} on confidence (alert recorded)",
                        d.subject, id, ref->source, d.psi_classes, d.psi_confidence));
    if (c.capture)
      progress.Log(fmt::format("drift: captured {} new sample(s) into {}", c.capture->report.added,
                               c.capture->version_artifact));
  }
  return Status::Ok();
}

}  // namespace

Status RunControlLoop(Workspace& ws, const ControlLoopOptions& o, const std::atomic<bool>& stop,
                      Progress& outer) {
  StoppableProgress progress(outer, stop);
  TML_ASSIGN_OR_RETURN(auto conn, OpenStore(ws.db_spec));
  TML_ASSIGN_OR_RETURN(auto ingest, TelemetryIngest::Start(std::move(conn), o.ingest));
  ControlOptions broker = o.broker;
  broker.on_device_message = ingest->Sink();
  // One session per workspace that the broker keeps while the control plane is away
  // (restarted, or the broker restarted): what devices send meanwhile is queued for it.
  if (broker.client_id.empty()) {
    const std::string root = std::filesystem::absolute(ws.root).lexically_normal().string();
    broker.client_id = "tinymlaas-control-" + Sha256Hex(root.data(), root.size()).substr(0, 16);
    broker.persistent_session = true;
  }
  TML_ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(broker));
  progress.Log(fmt::format("control plane: broker {}:{}, store {}", broker.broker_host,
                           broker.broker_port, ws.db_spec));
  std::string last_error;
  const auto report = [&](const Status& s) {
    // Each failure once while it lasts, not at every tick.
    if (!s.ok() && s.message() != last_error) progress.Log("control plane: " + s.message());
    last_error = s.ok() ? "" : s.message();
  };
  int64_t next_drift_ms = o.drift_every_ms > 0 ? NowMs() + o.drift_every_ms : 0;
  while (!stop.load()) {
    const auto tick_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.tick_ms);
    Status st = cp->Sync(*ws.db).status();
    if (st.ok() && o.rollouts) {
      for (const std::string status : {"running", "rolling_back"}) {
        auto rollouts = ListRollouts(*ws.db, status);
        if (!rollouts.ok()) {
          st = rollouts.status();
          break;
        }
        for (const RolloutRecord& r : *rollouts) {
          if (stop.load()) break;
          // The telemetry a judgement reads is the telemetry that has arrived.
          (void)ingest->Flush(5000);
          if (auto a = AdvanceRollout(ws, *cp, r.id, progress); !a.ok())
            st = a.status().Wrap(fmt::format("rollout {}", r.id));
        }
      }
    }
    if (st.ok() && next_drift_ms && NowMs() >= next_drift_ms) {
      next_drift_ms = NowMs() + o.drift_every_ms;
      (void)ingest->Flush(5000);
      st = CheckFleetDrift(ws, o, broker, progress).Wrap("drift");
    }
    report(st);
    if (o.on_tick) o.on_tick(ingest->stats());
    while (!stop.load() && std::chrono::steady_clock::now() < tick_end)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ingest->Flush(10000);
}

}  // namespace tml
