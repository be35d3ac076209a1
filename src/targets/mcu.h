// Emulated microcontroller targets: generated C + board support (firmware/)
// cross-compiled with arm-none-eabi-gcc into an ELF that qemu-system-arm runs.
// Inputs, outputs and per-layer traces travel through semihosting files.
//
//   TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget("cortex-m4"));
//   TML_ASSIGN_OR_RETURN(TargetBuild b, BuildFirmware(graph, p, "out/"));
//   TML_ASSIGN_OR_RETURN(HostRun r, RunOnQemu(b, inputs, samples, /*trace=*/true));
#pragma once

#include "targets/host.h"
#include "targets/target_profile.h"

namespace tml {

Result<TargetBuild> BuildFirmware(const Graph& g, const TargetProfile& p, const std::string& dir,
                                  const CodegenOptions& opt = {});
Result<HostRun> RunOnQemu(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                          bool trace);

// Either target kind by name ("host", "cortex-m4", ...).
Result<TargetBuild> BuildForTarget(const Graph& g, const std::string& target, const std::string& dir,
                                   const CodegenOptions& opt = {});
Result<HostRun> RunOnTarget(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                            bool trace);

}  // namespace tml
