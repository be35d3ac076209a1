// Package signing keys and signatures: ECDSA P-256 over the payload's SHA-256, on
// mbedTLS. The private key stays with the control plane; the public key is built into
// device images (signing_key.h), which then accept only packages it signed.
//
//   TML_ASSIGN_OR_RETURN(KeyFiles k, CreateSigningKeys("keys/"));
//   TML_ASSIGN_OR_RETURN(bytes, SignPackage(bytes, k.private_key));
//   TML_ASSIGN_OR_RETURN(std::vector<uint8_t> pub, LoadPublicKey(k.public_key));
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

struct KeyFiles {
  std::string private_key;  // signing.key: PEM, readable by its owner only
  std::string public_key;   // signing.pub: PEM
  std::string c_header;     // signing_key.h: the public point for device images
  std::string key_id;       // 16 hex characters (docs/package.md)
};

// Creates a key pair in dir; refuses to replace existing keys.
Result<KeyFiles> CreateSigningKeys(const std::string& dir);
// A public key file (PEM) as the uncompressed point (65 bytes) devices hold.
Result<std::vector<uint8_t>> LoadPublicKey(const std::string& path);
// The key id: the first 8 bytes of the SHA-256 of the uncompressed point.
std::array<uint8_t, 8> KeyId(const std::vector<uint8_t>& public_point);
std::string KeyIdHex(const std::vector<uint8_t>& public_point);
// The package with its trailer replaced by one signed with the private key at path.
Result<std::vector<uint8_t>> SignPackage(const std::vector<uint8_t>& package,
                                         const std::string& private_key_path);

}  // namespace tml
