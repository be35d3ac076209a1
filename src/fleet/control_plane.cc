#include "fleet/control_plane.h"

#include <mosquitto.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>

namespace tml {

using nlohmann::json;

Status ParseBroker(const std::string& broker, std::string* host, int* port) {
  const size_t colon = broker.rfind(':');
  *host = broker.substr(0, colon);
  *port = 1883;
  if (colon != std::string::npos) {
    const std::string p = broker.substr(colon + 1);
    char* end = nullptr;
    const long v = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end || v <= 0 || v > 65535)
      return Status::Errorf("broker '{}': the port must be a number from 1 to 65535", broker);
    *port = static_cast<int>(v);
  }
  if (host->empty()) return Status::Errorf("broker '{}': HOST:PORT is needed", broker);
  return Status::Ok();
}

struct ControlPlane::State {
  ControlOptions opt;
  mosquitto* mosq = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  int connect_rc = -1;
  int subscribed = 0;                      // SUBACKs received
  std::map<std::string, bool> agents;      // heard since the last sync
  std::map<std::string, json> hellos;      // device -> HELLO, heard since the last sync
  std::map<std::string, bool> all_agents;  // every agent state heard
  std::string barrier_topic, barrier_token, barrier_seen;
  struct Message {
    std::string device, leaf;
    json body;
  };
  std::deque<Message> inbox;  // events and results, oldest first

  std::string Topic(const std::string& rest) const { return opt.prefix + "/" + rest; }
  std::vector<std::string> DeviceTopics() const {
    std::vector<std::string> t = {"hello", "events", "result"};
    if (opt.on_device_message) t.insert(t.end(), opt.extra_leaves.begin(), opt.extra_leaves.end());
    return t;
  }

  static void OnConnect(mosquitto* m, void* self, int rc) {
    auto* s = static_cast<State*>(self);
    if (rc == 0) {
      mosquitto_subscribe(m, nullptr, s->Topic("agents/+/state").c_str(), 1);
      for (const std::string& t : s->DeviceTopics())
        mosquitto_subscribe(m, nullptr, s->Topic("devices/" + s->opt.devices + "/" + t).c_str(), 1);
      mosquitto_subscribe(m, nullptr, s->barrier_topic.c_str(), 1);
    }
    std::lock_guard<std::mutex> l(s->mu);
    s->connect_rc = rc;
    s->cv.notify_all();
  }

  static void OnSubscribe(mosquitto*, void* self, int, int, const int*) {
    auto* s = static_cast<State*>(self);
    std::lock_guard<std::mutex> l(s->mu);
    ++s->subscribed;
    s->cv.notify_all();
  }

  static void OnMessage(mosquitto*, void* self, const mosquitto_message* m) {
    auto* s = static_cast<State*>(self);
    const std::string topic = m->topic;
    const std::string body(static_cast<const char*>(m->payload),
                           static_cast<size_t>(m->payloadlen));
    if (topic == s->barrier_topic) {
      std::lock_guard<std::mutex> l(s->mu);
      s->barrier_seen = body;
      s->cv.notify_all();
      return;
    }
    const std::string prefix = s->opt.prefix + "/";
    if (topic.rfind(prefix, 0) != 0) return;
    const std::string rest = topic.substr(prefix.size());
    const size_t a = rest.find('/'), b = rest.find('/', a + 1);
    if (a == std::string::npos || b == std::string::npos) return;
    const std::string kind = rest.substr(0, a), id = rest.substr(a + 1, b - a - 1),
                      leaf = rest.substr(b + 1);
    if (kind == "agents" && leaf == "state") {
      if (body != "online" && body != "offline") return;  // not ours to interpret
      std::lock_guard<std::mutex> l(s->mu);
      s->agents[id] = body == "online";
      s->all_agents[id] = body == "online";
      s->cv.notify_all();
      return;
    }
    if (kind != "devices") return;
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;  // a malformed message changes nothing
    if (s->opt.on_device_message) s->opt.on_device_message(id, leaf, j);
    if (leaf != "hello" && leaf != "events" && leaf != "result") return;  // extra_leaves'
    std::lock_guard<std::mutex> l(s->mu);
    s->cv.notify_all();
    if (leaf == "hello") {
      if (!j.contains("agent") || !j["agent"].is_string()) return;
      s->hellos[id] = std::move(j);
    } else {
      s->inbox.push_back({id, leaf, std::move(j)});
      if (s->inbox.size() > 4096) s->inbox.pop_front();
    }
  }
};

Result<std::unique_ptr<ControlPlane>> ControlPlane::Connect(const ControlOptions& o) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  if (o.devices != "+" &&
      (o.devices.empty() || o.devices.find_first_of("/+#") != std::string::npos))
    return Status::Errorf("control plane: devices '{}' must be + or one id, without / + #",
                          o.devices);
  auto cp = std::unique_ptr<ControlPlane>(new ControlPlane());
  cp->s_ = std::make_unique<State>();
  State& s = *cp->s_;
  s.opt = o;
  // Unique per connection: a broker drops the older of two clients with one id.
  static std::atomic<int> connections{0};
  if (s.opt.client_id.empty())
    s.opt.client_id =
        fmt::format("tinymlaas-control-{}-{}", getpid(), connections.fetch_add(1) + 1);
  s.barrier_topic = s.Topic("control/" + s.opt.client_id + "/barrier");
  if (o.persistent_session && o.client_id.empty())
    return Status::Error("control plane: a persistent session needs a fixed client id");
  s.mosq = mosquitto_new(s.opt.client_id.c_str(), !o.persistent_session, &s);
  if (!s.mosq) return Status::Internal("control plane: cannot create an MQTT client");
  // Commands and answers are small messages each way: without TCP_NODELAY, Nagle's
  // algorithm meets the peer's delayed ACK and each one waits about 40 ms.
  mosquitto_int_option(s.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  if (!o.username.empty())
    mosquitto_username_pw_set(s.mosq, o.username.c_str(),
                              o.password.empty() ? nullptr : o.password.c_str());
  mosquitto_connect_callback_set(s.mosq, &State::OnConnect);
  mosquitto_disconnect_callback_set(s.mosq, [](mosquitto*, void* self, int) {
    auto* st = static_cast<State*>(self);
    std::lock_guard<std::mutex> l(st->mu);
    st->connect_rc = -2;
  });
  mosquitto_subscribe_callback_set(s.mosq, &State::OnSubscribe);
  mosquitto_message_callback_set(s.mosq, &State::OnMessage);
  const int rc = mosquitto_connect(s.mosq, o.broker_host.c_str(), o.broker_port, 10);
  if (rc != MOSQ_ERR_SUCCESS)
    return Status::Unavailable("control plane: MQTT broker {}:{}: {}", o.broker_host, o.broker_port,
                               mosquitto_strerror(rc));
  mosquitto_loop_start(s.mosq);
  std::unique_lock<std::mutex> l(s.mu);
  if (!s.cv.wait_for(l, std::chrono::milliseconds(o.timeout_ms), [&] { return s.connect_rc >= 0; }))
    return Status::Unavailable("control plane: no answer from the MQTT broker {}:{}", o.broker_host,
                               o.broker_port);
  if (s.connect_rc != 0)
    return Status::Unavailable("control plane: the MQTT broker refused the connection: {}",
                               mosquitto_connack_string(s.connect_rc));
  if (!s.cv.wait_for(l, std::chrono::milliseconds(o.timeout_ms),
                     [&] { return s.subscribed >= static_cast<int>(s.DeviceTopics().size()) + 2; }))
    return Status::Unavailable(
        "control plane: the MQTT broker did not acknowledge the "
        "subscriptions");
  return cp;
}

bool ControlPlane::connected() const {
  std::lock_guard<std::mutex> l(s_->mu);
  return s_->connect_rc == 0;
}

ControlPlane::~ControlPlane() {
  if (!s_ || !s_->mosq) return;
  mosquitto_disconnect(s_->mosq);
  mosquitto_loop_stop(s_->mosq, false);
  mosquitto_destroy(s_->mosq);
}

Result<SyncReport> ControlPlane::Sync(MetaStore& db) {
  State& s = *s_;
  std::map<std::string, bool> agents;
  std::map<std::string, json> hellos;
  {
    std::unique_lock<std::mutex> l(s.mu);
    s.barrier_token = std::to_string(std::random_device{}());
    const std::string token = s.barrier_token;
    l.unlock();
    const int rc = mosquitto_publish(s.mosq, nullptr, s.barrier_topic.c_str(),
                                     static_cast<int>(token.size()), token.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS)
      return Status::Unavailable("control plane: publish: {}", mosquitto_strerror(rc));
    l.lock();
    if (!s.cv.wait_for(l, std::chrono::milliseconds(s.opt.timeout_ms),
                       [&] { return s.barrier_seen == token; }))
      return Status::Unavailable(
          "control plane: no round trip through the broker in {} ms (is this client allowed "
          "to read and write {}?)",
          s.opt.timeout_ms, s.barrier_topic);
    agents.swap(s.agents);
    hellos.swap(s.hellos);
  }
  SyncReport r;
  Transaction tx(db);
  TML_RETURN_IF_ERROR(tx.status());
  for (const auto& [agent, online] : agents) {
    TML_RETURN_IF_ERROR(db.SetAgentOnline(agent, online));
    ++r.agents;
  }
  for (const auto& [id, hello] : hellos) {
    DeviceRecord d;
    d.id = id;
    d.agent = hello["agent"].get<std::string>();
    d.capabilities = hello.dump();
    TML_RETURN_IF_ERROR(db.PutDevice(d));
    ++r.devices;
  }
  TML_RETURN_IF_ERROR(tx.Commit());
  TML_ASSIGN_OR_RETURN(auto all, db.ListDevices(""));
  for (const auto& d : all) r.online_devices += d.online;
  return r;
}

Result<json> ControlPlane::Command(const std::string& device, const std::string& name,
                                   const std::vector<uint8_t>& payload, int timeout_ms,
                                   const std::function<void(const json&)>& on_progress,
                                   const std::function<bool()>& cancelled) {
  if (device.empty() || device.find_first_of("/+#") != std::string::npos)
    return Status::Errorf("device id '{}' must be non-empty, without / + #", device);
  State& s = *s_;
  {
    // Outcomes of earlier commands to this device are not this command's.
    std::lock_guard<std::mutex> l(s.mu);
    std::erase_if(s.inbox, [&](const State::Message& m) { return m.device == device; });
  }
  const std::string topic = s.Topic("devices/" + device + "/cmd/" + name);
  const int rc = mosquitto_publish(s.mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), 1, false);
  if (rc != MOSQ_ERR_SUCCESS)
    return Status::Unavailable("control plane: publish {}: {}", topic, mosquitto_strerror(rc));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> l(s.mu);
  for (;;) {
    for (auto it = s.inbox.begin(); it != s.inbox.end();) {
      if (it->device != device) {  // another command's: left for it
        ++it;
        continue;
      }
      State::Message m = std::move(*it);
      it = s.inbox.erase(it);
      if (m.leaf == "result" && name == "infer") return m.body;
      if (m.leaf != "events" || m.body.value("command", "") != name) continue;
      if (!m.body.contains("ok")) {
        if (on_progress) {
          l.unlock();
          on_progress(m.body);
          l.lock();
          it = s.inbox.begin();  // the inbox may have changed meanwhile
        }
        continue;
      }
      return m.body;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Unavailable("no answer to '{}' from device {} in {} s (is its agent online?)",
                                 name, device, timeout_ms / 1000);
    if (cancelled) {
      l.unlock();
      const bool stop = cancelled();
      l.lock();
      if (stop)
        return Status::Cancelled("'{}' to device {}: stopped while waiting for its answer", name,
                                 device);
      s.cv.wait_until(
          l, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
    } else {
      s.cv.wait_until(l, deadline);
    }
  }
}

}  // namespace tml
