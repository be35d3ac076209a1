#include "package/signing.h"

#include <fmt/format.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "core/sha256.h"
#include "package/package.h"
#include "tml_package.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

std::string MbedError(int rc) {
  return fmt::format("mbedTLS error -0x{:04x}", -rc);
}

// A seeded random generator for key generation and signing.
class Rng {
 public:
  Rng() {
    mbedtls_entropy_init(&entropy_);
    mbedtls_ctr_drbg_init(&drbg_);
    static const char kPersonal[] = "tinymlaas-signing";
    rc_ = mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_,
                                reinterpret_cast<const unsigned char*>(kPersonal),
                                sizeof kPersonal - 1);
  }
  ~Rng() {
    mbedtls_ctr_drbg_free(&drbg_);
    mbedtls_entropy_free(&entropy_);
  }
  Status status() const {
    return rc_ == 0 ? Status::Ok() : Status::Internal("random generator: {}", MbedError(rc_));
  }
  mbedtls_ctr_drbg_context* drbg() { return &drbg_; }

 private:
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
  int rc_ = 0;
};

struct Pk {
  mbedtls_pk_context ctx;
  Pk() { mbedtls_pk_init(&ctx); }
  ~Pk() { mbedtls_pk_free(&ctx); }
};

Result<std::vector<uint8_t>> Point(mbedtls_pk_context& pk, const std::string& what) {
  if (mbedtls_pk_get_type(&pk) != MBEDTLS_PK_ECKEY ||
      mbedtls_pk_ec(pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
    return Status::Errorf("{}: not an ECDSA P-256 key", what);
  std::vector<uint8_t> point(65);
  size_t n = 0;
  const mbedtls_ecp_keypair* kp = mbedtls_pk_ec(pk);
  const int rc = mbedtls_ecp_point_write_binary(&kp->grp, &kp->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n,
                                                point.data(), point.size());
  if (rc != 0 || n != 65) return Status::Errorf("{}: {}", what, MbedError(rc));
  return point;
}

Status WriteFile(const fs::path& p, const std::string& text, bool secret) {
  std::ofstream f(p, std::ios::binary);
  if (!f) return Status::Errorf("{}: cannot write", p.string());
  if (secret) ::chmod(p.c_str(), 0600);
  f << text;
  f.close();
  if (!f) return Status::Errorf("{}: write failed", p.string());
  return Status::Ok();
}

}  // namespace

std::array<uint8_t, 8> KeyId(const std::vector<uint8_t>& public_point) {
  Sha256 h;
  h.Update(public_point.data(), public_point.size());
  const auto d = h.Digest();
  std::array<uint8_t, 8> id{};
  std::copy(d.begin(), d.begin() + 8, id.begin());
  return id;
}

std::string KeyIdHex(const std::vector<uint8_t>& public_point) {
  std::string s;
  for (uint8_t b : KeyId(public_point)) s += fmt::format("{:02x}", b);
  return s;
}

Result<KeyFiles> CreateSigningKeys(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Errorf("{}: cannot create directory ({})", dir, ec.message());
  KeyFiles k;
  k.private_key = (fs::path(dir) / "signing.key").string();
  k.public_key = (fs::path(dir) / "signing.pub").string();
  k.c_header = (fs::path(dir) / "signing_key.h").string();
  if (fs::exists(k.private_key))
    return Status::AlreadyExists("{}: a signing key exists already (remove it to make a new one)",
                                 k.private_key);
  Rng rng;
  TML_RETURN_IF_ERROR(rng.status());
  Pk pk;
  int rc = mbedtls_pk_setup(&pk.ctx, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (rc == 0)
    rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk.ctx),
                             mbedtls_ctr_drbg_random, rng.drbg());
  if (rc != 0) return Status::Internal("key generation: {}", MbedError(rc));
  std::vector<unsigned char> pem(4096);
  if ((rc = mbedtls_pk_write_key_pem(&pk.ctx, pem.data(), pem.size())) != 0)
    return Status::Internal("key encoding: {}", MbedError(rc));
  TML_RETURN_IF_ERROR(WriteFile(k.private_key, reinterpret_cast<const char*>(pem.data()), true));
  if ((rc = mbedtls_pk_write_pubkey_pem(&pk.ctx, pem.data(), pem.size())) != 0)
    return Status::Internal("key encoding: {}", MbedError(rc));
  TML_RETURN_IF_ERROR(WriteFile(k.public_key, reinterpret_cast<const char*>(pem.data()), false));
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> point, Point(pk.ctx, k.private_key));
  k.key_id = KeyIdHex(point);
  std::string h = fmt::format(
      "/* Package signing key {} (ECDSA P-256, uncompressed point), made by tinymlaas keys "
      "create. */\n#define TML_SIGNING_KEY_ID \"{}\"\nstatic const unsigned char "
      "tml_signing_key[65] = {{",
      k.key_id, k.key_id);
  for (size_t i = 0; i < point.size(); ++i)
    h += fmt::format("{}0x{:02x}", i % 12 ? ", " : (i ? ",\n  " : "\n  "), point[i]);
  h += "};\n";
  TML_RETURN_IF_ERROR(WriteFile(k.c_header, h, false));
  return k;
}

Result<std::vector<uint8_t>> LoadPublicKey(const std::string& path) {
  Pk pk;
  const int rc = mbedtls_pk_parse_public_keyfile(&pk.ctx, path.c_str());
  if (rc != 0) return Status::Errorf("{}: not a public key file ({})", path, MbedError(rc));
  return Point(pk.ctx, path);
}

Result<std::vector<uint8_t>> SignPackage(const std::vector<uint8_t>& package,
                                         const std::string& private_key_path) {
  TML_ASSIGN_OR_RETURN(size_t payload, PayloadBytes(package));
  Pk pk;
  int rc = mbedtls_pk_parse_keyfile(&pk.ctx, private_key_path.c_str(), nullptr);
  if (rc != 0)
    return Status::Errorf("{}: not a private key file ({})", private_key_path, MbedError(rc));
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> point, Point(pk.ctx, private_key_path));
  std::vector<uint8_t> out(package.begin(), package.begin() + static_cast<long>(payload));
  Sha256 h;
  h.Update(out.data(), out.size());
  const auto digest = h.Digest();
  Rng rng;
  TML_RETURN_IF_ERROR(rng.status());
  std::vector<uint8_t> sig(MBEDTLS_ECDSA_MAX_LEN);
  size_t n = 0;
  rc = mbedtls_pk_sign(&pk.ctx, MBEDTLS_MD_SHA256, digest.data(), digest.size(), sig.data(), &n,
                       mbedtls_ctr_drbg_random, rng.drbg());
  if (rc != 0 || n > TML_PKG_MAX_SIGNATURE) return Status::Internal("signing: {}", MbedError(rc));
  sig.resize(n);
  AppendTrailer(out, KeyId(point), sig);
  return out;
}

}  // namespace tml
