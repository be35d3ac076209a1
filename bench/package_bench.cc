// Model packages against compiled (AOT) firmware on the emulated Cortex-M4, same run:
// instructions per inference (QEMU -icount, deterministic), flash and RAM, for the four
// MLPerf Tiny architectures (int8, synthetic weights); then the time to move a 100 KB
// package to a device: measured over QEMU's serial port (a Unix socket, no baud limit)
// and computed for a 115200-baud UART from the bytes the protocol puts on the wire.
//
//   build/bench/tml_package_bench        (make bench-package; results in bench/README.md)
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "fleet/device_link.h"
#include "fleet/emulated_device.h"
#include "package/package.h"
#include "package/signing.h"
#include "targets/device_image.h"
#include "targets/mcu.h"
#include "zoo/mlperf_models.h"

using namespace tml;

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

// Instructions executed by the time the 25 MHz timer read t under -icount shift=6.
int64_t Instructions(uint32_t ticks) {
  return (static_cast<int64_t>(ticks) * 40 + 63) / 64;
}

}  // namespace

int main() {
  const std::string dir = "/tmp/tml_package_bench";
  std::filesystem::remove_all(dir);
  auto keys = CreateSigningKeys(dir + "/keys");
  if (!keys.ok()) return Fail(keys.status());
  auto m4 = FindTarget("cortex-m4");
  if (!m4.ok()) return Fail(m4.status());
  DeviceImageOptions o;
  o.signing_key_header = keys->c_header;
  o.arena_bytes = 1 << 20;  // room for every model; the RAM column counts what a model uses
  o.flash_bytes = 2 << 20;
  auto img = BuildDeviceImage(*m4, dir + "/image", o);
  if (!img.ok()) return Fail(img.status());
  std::printf(
      "device image (cortex-m4): %lld bytes of code and constants, runtime + kernels + "
      "mbedTLS\n\n",
      static_cast<long long>(img->text_bytes));
  std::printf("%-16s %12s %12s %9s %10s %10s %10s %10s\n", "model", "AOT instr", "pkg instr",
              "overhead", "AOT flash", "pkg bytes", "AOT RAM", "pkg arena");
  std::vector<uint8_t> transfer_pkg;
  for (const auto& z : zoo::MlperfModels()) {
    auto f = z.build(1);
    auto g = zoo::QuantizeSynthetic(*f, 1, 4);
    if (!g.ok()) return Fail(g.status());
    auto aot = ProfileOnDevice(*g, "cortex-m4", dir + "/aot_" + z.name);
    if (!aot.ok()) return Fail(aot.status());
    auto pkg = WritePackage(*g);
    if (!pkg.ok()) return Fail(pkg.status());
    auto signed_pkg = SignPackage(*pkg, keys->private_key);
    if (!signed_pkg.ok()) return Fail(signed_pkg.status());
    // The package nearest 100 KB carries the transfer figures.
    auto off100 = [](size_t n) { return n > 102400 ? n - 102400 : 102400 - n; };
    if (transfer_pkg.empty() || off100(signed_pkg->size()) < off100(transfer_pkg.size()))
      transfer_pkg = *signed_pkg;
    EmulatedDeviceOptions eo;
    eo.id = "bench";
    eo.flash_path = dir + "/" + z.name + ".flash";
    eo.icount = true;
    auto dev = EmulatedDevice::Start(*img, eo);
    if (!dev.ok()) return Fail(dev.status());
    auto link = DeviceLink::Connect((*dev)->address(), 30000);
    if (!link.ok()) return Fail(link.status());
    if (auto h = (*link)->Hello(); !h.ok()) return Fail(h.status());
    if (Status s = (*link)->SendPackage(*signed_pkg); !s.ok()) return Fail(s);
    if (Status s = (*link)->Activate(); !s.ok()) return Fail(s);
    std::vector<uint8_t> in(g->tensor(g->inputs[0]).nbytes(), 3);
    auto r = (*link)->Infer(in);
    if (!r.ok()) return Fail(r.status());
    auto info = InspectPackage(*signed_pkg);
    const int64_t pi = Instructions(r->result.ticks);
    std::printf("%-16s %12lld %12lld %8.2f%% %10lld %10lld %10lld %10lld\n", z.name.c_str(),
                static_cast<long long>(aot->instructions), static_cast<long long>(pi),
                100.0 * static_cast<double>(pi - aot->instructions) /
                    static_cast<double>(aot->instructions),
                static_cast<long long>(aot->flash_bytes),
                static_cast<long long>(signed_pkg->size()), static_cast<long long>(aot->ram_bytes),
                static_cast<long long>(info->arena_bytes));
  }

  // Transfer of the package nearest 100 KB, over QEMU's serial port on a Unix socket and
  // on TCP (neither has a baud limit), and computed for a 115200-baud UART.
  const double kb = static_cast<double>(transfer_pkg.size()) / 1024.0;
  const double chunks = static_cast<double>((transfer_pkg.size() + 511) / 512);
  std::printf(
      "\ntransfer of a %.1f KB package (%.0f chunks of 512 bytes; device checks "
      "included):\n",
      kb, chunks);
  for (int tcp : {0, 1}) {
    EmulatedDeviceOptions eo;
    eo.id = "xfer";
    eo.flash_path = dir + (tcp ? "/xfer-tcp.flash" : "/xfer.flash");
    eo.tcp_port = tcp ? 20000 + static_cast<int>(getpid() % 20000) : 0;
    auto dev = EmulatedDevice::Start(*img, eo);
    if (!dev.ok()) return Fail(dev.status());
    auto link = DeviceLink::Connect((*dev)->address(), 30000);
    if (!link.ok()) return Fail(link.status());
    if (auto h = (*link)->Hello(); !h.ok()) return Fail(h.status());
    const auto t0 = std::chrono::steady_clock::now();
    if (Status s = (*link)->SendPackage(transfer_pkg); !s.ok()) return Fail(s);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  QEMU serial port on %s, measured: %.2f s, %.1f KB/s\n",
                tcp ? "TCP" : "a Unix socket", secs, kb / secs);
  }
  // On the wire per 512-byte chunk: the request frame (12 + 4 + 512) and the reply (12 + 4);
  // at 115200 baud, 10 bits per byte.
  const double wire = static_cast<double>(transfer_pkg.size()) + chunks * (12 + 4 + 12 + 4);
  const double uart_s = wire * 10 / 115200;
  std::printf("  UART 115200 baud, from the %.0f bytes on the wire: %.1f s (%.2f s per 100 KB)\n",
              wire, uart_s, uart_s * 100 / kb);
  return 0;
}
