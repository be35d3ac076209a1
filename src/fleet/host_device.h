// The gateway as a device of its own: model packages run with the host build of the
// on-device runtime (RunPackage), with a device's update rules. Two slots as files in a
// folder (they survive restarts); a new package is checked before it is kept (digest,
// signature against the trusted key, structure, self-test, no downgrade below the last
// confirmed version, fit), then runs on trial and confirms itself after N good
// inferences; rollback returns to the standby slot. Its HELLO is a device's, so the
// registry, `deploy` and the control plane treat it as one (core "host").
//
//   HostDeviceOptions o;  o.id = "gw1-host";  o.dir = "gw1/host";  o.trusted_key = point;
//   TML_ASSIGN_OR_RETURN(auto dev, HostDevice::Open(o));
//   TML_RETURN_IF_ERROR(dev->Deploy(package_bytes));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "package/package.h"
#include "tml_proto.h"

namespace tml {

struct HostDeviceOptions {
  std::string id;
  std::string dir;                   // slot files and state
  std::vector<uint8_t> trusted_key;  // the public point packages must be signed with
  int64_t arena_bytes = 64 << 20;    // what a package may ask for
  int64_t slot_bytes = 64 << 20;
  int confirm_after = 3;
};

class HostDevice {
 public:
  static Result<std::unique_ptr<HostDevice>> Open(const HostDeviceOptions& o);
  tml_proto_hello Hello() const;
  // Checks and keeps the package in the inactive slot, then switches to it on trial.
  // A refusal ("package refused: digest: ...") changes nothing.
  Status Deploy(const std::vector<uint8_t>& package);
  // The output bytes, and as the device reports them: the top class of the first output
  // and its score (dequantized).
  struct Inference {
    std::vector<uint8_t> output;
    int top_class = -1;
    float confidence = 0;
  };
  Result<Inference> Infer(const std::vector<uint8_t>& input);
  uint32_t active_version() const;
  Status Confirm();
  Status Rollback();

 private:
  HostDevice() = default;
  Status Save() const;
  std::string SlotPath(int slot) const;
  HostDeviceOptions o_;
  tml_proto_hello h_{};
  std::vector<uint8_t> active_;  // the active slot's package
  PackageInfo active_info_;
  uint32_t trial_runs_ = 0;
};

}  // namespace tml
