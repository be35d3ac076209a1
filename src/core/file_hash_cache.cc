#include "core/file_hash_cache.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/sha256.h"

namespace tml {

FileHashCache::FileHashCache(std::string cache_file) : file_(std::move(cache_file)) {
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    Entry e;
    std::string path;
    if (!(f >> e.sha256 >> e.size >> e.mtime_ns) || e.sha256.size() != 64) continue;
    std::getline(f >> std::ws, path);
    if (!path.empty()) entries_[path] = e;
  }
}

Result<std::string> FileHashCache::Sha256(const std::string& path) {
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  struct stat st {};
  if (ec || ::stat(abs.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Sha256File(path);
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                        static_cast<int64_t>(st.st_mtim.tv_nsec);
  auto it = entries_.find(abs);
  if (it != entries_.end() && it->second.size == st.st_size && it->second.mtime_ns == mtime)
    return it->second.sha256;
  TML_ASSIGN_OR_RETURN(std::string h, Sha256File(abs));
  entries_[abs] = {static_cast<int64_t>(st.st_size), mtime, h};
  dirty_ = true;
  return h;
}

Status FileHashCache::Save() {
  if (!dirty_) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file_).parent_path(), ec);
  const std::string tmp = file_ + ".tmp";
  {
    std::ofstream out(tmp);
    for (const auto& [path, e] : entries_)
      out << e.sha256 << ' ' << e.size << ' ' << e.mtime_ns << ' ' << path << '\n';
    if (!out) return Status::Internal("{}: write failed", tmp);
  }
  std::filesystem::rename(tmp, file_, ec);
  if (ec) return Status::Internal("{}: {}", file_, ec.message());
  dirty_ = false;
  return Status::Ok();
}

}  // namespace tml
