// SHA-256 of files, remembered by path, size and modification time in a small text
// file, so an input that has not changed is not read again: a pipeline re-run whose
// steps are all cached no longer hashes its datasets' files (tens of MB) every time.
// A file rewritten with the same size within the same nanosecond would go unnoticed
// (the rule make and ccache rely on too).
//
//   FileHashCache hashes(ws.root + "/cache/file-sha256.tsv");
//   TML_ASSIGN_OR_RETURN(std::string h, hashes.Sha256("/usr/share/datasets/x.gz"));
//   TML_RETURN_IF_ERROR(hashes.Save());
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"

namespace tml {

class FileHashCache {
 public:
  // Reads the cache file when it exists; an unreadable or malformed one starts empty.
  explicit FileHashCache(std::string cache_file);
  Result<std::string> Sha256(const std::string& path);
  // Writes the cache (a temporary file renamed) if anything was added.
  Status Save();

 private:
  struct Entry {
    int64_t size = 0, mtime_ns = 0;
    std::string sha256;
  };
  std::string file_;
  std::map<std::string, Entry> entries_;  // by absolute path
  bool dirty_ = false;
};

}  // namespace tml
