#include "targets/device_image.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/process.h"
#include "core/sha256.h"
#include "targets/mcu.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kSector = 4096;
constexpr int64_t kAgentRam = 32768;  // agent buffers, mbedTLS heap, stack

// mbedTLS sources a signature check needs (firmware/device/mbedtls_device_config.h).
const char* const kMbedtlsFiles[] = {
    "bignum",       "ecp",    "ecp_curves", "ecdsa",         "asn1parse",
    "asn1write",    "sha256", "platform",   "platform_util", "memory_buffer_alloc",
    "constant_time"};

// Where the board's PSRAM is: the flash file's memory-mapped mirror (QEMU's MPS2 models).
uint32_t MirrorFor(const std::string& machine) {
  return machine == "mps2-an500" ? 0x60000000u : 0x21000000u;
}

uint32_t IsaBits(const TargetProfile& p) {
  uint32_t bits = 0;
  if (p.has("dsp")) bits |= 1;
  for (const auto& f : p.isa)
    if (f.rfind("fpv", 0) == 0) bits |= 2;
  if (p.has("mve")) bits |= 4;
  return bits;
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

std::string DeviceSourceDir() {
  if (const char* env = std::getenv("TINYMLAAS_DEVICE_SRC")) return env;
  return std::string(TML_SOURCE_DIR) + "/build/device-src/mbedtls-2.28.3";
}

int64_t ArenaFor(const TargetProfile& p, int64_t scratch_bytes) {
  return std::max<int64_t>(0, (p.ram_bytes - kAgentRam - scratch_bytes) / 16 * 16);
}

Result<DeviceImage> BuildDeviceImage(const TargetProfile& p, const std::string& dir,
                                     const DeviceImageOptions& o) {
  if (p.cflags.empty() || p.core.rfind("cortex-m", 0) != 0 || !p.emulated())
    return Status::Errorf("target '{}' ({}) has no device image here", p.name, p.core);
  if (o.signing_key_header.empty() || !fs::exists(o.signing_key_header))
    return Status::Errorf(
        "device image: signing key header '{}' not found (run `tinymlaas keys create` first)",
        o.signing_key_header);
  const std::string mbed = DeviceSourceDir();
  if (!fs::exists(mbed + "/library/ecdsa.c"))
    return Status::FailedPrecondition(
        "device image: mbedTLS sources not found in {} (scripts/fetch-device-sources.sh fetches "
        "them; `make build` runs it)",
        mbed);
  DeviceImage img;
  img.target = p.name;
  img.core = p.core;
  img.qemu_machine = p.qemu_machine;
  img.scratch_bytes = o.scratch_bytes;
  img.arena_bytes = o.arena_bytes > 0 ? o.arena_bytes : ArenaFor(p, o.scratch_bytes);
  img.flash_bytes = (o.flash_bytes > 0 ? o.flash_bytes : p.flash_bytes) / kSector * kSector;
  img.slot_bytes = (img.flash_bytes - 2 * kSector) / 2 / kSector * kSector;
  if (img.arena_bytes <= 0 || img.slot_bytes <= 0)
    return Status::Errorf("device image for {}: no room for an arena ({} bytes) or slots ({})",
                          p.name, img.arena_bytes, img.slot_bytes);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Errorf("{}: cannot create directory ({})", dir, ec.message());
  img.elf = (fs::path(dir) / "device.elf").string();
  // The key header next to the sources: the image includes it as "signing_key.h".
  fs::copy_file(o.signing_key_header, fs::path(dir) / "signing_key.h",
                fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::Errorf("copying {}: {}", o.signing_key_header, ec.message());

  const std::string fw = std::string(TML_SOURCE_DIR) + "/firmware";
  const std::string rt = std::string(TML_SOURCE_DIR) + "/runtime";
  const std::string board = BoardDir(p);
  std::vector<std::string> argv = FirmwareCompiler(p);
  argv.insert(argv.end(), {"-DMBEDTLS_CONFIG_FILE=\"mbedtls_device_config.h\"",
                           "-I" + fw + "/device",
                           "-I" + dir,
                           "-I" + rt + "/include",
                           "-I" + mbed + "/include",
                           fmt::format("-DTML_DEVICE_CORE=\"{}\"", p.core),
                           fmt::format("-DTML_DEVICE_ISA={}", IsaBits(p)),
                           fmt::format("-DTML_DEVICE_CLOCK_HZ={}", p.clock_hz),
                           fmt::format("-DTML_DEVICE_RAM_BYTES={}", p.ram_bytes),
                           fmt::format("-DTML_FLASH_BYTES={}", img.flash_bytes),
                           fmt::format("-DTML_FLASH_MIRROR=0x{:08x}u", MirrorFor(p.qemu_machine)),
                           fmt::format("-DTML_ARENA_BYTES={}", img.arena_bytes),
                           fmt::format("-DTML_SCRATCH_BYTES={}", img.scratch_bytes),
                           fmt::format("-DTML_CONFIRM_AFTER={}", o.confirm_after),
                           fmt::format("-DTML_FIRMWARE=\"{}\"", TML_VERSION),
                           "-ffile-prefix-map=" + std::string(TML_SOURCE_DIR) + "=src",
                           "-nostartfiles",
                           "-T",
                           board + "/mps2.ld",
                           "--specs=nosys.specs",
                           "-Wl,--gc-sections",
                           board + "/startup.c",
                           board + "/timer.c",
                           board + "/uart.c",
                           fw + "/common/semihost.c"});
  std::vector<std::string> sources;
  for (const auto& dirs : {fw + "/device", rt + "/kernels", rt + "/package", rt + "/protocol"})
    for (const auto& e : fs::directory_iterator(dirs))
      if (e.path().extension() == ".c") sources.push_back(e.path().string());
  std::sort(sources.begin(), sources.end());
  argv.insert(argv.end(), sources.begin(), sources.end());
  for (const char* f : kMbedtlsFiles) argv.push_back(mbed + "/library/" + f + ".c");
  argv.insert(argv.end(), {"-lm", "-o", img.elf});

  // Rebuilt only when the command, a source or the key changed.
  Sha256 key;
  for (const auto& a : argv) {
    key.Update(a);
    if (a.size() > 2 && a.substr(a.size() - 2) == ".c") key.Update(Slurp(a));
  }
  for (const auto& h :
       {fw + "/device/flash.h", fw + "/device/journal.h", rt + "/include/tml_package.h",
        rt + "/include/tml_proto.h", rt + "/include/tml_params.h", rt + "/include/tml_kernels.h",
        rt + "/include/tml_dsp.h",
        dir + "/signing_key.h"})
    key.Update(Slurp(h));
  const std::string stamp = key.HexDigest();
  const std::string stamp_path = (fs::path(dir) / "device.stamp").string();
  if (!(fs::exists(img.elf) && Slurp(stamp_path) == stamp)) {
    TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 600));
    if (r.exit_code != 0)
      return Status::Errorf("building the device image for {} in {} failed (exit {}):\n{}", p.name,
                            dir, r.exit_code, r.output);
    std::ofstream(stamp_path) << stamp;
  }
  TML_ASSIGN_OR_RETURN(ProcessResult size, RunProcess({"arm-none-eabi-size", "-B", img.elf}));
  std::istringstream lines(size.output);
  std::string header;
  std::getline(lines, header);
  int64_t text = 0, data = 0, bss = 0;
  lines >> text >> data >> bss;
  img.text_bytes = text + data;
  img.ram_bytes = data + bss;
  return img;
}

}  // namespace tml
