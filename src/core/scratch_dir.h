// A working directory: the caller's, kept; or a fresh one under the system
// temp directory, removed with everything in it when this object goes away.
//
//   ScratchDir dir(opt.work_dir, "verify");   // "" -> /tmp/tinymlaas-verify-<pid>-<n>
//   Build(dir.path());
#pragma once

#include <string>

namespace tml {

class ScratchDir {
 public:
  ScratchDir(const std::string& given, const std::string& purpose);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool owned_ = false;
};

}  // namespace tml
