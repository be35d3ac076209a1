#include "targets/host.h"

#include <filesystem>
#include <fstream>

#include "core/c_writer.h"
#include "core/process.h"
#include "formats/import.h"

namespace tml {

namespace fs = std::filesystem;

Result<TargetBuild> BuildForHost(const Graph& g, const std::string& dir,
                                 const CodegenOptions& opt) {
  TargetBuild b;
  b.dir = dir;
  b.options = opt;
  TML_ASSIGN_OR_RETURN(b.code, GenerateC(g, dir, opt));
  b.executable = (fs::path(dir) / "model_host").string();
  const char* cc = std::getenv("CC");
  std::vector<std::string> argv = {cc && *cc ? cc : "cc",
                                   "-std=c99",
                                   "-O2",
                                   "-Wall",
                                   "-Wextra",
                                   "-ffp-contract=off",
                                   "-DTML_HOST_TRACE",
                                   "-I" + dir,
                                   "-I" + b.code.include_dir,
                                   "-o",
                                   b.executable};
  // The harness speaks the default "model" API; map it onto the chosen prefix.
  const std::string p = CIdent(opt.prefix);
  std::string up = p;
  for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  argv.push_back("-DTML_MODEL_HEADER=\"" + p + ".h\"");
  for (const char* fn : {"input", "output", "invoke", "input_size", "output_size"})
    argv.push_back(std::string("-Dmodel_") + fn + "=" + p + "_" + fn);
  argv.push_back("-DMODEL_NUM_INPUTS=" + up + "_NUM_INPUTS");
  argv.push_back("-DMODEL_NUM_OUTPUTS=" + up + "_NUM_OUTPUTS");
  for (const auto& s : b.code.sources) argv.push_back(s);
  argv.push_back(RuntimeDir() + "/harness/host_main.c");
  argv.push_back("-lm");
  TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 600));
  if (r.exit_code != 0)
    return Status::Errorf("compiling generated code in {} failed (exit {}):\n{}", dir, r.exit_code,
                          r.output);
  return b;
}

namespace {
Status WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) return Status::Errorf("{}: write failed", path);
  return Status::Ok();
}
}  // namespace

Result<HostRun> RunOnHost(const TargetBuild& b, const std::vector<uint8_t>& inputs, int samples,
                          bool trace) {
  const std::string in = (fs::path(b.dir) / "run_inputs.bin").string();
  const std::string out = (fs::path(b.dir) / "run_outputs.bin").string();
  const std::string tr = (fs::path(b.dir) / "run_trace.bin").string();
  TML_RETURN_IF_ERROR(WriteBytes(in, inputs));
  std::vector<std::string> argv = {b.executable, std::to_string(samples), in, out};
  if (trace) argv.push_back(tr);
  TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 600));
  if (r.exit_code != 0)
    return Status::Errorf("{} failed (exit {}): {}", b.executable, r.exit_code, r.output);
  HostRun run;
  TML_ASSIGN_OR_RETURN(run.outputs, ReadFile(out));
  if (trace) {
    TML_ASSIGN_OR_RETURN(run.trace, ReadFile(tr));
  }
  return run;
}

}  // namespace tml
