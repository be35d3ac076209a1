// The fleet: devices (registry, version history, telemetry), rollouts (create, follow,
// pause / resume / halt / rollback), drift against a model's evaluation, and alerts.
// A running `tinymlaas control` carries rollouts out and stores what devices report;
// these routes read and write the same store.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "app/deploy.h"
#include "app/drift.h"
#include "app/rollout.h"
#include "core/clock.h"
#include "core/path_under.h"
#include "pipeline/lineage.h"
#include "server/api.h"
#include "server/schemas.h"
#include "store/record_json.h"
#include "store/telemetry_store.h"

namespace tml {
namespace {

using json = nlohmann::json;

std::string QueryText(const ApiRequest& q, const std::string& k, const std::string& def = "") {
  auto it = q.query.find(k);
  return it == q.query.end() ? def : it->second;
}

// A positive whole number of seconds, at most a year (default when absent).
Result<int64_t> QuerySeconds(const ApiRequest& q, const std::string& k, int64_t def) {
  auto it = q.query.find(k);
  if (it == q.query.end()) return def;
  auto v = ParseId(it->second);
  if (!v.ok() || *v > 366LL * 86400) return Status::Errorf("{}: seconds, 1 to 31622400", k);
  return *v;
}

// A model named by the API: an artifact of the workspace (id or unique prefix) with a
// file, or a file under the directories the server reads files from.
Result<std::string> ModelFile(ApiContext& c, MetaStore& db, const std::string& model) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (model.find('/') != std::string::npos) {
    if (PathUnder(model, c.file_roots) && fs::is_regular_file(model, ec)) return model;
    return Status::Errorf("model '{}': not a file under the directories this server reads ({})",
                          model, fmt::join(c.file_roots, ", "));
  }
  auto a = ResolveArtifact(db, model, false);
  if (!a.ok()) return a.status();
  if (a->path.empty() || !fs::is_regular_file(a->path, ec))
    return Status::Errorf("model '{}': artifact {} has no file", model, a->id);
  return a->path;
}

void AddDeviceRoutes(std::vector<Route>& r) {
  Route list{"GET", "/api/devices",
             "The device registry: online state, capabilities (the HELLO), groups", "fleet"};
  list.query = {{"group", "only this group's devices", {{"type", "string"}}}};
  list.handler = [](ApiContext& c, const ApiRequest& q) {
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto devices = ws->db->ListDevices(QueryText(q, "group"));
    if (!devices.ok()) return FromStatus(devices.status());
    json out = json::array();
    for (const DeviceRecord& d : *devices) out.push_back(DeviceViewJson(d));
    return Json(out);
  };
  list.response = schema::Array(schema::Device());
  r.push_back(list);

  Route one{"GET", "/api/devices/{id}",
            "One device with its deployments, newest first (its version history)", "fleet"};
  one.handler = [](ApiContext& c, const ApiRequest& q) {
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto j = DeviceDetailJson(*ws->db, q.path.at("id"));
    if (!j.ok()) return FromStatus(j.status());
    return Json(*j);
  };
  one.response = schema::DeviceDetail();
  r.push_back(one);

  Route tel{"GET", "/api/devices/{id}/telemetry",
            "A device's per-minute telemetry, its newest inferences (live charts) and the newest "
            "keywords it heard",
            "fleet"};
  tel.query = {{"since_s", "how far back, in seconds (default 3600)", {{"type", "integer"}}},
               {"recent",
                "how many of the newest inferences and detections (default 50, at most 500)",
                {{"type", "integer"}}}};
  tel.handler = [](ApiContext& c, const ApiRequest& q) {
    auto since = QuerySeconds(q, "since_s", 3600);
    if (!since.ok()) return ApiError(400, since.status().message());
    auto recent = QuerySeconds(q, "recent", 50);
    if (!recent.ok() || *recent > 500) return ApiError(400, "recent: 1 to 500");
    const std::string& id = q.path.at("id");
    WorkspacePool::Lease ws = c.pool.Acquire();
    if (auto d = ws->db->GetDevice(id); !d.ok()) return FromStatus(d.status());
    TelemetryQuery tq;
    tq.device = id;
    tq.since_ms = NowMs() - *since * 1000;
    auto minutes = FindTelemetryMinutes(*ws->db, tq);
    if (!minutes.ok()) return FromStatus(minutes.status());
    // Inferences: the sensor's (telemetry) and those asked for (result), newest first.
    std::vector<TelemetryRecord> raw;
    for (const char* kind : {"telemetry", "result"}) {
      auto got = RecentTelemetry(*ws->db, id, kind, *recent);
      if (!got.ok()) return FromStatus(got.status());
      raw.insert(raw.end(), got->begin(), got->end());
    }
    std::sort(raw.begin(), raw.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
    if (raw.size() > static_cast<size_t>(*recent)) raw.resize(static_cast<size_t>(*recent));
    // Keywords a listening device heard (fleet/listen.h), newest first.
    auto heard = RecentTelemetry(*ws->db, id, "detection", *recent);
    if (!heard.ok()) return FromStatus(heard.status());
    json m = json::array(), rec = json::array(), det = json::array();
    for (const TelemetryMinute& x : *minutes) m.push_back(TelemetryMinuteJson(x));
    for (const TelemetryRecord& x : raw) rec.push_back(TelemetryRecordJson(x));
    for (const TelemetryRecord& x : *heard) det.push_back(TelemetryRecordJson(x));
    return Json({{"device", id},
                 {"since_ms", tq.since_ms},
                 {"minutes", m},
                 {"recent", rec},
                 {"detections", det}});
  };
  tel.response = schema::DeviceTelemetry();
  r.push_back(tel);
}

void AddRolloutRoutes(std::vector<Route>& r) {
  Route list{"GET", "/api/rollouts", "Rollouts, newest first, with per-stage counts", "fleet"};
  list.handler = [](ApiContext& c, const ApiRequest&) {
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto all = ListRollouts(*ws->db, "");
    if (!all.ok()) return FromStatus(all.status());
    json out = json::array();
    for (const RolloutRecord& x : *all) {
      auto j = RolloutJson(*ws->db, x.id);
      if (!j.ok()) return FromStatus(j.status());
      j->erase("devices");
      out.push_back(*j);
    }
    return Json(out);
  };
  list.response = schema::Array(schema::Rollout());
  r.push_back(list);

  Route one{"GET", "/api/rollouts/{id}", "One rollout: plan, stages and every device", "fleet"};
  one.handler = [](ApiContext& c, const ApiRequest& q) {
    auto id = ParseId(q.path.at("id"));
    if (!id.ok()) return ApiError(400, id.status().message());
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto j = RolloutJson(*ws->db, *id);
    if (!j.ok()) return FromStatus(j.status());
    return Json(*j);
  };
  one.response = schema::Rollout();
  r.push_back(one);

  Route create{"POST", "/api/rollouts",
               "Start a staged rollout of a model to a group (a running `tinymlaas control` "
               "carries it out); the fields are those of `tinymlaas rollout create`",
               "fleet"};
  const json text = {{"type", "string"}, {"maxLength", 1000}};
  create.body = {{"type", "object"},
                 {"required", {"model", "group"}},
                 {"additionalProperties", false},
                 {"properties",
                  {{"model", {{"type", "string"}, {"minLength", 1}, {"maxLength", 1000}}},
                   {"group", {{"type", "string"}, {"pattern", "[A-Za-z0-9][A-Za-z0-9_.-]{0,62}"}}},
                   {"stages", text},
                   {"canary", text},
                   {"halt_on", text},
                   {"reference", text},
                   {"version", {{"type", "integer"}, {"minimum", 0}, {"maximum", 4294967295LL}}},
                   {"shadow", {{"type", "boolean"}}},
                   {"parallel", {{"type", "integer"}, {"minimum", 0}, {"maximum", 256}}},
                   {"rollback_on_halt", {{"type", "boolean"}}},
                   {"profile_latency", {{"type", "boolean"}}}}}};
  create.success = 201;
  create.handler = [](ApiContext& c, const ApiRequest& q) {
    const json& b = q.body;
    WorkspacePool::Lease ws = c.pool.Acquire();
    RolloutRequest rq;
    auto model = ModelFile(c, *ws->db, b["model"].get<std::string>());
    if (!model.ok()) return FromStatus(model.status());
    rq.deploy.model = *model;
    rq.deploy.group = b["group"].get<std::string>();
    rq.deploy.version = b.value("version", 0u);
    if (Status s = ParseStagesAndCanary(b.value("stages", "10,50,100"), b.value("canary", ""), &rq);
        !s.ok())
      return ApiError(400, s.message());
    if (Status s = ParseHaltOn(b.value("halt_on", ""), &rq.conditions); !s.ok())
      return ApiError(400, s.message());
    rq.reference_data = b.value("reference", "");
    rq.shadow = b.value("shadow", false);
    rq.parallel = b.value("parallel", 0);
    rq.rollback_on_halt = b.value("rollback_on_halt", false);
    rq.profile_latency = b.value("profile_latency", false);
    Progress quiet;
    auto made = CreateRollout(*ws, rq, quiet);
    if (!made.ok()) return FromStatus(made.status());
    auto j = RolloutJson(*ws->db, made->id);
    if (!j.ok()) return FromStatus(j.status());
    return Json(*j, 201);
  };
  create.response = schema::Rollout();
  r.push_back(create);

  Route act{"POST", "/api/rollouts/{id}/{action}",
            "pause (no new installs), resume, halt, or rollback (the devices that took the "
            "model go back to their previous confirmed one)",
            "fleet"};
  act.handler = [](ApiContext& c, const ApiRequest& q) {
    auto id = ParseId(q.path.at("id"));
    if (!id.ok()) return ApiError(400, id.status().message());
    const std::string& action = q.path.at("action");
    if (action != "pause" && action != "resume" && action != "halt" && action != "rollback")
      return ApiError(404, fmt::format("rollouts: no action '{}' (pause, resume, halt, rollback)",
                                       action.substr(0, 40)));
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto done = ControlRollout(*ws->db, *id, action);
    if (!done.ok()) return FromStatus(done.status());
    auto j = RolloutJson(*ws->db, *id);
    if (!j.ok()) return FromStatus(j.status());
    return Json(*j);
  };
  act.response = schema::Rollout();
  r.push_back(act);
}

void AddDriftRoutes(std::vector<Route>& r) {
  Route drift{"GET", "/api/drift",
              "Live class and confidence histograms of a group's devices against a model's "
              "evaluation (population stability index), per device and for the group: of a "
              "rollout (its reference and version), or of a model on an evaluation set. "
              "Measures only: `tinymlaas drift` and the control plane record alerts",
              "fleet"};
  drift.query = {
      {"rollout",
       "a rollout with a reference (its group, version and evaluation)",
       {{"type", "integer"}}},
      {"model", "else: a model (artifact id or file) ...", {{"type", "string"}}},
      {"data", "... evaluated on DATASET[@V][@SPLIT] ...", {{"type", "string"}}},
      {"group", "... for this group's devices", {{"type", "string"}}},
      {"since_s", "telemetry of how far back, in seconds (default 3600)", {{"type", "integer"}}},
      {"threshold", "PSI above which a device drifts (default 0.25)", {{"type", "number"}}}};
  drift.handler = [](ApiContext& c, const ApiRequest& q) {
    auto since = QuerySeconds(q, "since_s", 3600);
    if (!since.ok()) return ApiError(400, since.status().message());
    DriftQuery dq;
    dq.since_ms = NowMs() - *since * 1000;
    dq.record_alerts = false;
    if (const std::string t = QueryText(q, "threshold"); !t.empty()) {
      char* end = nullptr;
      dq.threshold = std::strtod(t.c_str(), &end);
      if (!end || *end || !(dq.threshold > 0) || dq.threshold > 100)
        return ApiError(400, "threshold: a number above 0");
    }
    WorkspacePool::Lease ws = c.pool.Acquire();
    DriftReference ref;
    if (const std::string rid = QueryText(q, "rollout"); !rid.empty()) {
      auto id = ParseId(rid);
      if (!id.ok()) return ApiError(400, id.status().message());
      auto made = RolloutReference(*ws->db, *id, &dq);
      if (!made.ok()) return FromStatus(made.status());
      ref = std::move(*made);
    } else {
      const std::string model = QueryText(q, "model"), data = QueryText(q, "data");
      dq.group = QueryText(q, "group");
      if (model.empty() || data.empty() || dq.group.empty())
        return ApiError(400, "drift: a rollout, or a model, data and a group");
      auto file = ModelFile(c, *ws->db, model);
      if (!file.ok()) return FromStatus(file.status());
      Progress quiet;
      auto made = EvaluationReference(*ws, *file, data, 200, quiet);
      if (!made.ok()) return FromStatus(made.status());
      ref = std::move(*made);
    }
    auto report = MeasureDrift(*ws->db, ref, dq);
    if (!report.ok()) return FromStatus(report.status());
    return Json(DriftJson(ref, *report, dq.threshold));
  };
  drift.response = schema::Drift();
  r.push_back(drift);

  Route alerts{"GET", "/api/alerts", "Alerts (drifting devices and groups), newest first", "fleet"};
  alerts.query = {{"subject", "device:ID or group:G", {{"type", "string"}}}};
  alerts.handler = [](ApiContext& c, const ApiRequest& q) {
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto all = ListAlerts(*ws->db, QueryText(q, "subject"), 100);
    if (!all.ok()) return FromStatus(all.status());
    json out = json::array();
    for (const AlertRecord& a : *all) out.push_back(AlertJson(a));
    return Json(out);
  };
  alerts.response = schema::Array(schema::Alert());
  r.push_back(alerts);
}

}  // namespace

void AddFleetRoutes(std::vector<Route>& r) {
  AddDeviceRoutes(r);
  AddRolloutRoutes(r);
  AddDriftRoutes(r);
}

}  // namespace tml
