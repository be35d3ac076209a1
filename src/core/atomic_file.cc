#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tml {

Status WriteFileAtomically(const std::string& path, const void* data, size_t n, mode_t mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Errorf("{}: cannot write ({})", tmp, std::strerror(errno));
  ::fchmod(fd, mode);  // the mode asked for, whatever the umask
  const char* p = static_cast<const char*>(data);
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Errorf("{}: write failed ({})", tmp, why);
    }
    done += static_cast<size_t>(w);
  }
  if (::close(fd) != 0) return Status::Errorf("{}: write failed ({})", tmp, std::strerror(errno));
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Errorf("{}: {}", path, ec.message());
  return Status::Ok();
}

}  // namespace tml
