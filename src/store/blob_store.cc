#include "store/blob_store.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/sha256.h"

namespace tml {

namespace fs = std::filesystem;

bool IsContentId(const std::string& id) {
  if (id.size() != 64) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<std::string> BlobStore::PathOf(const std::string& id) const {
  if (!IsContentId(id)) return Status::Errorf("'{}' is not a content id (64 hex digits)", id);
  return root_ + "/" + id.substr(0, 2) + "/" + id.substr(2);
}

bool BlobStore::Has(const std::string& id) const {
  auto p = PathOf(id);
  std::error_code ec;
  return p.ok() && fs::exists(p.value(), ec);
}

Result<std::string> BlobStore::Put(const void* data, size_t n) const {
  const std::string id = Sha256Hex(data, n);
  TML_ASSIGN_OR_RETURN(std::string path, PathOf(id));
  std::error_code ec;
  if (fs::exists(path, ec)) return id;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Status::Errorf("{}: cannot create directory: {}", path, ec.message());
  static std::atomic<int> counter{0};
  const std::string tmp =
      path + ".tmp" + std::to_string(getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!f) {
      fs::remove(tmp, ec);
      return Status::Errorf("{}: write failed", tmp);
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::Errorf("{}: cannot store blob: {}", path, ec.message());
  }
  return id;
}

Result<std::string> BlobStore::Get(const std::string& id) const {
  TML_ASSIGN_OR_RETURN(std::string path, PathOf(id));
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Errorf("blob {} is missing from {}", id, root_);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return bytes;
}

}  // namespace tml
