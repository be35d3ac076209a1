#include "core/scratch_dir.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

namespace tml {

ScratchDir::ScratchDir(const std::string& given, const std::string& purpose) {
  if (!given.empty()) {
    path_ = given;
    return;
  }
  static std::atomic<int> counter{0};
  path_ = (std::filesystem::temp_directory_path() /
           ("tinymlaas-" + purpose + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter++)))
              .string();
  owned_ = true;
}

ScratchDir::~ScratchDir() {
  if (!owned_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace tml
