#include "apps/cli_fleet_ops.h"

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "app/capture.h"
#include "app/control_loop.h"
#include "app/drift.h"
#include "apps/cli_broker.h"
#include "apps/cli_common.h"
#include "core/clock.h"
#include "store/record_json.h"
#include "store/telemetry_store.h"

namespace tml::cli {
namespace {

using nlohmann::json;

// "90s", "10m", "2h", "1d" (or a bare number of seconds) in milliseconds.
Result<int64_t> ParseDuration(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit = end ? end : "";
  const double scale = unit.empty() || unit == "s" ? 1e3
                       : unit == "m"               ? 60e3
                       : unit == "h"               ? 3600e3
                       : unit == "d"               ? 86400e3
                                                   : -1;
  if (text.empty() || end == text.c_str() || scale < 0 || !(v >= 0))
    return Status::Errorf("--since '{}': a duration such as 90s, 10m, 2h or 1d", text);
  return static_cast<int64_t>(v * scale);
}

struct OpsArgs : BrokerArgs {
  std::string workspace, group, canary, stages = "10,50,100", halt_on, reference, key, device;
  std::string since = "1h", action;
  std::vector<std::string> models;
  int64_t id = 0, reference_samples = 200, count = 0;
  uint32_t version = 0;
  int tick_ms = 1000, parallel = 0;
  double timeout_s = 0, threshold = 0.25, below = 1e9;
  std::string dataset, capture_into, drift_every;
  bool label_by_model = false;
  bool json = false, wait = false, rollback_on_halt = false, no_profile = false;
  bool skip_host_checks = false, shadow = false, detections = false;
};

// The rollout as a few lines: the record, then one line per stage and per device.
void PrintRollout(const json& r) {
  std::cout << fmt::format(
      "rollout {} of {} to group {}: {} (stage {} of {}): {}\n", r["id"].get<int64_t>(),
      r["model"].get<std::string>(), r["group"].get<std::string>(), r["status"].get<std::string>(),
      r["stage"].get<int64_t>(), r["stages"].size(), r["message"].get<std::string>());
  for (const json& s : r["stages"]) {
    std::string counts;
    for (const auto& [status, n] : s["status"].items())
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n.get<int64_t>(), status);
    std::cout << fmt::format("  stage {}: {} device(s) in all; {}\n", s["stage"].get<int64_t>(),
                             s["devices"].get<int64_t>(), counts);
  }
  for (const json& d : r["devices"]) {
    std::cout << fmt::format("    {:<14} stage {}  {:<11} {}\n", d["device"].get<std::string>(),
                             d["stage"].get<int64_t>(), d["status"].get<std::string>(),
                             d["message"].get<std::string>());
    const json& sh = d["shadow"];
    if (sh.is_object() && sh.contains("samples"))
      std::cout << fmt::format(
          "    {:<14} shadow: agrees with version {} on {:.0f}% of {} live inputs, confidence "
          "{:+.3f} ({})\n",
          "", sh.value("against_version", 0), 100 * sh.value("agreement", 0.0),
          sh.value("samples", 0), sh.value("confidence_shift", 0.0),
          sh.value("passed", false) ? "passed" : "failed");
  }
}

// Runs the control loop until the rollout leaves running / rolling back (--wait).
Status WaitForRollout(Workspace& ws, const OpsArgs& a, int64_t id, Progress& progress) {
  ControlLoopOptions o;
  TML_ASSIGN_OR_RETURN(o.broker, a.Broker());
  o.tick_ms = a.tick_ms;
  std::atomic<bool>& stop = StopOnSignal();
  const auto deadline = a.timeout_s > 0 ? NowMs() + static_cast<int64_t>(a.timeout_s * 1000) : 0;
  bool timed_out = false;
  o.on_tick = [&](const IngestStats&) {
    auto r = GetRollout(*ws.db, id);
    if (r.ok() && r->status != "running" && r->status != "rolling_back") stop = true;
    if (deadline && NowMs() > deadline) timed_out = stop = true;
  };
  TML_RETURN_IF_ERROR(RunControlLoop(ws, o, stop, progress));
  if (timed_out)
    return Status::Unavailable("rollout {}: still going after {} s (tinymlaas rollout status {})",
                               id, a.timeout_s, id);
  return Status::Ok();
}

int Show(Workspace& ws, int64_t id, bool as_json) {
  auto j = RolloutJson(*ws.db, id);
  if (!j.ok()) return Fail(j.status());
  if (as_json)
    std::cout << j->dump(2) << "\n";
  else
    PrintRollout(*j);
  const std::string status = (*j)["status"].get<std::string>();
  // 3: the rollout did not reach every device (halted or rolled back), as deploy's 3.
  return status == "halted" || status == "rolled_back" ? 3 : 0;
}

int Create(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  RolloutRequest q;
  q.deploy.model = a.models.at(0);
  q.deploy.alternatives.assign(a.models.begin() + 1, a.models.end());
  q.deploy.group = a.group;
  q.deploy.version = a.version;
  q.deploy.signing_key = a.key;
  q.deploy.host_checks = !a.skip_host_checks;
  auto o = a.Broker();
  if (!o.ok()) return Fail(o.status());
  q.deploy.broker = *o;
  if (Status s = ParseStagesAndCanary(a.stages, a.canary, &q); !s.ok()) return Fail(s);
  if (Status s = ParseHaltOn(a.halt_on, &q.conditions); !s.ok()) return Fail(s);
  q.rollback_on_halt = a.rollback_on_halt;
  q.reference_data = a.reference;
  q.reference_samples = a.reference_samples;
  q.profile_latency = !a.no_profile;
  q.shadow = a.shadow;
  q.parallel = a.parallel;
  TerminalProgress progress;
  // The registry as the broker has it now: the cohorts are fixed from it.
  if (auto s = SyncRegistry(*ws, *o); !s.ok()) return Fail(s.status());
  auto r = CreateRollout(*ws, q, progress);
  if (!r.ok()) return Fail(r.status());
  if (a.wait) {
    if (Status s = WaitForRollout(*ws, a, r->id, progress); !s.ok()) {
      Show(*ws, r->id, a.json);
      return Fail(s);
    }
  } else if (!a.json) {
    std::cout << "rollout " << r->id
              << " created; a running `tinymlaas control` carries it out (or run this with "
                 "--wait)\n";
  }
  return Show(*ws, r->id, a.json);
}

int Status_(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  return Show(*ws, a.id, a.json);
}

int List(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto all = ListRollouts(*ws->db, "");
  if (!all.ok()) return Fail(all.status());
  if (a.json) {
    json arr = json::array();
    for (const RolloutRecord& r : *all) {
      auto j = RolloutJson(*ws->db, r.id);
      if (!j.ok()) return Fail(j.status());
      j->erase("devices");
      arr.push_back(*j);
    }
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  if (all->empty()) std::cout << "no rollouts (tinymlaas rollout create MODEL --group G)\n";
  for (const RolloutRecord& r : *all)
    std::cout << fmt::format("{:>4}  {:<12} {:<10} {:<24} {}\n", r.id, r.status, r.group, r.model,
                             r.message);
  return 0;
}

int Act(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto r = ControlRollout(*ws->db, a.id, a.action);
  if (!r.ok()) return Fail(r.status());
  if (a.wait && a.action == "rollback") {
    TerminalProgress progress;
    if (Status s = WaitForRollout(*ws, a, a.id, progress); !s.ok()) return Fail(s);
  }
  return Show(*ws, a.id, a.json);
}

int Control(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  ControlLoopOptions o;
  auto b = a.Broker();
  if (!b.ok()) return Fail(b.status());
  o.broker = *b;
  o.tick_ms = a.tick_ms;
  if (!a.drift_every.empty()) {
    auto every = ParseDuration(a.drift_every);
    if (!every.ok()) return Fail(every.status().Wrap("--drift-every"));
    auto window = ParseDuration(a.since);
    if (!window.ok()) return Fail(window.status().Wrap("--drift-window"));
    o.drift_every_ms = *every;
    o.drift_window_ms = *window;
    o.drift_threshold = a.threshold;
    if (a.count > 0) o.drift_min_inferences = a.count;
    o.drift_capture.dataset = a.capture_into;
    o.drift_capture.below = a.below;
    o.drift_capture.label_by_model = a.label_by_model;
  } else if (!a.capture_into.empty()) {
    return Fail(Status::Error("--capture-into: only with --drift-every"));
  }
  TerminalProgress progress;
  std::cout << "control plane: telemetry into " << ws->db_spec << ", rollouts driven every "
            << a.tick_ms << " ms; Ctrl-C stops" << std::endl;
  int64_t last = -1;
  o.on_tick = [&](const IngestStats& s) {
    if (s.stored == last) return;
    last = s.stored;
    std::cerr << fmt::format(
        "telemetry: {} stored, {} duplicates, {} ignored, {} dropped; p99 {} ms\n", s.stored,
        s.duplicates, s.ignored, s.dropped, s.latency_p99_ms);
  };
  if (Status s = RunControlLoop(*ws, o, StopOnSignal(), progress); !s.ok()) return Fail(s);
  return 0;
}

// The keywords a listening device heard, newest first (raw records: the newest the store
// keeps per device).
int Detections(Workspace& ws, const OpsArgs& a) {
  if (a.device.empty()) return Fail(Status::Error("telemetry --detections: name a DEVICE"));
  auto since = ParseDuration(a.since);
  if (!since.ok()) return Fail(since.status());
  const int64_t from = NowMs() - *since;
  auto records = RecentTelemetry(*ws.db, a.device, "detection", a.count > 0 ? a.count : 1000);
  if (!records.ok()) return Fail(records.status());
  json arr = json::array();
  for (const TelemetryRecord& r : *records)
    if (r.sent_ms >= from) {
      json d = json::parse(r.data, nullptr, false);
      arr.push_back({{"sent_ms", r.sent_ms},
                     {"model_version", r.model_version},
                     {"class", r.top_class},
                     {"confidence", r.confidence},
                     {"frame", d.is_object() ? d.value("frame", int64_t{-1}) : -1}});
    }
  if (a.json) {
    std::cout << json{{"since_ms", from}, {"detections", arr}}.dump(2) << "\n";
    return 0;
  }
  if (arr.empty()) {
    std::cout << "no detections from " << a.device << " in the last " << a.since
              << " (an agent with --listen, and a running `tinymlaas control`)\n";
    return 0;
  }
  std::cout << fmt::format("{:<23} {:>7} {:>6} {:>10} {:>9}\n", "SENT (UTC)", "VERSION", "CLASS",
                           "SCORE", "FRAME");
  for (const json& d : arr) {
    const int64_t ms = d["sent_ms"].get<int64_t>();
    const std::time_t t = ms / 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    std::cout << fmt::format("{}.{:03} {:>7} {:>6} {:>10.3f} {:>9}\n", when, ms % 1000,
                             d["model_version"].get<int64_t>(), d["class"].get<int64_t>(),
                             d["confidence"].get<double>(), d["frame"].get<int64_t>());
  }
  return 0;
}

int Telemetry(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  if (a.device.empty() == a.group.empty())
    return Fail(Status::Error("telemetry: name a DEVICE or a --group, not both"));
  auto since = ParseDuration(a.since);
  if (!since.ok()) return Fail(since.status());
  if (a.detections) return Detections(*ws, a);
  TelemetryQuery q;
  q.device = a.device;
  q.group = a.group;
  q.since_ms = NowMs() - *since;
  auto minutes = FindTelemetryMinutes(*ws->db, q);
  if (!minutes.ok()) return Fail(minutes.status());
  if (a.json) {
    json arr = json::array();
    for (const TelemetryMinute& m : *minutes) arr.push_back(TelemetryMinuteJson(m));
    std::cout << json{{"since_ms", q.since_ms}, {"minutes", arr}}.dump(2) << "\n";
    return 0;
  }
  if (minutes->empty()) {
    std::cout << "no telemetry for " << (a.device.empty() ? "group " + a.group : a.device)
              << " in the last " << a.since
              << " (a running `tinymlaas control` stores what devices report)\n";
    return 0;
  }
  std::cout << fmt::format("{:<17} {:<14} {:>7} {:>10} {:>10} {:>11} {:>6} {:>6}  {}\n",
                           "MINUTE (UTC)", "DEVICE", "VERSION", "INFERENCES", "CONFIDENCE", "TICKS",
                           "ERRORS", "RESETS", "CLASSES");
  for (const TelemetryMinute& m : *minutes) {
    const std::time_t t = m.minute_ms / 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    std::string classes;
    for (size_t c = 0; c < m.classes.size(); ++c)
      if (m.classes[c])
        classes += fmt::format("{}{}:{}", classes.empty() ? "" : " ", c, m.classes[c]);
    std::cout << fmt::format(
        "{:<17} {:<14} {:>7} {:>10} {:>10.3f} {:>11} {:>6} {:>6}  {}\n", when, m.device,
        m.model_version, m.inferences, m.inferences ? m.confidence_sum / m.inferences : 0.0,
        m.inferences ? m.ticks_sum / m.inferences : 0, m.errors, m.resets, classes);
  }
  return 0;
}

// Live: one line per message of the device (results, telemetry, command outcomes,
// HELLOs) until Ctrl-C, --count messages or --timeout.
int Observe(const OpsArgs& a) {
  auto o = a.Broker();
  if (!o.ok()) return Fail(o.status());
  o->devices = a.device;
  std::mutex mu;
  std::condition_variable cv;
  int64_t seen = 0;
  const bool as_json = a.json;
  o->on_device_message = [&](const std::string& device, const std::string& leaf, const json& b) {
    std::lock_guard<std::mutex> l(mu);
    if (as_json) {
      std::cout << json{{"device", device}, {"topic", leaf}, {"message", b}}.dump() << std::endl;
    } else if (leaf == "result" || leaf == "telemetry") {
      std::cout << fmt::format("{} {:<9} v{} class {} confidence {:.3f} ticks {}\n", device, leaf,
                               b.value("model_version", 0), b.value("class", -1),
                               b.value("confidence", 0.0), b.value("ticks", 0))
                << std::flush;
    } else if (leaf == "detection") {
      std::cout << fmt::format("{} detection v{} class {} score {:.3f} at frame {}\n", device,
                               b.value("model_version", 0), b.value("class", -1),
                               b.value("confidence", 0.0), b.value("frame", 0))
                << std::flush;
    } else if (leaf == "events") {
      std::cout << fmt::format(
                       "{} event     {} {}{}\n", device, b.value("command", "?"),
                       b.contains("ok") ? (b.value("ok", false) ? "ok" : "failed") : "progress",
                       b.contains("error") ? ": " + b.value("error", "") : "")
                << std::flush;
    } else if (leaf == "hello") {
      std::cout << fmt::format("{} hello     boots {}, confirmed version {}\n", device,
                               b.value("boots", 0), b.value("confirmed_version", 0))
                << std::flush;
    }
    ++seen;
    cv.notify_all();
  };
  auto cp = ControlPlane::Connect(*o);
  if (!cp.ok()) return Fail(cp.status());
  std::cerr << "observing " << a.device << " (Ctrl-C stops)\n";
  const std::atomic<bool>& stop = StopOnSignal();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
  std::unique_lock<std::mutex> l(mu);
  while (!stop && (a.count == 0 || seen < a.count) &&
         (a.timeout_s <= 0 || std::chrono::steady_clock::now() < deadline))
    cv.wait_for(l, std::chrono::milliseconds(100));
  return 0;
}

int RunCapture(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  CaptureRequest q;
  if (!a.device.empty()) q.devices = SplitList(a.device);
  q.group = a.group;
  q.dataset = a.dataset;
  q.count = a.count > 0 ? a.count : 20;
  q.below = a.below;
  q.label_by_model = a.label_by_model;
  auto o = a.Broker();
  if (!o.ok()) return Fail(o.status());
  q.broker = *o;
  TerminalProgress progress;
  auto r = Capture(*ws, q, progress);
  if (!r.ok()) return Fail(r.status());
  if (a.json) {
    json per = json::object();
    for (const auto& [d, n] : r->per_device) per[d] = n;
    std::cout << json{{"version", r->version_artifact},
                      {"added", r->report.added},
                      {"duplicates", r->report.duplicates},
                      {"members", r->report.version.members},
                      {"captured", per}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << fmt::format("{}: {} new samples from {} device(s) ({} seen before); {} members\n",
                           r->version_artifact, r->report.added, r->per_device.size(),
                           r->report.duplicates, r->report.version.members);
  return 0;
}

int RunDrift(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto since = ParseDuration(a.since);
  if (!since.ok()) return Fail(since.status());
  TerminalProgress progress;
  auto ref = EvaluationReference(*ws, a.models.at(0), a.reference, a.reference_samples, progress);
  if (!ref.ok()) return Fail(ref.status());
  DriftQuery q;
  if (!a.device.empty()) q.devices = SplitList(a.device);
  q.group = a.group;
  q.since_ms = NowMs() - *since;
  q.threshold = a.threshold;
  if (a.count > 0) q.min_inferences = a.count;
  DriftCapture capture;
  if (!a.capture_into.empty()) {
    auto o = a.Broker();
    if (!o.ok()) return Fail(o.status());
    capture.broker = *o;
    capture.dataset = a.capture_into;
    capture.below = a.below;
    capture.label_by_model = a.label_by_model;
  }
  auto check = CheckDrift(*ws, *ref, q, capture, progress);
  if (!check.ok()) return Fail(check.status());
  const DriftReport* r = &check->report;
  if (a.json) {
    std::cout << DriftJson(*ref, *r, q.threshold).dump(2) << "\n";
  } else {
    std::cout << fmt::format("drift against {} (population stability index; above {} drifts):\n",
                             ref->source, q.threshold);
    for (const DeviceDrift& d : r->devices)
      std::cout << fmt::format(
          "  {:<18} {:>6} inferences  confidence {:.3f}  PSI classes {:.3f}  "
          "confidence {:.3f}  {}\n",
          d.subject, d.inferences, d.confidence_mean, d.psi_classes, d.psi_confidence,
          !d.judged ? "too few to judge"
          : d.drift ? "DRIFT (alert recorded)"
                    : "ok");
  }
  if (check->capture)
    std::cout << fmt::format("captured from the drifting devices: {} ({} new samples)\n",
                             check->capture->version_artifact, check->capture->report.added);
  // 3: some device (or the group) drifts.
  return r->drifting > 0 ? 3 : 0;
}

int Alerts(const OpsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto all = ListAlerts(*ws->db, a.device, a.count > 0 ? a.count : 50);
  if (!all.ok()) return Fail(all.status());
  if (a.json) {
    json arr = json::array();
    for (const AlertRecord& r : *all) arr.push_back(AlertJson(r));
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  if (all->empty()) std::cout << "no alerts\n";
  for (const AlertRecord& r : *all)
    std::cout << fmt::format("#{} {} {}\n", r.id, r.kind, r.message);
  return 0;
}

}  // namespace

void AddFleetOpsCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added) {
  auto a = std::make_shared<OpsArgs>();
  auto* ro = app.add_subcommand(
      "rollout",
      "Staged rollouts of a model to a group (docs/fleet-ops.md): a canary, then cumulative\n"
      "percentages; a stage advances when its devices are installed and healthy (confirmed,\n"
      "no restarts, latency within the profile's, confidence near the evaluation's) and the\n"
      "rollout halts (and, with --rollback-on-halt, goes back) when installs fail. A running\n"
      "`tinymlaas control` carries rollouts out; state lives in the store");
  ro->require_subcommand(1);
  auto* cr = ro->add_subcommand("create", "Package the model, fix the cohorts, start the rollout");
  cr->add_option("MODEL", a->models,
                 "Model file (.onnx, .tflite) or package (.tmlp); more in order of preference")
      ->required()
      ->check(CLI::ExistingFile);
  cr->add_option("--group", a->group, "The devices of this group")->required();
  cr->add_option("--canary", a->canary,
                 "First stage: a count of devices, or device ids (comma-separated)");
  cr->add_option("--stages", a->stages, "Cumulative percentages of the group, ending at 100")
      ->capture_default_str();
  cr->add_option("--halt-on", a->halt_on,
                 "Conditions, KEY=VALUE comma-separated: failed=PCT (failed installs above this "
                 "share halt; 0), success=PCT (healthy share to advance; 100), resets=N (0), "
                 "latency=RATIO (ticks over the profile's; 3), confidence-drop=D (0.2), "
                 "min-inferences=N (3), attempts=N (3); with --shadow: disagreement=PCT "
                 "(answers unlike the active model's above this share fail; 10), "
                 "confidence-shift=D (mean confidence below the active model's by more fails; "
                 "0.2), shadow-samples=N (live inputs judged; 10)");
  cr->add_flag("--shadow", a->shadow,
               "A shadow stage per device: the package is staged and runs beside the active "
               "model on live inputs without serving its answers; agreement and confidence "
               "shift are judged before it is activated");
  cr->add_option("--parallel", a->parallel,
                 "Installs sent at once; the halt condition is judged after each such wave "
                 "(default 0: a tenth of the stage, 1 to 32)")
      ->check(CLI::Range(0, 256));
  cr->add_flag("--rollback-on-halt", a->rollback_on_halt,
               "When it halts, send the devices that took the model back to their previous one");
  cr->add_option("--reference", a->reference,
                 "Evaluation set DATASET[@V][@SPLIT] for the confidence check (off without)");
  cr->add_option("--reference-samples", a->reference_samples, "Samples of it to evaluate")
      ->capture_default_str();
  cr->add_flag("--no-profile", a->no_profile,
               "Do not profile the model on the group's cores (no latency check)");
  cr->add_option("--version", a->version, "Model version (default: one above the devices')");
  cr->add_option("--key", a->key, "Signing key (default: WORKSPACE/keys/signing.key)");
  cr->add_flag("--skip-host-checks", a->skip_host_checks,
               "Send what the host's checks refuse (to see the devices refuse it)");
  auto* st = ro->add_subcommand("status", "A rollout's stages and devices");
  auto* ls = ro->add_subcommand("list", "Every rollout, newest first");
  std::vector<CLI::App*> acts;
  for (const char* action : {"pause", "resume", "halt", "rollback"}) {
    auto* c = ro->add_subcommand(
        action, std::string(action) == "pause"    ? "Stop new installs until resumed"
                : std::string(action) == "resume" ? "Carry on a paused or halted rollout"
                : std::string(action) == "halt"   ? "Stop new installs for good"
                                                  : "Send every device that took the model back "
                                                    "to its previous confirmed model");
    c->add_option("ID", a->id, "Rollout id")->required();
    c->callback([a, exit_code, action] {
      a->action = action;
      *exit_code = Act(*a);
    });
    acts.push_back(c);
  }
  st->add_option("ID", a->id, "Rollout id")->required();
  for (auto* c : {cr, acts[3]}) {
    c->add_flag("--wait", a->wait,
                "Carry the rollout out here (the control loop) until it finishes, halts or "
                "rolls back");
    c->add_option("--timeout", a->timeout_s, "With --wait: give up after this many seconds");
  }
  for (auto* c : std::vector<CLI::App*>{cr, st, ls, acts[0], acts[1], acts[2], acts[3]}) {
    c->add_option("--workspace", a->workspace, "Workspace directory");
    c->add_flag("--json", a->json, "Machine-readable output");
  }
  for (auto* c : {cr, acts[3]}) {
    AddBrokerOptions(c, a.get());
    c->add_option("--tick-ms", a->tick_ms, "With --wait: steps this often")->capture_default_str();
  }
  cr->callback([a, exit_code] { *exit_code = Create(*a); });
  st->callback([a, exit_code] { *exit_code = Status_(*a); });
  ls->callback([a, exit_code] { *exit_code = List(*a); });
  added->push_back(ro);

  auto* co = app.add_subcommand(
      "control",
      "The control plane: stores what devices report (results, telemetry, command outcomes;\n"
      "each message once, per-minute aggregates kept, raw records bounded), keeps the device\n"
      "registry in step with the broker, carries out rollouts and, with --drift-every, checks\n"
      "drift (and captures from drifting devices). Runs until Ctrl-C; start it again and it\n"
      "carries on where it stopped");
  co->add_option("--workspace", a->workspace, "Workspace directory");
  co->add_option("--tick-ms", a->tick_ms, "Registry sync and rollout steps this often")
      ->capture_default_str();
  co->add_option("--drift-every", a->drift_every,
                 "Check drift this often (10m, 1h): each group against its newest finished "
                 "rollout's reference evaluation; an alert per drifting device or group");
  co->add_option("--drift-window", a->since,
                 "With --drift-every: the telemetry judged (and no "
                 "second alert for a subject within it)")
      ->capture_default_str();
  co->add_option("--threshold", a->threshold, "With --drift-every: PSI above which it drifts")
      ->capture_default_str();
  co->add_option("--min-inferences", a->count,
                 "With --drift-every: fewer are not judged (default 30)");
  co->add_option("--capture-into", a->capture_into,
                 "With --drift-every: capture samples from each device alerted into a new "
                 "version of this dataset");
  co->add_option("--below", a->below, "With --capture-into: only samples below this confidence");
  co->add_flag("--label-by-model", a->label_by_model, "With --capture-into: label by the model");
  AddBrokerOptions(co, a.get());
  co->callback([a, exit_code] { *exit_code = Control(*a); });
  added->push_back(co);

  auto* te = app.add_subcommand(
      "telemetry",
      "What a device (or a group) reported, per minute: inferences, mean confidence, ticks\n"
      "(instructions under emulation), errors, restarts, classes (stored by `tinymlaas control`)");
  te->add_option("DEVICE", a->device, "Device id");
  te->add_option("--group", a->group, "Every device of this group");
  te->add_option("--since", a->since, "How far back: 90s, 10m, 2h, 1d")->capture_default_str();
  te->add_option("--workspace", a->workspace, "Workspace directory");
  te->add_flag("--json", a->json, "Machine-readable output");
  te->add_flag("--detections", a->detections,
               "The keywords a listening device heard (agent --listen), newest first, instead "
               "of the per-minute table");
  te->add_option("--count", a->count, "With --detections: at most this many (default 1000)");
  te->callback([a, exit_code] { *exit_code = Telemetry(*a); });
  added->push_back(te);

  auto* ob = app.add_subcommand(
      "observe",
      "Stream a device's messages live (results, telemetry, detections, events, HELLOs)");
  ob->add_option("DEVICE", a->device, "Device id")->required();
  ob->add_option("--count", a->count, "Stop after this many messages");
  ob->add_option("--timeout", a->timeout_s, "Stop after this many seconds");
  ob->add_flag("--json", a->json, "One JSON object per line");
  AddBrokerOptions(ob, a.get());
  ob->callback([a, exit_code] { *exit_code = Observe(*a); });
  added->push_back(ob);

  auto* ca = app.add_subcommand(
      "capture",
      "Devices run their sensor and upload the inputs they saw (all, or those below a\n"
      "confidence); they become a new version of a dataset, unlabeled or labeled by the model\n"
      "(author model:ID, its confidence), with lineage to the devices and the model");
  ca->add_option("--device", a->device, "Device ids (comma-separated)");
  ca->add_option("--group", a->group, "Every online device of this group");
  ca->add_option("--dataset", a->dataset, "Dataset the samples join (a new version)")->required();
  ca->add_option("--count", a->count, "Sensor samples per device (20)");
  ca->add_option("--below", a->below, "Only samples whose confidence is below this (default: all)");
  ca->add_flag("--label-by-model", a->label_by_model,
               "Label each sample with the model's class and confidence");
  ca->add_option("--workspace", a->workspace, "Workspace directory");
  ca->add_flag("--json", a->json, "Machine-readable output");
  AddBrokerOptions(ca, a.get());
  ca->callback([a, exit_code] { *exit_code = RunCapture(*a); });
  added->push_back(ca);

  auto* dr = app.add_subcommand(
      "drift",
      "Compare devices' live class and confidence histograms with the model's evaluation\n"
      "(population stability index), per device and for the group; a drift is recorded as an\n"
      "alert, and with --capture-into the drifting devices' samples are captured. Exit 3: drift");
  dr->add_option("MODEL", a->models, "The model the devices run (its evaluation is the reference)")
      ->required()
      ->check(CLI::ExistingFile);
  dr->add_option("--reference", a->reference, "Evaluation set DATASET[@V][@SPLIT]")->required();
  dr->add_option("--reference-samples", a->reference_samples, "Samples of it to evaluate")
      ->capture_default_str();
  dr->add_option("--device", a->device, "Device ids (comma-separated)");
  dr->add_option("--group", a->group, "Every device of this group");
  dr->add_option("--since", a->since, "Telemetry of how far back: 90s, 10m, 2h, 1d")
      ->capture_default_str();
  dr->add_option("--threshold", a->threshold, "PSI above which it drifts")->capture_default_str();
  dr->add_option("--min-inferences", a->count, "Fewer inferences are not judged (30)");
  dr->add_option("--capture-into", a->capture_into,
                 "Capture the drifting devices' samples into this dataset");
  dr->add_option("--below", a->below, "With --capture-into: only samples below this confidence");
  dr->add_flag("--label-by-model", a->label_by_model, "With --capture-into: label by the model");
  dr->add_option("--workspace", a->workspace, "Workspace directory");
  dr->add_flag("--json", a->json, "Machine-readable output");
  AddBrokerOptions(dr, a.get());
  dr->callback([a, exit_code] { *exit_code = RunDrift(*a); });
  added->push_back(dr);

  auto* al = app.add_subcommand("alerts", "Alerts recorded by drift checks, newest first");
  al->add_option("--subject", a->device, "Only this subject (device:ID, group:G)");
  al->add_option("--count", a->count, "At most this many (50)");
  al->add_option("--workspace", a->workspace, "Workspace directory");
  al->add_flag("--json", a->json, "Machine-readable output");
  al->callback([a, exit_code] { *exit_code = Alerts(*a); });
  added->push_back(al);
}

}  // namespace tml::cli
