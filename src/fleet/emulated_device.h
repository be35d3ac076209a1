// An emulated device: a device image (src/targets/device_image.h) running in QEMU with
// its serial port on a Unix socket or a TCP port (DeviceLink::Connect(address())) and its
// flash in a host file that outlives restarts.
//
//   EmulatedDeviceOptions o;  o.id = "m4-1";  o.flash_path = "m4-1.flash";
//   TML_ASSIGN_OR_RETURN(auto dev, EmulatedDevice::Start(image, o));
//   TML_ASSIGN_OR_RETURN(auto link, DeviceLink::Connect(dev->address(), 10000));
#pragma once

#include <memory>
#include <string>

#include "core/process.h"
#include "targets/device_image.h"

namespace tml {

struct EmulatedDeviceOptions {
  std::string id = "device";
  std::string flash_path;   // required
  std::string socket_path;  // default: flash_path + ".sock"
  int tcp_port = 0;         // > 0: the serial port on TCP 127.0.0.1:PORT instead of a socket
  std::string sensor_path;  // samples the emulated sensor replays (inputs back to back)
  uint32_t cut_at = 0;      // simulate a power cut at this flash operation (0: none)
  bool icount = false;      // deterministic instruction counting (slower)
};

class EmulatedDevice {
 public:
  static Result<std::unique_ptr<EmulatedDevice>> Start(const DeviceImage& image,
                                                       const EmulatedDeviceOptions& o);
  const std::string& address() const { return address_; }
  ChildProcess& process() { return *process_; }
  // Waits for QEMU to end (a power cut ends it with code 75); -1 if it still runs.
  int WaitExit(int timeout_ms) { return process_->Wait(timeout_ms); }
  void Kill() { process_->Stop(); }

 private:
  std::string address_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace tml
