// A Mosquitto broker for a test (a free loopback port, no persistence), and an MQTT client
// that records every message it sees.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/process.h"

struct mosquitto;
struct mosquitto_message;

namespace tml::testing {

class MqttBroker {
 public:
  // Starts mosquitto in dir; extra config lines (password_file, acl_file) optional.
  static Result<std::unique_ptr<MqttBroker>> Start(const std::string& dir,
                                                   const std::string& extra_config = "");
  int port() const { return port_; }
  // Stops the broker (SIGTERM: a persistent one saves its sessions) and starts it again
  // on the same port with the same configuration; while_down runs in between.
  Status Stop();
  Status Restart(const std::function<void()>& while_down = {});

 private:
  Status Launch();
  int port_ = 0;
  std::string dir_, conf_;
  std::unique_ptr<ChildProcess> process_;
};

struct MqttMessage {
  std::string topic, payload;
  bool retained = false;
};

class MqttProbe {
 public:
  // Connects and subscribes to `filter` (all by default).
  static Result<std::unique_ptr<MqttProbe>> Connect(int port, const std::string& client_id,
                                                    const std::string& filter = "#",
                                                    const std::string& user = "",
                                                    const std::string& password = "",
                                                    bool persistent_session = false);
  ~MqttProbe();
  Status Publish(const std::string& topic, const std::string& payload, bool retain = false);
  // Subscribes and waits for the SUBACK: the granted QoS, or 0x80 if the broker refused.
  Result<int> Subscribe(const std::string& filter);
  // Waits up to timeout_ms for a message on topic for which pred holds; returns it.
  Result<MqttMessage> WaitFor(const std::string& topic,
                              const std::function<bool(const MqttMessage&)>& pred, int timeout_ms);
  std::vector<MqttMessage> Messages();

 private:
  static void OnMessage(mosquitto*, void* self, const mosquitto_message* m);
  mosquitto* mosq_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<MqttMessage> messages_;
  int connack_ = -1;
  std::map<int, int> granted_;  // SUBACKs: message id -> granted QoS
};

}  // namespace tml::testing
