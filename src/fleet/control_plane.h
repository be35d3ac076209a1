// The control plane's end of the fleet topics (docs/fleet.md): an MQTT client that
// reads what gateway agents publish (their state, the devices' retained HELLO, command
// events, results) into the device registry, and sends commands to devices.
//
//   ControlOptions o;  o.broker_port = 1883;
//   TML_ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(o));
//   TML_ASSIGN_OR_RETURN(SyncReport r, cp->Sync(*ws.db));     // registry up to date
//   TML_ASSIGN_OR_RETURN(auto ev, cp->Command("m4-1", "deploy", bytes, 120000, on_progress));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/meta_store.h"

namespace tml {

struct ControlOptions {
  std::string broker_host = "127.0.0.1";
  int broker_port = 1883;
  std::string username, password;  // the control plane's broker credentials
  std::string prefix = "tinymlaas";
  std::string client_id;  // "" -> tinymlaas-control-PID-N (N counts connections)
  // A persistent session (clean session off; needs a fixed client_id): the broker keeps
  // the subscriptions and queues QoS 1 messages while this client is away, across a
  // broker restart when the broker persists its state.
  bool persistent_session = false;
  int timeout_ms = 20000;
  // The devices whose topics are read: one id, or "+" for all.
  std::string devices = "+";
  // Every device message (hello, events, result, and those of extra_leaves, whose topics
  // are then read too) as it arrives, on the MQTT client's thread: keep it short. The
  // feed of the telemetry ingest (fleet/telemetry_ingest.h), `tinymlaas observe` and
  // data capture (app/capture.h).
  std::function<void(const std::string& device, const std::string& leaf,
                     const nlohmann::json& body)>
      on_device_message;
  std::vector<std::string> extra_leaves = {"telemetry", "shadow", "detection"};
};

// "HOST:PORT" or "HOST" (port 1883) into host and port.
Status ParseBroker(const std::string& broker, std::string* host, int* port);

struct SyncReport {
  int agents = 0, devices = 0;  // records written
  int online_devices = 0;
};

class ControlPlane {
 public:
  static Result<std::unique_ptr<ControlPlane>> Connect(const ControlOptions& o);
  ~ControlPlane();

  // Everything the broker holds now (agent states, retained HELLOs) and everything heard
  // since the last sync, written into the registry. A round trip through the broker
  // (a message to this client's own topic) marks the end of the retained messages.
  Result<SyncReport> Sync(MetaStore& db);
  // Whether the connection to the broker stands now (the client reconnects on its own).
  bool connected() const;

  // Publishes PREFIX/devices/DEV/cmd/NAME and waits up to timeout_ms for the outcome:
  // the command's final event (its "ok" says how it went; an error Status only when no
  // answer came), or for "infer" the result. Progress events go to on_progress. A
  // cancelled error as soon as `cancelled` (polled while waiting) says so.
  Result<nlohmann::json> Command(const std::string& device, const std::string& name,
                                 const std::vector<uint8_t>& payload, int timeout_ms,
                                 const std::function<void(const nlohmann::json&)>& on_progress = {},
                                 const std::function<bool()>& cancelled = {});

  struct State;

 private:
  ControlPlane() = default;
  std::unique_ptr<State> s_;
};

}  // namespace tml
