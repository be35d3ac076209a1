#include "targets/board_export.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codegen/codegen.h"
#include "core/c_writer.h"
#include "core/process.h"
#include "core/scratch_dir.h"
#include "core/zip_writer.h"
#include "targets/target_profile.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// An example that runs the model once a second and prints the top class (the sketch of
// the Arduino library, the example of the CMake project).
std::string ExampleBody(const std::string& p, const Graph& g, bool arduino) {
  const Tensor& out = g.tensor(g.outputs[0]);
  const std::string type = DTypeCName(out.dtype);
  std::string s = fmt::format(
      "/* Runs '{0}' on a constant input and reports the top class of output 0.\n"
      " * Replace the input with your sensor's samples (quantized as {1}_INPUT0_SCALE and\n"
      " * {1}_INPUT0_ZERO_POINT say, when the input is int8). */\n",
      g.name, [&] {
        std::string u = p;
        for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return u;
      }());
  s += arduino ? fmt::format("#include <{}.h>\n\n", p) : fmt::format("#include \"{}.h\"\n\n", p);
  s += fmt::format(
      "static int top_class(void) {{\n"
      "  const {0}* y = (const {0}*){1}_output(0);\n"
      "  const int n = (int)({1}_output_size(0) / sizeof(*y));\n"
      "  int best = 0;\n"
      "  for (int i = 1; i < n; ++i)\n"
      "    if (y[i] > y[best]) best = i;\n"
      "  return best;\n"
      "}}\n\n",
      type, p);
  if (arduino)
    s += fmt::format(
        "void setup() {{ Serial.begin(115200); }}\n\n"
        "void loop() {{\n"
        "  unsigned char* x = (unsigned char*){0}_input(0);\n"
        "  for (long i = 0; i < {0}_input_size(0); ++i) x[i] = 0;\n"
        "  const unsigned long t0 = micros();\n"
        "  {0}_invoke();\n"
        "  const unsigned long t1 = micros();\n"
        "  Serial.print(\"class \");\n"
        "  Serial.print(top_class());\n"
        "  Serial.print(\" in \");\n"
        "  Serial.print(t1 - t0);\n"
        "  Serial.println(\" us\");\n"
        "  delay(1000);\n"
        "}}\n",
        p);
  else
    s += fmt::format(
        "/* Call from your firmware's main loop; returns the top class. */\n"
        "int {0}_example_step(void) {{\n"
        "  unsigned char* x = (unsigned char*){0}_input(0);\n"
        "  for (long i = 0; i < {0}_input_size(0); ++i) x[i] = 0;\n"
        "  {0}_invoke();\n"
        "  return top_class();\n"
        "}}\n",
        p);
  return s;
}

}  // namespace

Result<BoardExport> ExportForBoard(const Graph& g, const BoardExportOptions& o,
                                   const std::string& out) {
  if (o.format != "arduino" && o.format != "cmake")
    return Status::Errorf("export: unknown board format '{}' (arduino or cmake)", o.format);
  TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget(o.target));
  if (p.cflags.empty() || p.core.rfind("cortex-m", 0) != 0)
    return Status::Errorf("export: target '{}' ({}) has no arm-none-eabi compiler flags", p.name,
                          p.core);
  const std::string prefix = CIdent(o.name);
  const ScratchDir scratch("", "export");
  CodegenOptions co;
  co.prefix = prefix;
  TML_ASSIGN_OR_RETURN(CodegenResult code, GenerateC(g, scratch.path(), co));
  BoardExport e;
  e.path = out;
  e.arena_bytes = code.plan.arena_bytes;
  e.weight_bytes = code.weight_bytes;
  const std::string sentence =
      fmt::format("The model '{}' compiled by TinyMLaaS {} for {}: C99, no malloc, arena {} bytes.",
                  g.name, TML_VERSION, p.core, code.plan.arena_bytes);

  if (o.format == "arduino") {
    const std::string lib = "TinyMLaaS_" + prefix;
    ZipWriter z;
    auto add = [&](const std::string& rel, const std::string& bytes) {
      z.Add(lib + "/" + rel, bytes);
      e.files.push_back(lib + "/" + rel);
    };
    // Arduino library format 1.5: library.properties, sources in src/ (flat, so every
    // include resolves without extra include paths), examples/NAME/NAME.ino.
    add("library.properties",
        fmt::format("name={}\nversion=1.0.0\nauthor=TinyMLaaS\nmaintainer=TinyMLaaS\n"
                    "sentence={}\nparagraph=Fill {}_input(0), call {}_invoke(), read "
                    "{}_output(0). Built for {} ({}); the kernels are portable C99 with DSP "
                    "paths for Cortex-M cores that have them.\ncategory=Data Processing\n"
                    "url=\narchitectures=*\nincludes={}.h\n",
                    lib, sentence, prefix, prefix, prefix, p.core, Join(p.cflags, " "), prefix));
    for (const auto& f : code.files) add("src/" + fs::path(f).filename().string(), ReadText(f));
    const std::string example = "Run" + lib;
    add("examples/" + example + "/" + example + ".ino", ExampleBody(prefix, g, true));
    TML_RETURN_IF_ERROR(z.Write(out));
    return e;
  }

  // CMake: a static library for any arm-none-eabi board, the core's flags as a cache
  // variable, a toolchain file, and an example compiled as an object library.
  std::error_code ec;
  fs::create_directories(fs::path(out) / "src" / "kernels", ec);
  fs::create_directories(fs::path(out) / "cmake", ec);
  fs::create_directories(fs::path(out) / "example", ec);
  if (ec) return Status::Errorf("{}: cannot create ({})", out, ec.message());
  auto write = [&](const std::string& rel, const std::string& bytes) -> Status {
    std::ofstream f(fs::path(out) / rel, std::ios::binary);
    f << bytes;
    f.close();
    if (!f) return Status::Errorf("{}/{}: write failed", out, rel);
    e.files.push_back(rel);
    return Status::Ok();
  };
  for (const auto& f : code.files) {
    const fs::path rel = fs::relative(f, scratch.path());
    TML_RETURN_IF_ERROR(write("src/" + rel.string(), ReadText(f)));
  }
  TML_RETURN_IF_ERROR(
      write("CMakeLists.txt",
            fmt::format(
                "# {}\n"
                "# Build: cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake &&\n"
                "#        cmake --build build   (then link lib{}.a into your firmware)\n"
                "cmake_minimum_required(VERSION 3.13)\n"
                "project(tinymlaas_{} C)\n\n"
                "set(TML_CPU_FLAGS \"{}\" CACHE STRING \"Compiler flags of the core\")\n"
                "separate_arguments(TML_CPU_LIST UNIX_COMMAND \"${{TML_CPU_FLAGS}}\")\n\n"
                "file(GLOB TML_SOURCES CONFIGURE_DEPENDS src/*.c src/kernels/*.c)\n"
                "add_library({} STATIC ${{TML_SOURCES}})\n"
                "target_include_directories({} PUBLIC src src/kernels)\n"
                "set_target_properties({} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON)\n"
                "target_compile_options({} PRIVATE ${{TML_CPU_LIST}} -O2 -ffunction-sections "
                "-fdata-sections -ffp-contract=off)\n"
                "target_link_libraries({} PUBLIC m)\n\n"
                "# The example, compiled (your firmware supplies startup code and main).\n"
                "add_library({}_example OBJECT example/{}_example.c)\n"
                "target_link_libraries({}_example PRIVATE {})\n"
                "target_compile_options({}_example PRIVATE ${{TML_CPU_LIST}} -O2)\n",
                sentence, prefix, prefix, Join(p.cflags, " "), prefix, prefix, prefix, prefix,
                prefix, prefix, prefix, prefix, prefix, prefix)));
  TML_RETURN_IF_ERROR(write("cmake/arm-none-eabi.cmake",
                            "# Cross-compiling for bare-metal Arm with arm-none-eabi-gcc.\n"
                            "set(CMAKE_SYSTEM_NAME Generic)\n"
                            "set(CMAKE_SYSTEM_PROCESSOR arm)\n"
                            "set(CMAKE_C_COMPILER arm-none-eabi-gcc)\n"
                            "set(CMAKE_CXX_COMPILER arm-none-eabi-g++)\n"
                            "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)\n"));
  TML_RETURN_IF_ERROR(write("example/" + prefix + "_example.c", ExampleBody(prefix, g, false)));
  return e;
}

std::vector<std::string> InstalledFlashTools() {
  std::vector<std::string> found;
  const char* path = std::getenv("PATH");
  for (const char* tool : {"bossac", "openocd", "picotool"}) {
    std::stringstream dirs(path ? path : "");
    for (std::string d; std::getline(dirs, d, ':');)
      if (!d.empty() && access((fs::path(d) / tool).c_str(), X_OK) == 0) {
        found.push_back(tool);
        break;
      }
  }
  return found;
}

Result<std::string> FlashFirmware(const FlashRequest& r) {
  if (!fs::exists(r.firmware)) return Status::NotFound("{}: no such firmware file", r.firmware);
  const auto installed = InstalledFlashTools();
  std::string tool = r.tool;
  if (tool.empty()) {
    if (installed.empty())
      return Status::FailedPrecondition(
          "no flashing tool found on PATH: install one of bossac (Arduino SAMD and nRF52 "
          "boards; Debian package bossa-cli), openocd (STM32, nRF, most SWD/JTAG probes; "
          "package openocd) or picotool (RP2040; package picotool)");
    tool = installed.front();
  }
  if (tool != "bossac" && tool != "openocd" && tool != "picotool")
    return Status::Errorf("flash: unknown tool '{}' (bossac, openocd or picotool)", tool);
  if (std::find(installed.begin(), installed.end(), tool) == installed.end())
    return Status::FailedPrecondition("flash: {} is not installed (Debian package {})", tool,
                                      tool == "bossac" ? "bossa-cli" : tool);
  std::vector<std::string> argv;
  if (tool == "bossac") {
    if (r.port.empty())
      return Status::Error("flash: bossac needs the board's serial port (--port)");
    const std::string bin = r.firmware + ".bin";
    TML_ASSIGN_OR_RETURN(ProcessResult c,
                         RunProcess({"arm-none-eabi-objcopy", "-O", "binary", r.firmware, bin}));
    if (c.exit_code != 0) return Status::Errorf("objcopy {}: {}", r.firmware, c.output);
    argv = {"bossac", "-p", r.port, "-e", "-w", "-v", "-R", bin};
  } else if (tool == "openocd") {
    if (r.openocd_config.empty())
      return Status::Error(
          "flash: openocd needs the board's configuration file (--openocd-config)");
    argv = {"openocd", "-f", r.openocd_config, "-c",
            "program " + r.firmware + " verify reset exit"};
  } else {
    argv = {"picotool", "load", "-x", r.firmware};
  }
  TML_ASSIGN_OR_RETURN(ProcessResult p, RunProcess(argv, 300));
  if (p.exit_code != 0)
    return Status::Errorf("{} failed (exit {}):\n{}", tool, p.exit_code, p.output);
  return p.output;
}

}  // namespace tml
