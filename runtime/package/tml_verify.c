/* Package integrity and signature checks on mbedTLS (SHA-256, ECDSA P-256): the same
 * library on the host (Debian's libmbedcrypto) and on devices (built from Debian's
 * source package for the core). */
#include <mbedtls/ecdsa.h>
#include <mbedtls/sha256.h>

#include "tml_package.h"

static uint32_t rd32(const uint8_t* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t tml_pkg_total_bytes(const void* data, uint32_t size) {
  const uint8_t* b = (const uint8_t*)data;
  uint32_t payload, trailer;
  if (size < sizeof(tml_pkg_header)) return 0;
  payload = rd32(b + 12);
  if (payload > size || size - payload < sizeof(tml_pkg_trailer)) return 0;
  trailer = rd32(b + payload + 4);
  if (trailer > size - payload) return 0;
  return payload + trailer;
}

static int same_bytes(const uint8_t* a, const uint8_t* b, uint32_t n) {
  uint8_t d = 0;
  uint32_t i;
  for (i = 0; i < n; ++i) d |= (uint8_t)(a[i] ^ b[i]);
  return d == 0;
}

tml_pkg_status tml_pkg_verify(const void* data, uint32_t size, const uint8_t* public_key,
                              uint32_t key_bytes) {
  const uint8_t* b = (const uint8_t*)data;
  const tml_pkg_trailer* t;
  uint32_t payload, sig_bytes;
  uint8_t digest[32];
  if (size < sizeof(tml_pkg_header)) return TML_PKG_ERR_TRUNCATED;
  if (rd32(b) != TML_PKG_MAGIC) return TML_PKG_ERR_MAGIC;
  payload = rd32(b + 12);
  if ((payload & 3u) || payload > size || size - payload < sizeof(tml_pkg_trailer))
    return TML_PKG_ERR_TRUNCATED;
  t = (const tml_pkg_trailer*)(const void*)(b + payload);
  if (t->magic != TML_PKG_TRAILER_MAGIC) return TML_PKG_ERR_SIGNATURE;
  sig_bytes = t->signature_bytes;
  if (t->trailer_bytes != size - payload || sig_bytes > TML_PKG_MAX_SIGNATURE ||
      t->trailer_bytes != sizeof(tml_pkg_trailer) + ((sig_bytes + 3u) & ~3u))
    return TML_PKG_ERR_TRUNCATED;
  if (mbedtls_sha256_ret(b, payload, digest, 0) != 0) return TML_PKG_ERR_DIGEST;
  if (!same_bytes(digest, t->digest, 32)) return TML_PKG_ERR_DIGEST;
  if (sig_bytes == 0) { /* unsigned: no key id, no signature bytes */
    uint32_t i;
    for (i = 0; i < sizeof t->key_id; ++i)
      if (t->key_id[i]) return TML_PKG_ERR_SIGNATURE;
  }
  {
    const uint8_t* pad = (const uint8_t*)(t + 1) + sig_bytes;
    const uint8_t* end = b + size;
    for (; pad < end; ++pad)
      if (*pad) return TML_PKG_ERR_TRUNCATED;
  }
  if (!public_key) return TML_PKG_OK;
  if (sig_bytes == 0) return TML_PKG_ERR_SIGNATURE;
  {
    uint8_t key_hash[32];
    mbedtls_ecdsa_context ecdsa;
    int rc;
    if (mbedtls_sha256_ret(public_key, key_bytes, key_hash, 0) != 0 ||
        !same_bytes(key_hash, t->key_id, sizeof t->key_id))
      return TML_PKG_ERR_SIGNATURE;
    mbedtls_ecdsa_init(&ecdsa);
    rc = mbedtls_ecp_group_load(&ecdsa.grp, MBEDTLS_ECP_DP_SECP256R1);
    if (rc == 0) rc = mbedtls_ecp_point_read_binary(&ecdsa.grp, &ecdsa.Q, public_key, key_bytes);
    if (rc == 0) rc = mbedtls_ecp_check_pubkey(&ecdsa.grp, &ecdsa.Q);
    if (rc == 0)
      rc = mbedtls_ecdsa_read_signature(&ecdsa, digest, sizeof digest, (const uint8_t*)(t + 1),
                                        sig_bytes);
    mbedtls_ecdsa_free(&ecdsa);
    return rc == 0 ? TML_PKG_OK : TML_PKG_ERR_SIGNATURE;
  }
}
