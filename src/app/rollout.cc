#include "app/rollout.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "app/evaluate.h"
#include "core/clock.h"
#include "fleet/device_link.h"
#include "formats/import.h"
#include "store/telemetry_store.h"
#include "targets/mcu.h"
#include "targets/target_profile.h"

namespace tml {

namespace fs = std::filesystem;
using nlohmann::json;

Status ParseStagesAndCanary(const std::string& stages, const std::string& canary,
                            RolloutRequest* q) {
  const auto items = [](const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
      if (!item.empty()) out.push_back(item);
    return out;
  };
  q->stages.clear();
  for (const std::string& p : items(stages)) {
    char* end = nullptr;
    const double v = std::strtod(p.c_str(), &end);
    if (!end || *end || !std::isfinite(v))
      return Status::Errorf("stages '{}': percentages such as 10,50,100", stages);
    q->stages.push_back(v);
  }
  q->canary_devices.clear();
  q->canary_count = 0;
  if (canary.empty()) return Status::Ok();
  char* end = nullptr;
  const long n = std::strtol(canary.c_str(), &end, 10);
  if (end && !*end && n > 0 && n < 1000000)
    q->canary_count = static_cast<int>(n);
  else
    q->canary_devices = items(canary);
  return Status::Ok();
}

Status ParseHaltOn(const std::string& text, RolloutConditions* c) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at);
    at = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    char* stop = nullptr;
    const double v = eq == std::string::npos ? NAN : std::strtod(item.c_str() + eq + 1, &stop);
    if (eq == std::string::npos || !stop || *stop || !std::isfinite(v) || v < 0)
      return Status::Errorf("--halt-on '{}': KEY=NUMBER >= 0 expected", item);
    if (key == "failed")
      c->max_failed_share = v / 100;
    else if (key == "success")
      c->success_share = v / 100;
    else if (key == "resets")
      c->max_resets = static_cast<int64_t>(v);
    else if (key == "latency")
      c->max_latency_ratio = v;
    else if (key == "confidence-drop")
      c->max_confidence_drop = v;
    else if (key == "min-inferences")
      c->min_inferences = static_cast<int64_t>(v);
    else if (key == "attempts")
      c->max_attempts = std::max<int64_t>(1, static_cast<int64_t>(v));
    else if (key == "disagreement")
      c->min_agreement = 1 - v / 100;
    else if (key == "confidence-shift")
      c->max_confidence_shift = v;
    else if (key == "shadow-samples")
      c->shadow_samples = std::max<int64_t>(1, static_cast<int64_t>(v));
    else
      return Status::Errorf(
          "--halt-on '{}': unknown key '{}' (failed, success, resets, latency, "
          "confidence-drop, min-inferences, attempts, disagreement, confidence-shift, "
          "shadow-samples)",
          item, key);
    if ((key == "failed" || key == "success" || key == "disagreement") && v > 100)
      return Status::Errorf("--halt-on '{}': a percentage from 0 to 100", item);
  }
  return Status::Ok();
}

namespace {

json ConditionsJson(const RolloutConditions& c) {
  return {{"success_share", c.success_share},
          {"max_failed_share", c.max_failed_share},
          {"max_resets", c.max_resets},
          {"max_latency_ratio", c.max_latency_ratio},
          {"max_confidence_drop", c.max_confidence_drop},
          {"min_inferences", c.min_inferences},
          {"max_attempts", c.max_attempts},
          {"min_agreement", c.min_agreement},
          {"max_confidence_shift", c.max_confidence_shift},
          {"shadow_samples", c.shadow_samples}};
}

RolloutConditions ConditionsFrom(const json& j) {
  RolloutConditions c;
  c.success_share = j.value("success_share", c.success_share);
  c.max_failed_share = j.value("max_failed_share", c.max_failed_share);
  c.max_resets = j.value("max_resets", c.max_resets);
  c.max_latency_ratio = j.value("max_latency_ratio", c.max_latency_ratio);
  c.max_confidence_drop = j.value("max_confidence_drop", c.max_confidence_drop);
  c.min_inferences = j.value("min_inferences", c.min_inferences);
  c.max_attempts = j.value("max_attempts", c.max_attempts);
  c.min_agreement = j.value("min_agreement", c.min_agreement);
  c.max_confidence_shift = j.value("max_confidence_shift", c.max_confidence_shift);
  c.shadow_samples = j.value("shadow_samples", c.shadow_samples);
  return c;
}

json HelloOf(const DeviceRecord& d) {
  json h = json::parse(d.capabilities, nullptr, false);
  return h.is_object() ? h : json::object();
}

// The active model's version (0: none) and its slot's state.
std::pair<int64_t, std::string> ActiveVersion(const json& hello) {
  const auto a = HelloActiveSlot(hello);
  return a ? std::make_pair(a->version, a->state) : std::make_pair(int64_t{0}, std::string());
}

// Per core of the group (HELLO "core"), the profile's instructions per inference on its
// emulated board: what the latency check holds the devices' ticks against.
json PredictTicks(const std::string& model, const std::vector<DeviceRecord>& devices,
                  Progress& progress) {
  json out = json::object();
  std::set<std::string> cores;
  for (const DeviceRecord& d : devices) {
    const json h = HelloOf(d);
    if (!h.value("gateway", false) && h.contains("core") && h["core"].is_string())
      cores.insert(h["core"].get<std::string>());
  }
  if (cores.empty()) return out;
  auto g = LoadModel(model);
  if (!g.ok()) {
    progress.Log("latency check off: " + g.status().message());
    return out;
  }
  for (const std::string& core : cores) {
    auto target = FindTarget(core);
    if (!target.ok() || !target->emulated()) {
      progress.Log("latency check off for " + core + ": no emulated target profile of that name");
      continue;
    }
    progress.Log("profiling " + fs::path(model).filename().string() + " on " + core +
                 " (the latency the devices are held to)");
    auto p = ProfileOnDevice(*g, core);
    if (!p.ok()) {
      progress.Log("latency check off for " + core + ": " + p.status().message());
      continue;
    }
    // In the devices' ticks: the MPS2 boards' 25 MHz timer under QEMU -icount shift=6
    // counts 40 ticks per 64 instructions (docs/protocol.md).
    out[core] = p->instructions * 40 / 64;
  }
  return out;
}

// Cumulative device counts per stage (the canary first), empty stages dropped.
Result<std::vector<int64_t>> StageSizes(const RolloutRequest& q, int64_t devices, int64_t canary) {
  std::vector<int64_t> sizes;
  if (canary > 0) sizes.push_back(std::min(canary, devices));
  double last = 0;
  for (double p : q.stages) {
    if (!(p > last) || p > 100)
      return Status::Errorf("--stages: percentages must increase and stay within 100 ({} after {})",
                            p, last);
    last = p;
    const auto n = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p * devices / 100 - 1e-9)));
    if (sizes.empty() || n > sizes.back()) sizes.push_back(n);
  }
  if (last != 100) return Status::Error("--stages: the last stage must be 100 (%)");
  return sizes;
}

}  // namespace

Result<RolloutRecord> CreateRollout(Workspace& ws, const RolloutRequest& q, Progress& progress) {
  MetaStore& db = *ws.db;
  if (q.deploy.group.empty()) return Status::Error("rollout: a group is needed (--group G)");
  if (!q.canary_devices.empty() && q.canary_count > 0)
    return Status::Error("rollout: a canary of named devices or of a count, not both");
  TML_ASSIGN_OR_RETURN(auto devices, db.ListDevices(q.deploy.group));
  if (devices.empty())
    return Status::NotFound("rollout: no device in group '{}' (tinymlaas devices list)",
                            q.deploy.group);
  // One rollout at a time per device.
  std::set<std::string> in_group;
  for (const DeviceRecord& d : devices) in_group.insert(d.id);
  for (const char* status : {"running", "paused", "rolling_back"}) {
    TML_ASSIGN_OR_RETURN(auto active, ListRollouts(db, status));
    for (const RolloutRecord& r : active) {
      TML_ASSIGN_OR_RETURN(auto members, RolloutDevices(db, r.id));
      for (const RolloutDeviceRecord& m : members)
        if (in_group.count(m.device))
          return Status::FailedPrecondition(
              "rollout: device {} is in rollout {} ({}); halt or finish it first", m.device, r.id,
              r.status);
    }
  }
  // The cohorts: the canary devices first, then the rest by id.
  std::vector<std::string> order;
  for (const std::string& c : q.canary_devices) {
    if (!in_group.count(c))
      return Status::NotFound("rollout: canary device '{}' is not in group '{}'", c,
                              q.deploy.group);
    order.push_back(c);
  }
  for (const DeviceRecord& d : devices)
    if (std::find(order.begin(), order.end(), d.id) == order.end()) order.push_back(d.id);
  const int64_t canary =
      q.canary_devices.empty() ? q.canary_count : static_cast<int64_t>(q.canary_devices.size());
  TML_ASSIGN_OR_RETURN(std::vector<int64_t> sizes,
                       StageSizes(q, static_cast<int64_t>(order.size()), canary));

  const uint32_t version = q.deploy.version ? q.deploy.version : NextVersion(devices);
  std::vector<std::vector<uint8_t>> bytes;
  TML_ASSIGN_OR_RETURN(auto packages, BuildDeployPackages(ws, q.deploy, version, progress, &bytes));
  json plan = {{"version", version},
               {"stages", sizes},
               {"conditions", ConditionsJson(q.conditions)},
               {"rollback_on_halt", q.rollback_on_halt},
               {"shadow", q.shadow},
               {"parallel", q.parallel},
               {"host_checks", q.deploy.host_checks},
               {"packages", json::array()}};
  if (canary > 0) plan["canary"] = canary;
  for (const DeployPackage& p : packages)
    plan["packages"].push_back({{"model", p.model},
                                {"path", p.package_path},
                                {"digest", p.digest},
                                {"artifact", p.package_artifact},
                                {"model_artifact", p.model_artifact}});
  if (q.profile_latency && fs::path(q.deploy.model).extension() != ".tmlp")
    plan["predicted_ticks"] = PredictTicks(q.deploy.model, devices, progress);
  if (!q.reference_data.empty()) {
    EvaluateRequest e;
    e.model = q.deploy.model;
    e.data = q.reference_data;
    e.samples = q.reference_samples;
    progress.Log("evaluating on " + q.reference_data + " (the confidence the devices are held to)");
    TML_ASSIGN_OR_RETURN(EvaluateOutcome ev, Evaluate(ws, e, progress));
    const json j = EvaluationJson(e, ev);
    plan["reference"] = {{"data", q.reference_data},
                         {"accuracy", j.value("accuracy", 0.0)},
                         {"confidence_mean", j.value("confidence_mean", 0.0)},
                         {"confidence_bins", j.value("confidence_bins", json::array())},
                         {"predicted", j.value("predicted", json::array())}};
  }

  std::vector<RolloutDeviceRecord> members;
  for (size_t i = 0; i < order.size(); ++i) {
    RolloutDeviceRecord m;
    m.device = order[i];
    while (static_cast<int64_t>(i) >= sizes[static_cast<size_t>(m.stage)]) ++m.stage;
    m.package = packages[0].package_artifact;
    members.push_back(m);
  }
  RolloutRecord r;
  r.group = q.deploy.group;
  r.model = q.deploy.model;
  r.plan = plan.dump();
  r.message = fmt::format("stage 1 of {}: {} device(s)", sizes.size(), sizes[0]);
  TML_ASSIGN_OR_RETURN(r.id, AddRollout(db, r, members));
  progress.Log(fmt::format("rollout {}: version {} to group {} ({} devices) in {} stages", r.id,
                           version, r.group, order.size(), sizes.size()));
  return GetRollout(db, r.id);
}

namespace {

// What one step works with: the rollout, its plan, devices and the registry.
struct Step {
  RolloutRecord r;
  json plan;
  std::vector<RolloutDeviceRecord> members;
  std::map<std::string, DeviceRecord> registry;
  RolloutConditions cond;
  int64_t version = 0;
  size_t stages = 0;
};

// A device on the new model judged by its HELLO and its telemetry since the install:
// "" while it is healthy or not yet known (*healthy says which), else why it failed.
Result<std::string> Judge(MetaStore& db, const Step& s, const RolloutDeviceRecord& m,
                          const DeviceRecord& d, bool* healthy) {
  *healthy = false;
  const json hello = HelloOf(d);
  const auto [active, state] = ActiveVersion(hello);
  if (active != s.version)
    return fmt::format("the device went back to version {} (a restart while on trial?)", active);
  TelemetryQuery tq;
  tq.device = m.device;
  tq.since_ms = m.installed_ms;
  tq.model_version = s.version;
  TML_ASSIGN_OR_RETURN(auto minutes, FindTelemetryMinutes(db, tq));
  TelemetryMinute sum;
  for (const TelemetryMinute& t : minutes) sum.Merge(t);
  if (sum.resets > s.cond.max_resets)
    return fmt::format("{} restart(s) on version {} (at most {})", sum.resets, s.version,
                       s.cond.max_resets);
  if (sum.inferences < s.cond.min_inferences) return std::string();
  const json& predicted = s.plan.value("predicted_ticks", json::object());
  const std::string core = hello.value("core", "");
  if (s.cond.max_latency_ratio > 0 && predicted.contains(core) && sum.ticks_sum > 0) {
    const double mean = static_cast<double>(sum.ticks_sum) / static_cast<double>(sum.inferences);
    const double ratio = mean / predicted[core].get<double>();
    if (ratio > s.cond.max_latency_ratio)
      return fmt::format(
          "latency: {:.0f} ticks per inference, {:.2f}x the profile's {} (at most {}x)", mean,
          ratio, predicted[core].get<int64_t>(), s.cond.max_latency_ratio);
  }
  if (s.plan.contains("reference")) {
    const double want = s.plan["reference"].value("confidence_mean", 0.0);
    const double mean = sum.confidence_sum / static_cast<double>(sum.inferences);
    if (mean < want - s.cond.max_confidence_drop)
      return fmt::format(
          "confidence: {:.3f} on average, below the evaluation's {:.3f} by more than {}", mean,
          want, s.cond.max_confidence_drop);
  }
  *healthy = state == "confirmed";
  return std::string();
}

// A shadowing device judged by what its staged package answered beside the active model
// since it was staged: "" while too few samples came (*passed false) or once it passed
// (*passed true), else why it failed. m.shadow gets the summary.
Result<std::string> JudgeShadow(MetaStore& db, const Step& s, RolloutDeviceRecord& m,
                                bool* passed) {
  *passed = false;
  json sum = json::parse(m.shadow.empty() ? "{}" : m.shadow, nullptr, false);
  if (!sum.is_object()) sum = json::object();
  const int64_t since = sum.value("since_ms", int64_t{0});
  // The staged package refused on the device (its self-test failed), told by the agent.
  TML_ASSIGN_OR_RETURN(auto events, RecentTelemetry(db, m.device, "event", 50));
  for (const TelemetryRecord& e : events) {
    if (e.sent_ms < since) break;
    const json ev = json::parse(e.data, nullptr, false);
    if (ev.is_object() && ev.value("command", "") == "shadow" && !ev.value("ok", true))
      return "shadow: " + ev.value("error", std::string("the staged package was refused"));
  }
  TML_ASSIGN_OR_RETURN(auto records, RecentTelemetry(db, m.device, "shadow", 1000));
  int64_t samples = 0, agree = 0, active_version = 0;
  double conf = 0, active_conf = 0;
  for (const TelemetryRecord& r : records) {
    if (r.sent_ms < since || r.model_version != s.version) continue;
    const json d = json::parse(r.data, nullptr, false);
    if (!d.is_object()) continue;
    ++samples;
    agree += d.value("active_class", int64_t{-2}) == r.top_class;
    conf += r.confidence;
    active_conf += d.value("active_confidence", 0.0);
    active_version = d.value("active_version", active_version);
  }
  if (samples < s.cond.shadow_samples) return std::string();
  const double agreement = static_cast<double>(agree) / static_cast<double>(samples);
  const double shift = (conf - active_conf) / static_cast<double>(samples);
  sum["samples"] = samples;
  sum["agreement"] = agreement;
  sum["confidence_shift"] = shift;
  sum["against_version"] = active_version;
  std::string failure;
  if (agreement < s.cond.min_agreement - 1e-9)
    failure = fmt::format(
        "shadow: agrees with version {} on {:.0f}% of {} live inputs (at least {:.0f}%)",
        active_version, 100 * agreement, samples, 100 * s.cond.min_agreement);
  else if (shift < -s.cond.max_confidence_shift)
    failure = fmt::format(
        "shadow: confidence {:+.3f} against version {} over {} live inputs (at most -{})", shift,
        active_version, samples, s.cond.max_confidence_shift);
  sum["passed"] = failure.empty();
  m.shadow = sum.dump();
  *passed = failure.empty();
  return failure;
}

bool ShadowPassed(const RolloutDeviceRecord& m) {
  const json j = json::parse(m.shadow.empty() ? "{}" : m.shadow, nullptr, false);
  return j.is_object() && j.value("passed", false);
}

Result<bool> SetStatus(MetaStore& db, Step& s, const std::vector<std::string>& from,
                       const std::string& status, int64_t stage, const std::string& message) {
  TML_ASSIGN_OR_RETURN(bool changed, UpdateRollout(db, s.r.id, from, status, stage, message));
  if (changed) {
    s.r.status = status;
    s.r.stage = stage;
    s.r.message = message;
  }
  return changed;
}

// Devices that took the model go back to their previous confirmed one (those offline
// when they are back).
Status RollBack(Workspace& ws, ControlPlane& cp, Step& s, Progress& progress) {
  MetaStore& db = *ws.db;
  int left = 0;
  for (RolloutDeviceRecord& m : s.members) {
    // A shadow stops (best effort: a device that missed it runs its active model anyway).
    if (m.status == "shadowing" || m.status == "staging") {
      (void)cp.Command(m.device, "unstage", {}, 10000);
      m.status = "rolled_back";
      m.message = "shadow stopped before activation";
      TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
      continue;
    }
    // Installed, healthy, or judged failed while on the new model.
    if (m.status != "installed" && m.status != "healthy" && m.status != "failed") continue;
    const auto d = s.registry.find(m.device);
    const bool on_new =
        d != s.registry.end() && ActiveVersion(HelloOf(d->second)).first == s.version;
    if (!on_new) {
      if (m.status != "failed") {  // it went back on its own (a restart while on trial)
        m.status = "rolled_back";
        m.message = "not on the new model any more";
        TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
      }
      continue;
    }
    if (!d->second.online) {
      ++left;  // when it is back
      continue;
    }
    progress.Log(fmt::format("rollout {}: {}: rolling back", s.r.id, m.device));
    auto ev = cp.Command(m.device, "rollback", {}, 60000, {}, [&] { return progress.Cancelled(); });
    if (!ev.ok() || ev->value("link_lost", false)) {
      ++left;  // tried again at the next step
      if (ev.status().code() == StatusCode::kCancelled) break;
      continue;
    }
    const bool ok = ev->value("ok", false);
    m.message = ok ? "back on its previous model (" + m.message + ")"
                   : "rollback: " + ev->value("error", std::string("refused"));
    m.status = ok ? "rolled_back" : "failed";
    TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
  }
  // Why, in the final message: the first device that failed its judgement, if any.
  std::string why = "as asked";
  for (const RolloutDeviceRecord& m : s.members)
    if (m.message.rfind("back on its previous model (", 0) == 0) {
      why = "after " + m.device + " failed: " + m.message.substr(28, m.message.size() - 29);
      break;
    }
  if (why == "as asked" && s.r.message.rfind("halted at stage ", 0) == 0)
    for (const RolloutDeviceRecord& m : s.members)
      if (m.status == "failed") {  // failed in its shadow: it never took the model
        why = "after " + m.device + " failed: " + m.message;
        break;
      }
  if (left == 0)
    TML_RETURN_IF_ERROR(
        SetStatus(db, s, {"rolling_back"}, "rolled_back", s.r.stage, "rolled back " + why)
            .status());
  else
    TML_RETURN_IF_ERROR(SetStatus(db, s, {"rolling_back"}, "rolling_back", s.r.stage,
                                  fmt::format("rolling back: {} device(s) to go", left))
                            .status());
  return Status::Ok();
}

// The error condition over the devices of the stages so far: true when it halted.
Result<bool> CheckHalt(Workspace& ws, Step& s, Progress& progress) {
  int64_t failed = 0, reached = 0;
  std::string first;
  for (const RolloutDeviceRecord& m : s.members) {
    if (m.stage > s.r.stage) continue;
    ++reached;
    if (m.status == "failed") {
      ++failed;
      if (first.empty()) first = m.device + ": " + m.message;
    }
  }
  if (reached == 0 ||
      static_cast<double>(failed) / static_cast<double>(reached) <= s.cond.max_failed_share)
    return false;
  const bool rollback = s.plan.value("rollback_on_halt", false);
  const std::string why =
      fmt::format("halted at stage {}: {} of {} device(s) failed ({}){}", s.r.stage + 1, failed,
                  reached, first, rollback ? "; rolling back" : "");
  progress.Log(fmt::format("rollout {}: {}", s.r.id, why));
  TML_RETURN_IF_ERROR(
      SetStatus(*ws.db, s, {"running"}, rollback ? "rolling_back" : "halted", s.r.stage, why)
          .status());
  return true;
}

// The rollout's packages as Deploy built them (bytes from WORKSPACE/packages/).
Status LoadPackages(const json& plan, std::vector<DeployPackage>* packages,
                    std::vector<std::vector<uint8_t>>* bytes) {
  for (const json& p : plan.value("packages", json::array())) {
    DeployPackage d;
    d.model = p.value("model", "");
    d.package_path = p.value("path", "");
    d.digest = p.value("digest", "");
    d.package_artifact = p.value("artifact", "");
    d.model_artifact = p.value("model_artifact", "");
    TML_ASSIGN_OR_RETURN(std::vector<uint8_t> b, ReadFile(d.package_path));
    auto info = InspectPackage(b);
    if (info.ok()) d.info = *info;
    packages->push_back(std::move(d));
    bytes->push_back(std::move(b));
  }
  if (packages->empty()) return Status::Internal("rollout: the plan names no package");
  return Status::Ok();
}

}  // namespace

Result<RolloutRecord> AdvanceRollout(Workspace& ws, ControlPlane& cp, int64_t id,
                                     Progress& progress) {
  MetaStore& db = *ws.db;
  Step s;
  TML_ASSIGN_OR_RETURN(s.r, GetRollout(db, id));
  if (s.r.status != "running" && s.r.status != "rolling_back") return s.r;
  s.plan = json::parse(s.r.plan, nullptr, false);
  if (!s.plan.is_object()) return Status::Internal("rollout {}: its plan is not JSON", id);
  s.cond = ConditionsFrom(s.plan.value("conditions", json::object()));
  s.version = s.plan.value("version", int64_t{0});
  s.stages = s.plan.value("stages", json::array()).size();
  TML_ASSIGN_OR_RETURN(s.members, RolloutDevices(db, id));
  TML_ASSIGN_OR_RETURN(auto all, db.ListDevices(""));
  for (DeviceRecord& d : all) s.registry.emplace(d.id, std::move(d));

  if (s.r.status == "rolling_back") {
    TML_RETURN_IF_ERROR(RollBack(ws, cp, s, progress));
    return s.r;
  }

  // Sends that broke off (the control plane died mid-send): the HELLO tells whether the
  // device took the model; only if not is it sent again.
  for (RolloutDeviceRecord& m : s.members) {
    if (m.status == "staging") {  // staged again: the device resumes or finds it has it
      m.status = "pending";
      m.message = "staging broke off; staged again";
      TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
    }
    if (m.status != "sending") continue;
    const auto d = s.registry.find(m.device);
    const bool took = d != s.registry.end() && ActiveVersion(HelloOf(d->second)).first == s.version;
    m.status = took ? "installed" : "pending";
    m.installed_ms = took ? (m.installed_ms ? m.installed_ms : d->second.last_seen_ms) : 0;
    m.message = took ? "installed (found so after a restart)" : "send broke off; sent again";
    TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
  }
  // Devices in their shadow stage: passed (then installed below), still observed, or
  // failed (the shadow stops).
  for (RolloutDeviceRecord& m : s.members) {
    if (m.status != "shadowing") continue;
    bool passed = false;
    TML_ASSIGN_OR_RETURN(std::string failure, JudgeShadow(db, s, m, &passed));
    if (failure.empty() && !passed) continue;
    m.status = passed ? "pending" : "failed";
    if (passed) {
      const json j = json::parse(m.shadow);
      m.message = fmt::format(
          "shadow passed: agrees on {:.0f}% of {} live inputs, confidence {:+.3f}",
          100 * j.value("agreement", 0.0), j.value("samples", 0), j.value("confidence_shift", 0.0));
    } else {
      m.message = failure;
      (void)cp.Command(m.device, "unstage", {}, 10000);
    }
    progress.Log(fmt::format("rollout {}: {}: {}", id, m.device, m.message));
    TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
  }
  // Devices on the new model: healthy, still observed, or failed.
  for (RolloutDeviceRecord& m : s.members) {
    if (m.status != "installed") continue;
    const auto d = s.registry.find(m.device);
    if (d == s.registry.end()) continue;
    bool healthy = false;
    TML_ASSIGN_OR_RETURN(std::string failure, Judge(db, s, m, d->second, &healthy));
    if (failure.empty() && !healthy) continue;
    m.status = failure.empty() ? "healthy" : "failed";
    m.message = failure.empty() ? "confirmed, telemetry within bounds" : failure;
    progress.Log(fmt::format("rollout {}: {}: {}", id, m.device, m.message));
    TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
  }
  TML_ASSIGN_OR_RETURN(bool halted, CheckHalt(ws, s, progress));
  if (halted) {
    if (s.r.status == "rolling_back") TML_RETURN_IF_ERROR(RollBack(ws, cp, s, progress));
    return s.r;
  }

  // Installs: the pending devices of the stages so far that are online, in waves of
  // concurrent transfers (plan "parallel", or automatic: a tenth of the stage, at most
  // 32); the halt condition is judged after each wave.
  std::vector<DeployPackage> packages;
  std::vector<std::vector<uint8_t>> bytes;
  DeployRequest q;
  q.host_checks = s.plan.value("host_checks", true);
  std::vector<RolloutDeviceRecord*> ready;
  int64_t in_current = 0;
  for (RolloutDeviceRecord& m : s.members) {
    in_current += m.stage == s.r.stage;
    if (m.status != "pending" || m.stage > s.r.stage) continue;
    const auto d = s.registry.find(m.device);
    if (d != s.registry.end() && d->second.online) ready.push_back(&m);
  }
  const int64_t parallel = s.plan.value("parallel", int64_t{0});
  const size_t wave_size = static_cast<size_t>(
      parallel > 0 ? parallel : std::min<int64_t>(32, std::max<int64_t>(1, in_current / 10)));
  for (size_t first = 0; first < ready.size(); first += wave_size) {
    // Paused or halted meanwhile (by a user): no new installs.
    TML_ASSIGN_OR_RETURN(RolloutRecord now, GetRollout(db, id));
    if (now.status != "running") return now;
    if (packages.empty()) TML_RETURN_IF_ERROR(LoadPackages(s.plan, &packages, &bytes));
    const std::vector<RolloutDeviceRecord*> wave(
        ready.begin() + static_cast<std::ptrdiff_t>(first),
        ready.begin() + static_cast<std::ptrdiff_t>(std::min(ready.size(), first + wave_size)));
    std::vector<DeviceSend> sends;
    for (RolloutDeviceRecord* m : wave) {
      const DeviceRecord& d = s.registry.at(m->device);
      // With a shadow stage the package is staged first (the gateway's own device has no
      // sensor to shadow on); once the shadow passed, installed.
      const bool stage =
          s.plan.value("shadow", false) && !ShadowPassed(*m) && !HelloOf(d).value("gateway", false);
      m->status = stage ? "staging" : "sending";
      TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, *m));
      sends.push_back(
          {d, stage, fmt::format("rollout {} stage {}: {}", id, m->stage + 1, m->device)});
    }
    TML_ASSIGN_OR_RETURN(std::vector<DeviceDeployment> outs,
                         SendToDevices(ws, cp, packages, bytes, sends, q, progress));
    bool cancelled = false;
    for (size_t i = 0; i < wave.size(); ++i) {
      RolloutDeviceRecord& m = *wave[i];
      const DeviceDeployment& out = outs[i];
      if (!sends[i].stage) m.deployment = out.deployment;
      m.package = out.package;
      m.message = out.message;
      if (out.unsent || out.cancelled) {
        // Nothing left the control plane, or it stopped waiting: not an attempt.
        m.status = "pending";
        cancelled = cancelled || out.cancelled;
      } else if (out.status == "staged") {
        m.status = "shadowing";
        m.shadow = json{{"since_ms", NowMs()}}.dump();
      } else if (out.status == "active") {
        m.status = "installed";
        m.installed_ms = NowMs();
      } else if (out.status == "failed" && ++m.attempts < s.cond.max_attempts) {
        m.status = "pending";  // the link or the broker broke off: sent again
        m.message = fmt::format("attempt {} broke off: {}", m.attempts, out.message);
      } else {
        m.status = "failed";
      }
      TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, m));
    }
    if (cancelled) return s.r;
    TML_ASSIGN_OR_RETURN(bool now_halted, CheckHalt(ws, s, progress));
    if (now_halted) {
      if (s.r.status == "rolling_back") TML_RETURN_IF_ERROR(RollBack(ws, cp, s, progress));
      return s.r;
    }
  }

  // The success condition of the current stage.
  int64_t in_stage = 0, healthy = 0, waiting = 0;
  for (const RolloutDeviceRecord& m : s.members) {
    if (m.stage > s.r.stage) continue;
    ++in_stage;
    healthy += m.status == "healthy";
    waiting += m.status == "pending" || m.status == "staging" || m.status == "shadowing" ||
               m.status == "sending" || m.status == "installed";
  }
  const bool last = static_cast<size_t>(s.r.stage) + 1 >= s.stages;
  const bool met = in_stage > 0 && static_cast<double>(healthy) / static_cast<double>(in_stage) >=
                                       s.cond.success_share - 1e-9;
  std::string message;
  if (met && !last) {
    const int64_t next = s.r.stage + 1;
    message = fmt::format("stage {} of {}: {} device(s)", next + 1, s.stages,
                          s.plan["stages"][static_cast<size_t>(next)].get<int64_t>());
    progress.Log(fmt::format("rollout {}: stage {} passed ({} of {} healthy); {}", id,
                             s.r.stage + 1, healthy, in_stage, message));
    TML_RETURN_IF_ERROR(SetStatus(db, s, {"running"}, "running", next, message).status());
    return s.r;
  }
  if (met && last && waiting == 0) {
    message = fmt::format("done: {} of {} device(s) healthy", healthy, in_stage);
    progress.Log(fmt::format("rollout {}: {}", id, message));
    TML_RETURN_IF_ERROR(SetStatus(db, s, {"running"}, "done", s.r.stage, message).status());
    return s.r;
  }
  message = fmt::format("stage {} of {}: {} of {} device(s) healthy, {} waiting", s.r.stage + 1,
                        s.stages, healthy, in_stage, waiting);
  if (message != s.r.message)
    TML_RETURN_IF_ERROR(SetStatus(db, s, {"running"}, "running", s.r.stage, message).status());
  return s.r;
}

Result<RolloutRecord> ControlRollout(MetaStore& db, int64_t id, const std::string& action) {
  TML_ASSIGN_OR_RETURN(RolloutRecord r, GetRollout(db, id));
  std::vector<std::string> from;
  std::string to, message;
  if (action == "pause") {
    from = {"running"}, to = "paused", message = "paused: no new installs until resumed";
  } else if (action == "resume") {
    from = {"paused", "halted"}, to = "running", message = "resumed";
  } else if (action == "halt") {
    from = {"running", "paused"}, to = "halted", message = "halted by a user: no new installs";
  } else if (action == "rollback") {
    from = {"running", "paused", "halted", "done"}, to = "rolling_back",
    message = "rollback asked for: the devices that took the model go back";
  } else {
    return Status::Errorf("rollout: unknown action '{}' (pause, resume, halt, rollback)", action);
  }
  TML_ASSIGN_OR_RETURN(bool changed, UpdateRollout(db, id, from, to, r.stage, message));
  if (!changed) {
    auto now = GetRollout(db, id);
    return Status::FailedPrecondition("rollout {} is {}: cannot {} it", id,
                                      now.ok() ? now->status : r.status, action);
  }
  return GetRollout(db, id);
}

Result<json> RolloutJson(MetaStore& db, int64_t id) {
  TML_ASSIGN_OR_RETURN(RolloutRecord r, GetRollout(db, id));
  TML_ASSIGN_OR_RETURN(auto members, RolloutDevices(db, id));
  const json plan = json::parse(r.plan, nullptr, false);
  json stages = json::array();
  const json sizes = plan.is_object() ? plan.value("stages", json::array()) : json::array();
  for (size_t k = 0; k < sizes.size(); ++k) {
    json counts = json::object();
    for (const RolloutDeviceRecord& m : members)
      if (static_cast<size_t>(m.stage) == k) counts[m.status] = counts.value(m.status, 0) + 1;
    stages.push_back({{"stage", k + 1}, {"devices", sizes[k]}, {"status", counts}});
  }
  json devices = json::array();
  for (const RolloutDeviceRecord& m : members) {
    const json shadow = json::parse(m.shadow.empty() ? "null" : m.shadow, nullptr, false);
    devices.push_back({{"device", m.device},
                       {"stage", m.stage + 1},
                       {"status", m.status},
                       {"package", m.package},
                       {"deployment", m.deployment},
                       {"attempts", m.attempts},
                       {"installed_ms", m.installed_ms},
                       {"shadow", shadow.is_discarded() ? json() : shadow},
                       {"message", m.message}});
  }
  return json{{"id", r.id},
              {"group", r.group},
              {"model", r.model},
              {"status", r.status},
              {"stage", r.stage + 1},
              {"message", r.message},
              {"created_ms", r.created_ms},
              {"updated_ms", r.updated_ms},
              {"plan", plan},
              {"stages", stages},
              {"devices", devices}};
}

}  // namespace tml
