/* Model packages: a flat, aligned, versioned int8 graph that the on-device runtime
 * runs from a flash slot, so a model can change without reflashing the firmware.
 * The layout is specified in docs/package.md; the host writes it (src/package/).
 *
 * All checks happen in tml_pkg_open / tml_pkg_check_fit (validate at prepare);
 * tml_pkg_invoke trusts what they accepted. No malloc, no I/O.
 *
 *   tml_pkg pkg;
 *   if (tml_pkg_open(&pkg, slot_bytes, slot_size) != TML_PKG_OK) ...;
 *   if (tml_pkg_check_fit(&pkg, tml_pkg_runtime_opset(), sizeof arena, sizeof scratch)) ...;
 *   memcpy(tml_pkg_input(&pkg, arena, 0), sample, tml_pkg_tensor(&pkg, 0)->bytes);
 *   tml_pkg_invoke(&pkg, arena, scratch);
 */
#ifndef TML_PACKAGE_H
#define TML_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "tml_params.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TML_PKG_MAGIC 0x504C4D54u /* "TMLP" */
#define TML_PKG_FORMAT 1u
/* Version of the kernel interface: parameter structs, kernel list, argument rules.
 * A package names the one it was written for; a runtime runs only its own. */
#define TML_PKG_KERNEL_ABI 1u
#define TML_PKG_ALIGN 16u /* blobs start on 16-byte boundaries */

/* Argument shapes after the parameter pointer:
 *   P2: (p, in, out)   P3: (p, a, b, out)   P4: (p, in, w, b, out)   P5: (.., scratch)
 *   P7: (p, in, w1, w2, b, state, out, scratch)
 *   P8: (p, in, w1, w2, b, state1, state2, out, scratch)
 *   LIST: (p, inputs[], out) with the inputs as the leading arguments
 *   COPY: (in, out, p.bytes) */
/* Every kernel a package may call: K(id, NAME, function, params, shape). Ids are part of
 * the format: never renumber, only append (below 64: the op set is a 64-bit mask). */
#define TML_KERNEL_LIST(K)                                                   \
  K(1, CONV2D_F32, tml_conv2d_f32, tml_conv_params, P4)                      \
  K(2, CONV2D_S8, tml_conv2d_s8, tml_conv_params, P4)                        \
  K(3, CONV2D_S8_FAST, tml_conv2d_s8_fast, tml_conv_params, P5)              \
  K(4, DEPTHWISE_F32, tml_depthwise_conv2d_f32, tml_conv_params, P4)         \
  K(5, DEPTHWISE_S8, tml_depthwise_conv2d_s8, tml_conv_params, P4)           \
  K(6, DEPTHWISE_S8_FAST, tml_depthwise_conv2d_s8_fast, tml_conv_params, P4) \
  K(7, FC_F32, tml_fully_connected_f32, tml_fc_params, P4)                   \
  K(8, FC_S8, tml_fully_connected_s8, tml_fc_params, P4)                     \
  K(9, FC_S8_FAST, tml_fully_connected_s8_fast, tml_fc_params, P4)           \
  K(10, AVG_POOL_F32, tml_avg_pool_f32, tml_pool_params, P2)                 \
  K(11, AVG_POOL_S8, tml_avg_pool_s8, tml_pool_params, P2)                   \
  K(12, AVG_POOL_S8_FAST, tml_avg_pool_s8_fast, tml_pool_params, P2)         \
  K(13, MAX_POOL_F32, tml_max_pool_f32, tml_pool_params, P2)                 \
  K(14, MAX_POOL_S8, tml_max_pool_s8, tml_pool_params, P2)                   \
  K(15, MAX_POOL_S8_FAST, tml_max_pool_s8_fast, tml_pool_params, P2)         \
  K(16, BINARY_F32, tml_binary_f32, tml_binary_params, P3)                   \
  K(17, BINARY_S8, tml_binary_s8, tml_binary_params, P3)                     \
  K(18, ADD_S8_FAST, tml_add_s8_fast, tml_binary_params, P3)                 \
  K(19, UNARY_F32, tml_unary_f32, tml_unary_params, P2)                      \
  K(20, UNARY_S8, tml_unary_s8, tml_unary_params, P2)                        \
  K(21, SOFTMAX_F32, tml_softmax_f32, tml_softmax_params, P2)                \
  K(22, SOFTMAX_S8, tml_softmax_s8, tml_softmax_params, P2)                  \
  K(23, QUANTIZE_F32_S8, tml_quantize_f32_s8, tml_quant_params, P2)          \
  K(24, QUANTIZE_F32_U8, tml_quantize_f32_u8, tml_quant_params, P2)          \
  K(25, REQUANTIZE_S8, tml_requantize_s8, tml_quant_params, P2)              \
  K(26, DEQUANTIZE_S8_F32, tml_dequantize_s8_f32, tml_quant_params, P2)      \
  K(27, DEQUANTIZE_U8_F32, tml_dequantize_u8_f32, tml_quant_params, P2)      \
  K(28, DEQUANTIZE_S32_F32, tml_dequantize_s32_f32, tml_quant_params, P2)    \
  K(29, MEAN_F32, tml_mean_f32, tml_mean_params, P2)                         \
  K(30, MEAN_S8, tml_mean_s8, tml_mean_params, P2)                           \
  K(31, PAD, tml_pad, tml_pad_params, P2)                                    \
  K(32, TRANSPOSE, tml_transpose, tml_transpose_params, P2)                  \
  K(33, CONCAT, tml_concat, tml_concat_params, LIST)                         \
  K(34, COPY, tml_copy, tml_copy_params, COPY)                               \
  K(35, MFCC_F32, tml_mfcc_f32, tml_mfcc_params, P5)                         \
  K(36, MFCC_Q15, tml_mfcc_q15, tml_mfcc_params, P5)                         \
  K(37, SVDF_F32, tml_svdf_f32, tml_svdf_params, P7)                         \
  K(38, SVDF_S8, tml_svdf_s8, tml_svdf_params, P7)                           \
  K(39, SVDF_S8_FAST, tml_svdf_s8_fast, tml_svdf_params, P7)                 \
  K(40, LSTM_F32, tml_lstm_f32, tml_lstm_params, P8)                         \
  K(41, LSTM_S8, tml_lstm_s8, tml_lstm_params, P8)                           \
  K(42, LSTM_S16, tml_lstm_s16, tml_lstm_params, P8)

typedef enum {
  TML_K_NONE = 0,
#define TML_K_ENUM(id, NAME, fn, params, shape) TML_K_##NAME = id,
  TML_KERNEL_LIST(TML_K_ENUM)
#undef TML_K_ENUM
      TML_K_END
} tml_kernel_id;

/* Argument words of a call: kind in the top 4 bits, value in the low 28. */
#define TML_ARG_NONE 0u    /* value: 0; an absent optional operand (NULL) */
#define TML_ARG_ARENA 1u   /* value: byte offset into the arena */
#define TML_ARG_BLOB 2u    /* value: blob index */
#define TML_ARG_SCRATCH 3u /* value: 0 */
#define TML_ARG_WORD(kind, value) (((uint32_t)(kind) << 28) | ((uint32_t)(value)&0x0FFFFFFFu))
#define TML_MAX_CALL_ARGS 9u

/* The model keeps recurrent state (SVDF, LSTM) in the arena between inferences: it starts
 * at zero after tml_pkg_self_test (or tml_pkg_reset), and the arena must hold nothing else
 * (no second model beside it). */
#define TML_PKG_FLAG_STATE 1u
#define TML_PKG_KNOWN_FLAGS TML_PKG_FLAG_STATE

/* Fixed header at offset 0; every field little-endian. */
typedef struct {
  uint32_t magic, format, header_bytes;
  uint32_t payload_bytes; /* header + tables + blobs: what the signature covers */
  uint32_t kernel_abi;
  uint32_t model_version; /* monotonic counter: no downgrade below the last confirmed */
  uint32_t flags;         /* TML_PKG_FLAG_* */
  uint32_t arena_bytes, scratch_bytes;
  uint32_t opset_lo, opset_hi; /* bit k: kernel id k is called */
  uint32_t num_calls, calls_offset;
  uint32_t num_blobs, blobs_offset; /* table of {offset, bytes} */
  uint32_t num_inputs, num_outputs, tensors_offset;
  uint32_t selftest_input, selftest_output; /* blob indices (all inputs, all outputs) */
  char model_id[32];                        /* NUL-padded */
  char name[32];
} tml_pkg_header;

/* Input / output tensor: where it lives in the arena and how to read it. */
typedef struct {
  uint32_t arena_offset, bytes;
  uint8_t dtype, rank, reserved[2]; /* 1 float32, 2 int8, 3 uint8, 4 int32, 5 int16 */
  int32_t shape[6];
  float scale; /* 0 when not quantized */
  int32_t zero_point;
} tml_pkg_tensor_spec;

/* A call record: kernel id, argument count, parameter blob, then nargs argument words. */
typedef struct {
  uint16_t kernel, nargs;
  uint32_t params_blob;
} tml_pkg_call_head;

typedef enum {
  TML_PKG_OK = 0,
  TML_PKG_ERR_TRUNCATED, /* shorter than its header or tables say */
  TML_PKG_ERR_MAGIC,     /* not a model package */
  TML_PKG_ERR_FORMAT,    /* a format version this runtime does not read */
  TML_PKG_ERR_ABI,       /* written for another kernel interface */
  TML_PKG_ERR_BOUNDS,    /* a table, blob, tensor or argument lies outside its area */
  TML_PKG_ERR_KERNEL,    /* unknown kernel id, or a call that does not match its kernel */
  TML_PKG_ERR_OPSET,     /* needs a kernel this runtime lacks */
  TML_PKG_ERR_ARENA,     /* needs more arena than the device has */
  TML_PKG_ERR_SCRATCH,   /* needs more kernel scratch than the device has */
  TML_PKG_ERR_SELFTEST,  /* the self-test output differs from the expected one */
  TML_PKG_ERR_SIGNATURE, /* missing, malformed or not from the trusted key */
  TML_PKG_ERR_DOWNGRADE, /* older than the last confirmed version */
  TML_PKG_ERR_DIGEST,    /* the payload's SHA-256 differs from the trailer's */
  TML_PKG_ERR_FLAGS,     /* header flags this runtime does not know */
  TML_PKG_ERR_STATEFUL,  /* recurrent state, where the arena is shared (a shadow run) */
  TML_PKG_ERR_COUNT
} tml_pkg_status;

/* After the payload: its SHA-256 and, when signed, an ECDSA P-256 signature of that
 * digest (ASN.1 DER, as mbedTLS writes it), zero-padded to a multiple of 4 bytes. */
#define TML_PKG_TRAILER_MAGIC 0x534C4D54u /* "TMLS" */
#define TML_PKG_MAX_SIGNATURE 80u
typedef struct {
  uint32_t magic, trailer_bytes;
  uint8_t digest[32];
  uint8_t key_id[8]; /* first 8 bytes of the SHA-256 of the signer's public key; 0 if unsigned */
  uint32_t signature_bytes;
  /* uint8_t signature[signature_bytes]; */
} tml_pkg_trailer;

typedef struct {
  const uint8_t* base;
  uint32_t size;
  const tml_pkg_header* h;
  uint32_t bad_index; /* which call, blob or tensor an error is about */
} tml_pkg;

/* Integrity and authenticity of a whole package (payload and trailer): the digest always;
 * with a public key (an uncompressed P-256 point, 65 bytes), a signature by that key.
 * Runs before tml_pkg_open on a device: what the structural checks do not cover
 * (parameter values, argument offsets) the signature does. tml_verify.c, on mbedTLS. */
tml_pkg_status tml_pkg_verify(const void* data, uint32_t size, const uint8_t* public_key,
                              uint32_t key_bytes);
/* Bytes of the payload and trailer together (0 when the header is unreadable). */
uint32_t tml_pkg_total_bytes(const void* data, uint32_t size);

/* Structural validation of size bytes at data (4-byte aligned): header, tables, every
 * call's kernel, parameter blob and arguments. Blobs must lie 16-byte aligned. */
tml_pkg_status tml_pkg_open(tml_pkg* pkg, const void* data, uint32_t size);
/* Does the package fit a runtime with these kernels and this much memory? */
tml_pkg_status tml_pkg_check_fit(const tml_pkg* pkg, uint64_t opset, uint32_t arena_bytes,
                                 uint32_t scratch_bytes);
/* Runs one inference: inputs already in the arena, outputs left there. */
void tml_pkg_invoke(const tml_pkg* pkg, uint8_t* arena, int8_t* scratch);
/* Runs calls first .. num_calls - 1 only: what the earlier calls write is in the arena
 * already (a streaming front end computed it, tml_pkg_frontend_of). */
void tml_pkg_invoke_from(const tml_pkg* pkg, uint32_t first, uint8_t* arena, int8_t* scratch);

/* A package whose first call is a front end (MFCC_F32 or MFCC_Q15 over a window of
 * frames), for a device that streams it: tml_mfcc_stream (tml_mfccq_stream) with these
 * parameters and tables, the window written at out_offset in the arena, then
 * tml_pkg_invoke_from(pkg, 1, ...). */
typedef struct {
  tml_mfcc_params p;
  int fixed;            /* MFCC_Q15: int16 samples, tml_mfccq_bind's int32 tables */
  const void* tables;   /* tml_mfcc_bind's (float) or tml_mfccq_bind's (int32) */
  const int32_t* index; /* the mel bank's index */
  uint32_t out_offset;  /* where the window of features goes (floats) */
} tml_pkg_frontend;
/* Returns 0, or -1 when the first call is not a front end (or nothing follows it). */
int tml_pkg_frontend_of(const tml_pkg* pkg, tml_pkg_frontend* fe);

/* Runs the package's self-test vector from a zeroed arena; TML_PKG_ERR_SELFTEST when an
 * output byte differs. Leaves the arena zeroed: recurrent state starts at zero. */
tml_pkg_status tml_pkg_self_test(const tml_pkg* pkg, uint8_t* arena, int8_t* scratch);
/* Zeroes the arena: a model with recurrent state starts again from zero. */
void tml_pkg_reset(const tml_pkg* pkg, uint8_t* arena);

/* Inputs are tensors 0 .. num_inputs-1, outputs follow. */
const tml_pkg_tensor_spec* tml_pkg_tensor(const tml_pkg* pkg, uint32_t index);
void* tml_pkg_input(const tml_pkg* pkg, uint8_t* arena, uint32_t k);
const void* tml_pkg_output(const tml_pkg* pkg, const uint8_t* arena, uint32_t k);
const uint8_t* tml_pkg_blob(const tml_pkg* pkg, uint32_t index, uint32_t* bytes);

/* The kernels this runtime was built with (bit k: kernel id k). */
uint64_t tml_pkg_runtime_opset(void);
/* Number of 32-bit words of a kernel's parameter struct (0 for an unknown id). */
uint32_t tml_pkg_param_words(uint32_t kernel);
/* Short stable name of a status ("arena", "selftest", ...). */
const char* tml_pkg_status_name(tml_pkg_status s);

#ifdef __cplusplus
}
#endif

#endif /* TML_PACKAGE_H */
