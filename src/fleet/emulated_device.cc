#include "fleet/emulated_device.h"

#include <filesystem>

namespace tml {

Result<std::unique_ptr<EmulatedDevice>> EmulatedDevice::Start(const DeviceImage& image,
                                                              const EmulatedDeviceOptions& o) {
  if (o.flash_path.empty()) return Status::Error("emulated device: a flash file path is needed");
  if (o.id.empty() || o.id.find(' ') != std::string::npos || o.id.size() > 31)
    return Status::Errorf("emulated device: id '{}' must be 1-31 characters without spaces", o.id);
  const std::string sock = o.socket_path.empty() ? o.flash_path + ".sock" : o.socket_path;
  std::error_code ec;
  std::filesystem::remove(sock, ec);
  std::string append = "flash=" + o.flash_path + " id=" + o.id;
  if (!o.sensor_path.empty()) {
    if (o.sensor_path.find(' ') != std::string::npos)
      return Status::Errorf("emulated device: sensor path '{}' has a space", o.sensor_path);
    append += " sensor=" + o.sensor_path;
  }
  if (o.cut_at) append += " cut=" + std::to_string(o.cut_at);
  std::vector<std::string> argv = {
      "qemu-system-arm",
      "-M",
      image.qemu_machine,
      "-nographic",
      "-monitor",
      "none",
      "-chardev",
      o.tcp_port > 0 ? "socket,id=uart,host=127.0.0.1,port=" + std::to_string(o.tcp_port) +
                           ",server=on,wait=on"
                     : "socket,id=uart,path=" + sock + ",server=on,wait=on",
      "-serial",
      "chardev:uart",
      "-semihosting-config",
      "enable=on,target=native",
      "-kernel",
      image.elf,
      "-append",
      append};
  if (o.icount) argv.insert(argv.end(), {"-icount", "shift=6,align=off,sleep=off"});
  auto dev = std::unique_ptr<EmulatedDevice>(new EmulatedDevice());
  TML_ASSIGN_OR_RETURN(dev->process_, ChildProcess::Start(argv, o.flash_path + ".log"));
  dev->address_ = o.tcp_port > 0 ? "tcp:127.0.0.1:" + std::to_string(o.tcp_port) : "unix:" + sock;
  return dev;
}

}  // namespace tml
