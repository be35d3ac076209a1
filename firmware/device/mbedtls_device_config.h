/* mbedTLS configuration of device images: SHA-256 and ECDSA P-256 signature checks
 * only, bignums in a static buffer (no libc heap). MBEDTLS_CONFIG_FILE names it. */
#ifndef TML_MBEDTLS_DEVICE_CONFIG_H
#define TML_MBEDTLS_DEVICE_CONFIG_H

#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_NO_INTERNAL_RNG
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER

#include "mbedtls/check_config.h"

#endif
