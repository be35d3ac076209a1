// The host end of the device protocol (docs/protocol.md) over a byte stream: a QEMU
// board's serial port (a Unix socket) or a TCP connection. The gateway agent and the
// tests talk to devices through it; framing is the device's own C code (tml_proto.c).
//
//   TML_ASSIGN_OR_RETURN(auto link, DeviceLink::Connect("unix:/tmp/dev1.sock", 10000));
//   TML_ASSIGN_OR_RETURN(tml_proto_hello h, link->Hello());
//   TML_RETURN_IF_ERROR(link->SendPackage(package_bytes));
//   TML_RETURN_IF_ERROR(link->Activate());
//   TML_ASSIGN_OR_RETURN(DeviceLink::Inference r, link->Infer(input));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "tml_proto.h"

namespace tml {

class DeviceLink {
 public:
  struct Frame {
    uint8_t type = 0;
    uint16_t seq = 0;
    std::vector<uint8_t> payload;
  };
  struct Inference {
    tml_proto_result result{};
    std::vector<uint8_t> output;  // empty when it did not fit one frame
  };
  using Progress = std::function<void(size_t done, size_t total)>;
  // What the device reported for one sample of its sensor (SENSE), and the sample when it
  // captured it (confidence below the threshold).
  struct Sensed {
    tml_proto_telemetry telemetry{};
    bool captured = false;
    tml_proto_capture capture{};
    std::vector<uint8_t> sample;
    bool shadowed = false;  // the READY slot's package ran beside the active one
    tml_proto_shadow shadow{};
  };

  // address: "unix:PATH" or "tcp:HOST:PORT"; retries until timeout_ms (the device may
  // still be starting).
  static Result<std::unique_ptr<DeviceLink>> Connect(const std::string& address, int timeout_ms);
  ~DeviceLink();
  DeviceLink(const DeviceLink&) = delete;
  DeviceLink& operator=(const DeviceLink&) = delete;

  Result<tml_proto_hello> Hello();
  // Transfers a package into the inactive slot, resuming where the device stopped, and
  // has it checked (XFER_END). The device's refusal names the check that failed.
  // progress(done, total) first with the offset the device starts at (0, or where a
  // cut transfer resumes), then after every chunk.
  Status SendPackage(const std::vector<uint8_t>& package, const Progress& progress = {},
                     size_t chunk_bytes = 512);
  Status Activate();
  Status Confirm();
  Status Rollback();
  // An output above kMaxInferOutputBytes comes back empty: the RESULT frame holds the
  // result and the output bytes only when they fit one frame.
  static constexpr size_t kMaxInferOutputBytes = TML_PROTO_MAX_PAYLOAD - sizeof(tml_proto_result);
  Result<Inference> Infer(const std::vector<uint8_t>& input);
  Result<tml_proto_stats> Stats();
  // Runs count samples of the device's emulated sensor; waits for every sample's
  // telemetry, the captured samples (confidence below capture_below) whole and, with
  // shadow, what the READY slot's package answered (TML_SENSE_SHADOW).
  Result<std::vector<Sensed>> Sense(uint32_t count, float capture_below, bool shadow = false,
                                    int timeout_ms = 60000);

  // Listens to the device's emulated microphone (TML_SENSE_STREAM) for count inferences:
  // their telemetry, and the keyword detections among them.
  struct Listened {
    std::vector<tml_proto_telemetry> telemetry;
    std::vector<tml_proto_detection> detections;
  };
  Result<Listened> Listen(uint32_t count, const tml_proto_stream& settings,
                          int timeout_ms = 120000);

  // One request and its reply (an ERROR reply becomes an error Status).
  Result<Frame> Call(uint8_t type, const void* payload, size_t n, int timeout_ms = 10000);
  // Raw access for protocol tests: bytes out, the next frame in.
  Status SendRaw(const void* data, size_t n);
  Result<Frame> ReadFrame(int timeout_ms);
  uint16_t NextSeq() { return ++seq_; }
  void SetSeq(uint16_t s) { seq_ = s; }
  // Frames the device pushed on its own (telemetry, captures) while waiting for replies.
  std::vector<Frame> TakePushed();
  // The tml_proto_error_code of the last request's ERROR reply (TML_E_NONE: it had none).
  uint16_t last_refusal() const { return refusal_; }

 private:
  explicit DeviceLink(int fd);
  int fd_;
  uint16_t seq_ = 0;
  std::unique_ptr<tml_proto_rx> rx_;
  std::vector<Frame> pushed_;
  uint16_t refusal_ = 0;
};

// A HELLO_INFO as JSON: what the registry and the agent's hello topic carry.
nlohmann::json HelloJson(const tml_proto_hello& h);

// The active slot of a HELLO in that JSON form (none: no model, or a malformed HELLO).
struct ActiveSlot {
  size_t slot = 0;
  std::string model_id, state;  // state: trial, confirmed
  int64_t version = 0;
};
std::optional<ActiveSlot> HelloActiveSlot(const nlohmann::json& hello);

// "replay (expected after 17)", ... : an ERROR reply's payload in words.
std::string DeviceErrorMessage(const std::vector<uint8_t>& payload);
const char* DeviceErrorName(int code);

}  // namespace tml
