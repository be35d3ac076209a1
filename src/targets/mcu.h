// Emulated microcontroller targets: generated C + board support (firmware/)
// cross-compiled with arm-none-eabi-gcc into an ELF that qemu-system-arm runs.
// Inputs, outputs and per-layer traces travel through semihosting files.
//
//   TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget("cortex-m4"));
//   TML_ASSIGN_OR_RETURN(TargetBuild b, BuildFirmware(graph, p, "out/"));
//   TML_ASSIGN_OR_RETURN(HostRun r, RunOnQemu(b, inputs, samples, /*trace=*/true));
#pragma once

#include "core/process.h"
#include "targets/host.h"
#include "targets/target_profile.h"

namespace tml {

// profiling: build with per-layer timer probes, a stack painter and timer0.
Result<TargetBuild> BuildFirmware(const Graph& g, const TargetProfile& p, const std::string& dir,
                                  const CodegenOptions& opt = {}, bool profiling = false);
// The project's firmware/ folder (board support, harnesses).
std::string FirmwareDir();
// Links b's generated code with the board support and a harness of one's own (its
// sources: a main() speaking semihosting); BuildFirmware uses firmware/common/harness_main.c.
Status LinkFirmwareWith(const TargetBuild& b, const TargetProfile& p,
                        const std::vector<std::string>& harness, bool profiling,
                        const std::string& elf);
// Runs b.executable in QEMU with a semihosting command line; an error unless it exits 0.
Result<ProcessResult> RunQemuCommand(const TargetBuild& b, const std::string& cmdline, bool icount);
// Instructions executed by the time timer0 read t under icount (the board's timer.c).
int64_t TicksToInstructions(uint32_t t);
// icount: deterministic virtual time, one fixed step per instruction.
Result<HostRun> RunOnQemu(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                          bool trace, bool icount = false);

// Measured on the emulated board: instructions (whole inference and per
// layer, deterministic), flash and RAM bytes.
struct DeviceProfile {
  TargetProfile target;
  int64_t instructions = 0;
  std::vector<int64_t> layer_instructions;
  int64_t flash_bytes = 0, weight_bytes = 0, code_bytes = 0;
  int64_t ram_bytes = 0, static_ram_bytes = 0, arena_bytes = 0, stack_bytes = 0;
};

Result<DeviceProfile> ProfileOnDevice(const Graph& g, const std::string& target,
                                      const std::string& work_dir = "",
                                      bool reference_kernels = false);

// Measures a firmware build: a deployable one through a probed twin linked from the
// same generated code (firmware-profile.elf beside it), flash and RAM of the
// deployable ELF; a profiling build directly.
Result<DeviceProfile> MeasureFirmware(const Graph& g, const TargetBuild& b);

// arm-none-eabi-gcc with the flags every firmware build shares (C99, -O2, freestanding,
// no FP contraction: bit-exact with the host) and the profile's core flags; and the
// folder of the profile's board support (firmware/mps2, ...).
std::vector<std::string> FirmwareCompiler(const TargetProfile& p);
std::string BoardDir(const TargetProfile& p);

// OK for "host" and every target profile; else the lookup error naming the profiles.
Status CheckTarget(const std::string& target);

// Either target kind by name ("host", "cortex-m4", ...).
Result<TargetBuild> BuildForTarget(const Graph& g, const std::string& target,
                                   const std::string& dir, const CodegenOptions& opt = {});
Result<HostRun> RunOnTarget(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                            bool trace);

}  // namespace tml
