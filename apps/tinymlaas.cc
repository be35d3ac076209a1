// tinymlaas: the command-line front end. Thin: every subcommand calls library
// components and turns a Status into a message on stderr and exit code 1.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "app/compile.h"
#include "apps/cli_common.h"
#include "apps/cli_data.h"
#include "apps/cli_devices.h"
#include "apps/cli_fleet.h"
#include "apps/cli_fleet_ops.h"
#include "apps/cli_frontend.h"
#include "apps/cli_pipeline.h"
#include "apps/cli_runs.h"
#include "apps/cli_serve.h"
#include "apps/cli_split.h"
#include "apps/cli_squeeze.h"
#include "apps/cli_train.h"
#include "codegen/codegen.h"
#include "core/scratch_dir.h"
#include "formats/export.h"
#include "formats/import.h"
#include "formats/npy.h"
#include "interp/interpreter.h"
#include "ops/op.h"
#include "targets/board_export.h"
#include "targets/mcu.h"
#include "targets/verify.h"
#include "zoo/mlperf_models.h"

namespace {

using tml::Status;

using tml::cli::Fail;

int CmdInspect(const std::string& model) {
  auto g = tml::LoadModel(model);
  if (!g.ok()) return Fail(g.status());
  std::cout << "model " << g->name << ": " << g->nodes.size() << " layers\n";
  for (int t : g->inputs) {
    const auto& x = g->tensor(t);
    std::cout << "  input  '" << x.name << "' " << tml::DTypeName(x.dtype) << " "
              << tml::ShapeStr(x.shape) << "\n";
  }
  for (int t : g->outputs) {
    const auto& x = g->tensor(t);
    std::cout << "  output '" << x.name << "' " << tml::DTypeName(x.dtype) << " "
              << tml::ShapeStr(x.shape) << "\n";
  }
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    const auto& n = g->nodes[i];
    std::cout << "  #" << i << " " << tml::OpName(n.op) << " '" << n.name << "' -> "
              << tml::ShapeStr(g->tensor(n.outputs[0]).shape) << "\n";
  }
  return 0;
}

int CmdCompile(const std::string& model, const std::string& target, const std::string& out,
               const std::string& name) {
  tml::CompileRequest q;
  q.model = model;
  q.target = target;
  q.out_dir = out;
  q.prefix = name;
  tml::cli::TerminalProgress progress;
  auto c = tml::Compile(q, progress);
  if (!c.ok()) return Fail(c.status());
  const auto& r = c->build.code;
  std::cout << "wrote " << r.files.size() << " files to " << out << " (arena " << r.plan.arena_bytes
            << " bytes, weights " << r.weight_bytes << " bytes)\n";
  for (const auto& f : r.files) std::cout << "  " << f << "\n";
  std::cout << (target == "host" ? "host executable: " : "firmware: ") << c->build.executable
            << "\n";
  return 0;
}

tml::Result<std::vector<uint8_t>> ReadInput(const std::string& path, const tml::Graph& g) {
  TML_ASSIGN_OR_RETURN(auto bytes, tml::ReadFile(path));
  size_t need = 0;
  for (int t : g.inputs) need += g.tensor(t).nbytes();
  if (path.size() > 4 && path.substr(path.size() - 4) == ".npy") {
    TML_ASSIGN_OR_RETURN(auto a, tml::ParseNpy(bytes, path));
    if (g.inputs.size() != 1)
      return Status::Errorf("{}: .npy input needs a model with one input", path);
    const auto& x = g.tensor(g.inputs[0]);
    if (a.dtype != x.dtype || a.data.size() % need != 0)
      return Status::Errorf("{}: array {} {} does not match model input {} {}", path,
                            tml::DTypeName(a.dtype), tml::ShapeStr(a.shape),
                            tml::DTypeName(x.dtype), tml::ShapeStr(x.shape));
    return a.data;
  }
  if (need == 0 || bytes.size() % need != 0)
    return Status::Errorf("{}: {} bytes is not a whole number of samples of {} bytes", path,
                          bytes.size(), need);
  return bytes;
}

int CmdInfer(const std::string& model, const std::string& target, const std::string& in_path,
             const std::string& out_path) {
  if (auto s = tml::CheckTarget(target); !s.ok()) return Fail(s);
  auto g = tml::LoadModel(model);
  if (!g.ok()) return Fail(g.status());
  auto in = ReadInput(in_path, *g);
  if (!in.ok()) return Fail(in.status());
  size_t per_sample = 0;
  for (int t : g->inputs) per_sample += g->tensor(t).nbytes();
  const size_t samples = per_sample ? in->size() / per_sample : 1;
  const tml::ScratchDir scratch("", "infer");
  const std::string& dir = scratch.path();
  auto b = tml::BuildForTarget(*g, target, dir);
  if (!b.ok()) return Fail(b.status());
  auto run = tml::RunOnTarget(*b, *in, static_cast<int>(samples), false);
  if (!run.ok()) return Fail(run.status());
  std::vector<uint8_t> out = run->outputs;
  if (out_path.size() > 4 && out_path.substr(out_path.size() - 4) == ".npy") {
    if (g->outputs.size() != 1)
      return Fail(Status::Error(".npy output needs a model with one output"));
    const auto& y = g->tensor(g->outputs[0]);
    tml::Shape s = y.shape;
    if (samples > 1) s.insert(s.begin(), static_cast<int64_t>(samples));
    out = tml::WriteNpy(y.dtype, s, run->outputs.data(), run->outputs.size());
  }
  std::ofstream f(out_path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  if (!f) return Fail(Status::Errorf("{}: write failed", out_path));
  std::cout << "ran " << samples << " sample(s) on " << target << ", wrote " << out_path << "\n";
  return 0;
}

int CmdVerify(const std::string& model, const tml::VerifyOptions& opt, bool json) {
  auto g = tml::LoadModel(model);
  if (!g.ok()) return Fail(g.status());
  auto r = tml::Verify(*g, opt);
  if (!r.ok()) return Fail(r.status());
  if (json)
    std::cout << r->ToJson().dump(2) << "\n";
  else
    std::cout << r->ToText() << "\n";
  return r->bit_exact ? 0 : 2;
}

int CmdProfile(const std::string& model, const std::string& target, bool json) {
  tml::cli::TerminalProgress progress;
  auto p = tml::Profile(model, target, progress);
  if (!p.ok()) return Fail(p.status());
  if (json)
    std::cout << p->ToJson().dump(2) << "\n";
  else
    std::cout << p->ToText();
  return 0;
}

int CmdExport(const std::string& model, const std::string& out, const std::string& format,
              const std::string& target, const std::string& name) {
  auto g = tml::LoadModel(model);
  if (!g.ok()) return Fail(g.status());
  if (format == "arduino" || format == "cmake") {
    tml::BoardExportOptions o;
    o.format = format;
    o.target = target == "host" ? "cortex-m4" : target;
    o.name = name;
    auto e = tml::ExportForBoard(*g, o, out);
    if (!e.ok()) return Fail(e.status());
    std::cout << "wrote " << out << " (" << e->files.size() << " files; arena " << e->arena_bytes
              << " bytes, weights " << e->weight_bytes << " bytes; for " << o.target << ")\n";
    if (format == "cmake")
      std::cout << "build: cmake -S " << out << " -B " << out
                << "/build -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake && cmake --build "
                << out << "/build\n";
    else
      std::cout << "install: Arduino IDE, Sketch > Include Library > Add .ZIP Library\n";
    return 0;
  }
  if (format != "onnx")
    return Fail(Status::Errorf("export: unknown format '{}' (onnx, arduino, cmake)", format));
  if (auto s = tml::SaveOnnx(*g, out); !s.ok()) return Fail(s);
  std::cout << "wrote " << out << " (" << g->nodes.size() << " layers, ONNX opset 13"
            << (g->tensor(g->inputs.empty() ? 0 : g->inputs[0]).dtype == tml::DType::kInt8
                    ? ", int8 as QDQ"
                    : "")
            << ")\n";
  return 0;
}

int CmdZoo(const std::string& name, const std::string& out, uint64_t seed, bool int8) {
  std::string names;
  for (const auto& z : tml::zoo::MlperfModels()) {
    names += (names.empty() ? "" : ", ") + z.name;
    if (z.name != name) continue;
    auto g = z.build(seed);
    if (!g.ok()) return Fail(g.status());
    if (int8) {
      g = tml::zoo::QuantizeSynthetic(*g, seed);
      if (!g.ok()) return Fail(g.status());
    }
    if (auto s = tml::SaveOnnx(*g, out); !s.ok()) return Fail(s);
    std::cout << "wrote " << out << ": " << z.name << " (seeded weights, seed " << seed
              << (int8 ? "; int8, calibrated on seeded synthetic inputs, QDQ" : "") << ")\n";
    return 0;
  }
  return Fail(Status::Errorf("unknown zoo model '{}' (available: {})", name, names));
}

// Lists the top-level commands in lifecycle order, one heading per phase.
class PhaseFormatter : public CLI::Formatter {
 public:
  using Phases = std::vector<std::pair<const char*, std::vector<const char*>>>;
  explicit PhaseFormatter(Phases p) : phases_(std::move(p)) {}
  std::string make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const override {
    if (mode != CLI::AppFormatMode::Normal) return CLI::Formatter::make_subcommands(app, mode);
    std::string out, other;
    std::set<std::string> listed;
    for (const auto& [group, names] : phases_) {
      out += std::string("\n") + group + ":\n";
      for (const char* n : names) {
        out += make_subcommand(app->get_subcommand(n));
        listed.insert(n);
      }
    }
    for (const CLI::App* sub : app->get_subcommands({}))
      if (!listed.count(sub->get_name())) other += make_subcommand(sub);
    return other.empty() ? out : out + "\nOther:\n" + other;
  }

 private:
  Phases phases_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "TinyMLaaS: the life of a TinyML model in one self-hosted tool. Collect data into\n"
      "versioned datasets, train from YAML specs, squeeze (int8 quantization, pruning), compile\n"
      "to C99 for Cortex-M microcontrollers and check that the device computes bit for bit what\n"
      "the host computed, run it all as cached pipelines with lineage, and serve the API and\n"
      "the web dashboard. Workspace: --workspace, else $TINYMLAAS_HOME, else ./.tinymlaas.\n"
      "`tinymlaas COMMAND --help` explains each command."};
  app.set_version_flag("--version", std::string("tinymlaas ") + TML_VERSION);
  app.require_subcommand(1);

  std::string model, target = "host", out, name = "model", input, output;
  bool json = false;
  tml::VerifyOptions vopt;

  auto* inspect =
      app.add_subcommand("inspect", "Import a model and print its layers, inputs and outputs");
  inspect->add_option("MODEL", model, "Model file (.tflite or .onnx)")
      ->required()
      ->check(CLI::ExistingFile);

  auto* compile = app.add_subcommand("compile", "Generate self-contained C99 for a target");
  compile->add_option("MODEL", model, "Model file (.tflite or .onnx)")
      ->required()
      ->check(CLI::ExistingFile);
  compile->add_option("-o,--output", out, "Output directory")->required();
  compile
      ->add_option("--target", target,
                   "Target: host, or a profile in targets/ (cortex-m4, cortex-m7, cortex-m3, ...)")
      ->capture_default_str();
  compile->add_option("--name", name, "C prefix and file stem of the generated API")
      ->capture_default_str();

  auto* infer =
      app.add_subcommand("infer", "Run a model on a target: raw little-endian or .npy in and out");
  infer->add_option("MODEL", model, "Model file")->required()->check(CLI::ExistingFile);
  infer->add_option("--input", input, "Input file: .npy, or raw bytes of one or more samples")
      ->required()
      ->check(CLI::ExistingFile);
  infer->add_option("--output", output, "Output file (.npy or raw bytes)")->required();
  infer->add_option("--target", target, "Target to run on")->capture_default_str();

  auto* verify = app.add_subcommand(
      "verify",
      "Run random inputs through the reference interpreter and the generated code;\n"
      "print 'bit-exact' or the first layer that differs. Exit 2 on mismatch.");
  verify->add_option("MODEL", model, "Model file")->required()->check(CLI::ExistingFile);
  verify->add_option("--target", vopt.target, "Target to run on")->capture_default_str();
  verify->add_option("--inputs", vopt.inputs, "Number of random inputs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  verify->add_option("--seed", vopt.seed, "Random seed")->capture_default_str();
  verify->add_option("--work-dir", vopt.work_dir, "Keep the generated code and binaries here");
  verify->add_flag("--json", json, "Machine-readable output");

  auto* profile = app.add_subcommand(
      "profile",
      "Per-layer MACs, weight and activation bytes, arena plan; with --target, "
      "instructions\nper layer, flash and RAM measured on the emulated board and "
      "whether the model fits");
  profile->add_option("MODEL", model, "Model file")->required()->check(CLI::ExistingFile);
  profile->add_option("--target", target, "host (static profile only) or an emulated board")
      ->capture_default_str();
  profile->add_flag("--json", json, "Machine-readable output");

  std::string export_format = "onnx";
  auto* exp = app.add_subcommand(
      "export",
      "Write a model as ONNX (opset 13; int8 models in QDQ form), as an Arduino library\n"
      "(--format arduino: a .zip with library.properties, src/ and an example sketch) or as a\n"
      "CMake project for any arm-none-eabi board (--format cmake: a folder)");
  exp->add_option("MODEL", model, "Model file (.tflite or .onnx)")
      ->required()
      ->check(CLI::ExistingFile);
  exp->add_option("-o,--output", out, "Output .onnx file, .zip (arduino) or folder (cmake)")
      ->required();
  exp->add_option("--format", export_format, "onnx, arduino or cmake")->capture_default_str();
  exp->add_option("--target", target,
                  "Target profile whose compiler flags the board project uses (default "
                  "cortex-m4)");
  exp->add_option("--name", name, "C prefix of the generated API")->capture_default_str();

  tml::FlashRequest flash_req;
  auto* flash = app.add_subcommand(
      "flash",
      "Write a firmware file to a connected board with its usual tool: bossac (Arduino SAMD,\n"
      "nRF52), openocd (STM32, nRF and most SWD/JTAG probes) or picotool (RP2040)");
  flash->add_option("FIRMWARE", flash_req.firmware, "Firmware .elf")->required();
  flash->add_option("--tool", flash_req.tool,
                    "bossac, openocd or picotool (default: the first "
                    "installed)");
  flash->add_option("--port", flash_req.port, "Serial port (bossac)");
  flash->add_option("--openocd-config", flash_req.openocd_config,
                    "Board configuration file (openocd -f)");

  std::string zoo_name;
  uint64_t seed = 1;
  auto* zoo = app.add_subcommand(
      "zoo",
      "Write a reference architecture with seeded weights as ONNX:\n"
      "ds_cnn_kws, mobilenet_v1_025_vww, resnet8_cifar, fc_autoencoder (MLPerf Tiny)");
  zoo->add_option("NAME", zoo_name, "Architecture name")->required();
  zoo->add_option("-o,--output", out, "Output .onnx file")->required();
  zoo->add_option("--seed", seed, "Weight seed")->capture_default_str();
  bool zoo_int8 = false;
  zoo->add_flag("--int8", zoo_int8,
                "Quantize to int8 (calibrated on seeded synthetic inputs; for benchmarks)");

  int sub_exit = 1;
  auto* data = tml::cli::AddDataCommands(app, &sub_exit);
  std::vector<CLI::App*> subs = {data,
                                 tml::cli::AddTrainCommand(app, &sub_exit),
                                 tml::cli::AddRunsCommands(app, &sub_exit),
                                 tml::cli::AddRunCommand(app, &sub_exit),
                                 tml::cli::AddLineageCommand(app, &sub_exit),
                                 tml::cli::AddSplitCommand(app, &sub_exit),
                                 tml::cli::AddFrontEndCommands(app, &sub_exit),
                                 tml::cli::AddStreamCommand(app, &sub_exit)};
  tml::cli::AddSqueezeCommands(app, &sub_exit, &subs);
  tml::cli::AddServeCommands(app, &sub_exit, &subs);
  tml::cli::AddDeviceCommands(app, &sub_exit, &subs);
  tml::cli::AddFleetCommands(app, &sub_exit, &subs);
  tml::cli::AddFleetOpsCommands(app, &sub_exit, &subs);

  // --help lists the commands by lifecycle phase.
  const std::vector<std::pair<const char*, std::vector<const char*>>> phases = {
      {"1 Collect", {"data"}},
      {"2 Train", {"frontend", "train"}},
      {"3 Squeeze and evaluate", {"quantize", "prune", "evaluate", "stream"}},
      {"4 Split across a node chain", {"split"}},
      {"5 Compile, verify and measure",
       {"inspect", "compile", "verify", "profile", "infer", "export", "zoo"}},
      {"5 Deploy to devices",
       {"keys", "package", "emulate", "agent", "broker", "devices", "deploy", "flash"}},
      {"6 Update and observe",
       {"rollout", "control", "telemetry", "observe", "drift", "alerts", "capture"}},
      {"Pipelines, experiments and lineage", {"run", "runs", "lineage"}},
      {"Control plane", {"serve", "worker", "token", "openapi"}}};
  app.formatter(std::make_shared<PhaseFormatter>(phases));

  CLI11_PARSE(app, argc, argv);
  for (CLI::App* s : subs)
    if (*s) return sub_exit;
  if (*exp) return CmdExport(model, out, export_format, target, name);
  if (*flash) {
    auto r = tml::FlashFirmware(flash_req);
    if (!r.ok()) return Fail(r.status());
    std::cout << *r;
    return 0;
  }
  if (*zoo) return CmdZoo(zoo_name, out, seed, zoo_int8);
  if (*inspect) return CmdInspect(model);
  if (*compile) return CmdCompile(model, target, out, name);
  if (*infer) return CmdInfer(model, target, input, output);
  if (*verify) return CmdVerify(model, vopt, json);
  if (*profile) return CmdProfile(model, target, json);
  return 1;
}
