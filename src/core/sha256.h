// SHA-256 (FIPS 180-4), the content hash of samples and artifacts, computed by mbedTLS
// (the library that also checks model-package signatures on devices).
//
//   Sha256 h;  h.Update(bytes, n);  std::string id = h.HexDigest();
//   std::string id = Sha256Hex(data);   // one shot
//   TML_ASSIGN_OR_RETURN(std::string id, Sha256File(path));
#pragma once

#include <mbedtls/sha256.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tml {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> Digest();
  std::string HexDigest();  // 64 lowercase hex characters

 private:
  mbedtls_sha256_context ctx_;
};

std::string Sha256Hex(std::string_view data);
std::string Sha256Hex(const void* data, size_t n);
// The hash of a file's contents, read in chunks.
Result<std::string> Sha256File(const std::string& path);

}  // namespace tml
