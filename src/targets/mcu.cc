#include "targets/mcu.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/c_writer.h"
#include "core/process.h"
#include "core/scratch_dir.h"
#include "formats/import.h"
#include "targets/verify.h"

namespace tml {

namespace fs = std::filesystem;

std::string FirmwareDir() {
  return std::string(TML_SOURCE_DIR) + "/firmware";
}

namespace {

// The harness speaks the default "model" API; map it onto the chosen prefix.
std::vector<std::string> PrefixDefines(const CodegenOptions& opt) {
  const std::string p = CIdent(opt.prefix);
  std::string up = p;
  for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::vector<std::string> d = {"-DTML_MODEL_HEADER=\"" + p + ".h\""};
  if (p == "model") return d;
  for (const char* fn : {"input", "output", "invoke", "input_size", "output_size"})
    d.push_back(std::string("-Dmodel_") + fn + "=" + p + "_" + fn);
  d.push_back("-DMODEL_NUM_INPUTS=" + up + "_NUM_INPUTS");
  d.push_back("-DMODEL_NUM_OUTPUTS=" + up + "_NUM_OUTPUTS");
  d.push_back("-DMODEL_NUM_LAYERS=" + up + "_NUM_LAYERS");
  return d;
}
}  // namespace

std::vector<std::string> FirmwareCompiler(const TargetProfile& p) {
  std::vector<std::string> argv = {"arm-none-eabi-gcc",
                                   "-std=c99",
                                   "-O2",
                                   "-g",
                                   "-Wall",
                                   "-ffreestanding",
                                   "-fno-builtin",
                                   "-ffunction-sections",
                                   "-fdata-sections",
                                   "-ffp-contract=off"};
  argv.insert(argv.end(), p.cflags.begin(), p.cflags.end());
  return argv;
}

std::string BoardDir(const TargetProfile& p) {
  return FirmwareDir() + "/" + (p.firmware.empty() ? "mps2" : p.firmware);
}

Status LinkFirmwareWith(const TargetBuild& b, const TargetProfile& p,
                        const std::vector<std::string>& harness, bool profiling,
                        const std::string& elf) {
  const std::string& dir = b.dir;
  const std::string fw = FirmwareDir();
  const std::string board = BoardDir(p);
  std::vector<std::string> argv = FirmwareCompiler(p);
  argv.push_back("-DTML_HOST_TRACE");
  // The same model gives the same bytes wherever it is built (debug info names "build/").
  argv.push_back("-ffile-prefix-map=" + fs::absolute(dir).lexically_normal().string() + "=build");
  argv.push_back("-ffile-prefix-map=" + dir + "=build");
  for (auto& d : PrefixDefines(b.options)) argv.push_back(d);
  argv.insert(argv.end(), {"-I" + dir, "-I" + b.code.include_dir, "-nostartfiles", "-T",
                           board + "/mps2.ld", "--specs=nosys.specs", "-Wl,--gc-sections",
                           board + "/startup.c", fw + "/common/semihost.c"});
  argv.insert(argv.end(), harness.begin(), harness.end());
  if (profiling) argv.insert(argv.end(), {"-DTML_PROFILE", board + "/timer.c"});
  for (const auto& s : b.code.sources) argv.push_back(s);
  argv.insert(argv.end(), {"-lm", "-o", elf});
  TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 600));
  if (r.exit_code != 0)
    return Status::Errorf("building firmware for {} in {} failed (exit {}):\n{}", p.name, dir,
                          r.exit_code, r.output);
  return Status::Ok();
}

namespace {

// Compiles the generated code of `b` with the board support and the harness into `elf`;
// profiling adds the per-layer timer probes and the stack painter.
Status LinkFirmware(const TargetBuild& b, const TargetProfile& p, bool profiling,
                    const std::string& elf) {
  return LinkFirmwareWith(b, p, {FirmwareDir() + "/common/harness_main.c"}, profiling, elf);
}

}  // namespace

Result<TargetBuild> BuildFirmware(const Graph& g, const TargetProfile& p, const std::string& dir,
                                  const CodegenOptions& opt, bool profiling) {
  if (p.cflags.empty() || p.core.rfind("cortex-m", 0) != 0)
    return Status::Errorf("target '{}' ({}) has no firmware toolchain here; use it for fit checks",
                          p.name, p.core);
  TargetBuild b;
  b.target = p.name;
  b.dir = dir;
  b.qemu_machine = p.qemu_machine;
  b.options = opt;
  b.profiling = profiling;
  TML_ASSIGN_OR_RETURN(b.code, GenerateC(g, dir, opt));
  b.executable = (fs::path(dir) / "firmware.elf").string();
  TML_RETURN_IF_ERROR(LinkFirmware(b, p, profiling, b.executable));
  return b;
}

Result<ProcessResult> RunQemuCommand(const TargetBuild& b, const std::string& cmdline,
                                     bool icount) {
  if (b.qemu_machine.empty()) return Status::Errorf("target '{}' is not emulated", b.target);
  std::vector<std::string> argv = {"qemu-system-arm",
                                   "-M",
                                   b.qemu_machine,
                                   "-nographic",
                                   "-monitor",
                                   "none",
                                   "-serial",
                                   "null",
                                   "-semihosting-config",
                                   "enable=on,target=native",
                                   "-kernel",
                                   b.executable,
                                   "-append",
                                   cmdline};
  // 2^6 ns per instruction: the 25 MHz timer then ticks 1.6 times per instruction.
  if (icount) argv.insert(argv.end(), {"-icount", "shift=6,align=off,sleep=off"});
  TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 900));
  if (r.exit_code != 0)
    return Status::Errorf("{} on {} (qemu {}) failed with exit code {}: {}", b.executable, b.target,
                          b.qemu_machine, r.exit_code, r.output);
  return r;
}

Result<HostRun> RunOnQemu(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                          bool trace, bool icount) {
  const std::string in = (fs::path(b.dir) / "run_inputs.bin").string();
  const std::string out = (fs::path(b.dir) / "run_outputs.bin").string();
  const std::string tr = (fs::path(b.dir) / "run_trace.bin").string();
  {
    std::ofstream f(in, std::ios::binary);
    f.write(reinterpret_cast<const char*>(inputs.data()),
            static_cast<std::streamsize>(inputs.size()));
    if (!f) return Status::Errorf("{}: write failed", in);
  }
  std::string cmdline = std::to_string(samples) + " " + in + " " + out;
  if (trace) cmdline += " " + tr;
  TML_RETURN_IF_ERROR(RunQemuCommand(b, cmdline, icount).status());
  HostRun run;
  TML_ASSIGN_OR_RETURN(run.outputs, ReadFile(out));
  if (trace) {
    TML_ASSIGN_OR_RETURN(run.trace, ReadFile(tr));
  }
  return run;
}

Status CheckTarget(const std::string& target) {
  if (target == "host") return Status::Ok();
  return FindTarget(target).status();
}

Result<TargetBuild> BuildForTarget(const Graph& g, const std::string& target,
                                   const std::string& dir, const CodegenOptions& opt) {
  if (target == "host") return BuildForHost(g, dir, opt);
  TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget(target));
  if (!p.emulated())
    return Status::Errorf(
        "target '{}' ({}) cannot be emulated here; it serves fit checks and C export", p.name,
        p.board);
  return BuildFirmware(g, p, dir, opt);
}

Result<HostRun> RunOnTarget(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                            bool trace) {
  if (b.target == "host") return RunOnHost(b, inputs, samples, trace);
  return RunOnQemu(b, inputs, samples, trace);
}

}  // namespace tml

namespace tml {

constexpr int64_t kNsPerInstruction = 64;  // -icount shift=6
constexpr int64_t kNsPerTick = 40;         // 25 MHz timer

// Instructions executed by the time the timer read T (exact inverse of
// T = floor(n * 64 / 40)).
int64_t TicksToInstructions(uint32_t t) {
  return (static_cast<int64_t>(t) * kNsPerTick + kNsPerInstruction - 1) / kNsPerInstruction;
}

namespace {

Result<std::map<std::string, int64_t>> SectionSizes(const std::string& elf) {
  TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess({"arm-none-eabi-size", "-A", "-d", elf}, 60));
  if (r.exit_code != 0) return Status::Errorf("arm-none-eabi-size {}: {}", elf, r.output);
  std::map<std::string, int64_t> sizes;
  std::istringstream in(r.output);
  std::string name;
  int64_t size = 0, addr = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    if (l >> name >> size >> addr && name[0] == '.') sizes[name] = size;
  }
  return sizes;
}

}  // namespace

Result<DeviceProfile> ProfileOnDevice(const Graph& g, const std::string& target,
                                      const std::string& work_dir, bool reference_kernels) {
  TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget(target));
  if (!p.emulated())
    return Status::Errorf("target '{}' cannot be emulated here; profile it on the board", target);
  const ScratchDir scratch(work_dir, "profile");
  CodegenOptions opt;
  opt.reference_kernels = reference_kernels;
  TML_ASSIGN_OR_RETURN(TargetBuild b, BuildFirmware(g, p, scratch.path(), opt, /*profiling=*/true));
  return MeasureFirmware(g, b);
}

Result<DeviceProfile> MeasureFirmware(const Graph& g, const TargetBuild& b) {
  DeviceProfile d;
  TML_ASSIGN_OR_RETURN(d.target, FindTarget(b.target));
  if (!d.target.emulated())
    return Status::Errorf("target '{}' cannot be emulated here; profile it on the board", b.target);
  // A deployable build is measured through a probed twin linked from the same
  // generated code; its sizes are the deployable ELF's.
  TargetBuild probed = b;
  if (!b.profiling) {
    probed.executable = (fs::path(b.dir) / "firmware-profile.elf").string();
    TML_RETURN_IF_ERROR(LinkFirmware(probed, d.target, true, probed.executable));
  }
  const auto inputs = RandomInputs(g, 1, 1);
  auto run = RunOnQemu(probed, inputs, 1, false, /*icount=*/true);
  if (!run.ok()) return run.status();
  size_t out_bytes = 0;
  for (int t : g.outputs) out_bytes += g.tensor(t).nbytes();
  const size_t record = 4 * 4 + g.nodes.size() * 8 + 4;
  if (run->outputs.size() != out_bytes + record)
    return Status::Errorf("profile record has {} bytes, expected {}", run->outputs.size(),
                          out_bytes + record);
  std::vector<uint32_t> w((record) / 4);
  std::memcpy(w.data(), run->outputs.data() + out_bytes, record);
  const int64_t probe = TicksToInstructions(w[3]) - TicksToInstructions(w[2]);
  d.instructions = TicksToInstructions(w[1]) - TicksToInstructions(w[0]);
  for (size_t l = 0; l < g.nodes.size(); ++l)
    d.layer_instructions.push_back(TicksToInstructions(w[5 + 2 * l]) -
                                   TicksToInstructions(w[4 + 2 * l]) - probe);
  d.stack_bytes = w.back();
  // A profiling build's probes add a few hundred bytes of code, reported as code.
  TML_ASSIGN_OR_RETURN(auto sec, SectionSizes(b.executable));
  for (const char* s : {".isr_vector", ".text", ".rodata", ".ARM.exidx", ".data"})
    d.flash_bytes += sec[s];
  d.weight_bytes = b.code.weight_bytes;
  d.code_bytes = d.flash_bytes - d.weight_bytes;
  d.arena_bytes = b.code.plan.arena_bytes;
  d.static_ram_bytes = sec[".data"] + sec[".bss"];
  d.ram_bytes = d.static_ram_bytes + d.stack_bytes;
  return d;
}

}  // namespace tml
