// The gateway agent (`tinymlaas agent`): a Linux process, the Raspberry-Pi-class node,
// that bridges devices on serial ports or TCP (DeviceLink) to the control plane over MQTT
// (libmosquitto, any MQTT 3.1.1 / 5 broker). Topics (docs/fleet.md):
//
//   PREFIX/agents/AGENT/state           "online" | "offline" (retained; the will)
//   PREFIX/devices/DEV/hello            the device's capabilities, JSON (retained)
//   PREFIX/devices/DEV/cmd/COMMAND      deploy (package bytes, or {"package": HASH} of
//                                       one in the agent's cache), stage (the same, not
//                                       activated: it runs as a shadow), unstage, infer
//                                       (input bytes), sense ({"count", "capture_below",
//                                       "shadow"}, or {"count", "stream": settings}:
//                                       listen, fleet/listen.h), confirm, rollback, hello
//   PREFIX/devices/DEV/events           the outcome of each command, JSON
//   PREFIX/devices/DEV/result           an inference, JSON
//   PREFIX/devices/DEV/telemetry        per sensed sample, JSON
//   PREFIX/devices/DEV/shadow           per sensed sample, what the staged package
//                                       answered beside the active one, JSON
//   PREFIX/devices/DEV/capture          a captured sample, JSON with the bytes in hex
//   PREFIX/devices/DEV/detection        a keyword a listening device heard, JSON
//
//   AgentOptions o;  o.id = "gw1";  o.broker_port = 1883;  o.devices = {"unix:/tmp/d1.sock"};
//   TML_ASSIGN_OR_RETURN(auto agent, Agent::Start(o));   // serves until Stop()
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "fleet/host_device.h"
#include "tml_proto.h"

namespace tml {

struct AgentOptions {
  std::string id = "gateway";
  std::string broker_host = "127.0.0.1";
  int broker_port = 1883;
  std::string username, password;  // the agent's own broker credentials
  // Device id -> its own broker password: that device's connection logs in as the
  // device (docs/fleet.md, identities); devices not here use the agent's credentials.
  std::map<std::string, std::string> device_passwords;
  // The gateway as a device of its own (host.id non-empty): packages run on the host
  // runtime with a device's update rules (fleet/host_device.h).
  HostDeviceOptions host;
  // Per device, what is kept while the broker is away (results, telemetry, captures,
  // events); beyond it the oldest go, counted, and reported once the broker is back.
  size_t buffer_messages = 1000;
  // Packages the agent received, by the SHA-256 of their bytes: a deploy can then name
  // one ({"package": "HASH"}) instead of carrying it ("" = no cache). The newest
  // cache_packages are kept.
  std::string cache_dir;
  size_t cache_packages = 8;
  // A device's main loop for devices that infer only when told (emulated ones): every
  // sense_every_ms (0: never), while no command waits, each MCU runs sense_count samples
  // of its sensor and the telemetry goes out as for a sense command.
  int sense_every_ms = 0;
  uint32_t sense_count = 1;
  // With settings, those runs listen to the device's microphone instead (sense_count
  // inferences each): telemetry per inference, and detections.
  std::optional<tml_proto_stream> listen;
  std::vector<std::string> devices;  // device addresses (DeviceLink::Connect)
  std::string prefix = "tinymlaas";
  int connect_timeout_ms = 20000;
};

class Agent {
 public:
  // Connects every device (HELLO) and the broker, publishes the birth messages and
  // serves commands on a thread of its own.
  static Result<std::unique_ptr<Agent>> Start(const AgentOptions& o);
  ~Agent();
  // Leaves cleanly: "offline" published, then disconnects.
  void Stop();
  // Drops the broker connection without a goodbye (a crash, a power cut): the broker
  // publishes the will.
  void Abort();
  // The device ids found at start, in the order of AgentOptions::devices.
  std::vector<std::string> device_ids() const;
  // Commands handled so far (for tests and the log).
  int commands_handled() const;

  struct State;

 private:
  Agent() = default;
  std::unique_ptr<State> s_;
};

// "aabb..." for bytes, and back (false for odd lengths and characters other than 0-9 a-f).
std::string HexBytes(const std::vector<uint8_t>& bytes);
bool ParseHexBytes(const std::string& hex, std::vector<uint8_t>* out);

}  // namespace tml
