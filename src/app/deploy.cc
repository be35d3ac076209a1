#include "app/deploy.h"

#include <filesystem>
#include <mutex>
#include <thread>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "fleet/device_link.h"
#include "formats/import.h"
#include "store/record_json.h"

namespace tml {

namespace fs = std::filesystem;
using nlohmann::json;

int DeployOutcome::active() const {
  int n = 0;
  for (const auto& d : devices) n += d.status == "active";
  return n;
}

Result<DeviceBudget> BudgetFromHello(const json& h) {
  DeviceBudget b;
  try {
    b.arena = h.at("arena_bytes").get<int64_t>();
    b.scratch = h.at("scratch_bytes").get<int64_t>();
    b.slot = h.at("slot_bytes").get<int64_t>();
    b.opset = h.at("opset").get<uint64_t>();
    b.format = h.at("package_format").get<uint32_t>();
    b.kernel_abi = h.at("kernel_abi").get<uint32_t>();
  } catch (const json::exception& e) {
    return Status::Errorf("the device's HELLO lacks a capability: {}", e.what());
  }
  return b;
}

Result<SyncReport> SyncRegistry(Workspace& ws, const ControlOptions& broker) {
  TML_ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(broker));
  return cp->Sync(*ws.db);
}

namespace {

// The model's artifact: the one this workspace made (named by content hash), else the
// file recorded as a model file.
Result<std::string> ModelArtifactOf(MetaStore& db, const std::string& path) {
  TML_ASSIGN_OR_RETURN(std::string hash, Sha256File(path));
  hash = hash.substr(0, 32);
  if (db.GetArtifact("model:" + hash).ok()) return "model:" + hash;
  TML_RETURN_IF_ERROR(db.PutArtifact({"file:" + hash, "model file", path, path, "{}", {}, 0}));
  return "file:" + hash;
}

Result<std::vector<DeviceRecord>> Targets(MetaStore& db, const DeployRequest& q) {
  if (!q.group.empty()) {
    TML_ASSIGN_OR_RETURN(auto in_group, db.ListDevices(q.group));
    if (in_group.empty())
      return Status::NotFound("deploy: no device in group '{}' (tinymlaas devices list)", q.group);
    return in_group;
  }
  std::vector<DeviceRecord> out;
  for (const std::string& id : q.devices) {
    auto d = db.GetDevice(id);
    if (!d.ok())
      return d.status().Wrap(
          "deploy (the registry knows the devices agents announce; "
          "tinymlaas devices list)");
    out.push_back(std::move(*d));
  }
  return out;
}

// The package's bytes: a built package as it is, or the model packaged and signed.
Result<std::vector<uint8_t>> PackageBytes(Workspace& ws, const DeployRequest& q, uint32_t version,
                                          Progress& progress) {
  if (fs::path(q.model).extension() == ".tmlp") return ReadFile(q.model);
  progress.Log("packaging " + q.model + " as version " + std::to_string(version));
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(q.model));
  PackageOptions po;
  po.model_version = version;
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, WritePackage(g, po));
  std::string key = q.signing_key;
  if (key.empty() && fs::exists(fs::path(DefaultKeyDir(ws.root)) / "signing.key"))
    key = (fs::path(DefaultKeyDir(ws.root)) / "signing.key").string();
  if (key.empty()) {
    progress.Log("warning: no signing key (tinymlaas keys create); the package is unsigned");
    return bytes;
  }
  progress.Log("signing with " + key);
  return SignPackage(bytes, key);
}

}  // namespace

Result<std::optional<DeploymentRecord>> ActiveDeployment(MetaStore& db, const DeviceRecord& d) {
  const json hello = json::parse(d.capabilities, nullptr, false);
  const auto active = HelloActiveSlot(hello);
  if (!active) return std::optional<DeploymentRecord>();
  TML_ASSIGN_OR_RETURN(auto all, db.ListDeployments(d.id));
  for (const DeploymentRecord& r : all) {
    if (r.status != "active" || r.version != active->version) continue;
    auto pkg = db.GetArtifact(r.package);
    if (!pkg.ok()) continue;
    const json meta = json::parse(pkg->metadata, nullptr, false);
    if (meta.is_object() && meta.value("model_id", "") == active->model_id)
      return std::optional<DeploymentRecord>(r);
  }
  return std::optional<DeploymentRecord>();
}

json DeviceViewJson(const DeviceRecord& d) {
  json j = DeviceJson(d);
  const auto a = HelloActiveSlot(j["capabilities"]);
  j["active"] = a ? json{{"slot", a->slot},
                         {"version", a->version},
                         {"state", a->state},
                         {"model_id", a->model_id}}
                  : json();
  return j;
}

Result<json> DeviceDetailJson(MetaStore& db, const std::string& id) {
  TML_ASSIGN_OR_RETURN(DeviceRecord d, db.GetDevice(id));
  TML_ASSIGN_OR_RETURN(auto deployments, db.ListDeployments(id));
  TML_ASSIGN_OR_RETURN(auto active, ActiveDeployment(db, d));
  json history = json::array();
  for (const DeploymentRecord& r : deployments) history.push_back(DeploymentJson(r));
  return json{{"device", DeviceViewJson(d)},
              {"deployments", history},
              {"active_deployment", active ? json(active->id) : json()}};
}

namespace {

// One model packaged for this deployment: stored in WORKSPACE/packages/ and recorded
// as a lineage artifact made from the model.
Result<DeployPackage> BuildPackage(Workspace& ws, const DeployRequest& q, const std::string& model,
                                   uint32_t version, Progress& progress,
                                   std::vector<uint8_t>* bytes) {
  MetaStore& db = *ws.db;
  DeployPackage p;
  p.model = model;
  DeployRequest one = q;
  one.model = model;
  TML_ASSIGN_OR_RETURN(*bytes, PackageBytes(ws, one, version, progress));
  auto info = InspectPackage(*bytes);
  if (!info.ok() && q.host_checks) return info.status().Wrap("deploy: " + model);
  if (info.ok()) p.info = *info;
  // Named by all its bytes, signature included: one model signed by two keys is two
  // packages.
  p.digest = Sha256Hex(bytes->data(), bytes->size());
  const fs::path dir = fs::path(ws.root) / "packages";
  fs::create_directories(dir);
  p.package_path = (dir / (p.digest.substr(0, 32) + ".tmlp")).string();
  TML_RETURN_IF_ERROR(WriteFileAtomically(p.package_path, bytes->data(), bytes->size()));
  std::vector<std::string> parents;
  if (fs::path(model).extension() != ".tmlp") {
    TML_ASSIGN_OR_RETURN(p.model_artifact, ModelArtifactOf(db, model));
    parents.push_back(p.model_artifact);
  }
  p.package_artifact = "package:" + p.digest.substr(0, 32);
  TML_RETURN_IF_ERROR(db.PutArtifact(
      {p.package_artifact, "model package",
       fmt::format("{} v{}", p.info.name.empty() ? "package" : p.info.name, p.info.model_version),
       p.package_path, info.ok() ? PackageInfoJson(*info).dump() : "{}", parents, 0}));
  return p;
}

// Whether the host sees the package fit the device (its HELLO): the reason when not.
Status HostFit(const DeployPackage& p, const DeviceRecord& d, const json& hello) {
  TML_ASSIGN_OR_RETURN(DeviceBudget budget, BudgetFromHello(hello));
  TML_RETURN_IF_ERROR(CheckFit(p.info, d.id, budget));
  const uint32_t confirmed = hello.is_object() ? hello.value("confirmed_version", 0u) : 0;
  if (p.info.model_version < confirmed)
    return Status::FailedPrecondition(
        "downgrade: version {} is older than version {}, the last {} confirmed",
        p.info.model_version, confirmed, d.id);
  return Status::Ok();
}

}  // namespace

namespace {

// A send in three parts: the host's checks and the deployment row (the store, one
// thread), the transfer (the broker only: several at once), the outcome recorded (the
// store). With stage, the same transfer without activation or records.
struct Send {
  const DeviceSend* in = nullptr;
  DeviceDeployment r;
  size_t pick = 0;
  bool transfer = false;  // passed the checks: the bytes go
};

Status Prepare(Workspace& ws, ControlPlane& cp, const std::vector<DeployPackage>& packages,
               const DeployRequest& q, Progress& progress, Send& s) {
  MetaStore& db = *ws.db;
  const DeviceRecord& d = s.in->device;
  DeviceDeployment& r = s.r;
  r.device = d.id;
  r.status = "refused";
  r.version = packages[0].info.model_version;
  const json hello = json::parse(d.capabilities, nullptr, false);
  // The first package that fits (the host's checks), or every reason.
  Status fit = Status::Ok();
  if (!d.online) {
    fit = Status::Unavailable("offline: its agent '{}' is offline", d.agent);
  } else if (q.host_checks) {
    std::string reasons;
    for (s.pick = 0; s.pick < packages.size(); ++s.pick) {
      fit = HostFit(packages[s.pick], d, hello);
      if (fit.ok()) break;
      reasons += fmt::format("{}{}: {}", reasons.empty() ? "" : "; ",
                             fs::path(packages[s.pick].model).filename().string(), fit.message());
    }
    if (!fit.ok() && packages.size() > 1)
      fit =
          Status::FailedPrecondition("none of the {} packages fits: {}", packages.size(), reasons);
  }
  if (!fit.ok()) s.pick = 0;
  const DeployPackage& p = packages[s.pick];
  r.package = p.package_artifact;
  r.version = p.info.model_version;
  if (!fit.ok()) {
    r.message = fit.message();
    progress.Log(s.in->where + ": refused: " + r.message);
    if (s.in->stage) return Status::Ok();
    TML_ASSIGN_OR_RETURN(r.deployment,
                         db.AddDeployment({0, d.id, p.model_artifact, p.package_artifact, r.version,
                                           "refused", r.message, 0, 0}));
    return Status::Ok();
  }
  if (!cp.connected()) {  // nothing can leave: not an attempt that broke off
    r.status = "failed";
    r.unsent = true;
    r.message = "the control plane is not connected to the broker (it reconnects on its own)";
    return Status::Ok();
  }
  s.transfer = true;
  if (!s.in->stage) {
    TML_ASSIGN_OR_RETURN(r.deployment,
                         db.AddDeployment({0, d.id, p.model_artifact, p.package_artifact, r.version,
                                           "sending", "", 0, 0}));
  }
  return Status::Ok();
}

// The transfer and the device's answer into s.r: the broker only, no store.
void Transfer(ControlPlane& cp, const std::vector<DeployPackage>& packages,
              const std::vector<std::vector<uint8_t>>& bytes, const DeployRequest& q,
              Progress& progress, Send& s) {
  const DeviceRecord& d = s.in->device;
  DeviceDeployment& r = s.r;
  const DeployPackage& p = packages[s.pick];
  const std::vector<uint8_t>& payload = bytes[s.pick];
  const std::string command = s.in->stage ? "stage" : "deploy";
  progress.Log(fmt::format("{}: {} {} ({} bytes) through agent {}", s.in->where,
                           s.in->stage ? "staging" : "deploying",
                           fs::path(p.model).filename().string(), payload.size(), d.agent));
  const auto on_progress = [&](const json& e) {
    const int64_t done = e.value("done", int64_t{0}), total = e.value("total", int64_t{0});
    if (e.value("start", false) && e.value("from_cache", false)) {
      r.from_cache = true;
      progress.Log(s.in->where + ": the package is in agent " + d.agent + "'s cache");
    }
    if (e.value("start", false) && done > 0)
      progress.Log(
          fmt::format("{}: resuming a cut transfer at byte {} of {}", s.in->where, done, total));
    progress.Advance(done, total, d.id);
  };
  // By reference first: the agent may hold the package already (another of its
  // devices took it, or an earlier attempt); the bytes only when it does not.
  const std::string ref = json{{"package", p.digest}}.dump();
  const auto cancelled = [&] { return progress.Cancelled(); };
  auto ev = cp.Command(d.id, command, std::vector<uint8_t>(ref.begin(), ref.end()), q.timeout_ms,
                       on_progress, cancelled);
  if (ev.ok() && ev->value("not_cached", false))
    ev = cp.Command(d.id, command, payload, q.timeout_ms, on_progress, cancelled);
  if (!ev.ok()) {
    r.status = "failed";
    r.message = ev.status().message();
    r.cancelled = ev.status().code() == StatusCode::kCancelled;
  } else if (ev->value("link_lost", false)) {
    r.status = "failed";
    r.message = ev->value("error", std::string("the device link broke"));
  } else if (ev->value("ok", false)) {
    r.status = s.in->stage ? "staged" : "active";
    r.message = fmt::format("version {} {}", ev->value("model_version", r.version),
                            s.in->stage ? "staged beside the active model" : "running");
  } else {
    r.message = ev->value("error", std::string("the device refused the package"));
  }
  progress.Log(fmt::format("{}: {}: {}", s.in->where, r.status, r.message));
}

// The outcome of a transfer recorded: the deployment row, and a lineage artifact when
// the device took the package.
Status Finish(Workspace& ws, const std::vector<DeployPackage>& packages, const Send& s) {
  if (s.in->stage || !s.transfer) return Status::Ok();
  MetaStore& db = *ws.db;
  const DeviceDeployment& r = s.r;
  const DeployPackage& p = packages[s.pick];
  TML_RETURN_IF_ERROR(db.FinishDeployment(r.deployment, r.status, r.message));
  if (r.status != "active") return Status::Ok();
  return db.PutArtifact(
      {"deployment:" + std::to_string(r.deployment),
       "deployment",
       fmt::format("{} v{} on {}", p.info.name, r.version, s.in->device.id),
       "",
       json{{"device", s.in->device.id}, {"agent", s.in->device.agent}, {"version", r.version}}
           .dump(),
       {p.package_artifact},
       0});
}

// Progress shared by the transfers of several threads: one call at a time.
class LockedProgress : public Progress {
 public:
  explicit LockedProgress(Progress& inner) : inner_(inner) {}
  void Log(const std::string& line) override {
    std::lock_guard<std::mutex> l(mu_);
    inner_.Log(line);
  }
  void Advance(int64_t done, int64_t total, const std::string& status) override {
    std::lock_guard<std::mutex> l(mu_);
    inner_.Advance(done, total, status);
  }
  void Event(const json& event) override {
    std::lock_guard<std::mutex> l(mu_);
    inner_.Event(event);
  }
  bool Cancelled() override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_.Cancelled();
  }

 private:
  Progress& inner_;
  std::mutex mu_;
};

}  // namespace

Result<std::vector<DeviceDeployment>> SendToDevices(Workspace& ws, ControlPlane& cp,
                                                    const std::vector<DeployPackage>& packages,
                                                    const std::vector<std::vector<uint8_t>>& bytes,
                                                    const std::vector<DeviceSend>& sends,
                                                    const DeployRequest& q, Progress& progress) {
  std::vector<Send> all(sends.size());
  for (size_t i = 0; i < sends.size(); ++i) {
    all[i].in = &sends[i];
    TML_RETURN_IF_ERROR(Prepare(ws, cp, packages, q, progress, all[i]));
  }
  std::vector<Send*> going;
  for (Send& s : all)
    if (s.transfer) going.push_back(&s);
  if (going.size() == 1) {
    Transfer(cp, packages, bytes, q, progress, *going[0]);
  } else {
    // Each transfer waits for its own device's answer; the store stays on this thread.
    LockedProgress shared(progress);
    std::vector<std::thread> threads;
    for (Send* s : going)
      threads.emplace_back([&, s] { Transfer(cp, packages, bytes, q, shared, *s); });
    for (std::thread& t : threads) t.join();
  }
  std::vector<DeviceDeployment> out;
  for (const Send& s : all) {
    TML_RETURN_IF_ERROR(Finish(ws, packages, s));
    out.push_back(s.r);
  }
  return out;
}

uint32_t NextVersion(const std::vector<DeviceRecord>& devices) {
  uint32_t version = 0;
  for (const DeviceRecord& d : devices) {
    const json h = json::parse(d.capabilities, nullptr, false);
    if (h.is_object()) version = std::max(version, h.value("confirmed_version", 0u));
    if (auto a = HelloActiveSlot(h)) version = std::max(version, static_cast<uint32_t>(a->version));
  }
  return version + 1;
}

Result<std::vector<DeployPackage>> BuildDeployPackages(Workspace& ws, const DeployRequest& q,
                                                       uint32_t version, Progress& progress,
                                                       std::vector<std::vector<uint8_t>>* bytes) {
  std::vector<DeployPackage> out;
  std::vector<std::string> models = {q.model};
  models.insert(models.end(), q.alternatives.begin(), q.alternatives.end());
  bytes->clear();
  for (const std::string& m : models) {
    bytes->emplace_back();
    TML_ASSIGN_OR_RETURN(DeployPackage p,
                         BuildPackage(ws, q, m, version, progress, &bytes->back()));
    out.push_back(std::move(p));
  }
  return out;
}

Result<DeployOutcome> Deploy(Workspace& ws, const DeployRequest& q, Progress& progress) {
  MetaStore& db = *ws.db;
  if (q.devices.empty() == q.group.empty())
    return Status::Error("deploy: name devices (--device ID) or a group (--group G), not both");
  progress.Log(
      fmt::format("control plane: broker {}:{}", q.broker.broker_host, q.broker.broker_port));
  TML_ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(q.broker));
  TML_RETURN_IF_ERROR(cp->Sync(db).status());
  TML_ASSIGN_OR_RETURN(std::vector<DeviceRecord> targets, Targets(db, q));

  // Every candidate packaged once, in the order of preference.
  DeployOutcome out;
  std::vector<std::vector<uint8_t>> bytes;
  TML_ASSIGN_OR_RETURN(
      out.packages,
      BuildDeployPackages(ws, q, q.version ? q.version : NextVersion(targets), progress, &bytes));
  out.package_path = out.packages[0].package_path;
  out.package_artifact = out.packages[0].package_artifact;
  out.model_artifact = out.packages[0].model_artifact;
  out.info = out.packages[0].info;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (progress.Cancelled()) break;
    TML_ASSIGN_OR_RETURN(
        std::vector<DeviceDeployment> r,
        SendToDevices(
            ws, *cp, out.packages, bytes,
            {{targets[i], false, fmt::format("[{}/{}] {}", i + 1, targets.size(), targets[i].id)}},
            q, progress));
    out.devices.push_back(std::move(r[0]));
  }
  TML_RETURN_IF_ERROR(cp->Sync(db).status());  // the HELLOs the agents refreshed
  if (progress.Cancelled()) {
    std::string done;
    for (const DeviceDeployment& d : out.devices)
      done += fmt::format("{}{} {}", done.empty() ? "" : ", ", d.device, d.status);
    return Status::Cancelled(
        "deploy: stopped after {} of {} device(s) ({}); the others were not sent to",
        out.devices.size(), targets.size(), done.empty() ? "none" : done);
  }
  return out;
}

}  // namespace tml
