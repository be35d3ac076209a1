#include "mqtt_broker.h"

#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fixtures.h"

namespace tml::testing {

namespace {

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

}  // namespace

Result<std::unique_ptr<MqttBroker>> MqttBroker::Start(const std::string& dir,
                                                      const std::string& extra_config) {
  auto b = std::make_unique<MqttBroker>();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  b->dir_ = dir;
  b->conf_ = dir + "/mosquitto.conf";
  for (int attempt = 0; attempt < 5; ++attempt) {
    b->port_ = FreeLoopbackPort();
    std::ofstream(b->conf_) << "listener " << b->port_ << " 127.0.0.1\n"
                            << "persistence false\n"
                            << "set_tcp_nodelay true\n"
                            << (extra_config.empty() ? "allow_anonymous true\n" : extra_config);
    const Status s = b->Launch();
    if (s.ok()) return b;
    if (b->process_->Running()) return s;
    // The port was taken between the probe and the start: try another one.
  }
  return Status::Unavailable("mosquitto did not start: {}", b->process_->Log());
}

Status MqttBroker::Launch() {
  TML_ASSIGN_OR_RETURN(process_,
                       ChildProcess::Start({"mosquitto", "-c", conf_}, dir_ + "/mosquitto.log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline && process_->Running()) {
    if (Accepts(port_)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("mosquitto: no listener on {}: {}", port_, process_->Log());
}

Status MqttBroker::Stop() {
  if (!process_ || !process_->Running()) return Status::Ok();
  ::kill(process_->pid(), SIGTERM);  // mosquitto saves its persistent state on SIGTERM
  if (process_->Wait(20000) < 0) process_->Stop();
  return Status::Ok();
}

Status MqttBroker::Restart(const std::function<void()>& while_down) {
  TML_RETURN_IF_ERROR(Stop());
  if (while_down) while_down();
  return Launch();
}

Result<std::unique_ptr<MqttProbe>> MqttProbe::Connect(int port, const std::string& client_id,
                                                      const std::string& filter,
                                                      const std::string& user,
                                                      const std::string& password,
                                                      bool persistent_session) {
  mosquitto_lib_init();
  auto p = std::unique_ptr<MqttProbe>(new MqttProbe());
  // A persistent session: the broker keeps the subscription and queues messages for the
  // probe while it is away, across a restart of a persistent broker.
  p->mosq_ = mosquitto_new(client_id.c_str(), !persistent_session, p.get());
  if (!user.empty()) mosquitto_username_pw_set(p->mosq_, user.c_str(), password.c_str());
  mosquitto_message_callback_set(p->mosq_, &MqttProbe::OnMessage);
  mosquitto_connect_callback_set(p->mosq_, [](mosquitto*, void* self, int rc) {
    auto* q = static_cast<MqttProbe*>(self);
    std::lock_guard<std::mutex> l(q->mu_);
    q->connack_ = rc;
    q->cv_.notify_all();
  });
  mosquitto_subscribe_callback_set(p->mosq_,
                                   [](mosquitto*, void* self, int mid, int n, const int* granted) {
                                     auto* q = static_cast<MqttProbe*>(self);
                                     std::lock_guard<std::mutex> l(q->mu_);
                                     q->granted_[mid] = n > 0 ? granted[0] : 0x80;
                                     q->cv_.notify_all();
                                   });
  if (int rc = mosquitto_connect(p->mosq_, "127.0.0.1", port, 10); rc != MOSQ_ERR_SUCCESS)
    return Status::Unavailable("mqtt probe: {}", mosquitto_strerror(rc));
  mosquitto_loop_start(p->mosq_);
  {
    std::unique_lock<std::mutex> l(p->mu_);
    if (!p->cv_.wait_for(l, std::chrono::seconds(20), [&] { return p->connack_ >= 0; }))
      return Status::Unavailable("mqtt probe: no CONNACK");
    if (p->connack_ != 0)
      return Status::FailedPrecondition("mqtt probe: refused: {}",
                                        mosquitto_connack_string(p->connack_));
  }
  if (!filter.empty()) TML_RETURN_IF_ERROR(p->Subscribe(filter).status());
  return p;
}

Result<int> MqttProbe::Subscribe(const std::string& filter) {
  int mid = 0;
  if (int rc = mosquitto_subscribe(mosq_, &mid, filter.c_str(), 1); rc != MOSQ_ERR_SUCCESS)
    return Status::Unavailable("subscribe {}: {}", filter, mosquitto_strerror(rc));
  std::unique_lock<std::mutex> l(mu_);
  if (!cv_.wait_for(l, std::chrono::seconds(20), [&] { return granted_.count(mid) > 0; }))
    return Status::Unavailable("subscribe {}: no SUBACK", filter);
  return granted_[mid];
}

MqttProbe::~MqttProbe() {
  if (!mosq_) return;
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  mosquitto_destroy(mosq_);
}

void MqttProbe::OnMessage(mosquitto*, void* self, const mosquitto_message* m) {
  auto* p = static_cast<MqttProbe*>(self);
  std::lock_guard<std::mutex> l(p->mu_);
  p->messages_.push_back(
      {m->topic,
       std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)),
       m->retain});
  p->cv_.notify_all();
}

Status MqttProbe::Publish(const std::string& topic, const std::string& payload, bool retain) {
  const int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), 1, retain);
  return rc == MOSQ_ERR_SUCCESS
             ? Status::Ok()
             : Status::Unavailable("publish {}: {}", topic, mosquitto_strerror(rc));
}

Result<MqttMessage> MqttProbe::WaitFor(const std::string& topic,
                                       const std::function<bool(const MqttMessage&)>& pred,
                                       int timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  size_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    for (; seen < messages_.size(); ++seen)
      if (messages_[seen].topic == topic && (!pred || pred(messages_[seen])))
        return messages_[seen];
    if (cv_.wait_until(l, deadline) == std::cv_status::timeout && seen == messages_.size())
      return Status::Unavailable("no message on {} within {} ms", topic, timeout_ms);
  }
}

std::vector<MqttMessage> MqttProbe::Messages() {
  std::lock_guard<std::mutex> l(mu_);
  return messages_;
}

}  // namespace tml::testing
