// Telemetry at scale and a rollout to every device: N simulated devices (protocol
// simulators, one MQTT connection per device as the agent makes them, A agent threads
// in this process) publish one telemetry message per second each to a real Mosquitto
// on loopback for S seconds, while the real control loop (app/control_loop.h: ingest,
// registry sync, rollouts) stores them on SQLite or PostgreSQL. Then a rollout of a
// package to all of them, which the simulators install (the agent's topics and answers,
// docs/fleet.md) while they keep publishing. The simulators run in a child process of
// their own, driven over two pipes: libmosquitto's network loop (the control plane's)
// uses select(), which cannot watch a descriptor above 1023, and thousands of device
// connections in its process would push the control plane's socket past it. Prints the ingest rate,
// the p50/p99/max ingest latency (publish to commit), messages lost (published but not stored; must
// be 0), and the rollout's time and installs per device (must be 1 each).
//
// Usage: tml_fleet_load_bench [--devices N] [--agents A] [--seconds S] [--db sqlite|postgres]
//                             [--flush-ms MS]   (the longest a batch gathers)
#include <fmt/format.h>
#include <mosquitto.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "app/control_loop.h"
#include "app/package.h"
#include "core/clock.h"
#include "core/scratch_dir.h"
#include "core/sha256.h"
#include "fixtures.h"
#include "mqtt_broker.h"
#include "package/package.h"
#include "pg_server.h"
#include "store/telemetry_store.h"

namespace tml {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Counters {
  std::atomic<int64_t> published{0}, publish_errors{0}, deploys{0}, not_cached{0}, connected{0};
};

// One simulated device: its MQTT connection and what its HELLO says.
struct SimDevice {
  std::string id;
  mosquitto* m = nullptr;
  uint32_t version = 1, previous = 0;
  int64_t seq = 0, installs = 0;
  Clock::time_point next;
};

// An agent's thread: its devices' connections in one poll loop, their telemetry paced
// to one message per second each, their commands answered.
class SimAgent {
 public:
  SimAgent(std::string id, int port, std::vector<std::string> devices, Counters& c)
      : id_(std::move(id)), port_(port), c_(c) {
    for (auto& d : devices) devs_.push_back(std::make_unique<SimDevice>(SimDevice{std::move(d)}));
  }
  ~SimAgent() {
    stop_ = true;
    if (t_.joinable()) t_.join();
    for (auto& d : devs_)
      if (d->m) mosquitto_destroy(d->m);
    if (self_) mosquitto_destroy(self_);
  }
  Status Connect() {
    self_ = mosquitto_new(("sim-agent-" + id_).c_str(), true, this);
    const std::string state = "tinymlaas/agents/" + id_ + "/state";
    mosquitto_will_set(self_, state.c_str(), 7, "offline", 1, true);
    if (mosquitto_connect(self_, "127.0.0.1", port_, 60) != MOSQ_ERR_SUCCESS)
      return Status::Errorf("agent {}: cannot connect", id_);
    mosquitto_publish(self_, nullptr, state.c_str(), 6, "online", 1, true);
    for (auto& d : devs_) {
      d->m = mosquitto_new(d->id.c_str(), true, this);
      mosquitto_connect_callback_set(d->m, &SimAgent::OnConnect);
      mosquitto_message_callback_set(d->m, &SimAgent::OnMessage);
      mosquitto_max_inflight_messages_set(d->m, 100);
      if (int rc = mosquitto_connect(d->m, "127.0.0.1", port_, 60); rc != MOSQ_ERR_SUCCESS)
        return Status::Errorf("device {}: cannot connect: {}", d->id, mosquitto_strerror(rc));
    }
    return Status::Ok();
  }
  void Start(bool telemetry) {
    telemetry_ = telemetry;
    t_ = std::thread([this] { Loop(); });
  }
  // Off: returns once the loop published its last message (two turns of it later).
  void SetTelemetry(bool on) {
    telemetry_ = on;
    const int64_t turn = turns_.load();
    while (!on && turns_.load() < turn + 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // installs per device (for "no device updated twice").
  std::map<std::string, int64_t> Installs() {
    std::lock_guard<std::mutex> l(mu_);
    std::map<std::string, int64_t> out;
    for (auto& d : devs_) out[d->id] = d->installs;
    return out;
  }

 private:
  static void OnConnect(mosquitto* m, void* self, int rc) {
    auto* a = static_cast<SimAgent*>(self);
    SimDevice* d = a->by_mosq_.count(m) ? a->by_mosq_[m] : nullptr;
    if (rc != 0 || !d) return;
    ++a->c_.connected;
    const std::string cmd = "tinymlaas/devices/" + d->id + "/cmd/+";
    mosquitto_subscribe(m, nullptr, cmd.c_str(), 1);
    a->Hello(*d);
  }
  void Hello(SimDevice& d) {
    // Slot 0 runs the current version (confirmed at once), slot 1 keeps the one before.
    const json slots =
        json::array({{{"state", "confirmed"},
                      {"version", d.version},
                      {"bytes", 4096},
                      {"model_id", fmt::format("sim-model-v{}", d.version)}},
                     {{"state", d.previous ? "confirmed" : "empty"},
                      {"version", d.previous},
                      {"bytes", 0},
                      {"model_id", d.previous ? fmt::format("sim-model-v{}", d.previous) : ""}}});
    const json hello = {{"device_id", d.id},
                        {"core", "cortex-m4"},
                        {"firmware", "sim"},
                        {"isa", json::array()},
                        {"clock_hz", 64000000},
                        {"ram_bytes", 262144},
                        {"flash_bytes", 1 << 20},
                        {"arena_bytes", 200000},
                        {"scratch_bytes", 8192},
                        {"slot_bytes", 262144},
                        {"package_format", 1},
                        {"kernel_abi", 1},
                        {"protocol", 1},
                        {"active_slot", 0},
                        {"confirmed_version", d.version},
                        {"boots", 1},
                        {"slots", slots},
                        {"agent", id_}};
    Publish(d, "hello", hello.dump(), true);
  }
  void Publish(SimDevice& d, const std::string& leaf, const std::string& body, bool retain) {
    const std::string topic = "tinymlaas/devices/" + d.id + "/" + leaf;
    if (mosquitto_publish(d.m, nullptr, topic.c_str(), static_cast<int>(body.size()), body.data(),
                          1, retain) != MOSQ_ERR_SUCCESS)
      ++c_.publish_errors;
  }
  void Event(SimDevice& d, json e) {
    e["agent"] = id_;
    e["msg"] = fmt::format("{}-e{}", d.id, ++d.seq);
    e["sent_ms"] = NowMs();
    Publish(d, "events", e.dump(), false);
  }
  static void OnMessage(mosquitto* m, void* self, const mosquitto_message* msg) {
    auto* a = static_cast<SimAgent*>(self);
    SimDevice* d = a->by_mosq_.count(m) ? a->by_mosq_[m] : nullptr;
    if (!d) return;
    const std::string topic = msg->topic;
    const std::string name = topic.substr(topic.rfind('/') + 1);
    const auto* p = static_cast<const uint8_t*>(msg->payload);
    const std::vector<uint8_t> bytes(p, p + msg->payloadlen);
    a->Command(*d, name, bytes);
  }
  void Command(SimDevice& d, const std::string& name, const std::vector<uint8_t>& bytes) {
    if (name == "deploy") {
      ++c_.deploys;
      uint32_t version = 0;
      const json ref = json::parse(bytes.begin(), bytes.end(), nullptr, false);
      if (ref.is_object() && ref.contains("package")) {
        auto it = cache_.find(ref.value("package", ""));
        if (it == cache_.end()) {
          ++c_.not_cached;
          Event(d, {{"command", "deploy"},
                    {"ok", false},
                    {"not_cached", true},
                    {"error", "not in the agent's cache"}});
          return;
        }
        version = it->second;
      } else {
        auto info = InspectPackage(bytes);
        if (!info.ok()) {
          Event(d, {{"command", "deploy"}, {"ok", false}, {"error", info.status().message()}});
          return;
        }
        version = info->model_version;
        cache_[Sha256Hex(bytes.data(), bytes.size())] = version;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        d.previous = d.version;
        d.version = version;
        ++d.installs;
      }
      Hello(d);
      Event(d, {{"command", "deploy"}, {"ok", true}, {"model_version", version}});
    } else if (name == "rollback") {
      if (d.previous) std::swap(d.version, d.previous);
      Hello(d);
      Event(d, {{"command", "rollback"}, {"ok", d.previous != 0}});
    } else if (name == "hello") {
      Hello(d);
    } else {
      Event(d, {{"command", name}, {"ok", true}});
    }
  }
  // epoll, not poll: the cost of a turn follows the sockets that are ready, not the
  // hundreds watched (poll over all of them every few milliseconds took the cores).
  void Loop() {
    for (auto& d : devs_) by_mosq_[d->m] = d.get();
    const size_t n = devs_.size();
    std::vector<mosquitto*> clients;
    for (auto& d : devs_) clients.push_back(d->m);
    clients.push_back(self_);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<int> fd_of(clients.size(), -1);
    std::vector<bool> writing(clients.size(), false);
    const auto watch = [&](size_t i) {
      const int fd = mosquitto_socket(clients[i]);
      const bool w = mosquitto_want_write(clients[i]);
      if (fd == fd_of[i] && w == writing[i]) return;
      epoll_event ev{};
      ev.events = EPOLLIN | (w ? EPOLLOUT : 0);
      ev.data.u64 = i;
      if (fd != fd_of[i]) {  // connected again on a new socket (the old one closed)
        if (fd >= 0) epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      } else if (fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
      }
      fd_of[i] = fd;
      writing[i] = w;
    };
    for (size_t i = 0; i < clients.size(); ++i) watch(i);
    std::vector<epoll_event> ready(256);
    auto misc = Clock::now();
    bool sending = false;
    while (!stop_) {
      auto now = Clock::now();
      auto wake = now + std::chrono::milliseconds(50);
      if (telemetry_ && !sending) {
        // Each device its own moment in the second, from when telemetry starts; this
        // agent's phases offset from the others' (as independent devices would be).
        const auto offset = std::chrono::microseconds(std::hash<std::string>{}(id_) % 1000000);
        for (size_t i = 0; i < n; ++i)
          devs_[i]->next =
              now + (offset + std::chrono::microseconds(1000000 * i / n)) % std::chrono::seconds(1);
      }
      sending = telemetry_;
      if (sending) {
        const auto due = now + std::chrono::milliseconds(5);  // sent in 5 ms slices
        for (size_t i = 0; i < n; ++i) {
          SimDevice& d = *devs_[i];
          if (d.next > due) {
            wake = std::min(wake, d.next);
            continue;
          }
          // Fell behind (the machine was busy): the missed seconds are skipped, the phase
          // kept, so that late devices do not gather into one burst.
          do d.next += std::chrono::seconds(1);
          while (d.next < now);
          wake = std::min(wake, d.next);
          const int64_t s = ++d.seq;
          const json t = {{"device", d.id},
                          {"model_version", d.version},
                          {"ticks", 120000},
                          {"class", static_cast<int>(s % 4)},
                          {"confidence", 0.8},
                          {"sample", s},
                          {"msg", fmt::format("{}-{}", d.id, s)},
                          {"sent_ms", NowMs()},
                          {"boots", 1}};
          Publish(d, "telemetry", t.dump(), false);
          ++c_.published;
          watch(i);  // a write the socket did not take at once
        }
      }
      const int timeout = static_cast<int>(std::clamp<int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count(), 0,
          50));
      const int got = epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), timeout);
      for (int k = 0; k < got; ++k) {
        const size_t i = ready[static_cast<size_t>(k)].data.u64;
        if (ready[static_cast<size_t>(k)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
          mosquitto_loop_read(clients[i], 1);
        if (mosquitto_want_write(clients[i])) mosquitto_loop_write(clients[i], 1);
        watch(i);
      }
      if (Clock::now() - misc > std::chrono::seconds(1)) {
        misc = Clock::now();
        for (size_t i = 0; i < clients.size(); ++i) {
          if (mosquitto_loop_misc(clients[i]) == MOSQ_ERR_NO_CONN) mosquitto_reconnect(clients[i]);
          watch(i);
        }
      }
      ++turns_;
    }
    close(ep);
  }

  std::string id_;
  int port_;
  Counters& c_;
  std::vector<std::unique_ptr<SimDevice>> devs_;
  std::map<mosquitto*, SimDevice*> by_mosq_;
  std::map<std::string, uint32_t> cache_;  // package digest -> its version
  mosquitto* self_ = nullptr;
  std::mutex mu_;
  std::atomic<bool> stop_{false}, telemetry_{false};
  std::atomic<int64_t> turns_{0};
  std::thread t_;
};

int Arg(int argc, char** argv, const std::string& name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return def;
}
std::string ArgText(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return def;
}

// The child: connects the simulators, says so, then follows the parent's commands
// ("telemetry on", "telemetry off", "report", "quit"), one per line on `in`; answers
// are JSON lines on `out`.
// Child `child` of `children` runs agents child, child + children, ...
int Simulate(int port, int devices, int agents, int child, int children, FILE* in, FILE* out) {
  mosquitto_lib_init();
  Counters c;
  std::vector<std::unique_ptr<SimAgent>> sims;
  int mine = 0;
  for (int a = child; a < agents; a += children) {
    std::vector<std::string> ids;
    for (int d = a; d < devices; d += agents) ids.push_back(fmt::format("sim-{:05}", d));
    mine += static_cast<int>(ids.size());
    sims.push_back(std::make_unique<SimAgent>(fmt::format("agent-{:02}", a), port, ids, c));
  }
  devices = mine;
  const auto t_connect = Clock::now();
  for (auto& s : sims) {
    if (Status st = s->Connect(); !st.ok()) {
      fmt::print(out, "{}\n", json{{"error", st.message()}}.dump());
      return 1;
    }
    s->Start(false);
  }
  while (c.connected.load() < devices) {
    if (Clock::now() - t_connect > std::chrono::seconds(300)) {
      fmt::print(out, "{}\n",
                 json{{"error", fmt::format("only {} of {} devices connected in 300 s",
                                            c.connected.load(), devices)}}
                     .dump());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fmt::print(out, "{}\n",
             json{{"connected", devices},
                  {"seconds", std::chrono::duration<double>(Clock::now() - t_connect).count()}}
                 .dump());
  std::fflush(out);
  char buf[128];
  while (std::fgets(buf, sizeof buf, in)) {
    const std::string cmd(buf);
    if (cmd.rfind("telemetry", 0) == 0) {
      for (auto& s : sims) s->SetTelemetry(cmd.find(" on") != std::string::npos);
      fmt::print(out, "{}\n", json{{"ok", true}}.dump());
    } else if (cmd.rfind("report", 0) == 0) {
      int64_t once = 0, twice = 0, never = 0;
      for (auto& s : sims)
        for (const auto& [id, n] : s->Installs()) (n == 1 ? once : n == 0 ? never : twice) += 1;
      fmt::print(out, "{}\n",
                 json{{"published", c.published.load()},
                      {"publish_errors", c.publish_errors.load()},
                      {"deploys", c.deploys.load()},
                      {"not_cached", c.not_cached.load()},
                      {"once", once},
                      {"twice", twice},
                      {"never", never}}
                     .dump());
    } else {
      break;
    }
    std::fflush(out);
  }
  sims.clear();
  mosquitto_lib_cleanup();
  return 0;
}

// The parent's end of the pipes to the simulators.
class Simulators {
 public:
  Simulators(pid_t pid, FILE* to, FILE* from) : pid_(pid), to_(to), from_(from) {}
  ~Simulators() {
    if (to_) {
      std::fputs("quit\n", to_);
      std::fclose(to_);
    }
    if (from_) std::fclose(from_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  // The next answer (an error object when the child is gone).
  json Read() {
    char buf[1024];
    if (!std::fgets(buf, sizeof buf, from_)) return {{"error", "the simulators' process ended"}};
    return json::parse(buf, nullptr, false);
  }
  json Ask(const std::string& cmd) {
    std::fputs((cmd + "\n").c_str(), to_);
    std::fflush(to_);
    return Read();
  }

 private:
  pid_t pid_;
  FILE *to_, *from_;
};

constexpr const char* kUsage =
    "usage: tml_fleet_load_bench [--devices N (10000)] [--agents A (20)] [--seconds S (60)]\n"
    "                            [--db sqlite|postgres (sqlite)] [--flush-ms MS (10)]\n"
    "N simulated devices behind A agents publish one telemetry message per second each to a\n"
    "local Mosquitto for S seconds while the control loop stores them; then a rollout to all\n"
    "of them. Prints the ingest rate, latency (publish to commit), losses and the rollout.\n";

int Run(int argc, char** argv) {
  std::cout << std::unitbuf;  // progress as it happens
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a != "--devices" && a != "--agents" && a != "--seconds" && a != "--db" &&
        a != "--flush-ms") {
      std::cerr << "unknown option '" << a << "'\n" << kUsage;
      return 2;
    }
    if (i + 1 >= argc) {
      std::cerr << a << " needs a value\n" << kUsage;
      return 2;
    }
  }
  const int devices = Arg(argc, argv, "--devices", 10000);
  const int agents = Arg(argc, argv, "--agents", 20);
  const int seconds = Arg(argc, argv, "--seconds", 60);
  const std::string backend = ArgText(argc, argv, "--db", "sqlite");
  const int flush_ms = Arg(argc, argv, "--flush-ms", IngestOptions{}.flush_ms);
  // libmosquitto holds three descriptors per client (its socket and a pair to wake its
  // loop): the simulators are spread over as many processes as the limit needs; the broker
  // (which inherits the limit) holds one per device.
  rlimit fd{};
  getrlimit(RLIMIT_NOFILE, &fd);
  fd.rlim_cur = fd.rlim_max;
  setrlimit(RLIMIT_NOFILE, &fd);
  if (fd.rlim_cur < static_cast<rlim_t>(devices) + 256 || fd.rlim_cur < 1024) {
    std::cerr << fmt::format("the open file limit ({}) is too low for {} devices (ulimit -n)\n",
                             fd.rlim_cur, devices);
    return 1;
  }
  ScratchDir dir("", "fleet-load");
  std::string skip;
  const std::string db = TestDatabase(backend, &skip);
  if (!skip.empty()) {
    std::cerr << skip << "\n";
    return 1;
  }
  auto broker = testing::MqttBroker::Start(
      dir.path(), "allow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n");
  if (!broker.ok()) return std::cerr << broker.status().message() << "\n", 1;
  std::cout << fmt::format(
      "fleet load: {} devices behind {} agents, 1 message/s each for {} s, "
      "Mosquitto on loopback, store {}, ingest batches gathering up to {} ms\n",
      devices, agents, seconds, backend, flush_ms);
  // As many simulator processes as the descriptor limit needs (and agents allow).
  const int per_child = static_cast<int>((fd.rlim_cur - 256) / 3);
  const int children = std::min(agents, (devices + per_child - 1) / per_child);
  std::vector<std::unique_ptr<Simulators>> kids;
  for (int k = 0; k < children; ++k) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) return std::cerr << "pipe failed\n", 1;
    const pid_t pid = fork();
    if (pid < 0) return std::cerr << "fork failed\n", 1;
    if (pid == 0) {  // the simulators; _exit: the broker and the directory are the parent's
      close(down[1]);
      close(up[0]);
      FILE* in = fdopen(down[0], "r");
      FILE* out = fdopen(up[1], "w");
      const int rc = Simulate((*broker)->port(), devices, agents, k, children, in, out);
      std::fflush(out);
      _exit(rc);
    }
    close(down[0]);
    close(up[1]);
    kids.push_back(std::make_unique<Simulators>(pid, fdopen(down[1], "w"), fdopen(up[0], "r")));
  }
  double connect_s = 0;
  for (auto& k : kids) {
    const json connected = k->Read();
    if (!connected.contains("connected"))
      return std::cerr << "simulators: " << connected.value("error", connected.dump()) << "\n", 1;
    connect_s = std::max(connect_s, connected.value("seconds", 0.0));
  }
  std::cout << fmt::format("  {} device connections in {:.1f} s ({} simulator process(es))\n",
                           devices, connect_s, children);
  // A command to every simulator process; the numbers of their answers summed.
  struct {
    std::vector<std::unique_ptr<Simulators>>& kids;
    json Ask(const std::string& cmd) {
      json sum = json::object();
      for (auto& k : kids) {
        const json answer = k->Ask(cmd);
        for (const auto& [key, v] : answer.items())
          if (v.is_number_integer()) sum[key] = sum.value(key, int64_t{0}) + v.get<int64_t>();
      }
      return sum;
    }
  } sims{kids};
  mosquitto_lib_init();
  auto ws = OpenWorkspace(dir.path() + "/ws", db);
  if (!ws.ok()) return std::cerr << ws.status().message() << "\n", 1;
  if (auto k = CreateKeys(dir.path() + "/ws/keys"); !k.ok())
    return std::cerr << k.status().message() << "\n", 1;

  // The bench's own reads and writes: a connection of its own (the control loop's is its
  // thread's; a PostgreSQL connection takes one transaction at a time).
  auto mine = OpenWorkspace(dir.path() + "/ws", db);
  if (!mine.ok()) return std::cerr << mine.status().message() << "\n", 1;

  // The control loop in a thread, as `tinymlaas control` runs it.
  std::atomic<bool> stop{false};
  std::mutex mu;
  IngestStats last;
  ControlLoopOptions o;
  o.broker.broker_port = (*broker)->port();
  o.ingest.flush_ms = flush_ms;
  o.on_tick = [&](const IngestStats& s) {
    std::lock_guard<std::mutex> l(mu);
    last = s;
  };
  Status loop_status;
  Progress quiet;
  std::atomic<bool> loop_ended{false};
  std::thread loop([&] {
    loop_status = RunControlLoop(*ws, o, stop, quiet);
    loop_ended = true;
  });
  // Every way out stops the loop first.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop, loop};
  const auto stats = [&] {
    std::lock_guard<std::mutex> l(mu);
    return last;
  };
  // The registry: every device online, all in one group.
  const auto t_registry = Clock::now();
  for (int64_t known = 0;;) {
    auto list = mine->db->ListDevices("");
    if (!list.ok()) return std::cerr << list.status().message() << "\n", 1;
    int64_t online = 0;
    for (const auto& d : *list) online += d.online;
    if (online == devices) break;
    if (loop_ended) {
      loop.join();
      std::ifstream log(dir.path() + "/mosquitto.log");
      std::string line, tail;
      while (std::getline(log, line))
        tail = (tail.size() > 4000 ? tail.substr(2000) : tail) + line + "\n";
      return std::cerr << "the control loop ended: " << loop_status.message()
                       << "\nthe broker's log ends:\n"
                       << tail,
             1;
    }
    if (Clock::now() - t_registry > std::chrono::seconds(120))
      return std::cerr << fmt::format("the registry has {} of {} devices online after 120 s\n",
                                      online, devices),
             1;
    if (online != known) std::cout << fmt::format("  registry: {} online\n", known = online);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cout << fmt::format("  registry: {} devices online in {:.1f} s\n", devices,
                           std::chrono::duration<double>(Clock::now() - t_registry).count());
  {
    Transaction tx(*mine->db);
    for (int d = 0; d < devices; ++d)
      (void)mine->db->SetDeviceGroups(fmt::format("sim-{:05}", d), {"load"});
    if (Status s = tx.Commit(); !s.ok()) return std::cerr << s.message() << "\n", 1;
  }

  // Phase 1: telemetry only.
  const IngestStats before = stats();
  const int64_t published_before = sims.Ask("report").value("published", int64_t{0});
  const auto t0 = Clock::now();
  sims.Ask("telemetry on");
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  sims.Ask("telemetry off");
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const int64_t published = sims.Ask("report").value("published", int64_t{0}) - published_before;
  // Wait until what was published is stored (or 60 s).
  const auto drain = Clock::now();
  IngestStats after = stats();
  while (after.stored + after.duplicates - before.stored - before.duplicates < published &&
         Clock::now() - drain < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    after = stats();
  }
  const int64_t stored = after.stored - before.stored;
  TelemetryQuery all;
  all.since_ms = 0;
  int64_t counted = 0;
  if (auto minutes = FindTelemetryMinutes(*mine->db, all); minutes.ok())
    for (const auto& m : *minutes) counted += m.inferences;
  std::cout << fmt::format(
      "  telemetry: {} published in {:.1f} s ({:.0f}/s), {} stored, {} duplicates, {} lost, "
      "{} dropped by the ingest; per-minute aggregates count {}\n",
      published, elapsed, published / elapsed, stored, after.duplicates - before.duplicates,
      published - stored, after.dropped, counted);
  std::cout << fmt::format(
      "  ingest latency (publish to commit): p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms over "
      "{} batches; of which arrival to commit (the ingest's share): p50 {:.0f} ms, p99 {:.0f} "
      "ms\n",
      after.latency_p50_ms, after.latency_p99_ms, after.latency_max_ms, after.batches,
      after.store_p50_ms, after.store_p99_ms);

  // Phase 2: a rollout to all, with telemetry on (health is judged on it).
  const std::string model = dir.path() + "/tiny_fc.tflite";
  {
    const auto bytes = testing::TinyFcTflite();
    std::ofstream(model, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  RolloutRequest q;
  q.deploy.model = model;
  q.deploy.group = "load";
  q.deploy.host_checks = false;  // the simulators' HELLOs describe no real runtime
  q.stages = {1, 10, 100};
  q.profile_latency = false;
  q.conditions.min_inferences = 2;
  sims.Ask("telemetry on");
  const auto t_roll = Clock::now();
  auto r = CreateRollout(*mine, q, quiet);
  if (!r.ok()) return std::cerr << r.status().message() << "\n", 1;
  std::string status = "running";
  int64_t last_print = 0;
  while (status == "running" && Clock::now() - t_roll < std::chrono::minutes(30)) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto now = GetRollout(*mine->db, r->id);
    if (!now.ok()) continue;
    status = now->status;
    const int64_t s =
        static_cast<int64_t>(std::chrono::duration<double>(Clock::now() - t_roll).count());
    if (s - last_print >= 15) {
      last_print = s;
      std::cout << fmt::format("  rollout: {} s, {} deploy commands, {}\n", s,
                               sims.Ask("report").value("deploys", int64_t{0}), now->message)
                << std::flush;
    }
  }
  const double roll_s = std::chrono::duration<double>(Clock::now() - t_roll).count();
  sims.Ask("telemetry off");
  const json rep = sims.Ask("report");
  const int64_t once = rep.value("once", int64_t{0}), twice = rep.value("twice", int64_t{0}),
                never = rep.value("never", int64_t{0});
  const IngestStats end = stats();
  std::cout << fmt::format(
      "  rollout to all: {} in {:.1f} s; devices installed once {}, twice or more {}, never {}; "
      "{} deploy commands ({} answered not cached: the package crossed the broker once per "
      "agent)\n",
      status, roll_s, once, twice, never, rep.value("deploys", int64_t{0}),
      rep.value("not_cached", int64_t{0}));
  std::cout << fmt::format(
      "  ingest during the rollout: latency p99 {:.0f} ms (whole run), {} dropped; publish errors "
      "{}\n",
      end.latency_p99_ms, end.dropped, rep.value("publish_errors", int64_t{0}));
  stop = true;
  loop.join();
  mosquitto_lib_cleanup();
  if (!loop_status.ok()) std::cerr << "control loop: " << loop_status.message() << "\n";
  const bool ok = published == stored && status == "done" && twice == 0 && never == 0;
  std::cout << (ok ? "fleet load: ok\n" : "fleet load: FAILED (see above)\n");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tml

int main(int argc, char** argv) {
  return tml::Run(argc, argv);
}
