#include "apps/cli_fleet.h"

#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "app/deploy.h"
#include "apps/cli_broker.h"
#include "apps/cli_common.h"
#include "fleet/broker_auth.h"
#include "fleet/device_link.h"
#include "formats/import.h"
#include "pipeline/lineage.h"
#include "store/record_json.h"

namespace tml::cli {
namespace {

using nlohmann::json;

struct FleetArgs : BrokerArgs {
  std::string workspace, group, model, key, id;
  std::vector<std::string> devices, groups, models;
  uint32_t version = 0;
  bool json = false, sync = false, skip_host_checks = false;
};

struct AuthArgs {
  BrokerAuthRequest q;
  bool json = false;
};

int RunBrokerAuth(const AuthArgs& a) {
  auto r = WriteBrokerAuth(a.q);
  if (!r.ok()) return Fail(r.status());
  if (a.json) {
    std::cout << json{{"password_file", r->password_file},
                      {"acl_file", r->acl_file},
                      {"credentials_file", r->credentials_file},
                      {"added", r->added},
                      {"mosquitto_conf", BrokerAuthConfig(*r)}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << "users added: " << (r->added.empty() ? "none" : "");
  for (const auto& u : r->added) std::cout << u << " ";
  std::cout << "\npasswords in " << r->credentials_file
            << " (owner only; give each agent its own lines)\n"
            << "add to mosquitto.conf:\n"
            << BrokerAuthConfig(*r);
  return 0;
}

std::string ActiveText(const json& caps) {
  const auto a = HelloActiveSlot(caps);
  if (!a) return "no model";
  return fmt::format("v{} ({}, slot {})", a->version, a->state.empty() ? "?" : a->state, a->slot);
}

Result<Workspace> Open(const FleetArgs& a) {
  TML_ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace(a.workspace));
  if (a.sync) {
    TML_ASSIGN_OR_RETURN(ControlOptions o, a.Broker());
    TML_RETURN_IF_ERROR(SyncRegistry(ws, o).status());
  }
  return ws;
}

int List(const FleetArgs& a) {
  auto ws = Open(a);
  if (!ws.ok()) return Fail(ws.status());
  auto devices = ws->db->ListDevices(a.group);
  if (!devices.ok()) return Fail(devices.status());
  if (a.json) {
    json arr = json::array();
    for (const auto& d : *devices) arr.push_back(DeviceViewJson(d));
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  if (devices->empty()) {
    std::cout << "no devices" << (a.group.empty() ? "" : " in group " + a.group)
              << " (devices appear when an agent announces them: tinymlaas devices sync)\n";
    return 0;
  }
  std::cout << fmt::format("{:<14} {:<8} {:<12} {:<11} {:>8} {:>8} {:<18} {}\n", "DEVICE", "STATE",
                           "AGENT", "CORE", "ARENA", "SLOT", "MODEL", "GROUPS");
  for (const auto& d : *devices) {
    const json c = json::parse(d.capabilities, nullptr, false);
    std::string groups;
    for (const auto& g : d.groups) groups += (groups.empty() ? "" : ",") + g;
    std::cout << fmt::format("{:<14} {:<8} {:<12} {:<11} {:>8} {:>8} {:<18} {}\n", d.id,
                             d.online ? "online" : "offline", d.agent,
                             c.is_object() ? c.value("core", "?") : "?",
                             c.is_object() ? c.value("arena_bytes", 0) : 0,
                             c.is_object() ? c.value("slot_bytes", 0) : 0, ActiveText(c), groups);
  }
  return 0;
}

int Show(const FleetArgs& a) {
  auto ws = Open(a);
  if (!ws.ok()) return Fail(ws.status());
  auto d = ws->db->GetDevice(a.id);
  if (!d.ok()) return Fail(d.status());
  auto deployments = ws->db->ListDeployments(a.id);
  if (!deployments.ok()) return Fail(deployments.status());
  auto active = ActiveDeployment(*ws->db, *d);
  if (!active.ok()) return Fail(active.status());
  std::optional<LineageGraph> lineage;
  if (*active) {
    auto g = Lineage(*ws->db, "deployment:" + std::to_string((*active)->id), false);
    if (!g.ok()) return Fail(g.status());
    lineage = std::move(*g);
  }
  if (a.json) {
    auto j = DeviceDetailJson(*ws->db, a.id);
    if (!j.ok()) return Fail(j.status());
    (*j)["lineage"] = lineage ? LineageJson(*lineage) : json();
    std::cout << j->dump(2) << "\n";
    return 0;
  }
  const json c = json::parse(d->capabilities, nullptr, false);
  std::cout << fmt::format("device {} ({}), agent {}\n", d->id, d->online ? "online" : "offline",
                           d->agent);
  if (c.is_object()) {
    std::string isa;
    for (const auto& f : c.value("isa", json::array())) isa += " " + f.get<std::string>();
    std::cout << fmt::format(
        "  {} at {} MHz,{} firmware {}; RAM {} B, flash {} B, arena {} B, scratch {} B\n",
        c.value("core", "?"), c.value("clock_hz", 0) / 1000000, isa, c.value("firmware", "?"),
        c.value("ram_bytes", 0), c.value("flash_bytes", 0), c.value("arena_bytes", 0),
        c.value("scratch_bytes", 0));
    std::cout << fmt::format("  package format {}, kernel ABI {}, protocol {}, boots {}\n",
                             c.value("package_format", 0), c.value("kernel_abi", 0),
                             c.value("protocol", 0), c.value("boots", 0));
    int i = 0;
    for (const auto& s : c.value("slots", json::array()))
      std::cout << fmt::format("  slot {}: {} v{} {} B {}\n", i++, s.value("state", "?"),
                               s.value("version", 0), s.value("bytes", 0), s.value("model_id", ""));
    std::cout << "  active model " << ActiveText(c) << ", last confirmed version "
              << c.value("confirmed_version", 0) << "\n";
  }
  if (!d->groups.empty()) {
    std::string groups;
    for (const auto& g : d->groups) groups += " " + g;
    std::cout << "  groups:" << groups << "\n";
  }
  std::cout << "deployments (newest first):\n";
  if (deployments->empty()) std::cout << "  none\n";
  for (const auto& r : *deployments)
    std::cout << fmt::format("  #{} v{} {}: {} {}\n", r.id, r.version, r.package, r.status,
                             r.message);
  if (lineage) {
    std::cout << "lineage of the active model:\n" << LineageText(*lineage);
  } else {
    std::cout << "lineage: the active model was not deployed from this workspace\n";
  }
  return 0;
}

int Sync(const FleetArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto o = a.Broker();
  if (!o.ok()) return Fail(o.status());
  auto r = SyncRegistry(*ws, *o);
  if (!r.ok()) return Fail(r.status());
  std::cout << fmt::format("registry: {} agent states and {} devices heard; {} devices online\n",
                           r->agents, r->devices, r->online_devices);
  return 0;
}

// One inference on a device through its agent: raw input bytes in, the result out.
int Infer(const FleetArgs& a) {
  auto o = a.Broker();
  if (!o.ok()) return Fail(o.status());
  auto input = ReadFile(a.model);
  if (!input.ok()) return Fail(input.status());
  auto cp = ControlPlane::Connect(*o);
  if (!cp.ok()) return Fail(cp.status());
  auto r = (*cp)->Command(a.id, "infer", *input, 60000);
  if (!r.ok()) return Fail(r.status());
  if (r->contains("ok") && !r->value("ok", false))
    return Fail(Status::FailedPrecondition("{}: {}", a.id, r->value("error", "infer failed")));
  if (a.json) {
    std::cout << r->dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{} model v{}: class {} (confidence {:.3f}), {} ticks, output {}\n",
                           a.id, r->value("model_version", 0), r->value("class", -1),
                           r->value("confidence", 0.0), r->value("ticks", 0),
                           r->value("output", ""));
  return 0;
}

int Group(const FleetArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  const Status s = ws->db->SetDeviceGroups(a.id, a.groups);
  if (!s.ok()) return Fail(s);
  std::string groups;
  for (const auto& g : a.groups) groups += " " + g;
  std::cout << a.id << " groups:" << (groups.empty() ? " none" : groups) << "\n";
  return 0;
}

int RunDeploy(const FleetArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  DeployRequest q;
  q.model = a.models.at(0);
  q.alternatives.assign(a.models.begin() + 1, a.models.end());
  q.devices = a.devices;
  q.group = a.group;
  q.version = a.version;
  q.signing_key = a.key;
  q.host_checks = !a.skip_host_checks;
  auto o = a.Broker();
  if (!o.ok()) return Fail(o.status());
  q.broker = *o;
  TerminalProgress progress;
  progress.StopOn(&StopOnSignal());  // Ctrl-C: the device being sent to stops waiting
  auto r = Deploy(*ws, q, progress);
  if (!r.ok()) return Fail(r.status());
  if (a.json) {
    json arr = json::array();
    for (const auto& d : r->devices)
      arr.push_back({{"device", d.device},
                     {"status", d.status},
                     {"message", d.message},
                     {"deployment", d.deployment},
                     {"package", d.package},
                     {"from_cache", d.from_cache},
                     {"version", d.version}});
    std::cout << json{{"package", r->package_artifact},
                      {"package_path", r->package_path},
                      {"model", r->model_artifact},
                      {"version", r->info.model_version},
                      {"devices", arr}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format("{} v{}: active on {} of {} devices\n", r->package_artifact,
                             r->info.model_version, r->active(), r->devices.size());
    for (const auto& d : r->devices)
      std::cout << fmt::format(
          "  {:<14} {:<8} {}{}\n", d.device, d.status, d.message,
          r->packages.size() > 1 && d.status == "active" ? " (" + d.package + ")" : "");
  }
  // 3: ran, and some device did not take the model (like `run`'s 2: ran, and differs).
  return r->active() == static_cast<int>(r->devices.size()) ? 0 : 3;
}

}  // namespace

void AddFleetCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added) {
  auto a = std::make_shared<FleetArgs>();
  auto* devices = app.add_subcommand(
      "devices",
      "The device registry: devices the gateway agents announce over MQTT, their\n"
      "capabilities, online state, model slots, groups and deployments (docs/fleet.md)");
  devices->require_subcommand(1);
  auto* list = devices->add_subcommand("list", "List the registered devices");
  list->add_option("--group", a->group, "Only the devices of this group");
  list->add_flag("--sync", a->sync, "Bring the registry up to date from the broker first");
  auto* show = devices->add_subcommand(
      "show", "A device's capabilities, slots, deployments and its active model's lineage");
  show->add_option("ID", a->id, "Device id")->required();
  show->add_flag("--sync", a->sync, "Bring the registry up to date from the broker first");
  auto* sync = devices->add_subcommand(
      "sync", "Read the agents' states and the devices' HELLOs from the broker into the registry");
  auto* group = devices->add_subcommand("group", "Set a device's groups (none: clears them)");
  group->add_option("ID", a->id, "Device id")->required();
  group->add_option("GROUPS", a->groups, "Group names");
  auto* infer = devices->add_subcommand(
      "infer", "Run one inference on a device through its agent (raw input bytes in)");
  infer->add_option("ID", a->id, "Device id")->required();
  infer->add_option("--input", a->model, "Input: raw bytes of one sample")
      ->required()
      ->check(CLI::ExistingFile);
  for (auto* c : {list, show, sync, group})
    c->add_option("--workspace", a->workspace, "Workspace directory");
  for (auto* c : {list, show, infer}) c->add_flag("--json", a->json, "Machine-readable output");
  for (auto* c : {list, show, sync, infer}) AddBrokerOptions(c, a.get());
  infer->callback([a, exit_code] { *exit_code = Infer(*a); });
  list->callback([a, exit_code] { *exit_code = List(*a); });
  show->callback([a, exit_code] { *exit_code = Show(*a); });
  sync->callback([a, exit_code] { *exit_code = Sync(*a); });
  group->callback([a, exit_code] { *exit_code = Group(*a); });
  added->push_back(devices);

  auto* d = app.add_subcommand(
      "deploy",
      "Send a model to devices over the air through their gateway agents: packaged and\n"
      "signed once, checked against each device's capabilities (op set, arena, scratch,\n"
      "slot, no downgrade), refused with the reason where it does not fit; each device\n"
      "then runs its own checks and self-test before switching. Exit code 3: some device\n"
      "did not take it");
  d->add_option("MODEL", a->models,
                "Model file (.onnx, .tflite) or a built package (.tmlp); more in order of "
                "preference: each device gets the first that fits it")
      ->required()
      ->check(CLI::ExistingFile);
  d->add_option("--device", a->devices, "Device id; repeat for more");
  d->add_option("--group", a->group, "Every device of this group");
  d->add_option("--version", a->version,
                "Model version (default: one above the highest the devices run or confirmed)");
  d->add_option("--key", a->key, "Signing key (default: WORKSPACE/keys/signing.key)");
  d->add_flag("--skip-host-checks", a->skip_host_checks,
              "Send even what the host's checks refuse (to see the devices refuse it)");
  d->add_option("--workspace", a->workspace, "Workspace directory");
  d->add_flag("--json", a->json, "Machine-readable output");
  AddBrokerOptions(d, a.get());
  d->callback([a, exit_code] { *exit_code = RunDeploy(*a); });
  added->push_back(d);

  auto auth = std::make_shared<AuthArgs>();
  auto* broker = app.add_subcommand(
      "broker", "The MQTT broker's identities for agents, devices and the control plane");
  broker->require_subcommand(1);
  auto* au = broker->add_subcommand(
      "auth",
      "Give every agent, device and the control plane its own broker user and password,\n"
      "with an ACL that lets each reach only its own topics (Mosquitto password_file and\n"
      "acl_file; docs/fleet.md). Run again to add users: existing ones keep their passwords");
  au->add_option("--dir", auth->q.dir, "Folder for passwd, acl and credentials")->required();
  au->add_option("--agent", auth->q.agents, "Agent id; repeat for more");
  au->add_option("--device", auth->q.devices, "Device id; repeat for more");
  au->add_option("--control-user", auth->q.control_user, "The control plane's user")
      ->capture_default_str();
  au->add_option("--prefix", auth->q.prefix, "Topic prefix")->capture_default_str();
  au->add_flag("--json", auth->json, "Machine-readable output");
  au->callback([auth, exit_code] { *exit_code = RunBrokerAuth(*auth); });
  added->push_back(broker);
}

}  // namespace tml::cli
