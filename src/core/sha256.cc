#include "core/sha256.h"

#include <fstream>

namespace tml {

// mbedTLS 2.28's *_ret functions fail only on hardware accelerators, which the host has none of.
Sha256::Sha256() {
  mbedtls_sha256_init(&ctx_);
  (void)mbedtls_sha256_starts_ret(&ctx_, 0);
}

Sha256::~Sha256() {
  mbedtls_sha256_free(&ctx_);
}

void Sha256::Update(const void* data, size_t n) {
  (void)mbedtls_sha256_update_ret(&ctx_, static_cast<const unsigned char*>(data), n);
}

std::array<uint8_t, 32> Sha256::Digest() {
  std::array<uint8_t, 32> out{};
  (void)mbedtls_sha256_finish_ret(&ctx_, out.data());
  return out;
}

std::string Sha256::HexDigest() {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : Digest()) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

std::string Sha256Hex(const void* data, size_t n) {
  Sha256 h;
  h.Update(data, n);
  return h.HexDigest();
}

std::string Sha256Hex(std::string_view data) {
  return Sha256Hex(data.data(), data.size());
}

Result<std::string> Sha256File(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Errorf("{}: cannot open", path);
  Sha256 h;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) h.Update(buf, static_cast<size_t>(f.gcount()));
  if (f.bad()) return Status::Errorf("{}: read failed", path);
  return h.HexDigest();
}

}  // namespace tml
