#include "fleet/agent.h"

#include <mosquitto.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/sha256.h"
#include "fleet/device_link.h"
#include "fleet/listen.h"
#include "formats/import.h"

namespace tml {

using nlohmann::json;

std::string HexBytes(const std::vector<uint8_t>& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) s += {kHex[b >> 4], kHex[b & 15]};
  return s;
}

bool ParseHexBytes(const std::string& hex, std::vector<uint8_t>* out) {
  if (hex.size() % 2) return false;
  out->clear();
  const auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return true;
}

struct Agent::State {
  AgentOptions opt;
  mosquitto* mosq = nullptr;  // the agent's own connection: its state and will
  // One connection per device, under the device's own broker user when it has one.
  struct DeviceConn {
    State* s = nullptr;
    size_t d = 0;
    mosquitto* mosq = nullptr;
    std::string user;
    // While the broker is away: what the device said, oldest first, at most
    // AgentOptions::buffer_messages; what did not fit is counted (pub_mu).
    bool connected = false;
    std::deque<std::pair<std::string, std::string>> pending;  // leaf, payload
    uint64_t lost = 0, lost_reported = 0;
    std::string hello;              // the retained HELLO to publish at every (re)connection
    std::atomic<uint64_t> sent{0};  // messages numbered so far (Send)
  };
  std::string run_id;  // this agent run's: random, so ids of two runs never meet
  std::mutex pub_mu;   // DeviceConn's buffer and state, between the worker and MQTT threads
  std::vector<std::unique_ptr<DeviceConn>> conns;
  std::map<mosquitto*, int> connect_rc;            // per connection; absent: no answer yet
  std::vector<std::unique_ptr<DeviceLink>> links;  // null for the host device
  std::unique_ptr<HostDevice> host;                // the last device when there is one
  std::vector<std::string> ids;
  std::vector<json> hellos;
  // Per device: its READY slot runs as a shadow on every sensed sample (after a "stage"
  // command, until "unstage", a deploy or a rollback); the worker's own.
  std::vector<bool> shadowing;

  struct Command {
    size_t device;
    std::string name;
    std::vector<uint8_t> payload;
    bool automatic = false;  // the agent's own sensing (--sense-every): only telemetry goes out
  };
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Command> queue;
  bool stopping = false;
  bool last_link_error = false;  // the worker's: the command at hand lost its device link
  int handled = 0;
  std::thread worker;

  std::string DeviceTopic(size_t d, const std::string& leaf) const {
    return opt.prefix + "/devices/" + ids[d] + "/" + leaf;
  }
  std::string StateTopic() const { return opt.prefix + "/agents/" + opt.id + "/state"; }

  static void Publish(mosquitto* m, const std::string& topic, const std::string& payload,
                      bool retain) {
    mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                      1, retain);
  }
  // A device's message: sent now, or kept until the broker is back (the HELLO is not
  // kept: the newest one goes out at every connection).
  void Publish(size_t d, const std::string& leaf, const std::string& payload, bool retain) {
    DeviceConn& c = *conns[d];
    std::lock_guard<std::mutex> l(pub_mu);
    if (leaf == "hello") c.hello = payload;
    if (c.connected && mosquitto_publish(c.mosq, nullptr, DeviceTopic(d, leaf).c_str(),
                                         static_cast<int>(payload.size()), payload.data(), 1,
                                         retain) == MOSQ_ERR_SUCCESS)
      return;
    if (leaf == "hello") return;
    c.pending.emplace_back(leaf, payload);
    while (c.pending.size() > opt.buffer_messages) {
      c.pending.pop_front();
      ++c.lost;
    }
  }

  // A device's message other than its HELLO, with what makes it traceable and countable
  // once: an id unique to this agent run and device ("msg") and when it was sent
  // ("sent_ms"); the control plane stores each id once, however often the broker or a
  // buffer flush delivers it.
  void Send(size_t d, const std::string& leaf, json body) {
    Publish(d, leaf, Stamped(d, std::move(body)), false);
  }
  std::string Stamped(size_t d, json body) {
    body["msg"] = fmt::format("{}-{}", run_id, ++conns[d]->sent);
    body["sent_ms"] = NowMs();
    return body.dump();
  }

  // On every connection (the MQTT thread): the HELLO, the subscription, then what was
  // kept while the broker was away and, if some did not fit, how much was lost.
  void DeviceBirth(size_t d) {
    DeviceConn& c = *conns[d];
    std::lock_guard<std::mutex> l(pub_mu);
    c.connected = true;
    const auto send = [&](const std::string& leaf, const std::string& payload, bool retain) {
      mosquitto_publish(c.mosq, nullptr, DeviceTopic(d, leaf).c_str(),
                        static_cast<int>(payload.size()), payload.data(), 1, retain);
    };
    send("hello", c.hello, true);
    mosquitto_subscribe(c.mosq, nullptr, DeviceTopic(d, "cmd/+").c_str(), 1);
    const size_t flushed = c.pending.size();
    for (const auto& [leaf, payload] : c.pending) send(leaf, payload, false);
    c.pending.clear();
    if (flushed || c.lost != c.lost_reported) {
      send("events",
           Stamped(d, {{"command", "buffer"},
                       {"agent", opt.id},
                       {"ok", c.lost == c.lost_reported},
                       {"flushed", flushed},
                       {"lost", c.lost - c.lost_reported},
                       {"lost_total", c.lost}}),
           false);
      c.lost_reported = c.lost;
    }
  }
  static void OnDeviceDisconnect(mosquitto*, void* self, int) {
    auto* c = static_cast<DeviceConn*>(self);
    std::lock_guard<std::mutex> l(c->s->pub_mu);
    c->connected = false;
  }

  void Event(size_t d, const std::string& command, const Status& s, json extra = json::object()) {
    extra["command"] = command;
    extra["agent"] = opt.id;
    extra["ok"] = s.ok();
    if (!s.ok()) extra["error"] = s.message();
    // Unavailable: the link itself broke (the device restarted or went away); the
    // command failed, the device did not refuse it.
    if (s.code() == StatusCode::kUnavailable) {
      last_link_error = true;
      extra["link_lost"] = true;
    }
    Send(d, "events", std::move(extra));
  }

  Status RefreshHello(size_t d) {
    TML_ASSIGN_OR_RETURN(tml_proto_hello h,
                         IsHost(d) ? Result<tml_proto_hello>(host->Hello()) : links[d]->Hello());
    hellos[d] = HelloJson(h);
    hellos[d]["agent"] = opt.id;
    if (IsHost(d)) hellos[d]["gateway"] = true;
    Publish(d, "hello", hellos[d].dump(), true);
    return Status::Ok();
  }

  // A model on trial confirms itself after enough good inferences: while one is, each
  // inference may have changed the slots, and the retained HELLO follows.
  bool OnTrial(size_t d) const {
    const auto a = HelloActiveSlot(hellos[d]);
    return a && a->state == "trial";
  }

  // A device whose link broke (it restarted, its cable came out) is connected again
  // before its next command; a transfer it had begun then resumes from its checkpoint.
  bool IsHost(size_t d) const { return host && d + 1 == ids.size(); }

  Status EnsureLink(size_t d) {
    if (IsHost(d)) return Status::Ok();
    // A HELLO first tells whether the link still stands (a device that restarted closed
    // it without a word).
    if (links[d] && links[d]->Hello().status().code() == StatusCode::kUnavailable) links[d].reset();
    if (links[d]) return Status::Ok();
    TML_ASSIGN_OR_RETURN(auto link, DeviceLink::Connect(opt.devices[d], opt.connect_timeout_ms));
    TML_ASSIGN_OR_RETURN(tml_proto_hello h, link->Hello());
    if (std::string(h.device_id, strnlen(h.device_id, sizeof h.device_id)) != ids[d])
      return Status::FailedPrecondition("device at {} is now '{}', not '{}'", opt.devices[d],
                                        h.device_id, ids[d]);
    links[d] = std::move(link);
    hellos[d] = HelloJson(h);
    hellos[d]["agent"] = opt.id;
    Publish(d, "hello", hellos[d].dump(), true);
    return Status::Ok();
  }

  // The package a deploy names: its bytes as sent (kept in the cache, the newest
  // cache_packages), or a cached one by its hash ({"package": HASH}).
  Result<std::vector<uint8_t>> DeployPayload(const Command& c, bool* from_cache) {
    namespace fs = std::filesystem;
    *from_cache = false;
    if (!c.payload.empty() && c.payload[0] == '{') {
      const json ref = json::parse(c.payload.begin(), c.payload.end(), nullptr, false);
      const std::string hash =
          ref.is_object() && ref.contains("package") && ref["package"].is_string()
              ? ref["package"].get<std::string>()
              : "";
      if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos)
        return Status::Error("deploy: a reference must be {\"package\": \"SHA-256 in hex\"}");
      const fs::path path = fs::path(opt.cache_dir) / (hash + ".tmlp");
      auto bytes = opt.cache_dir.empty() ? Result<std::vector<uint8_t>>(Status::NotFound(""))
                                         : ReadFile(path.string());
      if (!bytes.ok() || Sha256Hex(bytes->data(), bytes->size()) != hash)
        return Status::NotFound("deploy: package {} is not in agent {}'s cache", hash, opt.id);
      *from_cache = true;
      return bytes;
    }
    if (!opt.cache_dir.empty()) {  // best effort: a full disk only loses the cache
      std::error_code ec;
      fs::create_directories(opt.cache_dir, ec);
      const std::string name = Sha256Hex(c.payload.data(), c.payload.size()) + ".tmlp";
      (void)WriteFileAtomically((fs::path(opt.cache_dir) / name).string(), c.payload.data(),
                                c.payload.size());
      std::vector<std::pair<fs::file_time_type, fs::path>> all;
      for (const auto& e : fs::directory_iterator(opt.cache_dir, ec))
        if (e.path().extension() == ".tmlp") all.emplace_back(e.last_write_time(ec), e.path());
      std::sort(all.begin(), all.end(), std::greater<>());
      for (size_t i = opt.cache_packages; i < all.size(); ++i) fs::remove(all[i].second, ec);
    }
    return c.payload;
  }

  void Handle(const Command& c) {
    const size_t d = c.device;
    last_link_error = false;
    if (Status s = EnsureLink(d); !s.ok()) {
      if (!c.automatic) Event(d, c.name, s.Wrap("device link"));
      return;
    }
    // The commands both kinds of device answer alike; then each kind's own.
    if (c.name == "deploy" || c.name == "rollback" || c.name == "unstage") shadowing[d] = false;
    if (c.name == "unstage") {
      Event(d, c.name, Status::Ok());
    } else if (c.name == "confirm" || c.name == "rollback") {
      const bool confirm = c.name == "confirm";
      const Status s = IsHost(d) ? (confirm ? host->Confirm() : host->Rollback())
                                 : (confirm ? links[d]->Confirm() : links[d]->Rollback());
      (void)RefreshHello(d);
      Event(d, c.name, s);
    } else if (c.name == "hello") {
      Event(d, c.name, RefreshHello(d));
    } else if (IsHost(d)) {
      HandleHost(c);
    } else {
      HandleOn(*links[d], c);
    }
    if (last_link_error && !IsHost(d)) links[d].reset();  // reconnect before the next command
  }

  // The gateway's own device: the same commands and events, run on the host runtime.
  void HandleHost(const Command& c) {
    const size_t d = c.device;
    if (c.name == "deploy") {
      bool from_cache = false;
      auto package = DeployPayload(c, &from_cache);
      if (!package.ok())
        return Event(d, c.name, package.status(),
                     {{"not_cached", package.status().code() == StatusCode::kNotFound}});
      Send(d, "events",
           json{{"command", "deploy"},
                {"agent", opt.id},
                {"done", 0},
                {"total", package->size()},
                {"start", true},
                {"from_cache", from_cache}});
      const Status s = host->Deploy(*package);
      (void)RefreshHello(d);
      json extra = json::object();
      if (s.ok()) extra["model_version"] = host->active_version();
      Event(d, c.name, s, extra);
    } else if (c.name == "infer") {
      const bool on_trial = OnTrial(d);
      auto out = host->Infer(c.payload);
      if (!out.ok()) return Event(d, c.name, out.status());
      if (on_trial) (void)RefreshHello(d);
      Send(d, "result",
           json{{"device", ids[d]},
                {"model_version", host->active_version()},
                {"ticks", 0},
                {"class", out->top_class},
                {"confidence", out->confidence},
                {"output", HexBytes(out->output)}});
    } else {
      // No "stage": the gateway's device has no sensor, so a shadow would see no inputs.
      Event(d, c.name,
            Status::Errorf("unknown command '{}' for the gateway's own device (deploy, infer, "
                           "confirm, rollback, hello)",
                           c.name));
    }
  }

  void HandleOn(DeviceLink& link, const Command& c) {
    const size_t d = c.device;
    if (c.name == "deploy" || c.name == "stage") {
      // Progress events (no "ok" field): where the device starts ("start": a resumed
      // transfer starts past 0), then at every tenth of the transfer.
      size_t last_tenth = 0;
      bool first = true, from_cache = false;
      auto package = DeployPayload(c, &from_cache);
      if (!package.ok())
        return Event(d, c.name, package.status(),
                     {{"not_cached", package.status().code() == StatusCode::kNotFound}});
      Status s = link.SendPackage(*package, [&](size_t done, size_t total) {
        const size_t tenth = total ? done * 10 / total : 10;
        if (!first && tenth == last_tenth) return;
        last_tenth = tenth;
        json p = {{"command", c.name}, {"agent", opt.id}, {"done", done}, {"total", total}};
        if (first) {
          p["start"] = true;
          p["from_cache"] = from_cache;
        }
        first = false;
        Send(d, "events", std::move(p));
      });
      // stage: received and checked, not activated; it runs as a shadow from now on.
      const bool stage = c.name == "stage";
      if (s.ok() && !stage) s = link.Activate();
      json extra = json::object();
      if (s.ok()) {
        auto h = link.Hello();
        if (h.ok() && !stage && h->active_slot < 2)
          extra["model_version"] = h->slots[h->active_slot].version;
        for (int k = 0; h.ok() && stage && k < 2; ++k)
          if (h->slots[k].state == TML_SLOT_READY) extra["model_version"] = h->slots[k].version;
      }
      if (s.ok() && stage) shadowing[d] = true;
      (void)RefreshHello(d);  // first: whoever hears the event finds the new HELLO retained
      Event(d, c.name, s, extra);
    } else if (c.name == "infer") {
      auto r = link.Infer(c.payload);
      if (!r.ok()) return Event(d, c.name, r.status());
      if (OnTrial(d)) (void)RefreshHello(d);  // before the result, as for deploy
      Send(d, "result",
           json{{"device", ids[d]},
                {"model_version", r->result.model_version},
                {"ticks", r->result.ticks},
                {"class", r->result.top_class},
                {"confidence", r->result.confidence},
                {"output", HexBytes(r->output)}});
    } else if (c.name == "sense") {
      json req = json::parse(c.payload.begin(), c.payload.end(), nullptr, false);
      if (req.is_discarded() || !req.is_object() || !req.contains("count") ||
          !req["count"].is_number_unsigned())
        return Event(d, c.name,
                     Status::Error("sense: the payload must be JSON {\"count\": N, "
                                   "\"capture_below\": X}"));
      if (req.contains("stream")) return Listen(d, link, c, req);
      const bool shadow = shadowing[d] || req.value("shadow", false);
      auto r = link.Sense(req["count"].get<uint32_t>(), req.value("capture_below", 0.0f), shadow);
      if (!r.ok()) {
        if (r.status().code() == StatusCode::kUnavailable) last_link_error = true;
        // The staged package failed its checks or self-test (the device emptied its
        // slot), is gone, or takes other inputs: told once, as a "shadow" outcome, and
        // shadowing stops.
        const uint16_t refusal = link.last_refusal();
        if (shadow &&
            (refusal == TML_E_PACKAGE || refusal == TML_E_STATE || refusal == TML_E_INPUT)) {
          shadowing[d] = false;
          (void)RefreshHello(d);
          Event(d, "shadow", r.status());
          return;
        }
        // A device without a sensor or a model has nothing to report on its own.
        if (!c.automatic) Event(d, c.name, r.status());
        return;
      }
      for (const auto& s : *r) {
        const json head = TelemetryJson(d, s.telemetry);
        Send(d, "telemetry", head);
        if (s.shadowed)
          Send(d, "shadow",
               json{{"device", ids[d]},
                    {"model_version", s.shadow.model_version},
                    {"ticks", s.shadow.ticks},
                    {"class", s.shadow.top_class},
                    {"confidence", s.shadow.confidence},
                    {"sample", s.shadow.sample},
                    {"active_version", s.shadow.active_version},
                    {"active_class", s.shadow.active_class},
                    {"active_confidence", s.shadow.active_confidence}});
        if (s.captured) {
          json cap = head;
          cap["bytes"] = HexBytes(s.sample);
          Send(d, "capture", std::move(cap));
        }
      }
      if (OnTrial(d)) (void)RefreshHello(d);
      if (!c.automatic) Event(d, c.name, Status::Ok(), {{"samples", r->size()}});
    } else {
      Event(d, c.name,
            Status::Errorf("unknown command '{}' (deploy, stage, unstage, infer, sense, confirm, "
                           "rollback, hello)",
                           c.name));
    }
  }

  // A TELEMETRY push as the telemetry topic's JSON.
  json TelemetryJson(size_t d, const tml_proto_telemetry& t) const {
    return {{"device", ids[d]},           {"model_version", t.model_version},
            {"ticks", t.ticks},           {"class", t.top_class},
            {"confidence", t.confidence}, {"sample", t.sample},
            {"boots", t.boots},           {"errors", t.errors}};
  }

  // sense with "stream": the device listens to its microphone (DeviceLink::Listen); each
  // inference goes out as telemetry, each keyword heard as a detection.
  void Listen(size_t d, DeviceLink& link, const Command& c, const json& req) {
    auto set = ListenFromJson(req["stream"]);
    if (!set.ok()) return Event(d, c.name, set.status());
    auto r = link.Listen(req["count"].get<uint32_t>(), *set);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kUnavailable) last_link_error = true;
      if (!c.automatic) Event(d, c.name, r.status());
      return;
    }
    size_t next = 0;
    for (const auto& t : r->telemetry) {
      for (; next < r->detections.size() && r->detections[next].sample == t.sample; ++next) {
        const tml_proto_detection& k = r->detections[next];
        Send(d, "detection",
             json{{"device", ids[d]},
                  {"model_version", k.model_version},
                  {"class", k.keyword},
                  {"confidence", k.score},
                  {"frame", k.frame},
                  {"sample", k.sample}});
      }
      Send(d, "telemetry", TelemetryJson(d, t));
    }
    if (OnTrial(d)) (void)RefreshHello(d);
    if (!c.automatic)
      Event(d, c.name, Status::Ok(),
            {{"samples", r->telemetry.size()}, {"detections", r->detections.size()}});
  }

  // A device's main loop, for devices that only infer when told: every sense_every_ms,
  // when no command waits, each MCU runs sense_count samples of its sensor (or, with
  // listen, listens for sense_count inferences).
  void QueueSensing() {
    json body = {{"count", opt.sense_count}, {"capture_below", 0}};
    if (opt.listen) body["stream"] = ListenJson(*opt.listen);
    const std::string req = body.dump();
    for (size_t d = 0; d < ids.size(); ++d)
      if (!IsHost(d))
        queue.push_back({d, "sense", std::vector<uint8_t>(req.begin(), req.end()), true});
  }

  void Work() {
    auto next_sense =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.sense_every_ms);
    for (;;) {
      Command c;
      {
        std::unique_lock<std::mutex> l(mu);
        const auto ready = [&] { return stopping || !queue.empty(); };
        if (opt.sense_every_ms > 0) {
          if (!cv.wait_until(l, next_sense, ready)) {
            QueueSensing();
            next_sense =
                std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.sense_every_ms);
          }
        } else {
          cv.wait(l, ready);
        }
        if (stopping) return;
        c = std::move(queue.front());
        queue.pop_front();
      }
      Handle(c);
      std::lock_guard<std::mutex> l(mu);
      ++handled;
    }
  }

  static void OnConnect(mosquitto* m, void* self, int rc) {
    auto* s = static_cast<State*>(self);
    if (rc == 0) Publish(m, s->StateTopic(), "online", true);
    std::lock_guard<std::mutex> l(s->mu);
    s->connect_rc[m] = rc;
    s->cv.notify_all();
  }
  static void OnDeviceConnect(mosquitto* m, void* self, int rc) {
    auto* c = static_cast<DeviceConn*>(self);
    if (rc == 0) c->s->DeviceBirth(c->d);
    std::lock_guard<std::mutex> l(c->s->mu);
    c->s->connect_rc[m] = rc;
    c->s->cv.notify_all();
  }

  static void OnMessage(mosquitto*, void* self, const mosquitto_message* m) {
    auto* c = static_cast<DeviceConn*>(self);
    State* s = c->s;
    const std::string base = s->DeviceTopic(c->d, "cmd/");
    const std::string topic = m->topic;
    if (topic.rfind(base, 0) != 0) return;
    Command cmd{c->d, topic.substr(base.size()), {}};
    const auto* p = static_cast<const uint8_t*>(m->payload);
    cmd.payload.assign(p, p + m->payloadlen);
    std::lock_guard<std::mutex> l(s->mu);
    s->queue.push_back(std::move(cmd));
    s->cv.notify_all();
  }

  std::vector<mosquitto*> Clients() const {
    std::vector<mosquitto*> all;
    if (mosq) all.push_back(mosq);
    for (const auto& c : conns)
      if (c->mosq) all.push_back(c->mosq);
    return all;
  }
  // Stops the worker, then ends every connection: cleanly (offline published,
  // DISCONNECT) or not at all (the sockets closed under the clients: the will).
  void Shutdown(bool clean) {
    {
      std::lock_guard<std::mutex> l(mu);
      stopping = true;
      cv.notify_all();
    }
    if (worker.joinable()) worker.join();
    if (clean && mosq) Publish(mosq, StateTopic(), "offline", true);
    for (mosquitto* m : Clients()) {
      if (clean) {
        mosquitto_disconnect(m);
      } else {
        const int fd = mosquitto_socket(m);
        if (fd >= 0) shutdown(fd, SHUT_RDWR);
      }
      mosquitto_loop_stop(m, !clean);
      mosquitto_destroy(m);
    }
    mosq = nullptr;
    for (auto& c : conns) c->mosq = nullptr;
  }
};

Result<std::unique_ptr<Agent>> Agent::Start(const AgentOptions& o) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  if (o.id.empty() || o.id.find_first_of("/+#") != std::string::npos)
    return Status::Errorf("agent: id '{}' must be non-empty, without / + #", o.id);
  auto agent = std::unique_ptr<Agent>(new Agent());
  agent->s_ = std::make_unique<State>();
  State& s = *agent->s_;
  s.opt = o;
  std::random_device rd;
  s.run_id = fmt::format("{:08x}{:08x}", rd(), rd());
  for (const auto& address : o.devices) {
    TML_ASSIGN_OR_RETURN(auto link, DeviceLink::Connect(address, o.connect_timeout_ms));
    auto h = link->Hello();
    if (!h.ok()) return h.status().Wrap("agent: device at " + address);
    std::string id(h->device_id, strnlen(h->device_id, sizeof h->device_id));
    if (id.empty() || id.find_first_of("/+#") != std::string::npos)
      return Status::Errorf("agent: device at {} reports an unusable id '{}'", address, id);
    s.ids.push_back(id);
    s.hellos.push_back(HelloJson(*h));
    s.hellos.back()["agent"] = o.id;
    s.links.push_back(std::move(link));
  }
  if (!o.host.id.empty()) {
    for (const auto& id : s.ids)
      if (id == o.host.id)
        return Status::Errorf("agent: the gateway's device id '{}' is a bridged device's too", id);
    TML_ASSIGN_OR_RETURN(s.host, HostDevice::Open(o.host));
    s.ids.push_back(o.host.id);
    s.hellos.push_back(HelloJson(s.host->Hello()));
    s.hellos.back()["agent"] = o.id;
    s.hellos.back()["gateway"] = true;
    s.links.push_back(nullptr);
  }
  if (s.ids.empty())
    return Status::Error("agent: no devices (--device ADDRESS or --host-device ID)");
  s.shadowing.assign(s.ids.size(), false);
  // The agent's connection, then one per device; each logs in as itself.
  const auto login = [&](mosquitto* m, const std::string& user, const std::string& password) {
    if (!user.empty())
      mosquitto_username_pw_set(m, user.c_str(), password.empty() ? nullptr : password.c_str());
  };
  s.mosq = mosquitto_new(("tinymlaas-agent-" + o.id).c_str(), true, &s);
  if (!s.mosq) return Status::Internal("agent: cannot create an MQTT client");
  // Small commands and answers: no Nagle delay (control_plane.cc says why).
  mosquitto_int_option(s.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  login(s.mosq, o.username, o.password);
  const std::string offline = "offline";
  mosquitto_will_set(s.mosq, s.StateTopic().c_str(), static_cast<int>(offline.size()),
                     offline.data(), 1, true);
  mosquitto_connect_callback_set(s.mosq, &State::OnConnect);
  for (size_t d = 0; d < s.ids.size(); ++d) {
    auto c = std::make_unique<State::DeviceConn>();
    c->s = &s;
    c->d = d;
    c->mosq = mosquitto_new(("tinymlaas-agent-" + o.id + "-" + s.ids[d]).c_str(), true, c.get());
    if (!c->mosq) return Status::Internal("agent: cannot create an MQTT client");
    mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    const auto own = o.device_passwords.find(s.ids[d]);
    c->hello = s.hellos[d].dump();
    c->user = own != o.device_passwords.end() ? s.ids[d] : o.username;
    login(c->mosq, c->user, own != o.device_passwords.end() ? own->second : o.password);
    mosquitto_connect_callback_set(c->mosq, &State::OnDeviceConnect);
    mosquitto_disconnect_callback_set(c->mosq, &State::OnDeviceDisconnect);
    mosquitto_message_callback_set(c->mosq, &State::OnMessage);
    s.conns.push_back(std::move(c));
  }
  for (mosquitto* m : s.Clients()) {
    const int rc = mosquitto_connect(m, o.broker_host.c_str(), o.broker_port, 10);
    if (rc != MOSQ_ERR_SUCCESS)
      return Status::Unavailable("agent: MQTT broker {}:{}: {}", o.broker_host, o.broker_port,
                                 mosquitto_strerror(rc));
    mosquitto_loop_start(m);
  }
  {
    std::unique_lock<std::mutex> l(s.mu);
    const size_t clients = s.Clients().size();
    if (!s.cv.wait_for(l, std::chrono::milliseconds(o.connect_timeout_ms),
                       [&] { return s.connect_rc.size() == clients; }))
      return Status::Unavailable("agent: no answer from the MQTT broker {}:{}", o.broker_host,
                                 o.broker_port);
    for (const auto& [m, rc] : s.connect_rc) {
      if (rc == 0) continue;
      std::string who = "agent " + o.id;
      for (const auto& c : s.conns)
        if (c->mosq == m) who = "device " + s.ids[c->d];
      return Status::Unavailable("agent: the MQTT broker refused {}'s connection: {}", who,
                                 mosquitto_connack_string(rc));
    }
  }
  s.worker = std::thread([&s] { s.Work(); });
  return agent;
}

void Agent::Stop() {
  if (s_) s_->Shutdown(true);
}

void Agent::Abort() {
  if (s_) s_->Shutdown(false);
}

Agent::~Agent() {
  Stop();
}

std::vector<std::string> Agent::device_ids() const {
  return s_->ids;
}

int Agent::commands_handled() const {
  std::lock_guard<std::mutex> l(s_->mu);
  return s_->handled;
}

}  // namespace tml
