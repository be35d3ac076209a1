#include "targets/mcu.h"

#include <filesystem>
#include <fstream>

#include "codegen/c_writer.h"
#include "core/process.h"
#include "formats/import.h"

namespace tml {

namespace fs = std::filesystem;

namespace {
std::string FirmwareDir() { return std::string(TML_SOURCE_DIR) + "/firmware"; }

// The harness speaks the default "model" API; map it onto the chosen prefix.
std::vector<std::string> PrefixDefines(const CodegenOptions& opt) {
  const std::string p = CIdent(opt.prefix);
  std::string up = p;
  for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::vector<std::string> d = {"-DTML_MODEL_HEADER=\"" + p + ".h\""};
  for (const char* fn : {"input", "output", "invoke", "input_size", "output_size"})
    d.push_back(std::string("-Dmodel_") + fn + "=" + p + "_" + fn);
  d.push_back("-DMODEL_NUM_INPUTS=" + up + "_NUM_INPUTS");
  d.push_back("-DMODEL_NUM_OUTPUTS=" + up + "_NUM_OUTPUTS");
  return d;
}
}  // namespace

Result<TargetBuild> BuildFirmware(const Graph& g, const TargetProfile& p, const std::string& dir,
                                  const CodegenOptions& opt) {
  if (p.cflags.empty() || p.core.rfind("cortex-m", 0) != 0)
    return Status::Errorf("target '{}' ({}) has no firmware toolchain here; use it for fit checks",
                          p.name, p.core);
  TargetBuild b;
  b.target = p.name;
  b.dir = dir;
  b.qemu_machine = p.qemu_machine;
  TML_ASSIGN_OR_RETURN(b.code, GenerateC(g, dir, opt));
  b.executable = (fs::path(dir) / "firmware.elf").string();
  const std::string fw = FirmwareDir();
  const std::string board = fw + "/" + (p.firmware.empty() ? "mps2" : p.firmware);
  std::vector<std::string> argv = {"arm-none-eabi-gcc", "-std=c99", "-O2", "-g", "-Wall",
                                   "-ffreestanding", "-fno-builtin", "-ffunction-sections",
                                   "-fdata-sections", "-ffp-contract=off", "-DTML_HOST_TRACE"};
  argv.insert(argv.end(), p.cflags.begin(), p.cflags.end());
  for (auto& d : PrefixDefines(opt)) argv.push_back(d);
  argv.insert(argv.end(), {"-I" + dir, "-I" + b.code.include_dir, "-nostartfiles", "-T",
                           board + "/mps2.ld", "--specs=nosys.specs", "-Wl,--gc-sections",
                           board + "/startup.c", fw + "/common/semihost.c",
                           fw + "/common/harness_main.c"});
  for (const auto& s : b.code.sources) argv.push_back(s);
  argv.insert(argv.end(), {"-lm", "-o", b.executable});
  TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 600));
  if (r.exit_code != 0)
    return Status::Errorf("building firmware for {} in {} failed (exit {}):\n{}", p.name, dir,
                          r.exit_code, r.output);
  return b;
}

Result<HostRun> RunOnQemu(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                          bool trace) {
  if (b.qemu_machine.empty()) return Status::Errorf("target '{}' is not emulated", b.target);
  const std::string in = (fs::path(b.dir) / "run_inputs.bin").string();
  const std::string out = (fs::path(b.dir) / "run_outputs.bin").string();
  const std::string tr = (fs::path(b.dir) / "run_trace.bin").string();
  {
    std::ofstream f(in, std::ios::binary);
    f.write(reinterpret_cast<const char*>(inputs.data()), static_cast<std::streamsize>(inputs.size()));
    if (!f) return Status::Errorf("{}: write failed", in);
  }
  std::string cmdline = std::to_string(samples) + " " + in + " " + out;
  if (trace) cmdline += " " + tr;
  std::vector<std::string> argv = {"qemu-system-arm", "-M", b.qemu_machine, "-nographic", "-monitor",
                                   "none", "-serial", "null", "-semihosting-config",
                                   "enable=on,target=native", "-kernel", b.executable, "-append",
                                   cmdline};
  TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 900));
  if (r.exit_code != 0)
    return Status::Errorf("{} on {} (qemu {}) failed with exit code {}: {}", b.executable, b.target,
                          b.qemu_machine, r.exit_code, r.output);
  HostRun run;
  TML_ASSIGN_OR_RETURN(run.outputs, ReadFile(out));
  if (trace) {
    TML_ASSIGN_OR_RETURN(run.trace, ReadFile(tr));
  }
  return run;
}

Result<TargetBuild> BuildForTarget(const Graph& g, const std::string& target, const std::string& dir,
                                   const CodegenOptions& opt) {
  if (target == "host") return BuildForHost(g, dir, opt);
  TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget(target));
  if (!p.emulated())
    return Status::Errorf("target '{}' ({}) cannot be emulated here; it serves fit checks and C export",
                          p.name, p.board);
  return BuildFirmware(g, p, dir, opt);
}

Result<HostRun> RunOnTarget(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                            bool trace) {
  if (b.target == "host") return RunOnHost(b, inputs, samples, trace);
  return RunOnQemu(b, inputs, samples, trace);
}

}  // namespace tml
