#include "apps/cli_devices.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "app/package.h"
#include "apps/cli_common.h"
#include "data/dataset_store.h"
#include "fleet/agent.h"
#include "fleet/broker_auth.h"
#include "fleet/control_plane.h"
#include "fleet/emulated_device.h"
#include "fleet/listen.h"
#include "package/signing.h"
#include "targets/device_image.h"
#include "targets/target_profile.h"

namespace tml::cli {
namespace {

struct PackageArgs {
  std::string model, out, target, key, check, workspace, dir;
  uint32_t version = 1;
  bool json = false;
};

void PrintInfo(const PackageInfo& i) {
  std::cout << fmt::format("model {} '{}' version {}, {} bytes, {}\n", i.model_id, i.name,
                           i.model_version, i.bytes,
                           i.key_id.empty() ? "unsigned" : "signed by key " + i.key_id);
  std::cout << fmt::format("  arena {} bytes, kernel scratch {} bytes, weights {} bytes\n",
                           i.arena_bytes, i.scratch_bytes, i.weight_bytes);
  if (i.recurrent_state)
    std::cout << "  recurrent state: kept in the arena between inferences, zero after the "
                 "self-test\n";
  for (const auto* list : {&i.inputs, &i.outputs})
    for (const auto& t : *list)
      std::cout << fmt::format("  {} {} {} (scale {}, zero point {})\n",
                               list == &i.inputs ? "input " : "output", DTypeName(t.dtype),
                               ShapeStr(t.shape), t.scale, t.zero_point);
  std::string kernels;
  for (const auto& k : i.kernels) kernels += (kernels.empty() ? "" : ", ") + k;
  std::cout << fmt::format("  {} calls to {}\n", i.calls, kernels);
}

int Package(const PackageArgs& a) {
  if (!a.check.empty()) {
    auto info = CheckPackage({a.check, a.key, a.target});
    if (!info.ok()) return Fail(info.status());
    if (a.json) {
      std::cout << PackageInfoJson(*info).dump(2) << "\n";
      return 0;
    }
    std::cout << a.check << ": passes the device's checks (digest"
              << (a.key.empty() ? "" : ", signature") << ", structure, self-test"
              << (a.target.empty() ? "" : ", fit on " + a.target) << ")\n";
    PrintInfo(*info);
    return 0;
  }
  if (a.model.empty() || a.out.empty())
    return Fail(Status::Error("package: MODEL and -o FILE are needed (or --check FILE)"));
  TerminalProgress progress;
  PackageRequest q;
  q.model = a.model;
  q.out = a.out;
  q.target = a.target;
  q.signing_key = a.key;
  q.version = a.version;
  auto r = MakePackage(q, progress);
  if (!r.ok()) return Fail(r.status());
  if (a.json) {
    auto j = PackageInfoJson(r->info);
    j["path"] = r->path;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "wrote " << r->path << "\n";
  PrintInfo(r->info);
  if (!a.target.empty())
    std::cout << fmt::format(
        "  fits a {} device image: arena {} of {} bytes, {} of {} slot bytes\n", a.target,
        r->info.arena_bytes, r->device_arena_bytes, r->info.bytes, r->device_slot_bytes);
  if (a.key.empty())
    std::cout << "  note: unsigned; devices accept only packages signed with their key (--key)\n";
  return 0;
}

struct AgentArgs {
  AgentOptions o;
  std::string broker = "127.0.0.1:1883", credentials, host_key, listen;
  bool no_cache = false;
};

int RunAgent(AgentArgs a) {
  const Status parsed = ParseBroker(a.broker, &a.o.broker_host, &a.o.broker_port);
  if (!parsed.ok()) return Fail(parsed.Wrap("agent"));
  if (!a.listen.empty()) {
    auto set = ParseListenSpec(a.listen);
    if (!set.ok()) return Fail(set.status());
    if (a.o.sense_every_ms <= 0)
      return Fail(Status::Error("agent --listen: give --sense-every too (how often to listen)"));
    a.o.listen = *set;
  }
  if (!a.credentials.empty()) {
    // The agent logs in as itself, each device as itself (users the file names).
    auto all = ReadBrokerCredentials(a.credentials);
    if (!all.ok()) return Fail(all.status().Wrap("agent"));
    if (a.o.username.empty()) a.o.username = a.o.id;
    if (a.o.password.empty()) {
      auto own = all->find(a.o.username);
      if (own == all->end())
        return Fail(
            Status::NotFound("agent: {} has no password for '{}'", a.credentials, a.o.username));
      a.o.password = own->second;
    }
    a.o.device_passwords = std::move(*all);
  }
  if (a.no_cache)
    a.o.cache_dir.clear();
  else if (a.o.cache_dir.empty())
    a.o.cache_dir = DefaultWorkspaceRoot() + "/gateway/" + a.o.id + "/packages";
  if (!a.o.host.id.empty()) {
    const std::string root = DefaultWorkspaceRoot();
    if (a.o.host.dir.empty()) a.o.host.dir = root + "/gateway/" + a.o.host.id;
    const std::string key = a.host_key.empty() ? DefaultKeyDir(root) + "/signing.pub" : a.host_key;
    auto point = LoadPublicKey(key);
    if (!point.ok()) return Fail(point.status().Wrap("agent: the gateway device's trusted key"));
    a.o.host.trusted_key = std::move(*point);
  }
  auto agent = Agent::Start(a.o);
  if (!agent.ok()) return Fail(agent.status());
  const std::atomic<bool>& stop = StopOnSignal();
  std::cout << fmt::format("agent {} on {}: ", a.o.id, a.broker);
  for (const auto& id : (*agent)->device_ids()) std::cout << id << " ";
  std::cout << "(topics " << a.o.prefix << "/devices/ID/...; Ctrl-C stops)" << std::endl;
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*agent)->Stop();
  std::cerr << "agent stopped after " << (*agent)->commands_handled() << " commands\n";
  return 0;
}

struct EmulateArgs {
  std::string id, target = "cortex-m4", dir, key_header, workspace, sensor;
  int64_t arena = 0;
  int tcp_port = 0;
  uint32_t cut_at = 0;
};

// An emulated board in QEMU running the device image, until Ctrl-C or until it stops.
int RunEmulate(const EmulateArgs& a) {
  const std::string ws = a.workspace.empty() ? DefaultWorkspaceRoot() : a.workspace;
  const std::string dir = a.dir.empty() ? ws + "/devices" : a.dir;
  const std::string header =
      a.key_header.empty() ? DefaultKeyDir(ws) + "/signing_key.h" : a.key_header;
  if (!std::filesystem::exists(header))
    return Fail(Status::NotFound(
        "emulate: no public key header {} (tinymlaas keys create; or --key-header)", header));
  auto target = FindTarget(a.target);
  if (!target.ok()) return Fail(target.status());
  DeviceImageOptions o;
  o.signing_key_header = header;
  o.arena_bytes = a.arena;
  const std::string image_dir = fmt::format("{}/images/{}{}", dir, a.target,
                                            a.arena ? "-arena" + std::to_string(a.arena) : "");
  std::cerr << "building the device image for " << a.target << " in " << image_dir << "\n";
  auto image = BuildDeviceImage(*target, image_dir, o);
  if (!image.ok()) return Fail(image.status());
  EmulatedDeviceOptions e;
  e.id = a.id;
  e.flash_path = dir + "/" + a.id + ".flash";
  e.sensor_path = a.sensor;
  e.tcp_port = a.tcp_port;
  e.cut_at = a.cut_at;
  auto dev = EmulatedDevice::Start(*image, e);
  if (!dev.ok()) return Fail(dev.status());
  const std::atomic<bool>& stop = StopOnSignal();
  std::cout << fmt::format(
                   "device {} ({}, arena {} B, two slots of {} B) on {}; flash {} (kept across "
                   "restarts); Ctrl-C stops",
                   a.id, image->core, image->arena_bytes, image->slot_bytes, (*dev)->address(),
                   e.flash_path)
            << std::endl;
  int code = -1;
  while (!stop && (code = (*dev)->WaitExit(100)) == -1) {
  }
  if (code != -1) {
    std::cerr << "device " << a.id << " stopped ("
              << (code == 75 ? std::string("a simulated power cut")
                             : "QEMU exit code " + std::to_string(code))
              << "); log " << e.flash_path << ".log\n";
    return code == 0 ? 0 : 1;
  }
  (*dev)->Kill();
  return 0;
}

}  // namespace

void AddDeviceCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added) {
  auto a = std::make_shared<PackageArgs>();
  auto* keys = app.add_subcommand("keys", "Package signing keys (ECDSA P-256)");
  keys->require_subcommand(1);
  auto* create = keys->add_subcommand(
      "create",
      "Make a signing key pair: signing.key (private, mode 0600), signing.pub, and\n"
      "signing_key.h (the public key that device images are built with)");
  create->add_option("--dir", a->dir, "Key folder (default: WORKSPACE/keys)");
  create->add_option("--workspace", a->workspace, "Workspace directory");
  create->callback([a, exit_code] {
    auto k = CreateKeys(a->dir.empty() ? DefaultKeyDir(a->workspace) : a->dir);
    if (!k.ok()) {
      *exit_code = Fail(k.status());
      return;
    }
    std::cout << fmt::format("key {}\n  private {}\n  public  {}\n  device  {}\n", k->key_id,
                             k->private_key, k->public_key, k->c_header);
    *exit_code = 0;
  });
  added->push_back(keys);

  auto* p = app.add_subcommand(
      "package",
      "Write a model package for over-the-air updates (docs/package.md): the int8 graph,\n"
      "weights, memory plan, tensor specs, op set, arena size and a self-test vector,\n"
      "signed; with --check FILE, run the checks a device runs, on the host");
  p->add_option("MODEL", a->model, "Model file (.onnx or .tflite)")->check(CLI::ExistingFile);
  p->add_option("-o,--output", a->out, "Package file to write");
  p->add_option("--target", a->target,
                "Target profile (cortex-m4, ...): refuse unless the package fits its device image");
  p->add_option("--key", a->key,
                "Signing key (signing.key) to sign with; with --check, the public key "
                "(signing.pub) to verify against");
  p->add_option("--version", a->version, "Model version (monotonic; devices refuse older ones)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  p->add_option("--check", a->check, "Check a package file instead of writing one")
      ->check(CLI::ExistingFile);
  p->add_flag("--json", a->json, "Machine-readable output");
  p->callback([a, exit_code] { *exit_code = Package(*a); });
  added->push_back(p);

  auto g = std::make_shared<AgentArgs>();
  auto* ag = app.add_subcommand(
      "agent",
      "The gateway agent: bridges devices on serial ports or TCP to an MQTT broker\n"
      "(docs/fleet.md): publishes each device's capabilities, runs the commands it receives\n"
      "(deploy, infer, sense, confirm, rollback, hello) and publishes their outcomes");
  ag->add_option("--id", g->o.id, "Agent id (its topics and MQTT client id)")
      ->capture_default_str();
  ag->add_option("--broker", g->broker, "MQTT broker HOST:PORT")->capture_default_str();
  ag->add_option("--device", g->o.devices,
                 "Device address: unix:PATH (an emulated board's serial port) or tcp:HOST:PORT; "
                 "repeat for more");
  ag->add_option("--host-device", g->o.host.id,
                 "Also serve the gateway itself as a device with this id: packages run on the "
                 "host runtime, with a device's checks, slots and confirmation");
  ag->add_option("--host-dir", g->o.host.dir,
                 "The gateway device's slots and state (default WORKSPACE/gateway/ID)");
  ag->add_option("--buffer", g->o.buffer_messages,
                 "Messages kept per device while the broker is away (the oldest beyond go, "
                 "counted and reported)")
      ->capture_default_str();
  ag->add_option("--cache", g->o.cache_dir,
                 "Package cache: deploys can name a package the agent holds instead of sending "
                 "it (default WORKSPACE/gateway/ID/packages)");
  ag->add_flag("--no-cache", g->no_cache, "Keep no packages");
  ag->add_option("--key", g->host_key,
                 "Public key the gateway device trusts (default WORKSPACE/keys/signing.pub)");
  ag->add_option("--user", g->o.username, "Broker user name (the agent's own credentials)");
  ag->add_option("--password", g->o.password, "Broker password");
  ag->add_option("--credentials", g->credentials,
                 "Broker credentials file (tinymlaas broker auth): the agent logs in as its id, "
                 "each device as its own id");
  ag->add_option("--sense-every", g->o.sense_every_ms,
                 "Run each MCU's sensor every this many ms while no command waits (a device's "
                 "main loop, for emulated devices); its telemetry goes out as for `sense`")
      ->check(CLI::NonNegativeNumber);
  ag->add_option("--listen", g->listen,
                 "With --sense-every: the MCUs listen to their microphones instead (models with "
                 "a front end; docs/frontends.md#listening-devices): "
                 "hop=10,smooth=3,refractory=8,threshold=0.6,keywords=0-9 (the keyword classes "
                 "are required); telemetry per inference and a detection per keyword heard");
  ag->add_option("--sense-count", g->o.sense_count,
                 "Samples (inferences, with --listen) per --sense-every run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  ag->add_option("--prefix", g->o.prefix, "Topic prefix")->capture_default_str();
  ag->callback([g, exit_code] { *exit_code = RunAgent(*g); });
  added->push_back(ag);

  auto em = std::make_shared<EmulateArgs>();
  auto* emu = app.add_subcommand(
      "emulate",
      "Run an emulated board (QEMU) with the device image: the on-device runtime, two model\n"
      "slots in a flash file that survives restarts, the device protocol on a Unix socket\n"
      "(or TCP) for `tinymlaas agent --device ADDRESS`; prints the address, Ctrl-C stops");
  emu->add_option("--id", em->id, "Device id (1-31 characters)")->required();
  emu->add_option("--target", em->target,
                  "Emulated board profile (cortex-m4, cortex-m7, cortex-m3)")
      ->capture_default_str();
  emu->add_option("--dir", em->dir,
                  "Folder for the image, flash file and socket (default WORKSPACE/devices)");
  emu->add_option("--key-header", em->key_header,
                  "Public key built into the image (default WORKSPACE/keys/signing_key.h)");
  emu->add_option("--arena", em->arena, "Arena bytes (default: the board's RAM less the agent's)");
  emu->add_option("--sensor", em->sensor,
                  "File of samples the emulated sensor replays (the model's inputs back to "
                  "back), or for a listening device the microphone's raw samples (float32, "
                  "int16 for a fixed-point front end)");
  emu->add_option("--tcp-port", em->tcp_port,
                  "Serial port on TCP 127.0.0.1:PORT instead of a socket");
  emu->add_option("--cut-at", em->cut_at,
                  "Simulate a power cut at this flash operation since boot (the device stops)");
  emu->add_option("--workspace", em->workspace, "Workspace directory");
  emu->callback([em, exit_code] { *exit_code = RunEmulate(*em); });
  added->push_back(emu);
}

}  // namespace tml::cli
