// A ZIP archive of stored (uncompressed) files, written as PKWARE's APPNOTE (4.3, 4.4)
// describes: local headers, the central directory, the end record. For exports users
// unpack with any tool (Arduino libraries).
//
//   ZipWriter z;
//   z.Add("lib/library.properties", text);
//   TML_RETURN_IF_ERROR(z.Write("lib.zip"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

class ZipWriter {
 public:
  void Add(const std::string& name, const std::string& bytes);
  Status Write(const std::string& path) const;
  std::string Bytes() const;

 private:
  struct Entry {
    std::string name, bytes;
  };
  std::vector<Entry> entries_;
};

}  // namespace tml
