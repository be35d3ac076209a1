// Device images: the firmware that runs model packages (firmware/device/: protocol
// agent, A/B slots, on-device runtime, mbedTLS signature checks), built for a target
// profile with the control plane's public key inside.
//
//   DeviceImageOptions o;  o.signing_key_header = "keys/signing_key.h";
//   TML_ASSIGN_OR_RETURN(DeviceImage img, BuildDeviceImage(profile, "out/dev-m4", o));
//   // img.elf runs on QEMU's img.qemu_machine (src/fleet/emulated_device.h)
#pragma once

#include <cstdint>
#include <string>

#include "targets/target_profile.h"

namespace tml {

struct DeviceImageOptions {
  std::string signing_key_header;  // signing_key.h written by CreateSigningKeys (required)
  int64_t arena_bytes = 0;         // 0: the board's RAM less the agent's own (ArenaFor)
  int64_t scratch_bytes = 32768;   // kernel scratch
  int64_t flash_bytes = 0;         // journal + two slots; 0: the board's flash size
  int confirm_after = 3;           // good inferences before a trial model is confirmed
};

struct DeviceImage {
  std::string elf, target, core, qemu_machine;
  int64_t arena_bytes = 0, scratch_bytes = 0, flash_bytes = 0, slot_bytes = 0;
  int64_t text_bytes = 0, ram_bytes = 0;  // the image's own flash and static RAM
};

Result<DeviceImage> BuildDeviceImage(const TargetProfile& p, const std::string& dir,
                                     const DeviceImageOptions& o);

// The default arena of a board: its RAM less what the agent itself needs.
int64_t ArenaFor(const TargetProfile& p, int64_t scratch_bytes);
// Where the device-side C sources (mbedTLS) were unpacked by scripts/fetch-device-sources.sh.
std::string DeviceSourceDir();

}  // namespace tml
