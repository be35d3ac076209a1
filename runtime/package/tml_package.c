/* The on-device model-package runtime (tml_package.h, docs/package.md). */
#include "tml_package.h"

typedef struct {
  uint32_t offset, bytes;
} blob_entry;

static const blob_entry* blobs(const tml_pkg* pkg) {
  return (const blob_entry*)(const void*)(pkg->base + pkg->h->blobs_offset);
}

const uint8_t* tml_pkg_blob(const tml_pkg* pkg, uint32_t index, uint32_t* bytes) {
  const blob_entry* b = &blobs(pkg)[index];
  if (bytes) *bytes = b->bytes;
  return pkg->base + b->offset;
}

/* A pointer field holds a blob index + 1, or 0 for NULL. */
static const void* blob_ref(const tml_pkg* pkg, uint32_t ref) {
  return ref ? (const void*)tml_pkg_blob(pkg, ref - 1, 0) : (const void*)0;
}

/* ---- Parameter structs from words, driven by the field lists of tml_params.h ---- */

typedef struct {
  const uint32_t* w;
  const tml_pkg* pkg;
} reader;

typedef union {
  uint32_t u;
  float f;
} word_bits;

#define D_I(name) p->name = (int32_t)*r->w++;
#define D_F(name)   \
  {                 \
    word_bits v_;   \
    v_.u = *r->w++; \
    p->name = v_.f; \
  }
#define D_P(type, name) p->name = (const type*)blob_ref(r->pkg, *r->w++);
#define D_A(name, n)                                             \
  {                                                              \
    int i_;                                                      \
    for (i_ = 0; i_ < (n); ++i_) p->name[i_] = (int32_t)*r->w++; \
  }
#define D_B(name, n)                                                                      \
  {                                                                                       \
    int i_;                                                                               \
    for (i_ = 0; i_ < (n); ++i_) p->name[i_] = (uint8_t)(r->w[i_ / 4] >> (8 * (i_ % 4))); \
    r->w += ((n) + 3) / 4;                                                                \
  }
#define D_S(type, name, LIST)            \
  {                                      \
    type* const sub_ = &p->name;         \
    {                                    \
      type* const p = sub_;              \
      LIST(D_I, D_F, D_P, D_A, D_B, D_S) \
    }                                    \
  }
#define DECODER(type, LIST)                       \
  static void decode_##type(type* p, reader* r) { \
    LIST(D_I, D_F, D_P, D_A, D_B, D_S)            \
  }
TML_PARAM_STRUCTS(DECODER)

/* Word counts, and the checks of pointer fields (valid blob references). */
#define W_I(name) +1
#define W_F(name) +1
#define W_P(type, name) +1
#define W_A(name, n) +(n)
#define W_B(name, n) +((n) + 3) / 4
#define W_S(type, name, LIST) +(0 LIST(W_I, W_F, W_P, W_A, W_B, W_S))

#define C_I(name) ++w;
#define C_F(name) ++w;
#define C_P(type, name) \
  if (*w++ > num_blobs) return 0;
#define C_A(name, n) w += (n);
#define C_B(name, n) w += ((n) + 3) / 4;
#define C_S(type, name, LIST) LIST(C_I, C_F, C_P, C_A, C_B, C_S)
#define CHECKER(type, LIST)                                        \
  static int check_##type(const uint32_t* w, uint32_t num_blobs) { \
    (void)num_blobs;                                               \
    LIST(C_I, C_F, C_P, C_A, C_B, C_S)                             \
    return 1;                                                      \
  }
TML_PARAM_STRUCTS(CHECKER)

#define SHAPE_ARGS_P2 2
#define SHAPE_ARGS_P3 3
#define SHAPE_ARGS_P4 4
#define SHAPE_ARGS_P5 5
#define SHAPE_ARGS_P7 7
#define SHAPE_ARGS_P8 8
#define SHAPE_ARGS_LIST 0 /* 2 .. TML_MAX_CALL_ARGS */
#define SHAPE_ARGS_COPY 2

#define WORDS(type, LIST)                        \
  static uint32_t words_##type(void) {           \
    return 0 LIST(W_I, W_F, W_P, W_A, W_B, W_S); \
  }
TML_PARAM_STRUCTS(WORDS)

uint32_t tml_pkg_param_words(uint32_t kernel) {
  switch (kernel) {
#define K_WORDS(id, NAME, fn, ptype, shape) \
  case id:                                  \
    return words_##ptype();
    TML_KERNEL_LIST(K_WORDS)
    default:
      return 0;
  }
}

uint64_t tml_pkg_runtime_opset(void) {
  uint64_t m = 0;
#define K_BIT(id, NAME, fn, ptype, shape) m |= (uint64_t)1 << id;
  TML_KERNEL_LIST(K_BIT)
  return m;
}

const char* tml_pkg_status_name(tml_pkg_status s) {
  static const char* const names[TML_PKG_ERR_COUNT] = {
      "ok",    "truncated", "magic",    "format",    "abi",       "bounds", "kernel", "opset",
      "arena", "scratch",   "selftest", "signature", "downgrade", "digest", "flags",  "stateful"};
  return (unsigned)s < TML_PKG_ERR_COUNT ? names[s] : "unknown";
}

/* ---- Validation ---- */

static int within(uint32_t offset, uint32_t bytes, uint32_t limit) {
  return offset <= limit && bytes <= limit - offset;
}

/* Checks a call's parameter words and pointer fields; 0 on a bad call. */
static int check_params(uint32_t kernel, const uint32_t* w, uint32_t num_blobs, uint32_t nargs) {
  switch (kernel) {
#define K_CHECK(id, NAME, fn, ptype, shape)                                                        \
  case id:                                                                                         \
    if (SHAPE_ARGS_##shape ? nargs != SHAPE_ARGS_##shape : nargs < 2 || nargs > TML_MAX_CALL_ARGS) \
      return 0;                                                                                    \
    return check_##ptype(w, num_blobs);
    TML_KERNEL_LIST(K_CHECK)
    default:
      return 0;
  }
}

static tml_pkg_status fail(tml_pkg* pkg, tml_pkg_status s, uint32_t index) {
  pkg->bad_index = index;
  return s;
}

tml_pkg_status tml_pkg_open(tml_pkg* pkg, const void* data, uint32_t size) {
  const tml_pkg_header* h = (const tml_pkg_header*)data;
  uint32_t i;
  pkg->base = (const uint8_t*)data;
  pkg->size = size;
  pkg->h = h;
  pkg->bad_index = 0;
  if (size < sizeof(tml_pkg_header)) return fail(pkg, TML_PKG_ERR_TRUNCATED, 0);
  if (h->magic != TML_PKG_MAGIC) return fail(pkg, TML_PKG_ERR_MAGIC, 0);
  if (h->format != TML_PKG_FORMAT) return fail(pkg, TML_PKG_ERR_FORMAT, 0);
  if (h->kernel_abi != TML_PKG_KERNEL_ABI) return fail(pkg, TML_PKG_ERR_ABI, 0);
  if (h->flags & ~TML_PKG_KNOWN_FLAGS) return fail(pkg, TML_PKG_ERR_FLAGS, 0);
  if (h->payload_bytes > size || h->header_bytes < sizeof(tml_pkg_header) ||
      h->header_bytes > h->payload_bytes)
    return fail(pkg, TML_PKG_ERR_TRUNCATED, 0);
  {
    const uint32_t limit = h->payload_bytes;
    const blob_entry* b;
    const tml_pkg_tensor_spec* t;
    uint32_t in_bytes = 0, out_bytes = 0;
    uint64_t opset = 0;
    const uint8_t* c;
    if ((h->blobs_offset & 3u) || h->num_blobs > limit / 8 ||
        !within(h->blobs_offset, h->num_blobs * 8, limit))
      return fail(pkg, TML_PKG_ERR_BOUNDS, 0);
    b = blobs(pkg);
    for (i = 0; i < h->num_blobs; ++i)
      if ((b[i].offset % TML_PKG_ALIGN) || !within(b[i].offset, b[i].bytes, limit))
        return fail(pkg, TML_PKG_ERR_BOUNDS, i);
    if ((h->tensors_offset & 3u) || h->num_inputs > 16 || h->num_outputs > 16 ||
        h->num_inputs == 0 || h->num_outputs == 0 ||
        !within(h->tensors_offset,
                (h->num_inputs + h->num_outputs) * (uint32_t)sizeof(tml_pkg_tensor_spec), limit))
      return fail(pkg, TML_PKG_ERR_BOUNDS, 0);
    t = (const tml_pkg_tensor_spec*)(const void*)(pkg->base + h->tensors_offset);
    for (i = 0; i < h->num_inputs + h->num_outputs; ++i) {
      if (t[i].dtype < 1 || t[i].dtype > 5 || t[i].rank > 6 ||
          !within(t[i].arena_offset, t[i].bytes, h->arena_bytes))
        return fail(pkg, TML_PKG_ERR_BOUNDS, i);
      if (i < h->num_inputs)
        in_bytes += t[i].bytes;
      else
        out_bytes += t[i].bytes;
    }
    if (h->selftest_input >= h->num_blobs || h->selftest_output >= h->num_blobs ||
        b[h->selftest_input].bytes != in_bytes || b[h->selftest_output].bytes != out_bytes)
      return fail(pkg, TML_PKG_ERR_BOUNDS, h->num_blobs);
    if ((h->calls_offset & 3u) || h->calls_offset > limit) return fail(pkg, TML_PKG_ERR_BOUNDS, 0);
    c = pkg->base + h->calls_offset;
    for (i = 0; i < h->num_calls; ++i) {
      const tml_pkg_call_head* hd = (const tml_pkg_call_head*)(const void*)c;
      const uint32_t* args;
      uint32_t k;
      if (!within((uint32_t)(c - pkg->base), sizeof *hd, limit))
        return fail(pkg, TML_PKG_ERR_TRUNCATED, i);
      if (hd->kernel == TML_K_NONE || hd->kernel >= TML_K_END || hd->nargs > TML_MAX_CALL_ARGS ||
          !within((uint32_t)(c - pkg->base), sizeof *hd + 4u * hd->nargs, limit))
        return fail(pkg, TML_PKG_ERR_KERNEL, i);
      if (hd->params_blob >= h->num_blobs ||
          b[hd->params_blob].bytes != 4u * tml_pkg_param_words(hd->kernel) ||
          !check_params(hd->kernel,
                        (const uint32_t*)(const void*)tml_pkg_blob(pkg, hd->params_blob, 0),
                        h->num_blobs, hd->nargs))
        return fail(pkg, TML_PKG_ERR_KERNEL, i);
      if (hd->kernel == TML_K_CONCAT) {
        const int32_t n = *(const int32_t*)(const void*)tml_pkg_blob(pkg, hd->params_blob, 0);
        if (n < 1 || n > 8 || (uint32_t)n != hd->nargs - 1u)
          return fail(pkg, TML_PKG_ERR_KERNEL, i);
      }
      args = (const uint32_t*)(const void*)(c + sizeof *hd);
      for (k = 0; k < hd->nargs; ++k) {
        const uint32_t kind = args[k] >> 28, v = args[k] & 0x0FFFFFFFu;
        if (kind == TML_ARG_ARENA  ? v >= h->arena_bytes
            : kind == TML_ARG_BLOB ? v >= h->num_blobs
                                   : (kind != TML_ARG_SCRATCH && kind != TML_ARG_NONE) || v != 0)
          return fail(pkg, TML_PKG_ERR_BOUNDS, i);
      }
      opset |= (uint64_t)1 << hd->kernel;
      c += sizeof *hd + 4u * hd->nargs;
    }
    if (opset != ((uint64_t)h->opset_hi << 32 | h->opset_lo))
      return fail(pkg, TML_PKG_ERR_KERNEL, h->num_calls);
  }
  return TML_PKG_OK;
}

tml_pkg_status tml_pkg_check_fit(const tml_pkg* pkg, uint64_t opset, uint32_t arena_bytes,
                                 uint32_t scratch_bytes) {
  const uint64_t need = (uint64_t)pkg->h->opset_hi << 32 | pkg->h->opset_lo;
  if (need & ~opset) return TML_PKG_ERR_OPSET;
  if (pkg->h->arena_bytes > arena_bytes) return TML_PKG_ERR_ARENA;
  if (pkg->h->scratch_bytes > scratch_bytes) return TML_PKG_ERR_SCRATCH;
  return TML_PKG_OK;
}

/* ---- Inference ---- */

#define CALL_P2(fn) fn(&p, a[0], a[1])
#define CALL_P3(fn) fn(&p, a[0], a[1], a[2])
#define CALL_P4(fn) fn(&p, a[0], a[1], a[2], a[3])
#define CALL_P5(fn) fn(&p, a[0], a[1], a[2], a[3], a[4])
#define CALL_P7(fn) fn(&p, a[0], a[1], a[2], a[3], a[4], a[5], a[6])
#define CALL_P8(fn) fn(&p, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
#define CALL_LIST(fn) fn(&p, (const void* const*)a, a[hd->nargs - 1])
#define CALL_COPY(fn) fn(a[0], a[1], p.bytes)

/* Call k's record (k < num_calls), after tml_pkg_open accepted the table. */
static const tml_pkg_call_head* call_at(const tml_pkg* pkg, uint32_t k) {
  const uint8_t* c = pkg->base + pkg->h->calls_offset;
  for (; k > 0; --k)
    c += sizeof(tml_pkg_call_head) + 4u * ((const tml_pkg_call_head*)(const void*)c)->nargs;
  return (const tml_pkg_call_head*)(const void*)c;
}

void tml_pkg_invoke(const tml_pkg* pkg, uint8_t* arena, int8_t* scratch) {
  tml_pkg_invoke_from(pkg, 0, arena, scratch);
}

void tml_pkg_invoke_from(const tml_pkg* pkg, uint32_t first, uint8_t* arena, int8_t* scratch) {
  const uint8_t* c;
  uint32_t i, k;
  if (first >= pkg->h->num_calls) return;
  c = (const uint8_t*)call_at(pkg, first);
  for (i = first; i < pkg->h->num_calls; ++i) {
    const tml_pkg_call_head* hd = (const tml_pkg_call_head*)(const void*)c;
    const uint32_t* args = (const uint32_t*)(const void*)(c + sizeof *hd);
    reader r;
    void* a[TML_MAX_CALL_ARGS];
    r.w = (const uint32_t*)(const void*)tml_pkg_blob(pkg, hd->params_blob, 0);
    r.pkg = pkg;
    for (k = 0; k < hd->nargs; ++k) {
      const uint32_t kind = args[k] >> 28, v = args[k] & 0x0FFFFFFFu;
      a[k] = kind == TML_ARG_ARENA     ? (void*)(arena + v)
             : kind == TML_ARG_BLOB    ? (void*)(uintptr_t)tml_pkg_blob(pkg, v, 0)
             : kind == TML_ARG_SCRATCH ? (void*)scratch
                                       : (void*)0;
    }
    switch (hd->kernel) {
#define K_CALL(id, NAME, fn, ptype, shape) \
  case id: {                               \
    ptype p;                               \
    decode_##ptype(&p, &r);                \
    CALL_##shape(fn);                      \
  } break;
      TML_KERNEL_LIST(K_CALL)
      default:
        break;
    }
    c += sizeof *hd + 4u * hd->nargs;
  }
}

const tml_pkg_tensor_spec* tml_pkg_tensor(const tml_pkg* pkg, uint32_t index) {
  return (const tml_pkg_tensor_spec*)(const void*)(pkg->base + pkg->h->tensors_offset) + index;
}

void* tml_pkg_input(const tml_pkg* pkg, uint8_t* arena, uint32_t k) {
  return arena + tml_pkg_tensor(pkg, k)->arena_offset;
}

const void* tml_pkg_output(const tml_pkg* pkg, const uint8_t* arena, uint32_t k) {
  return arena + tml_pkg_tensor(pkg, pkg->h->num_inputs + k)->arena_offset;
}

int tml_pkg_frontend_of(const tml_pkg* pkg, tml_pkg_frontend* fe) {
  const tml_pkg_call_head* hd;
  const uint32_t* args;
  reader r;
  if (pkg->h->num_calls < 2) return -1;
  hd = call_at(pkg, 0);
  args = (const uint32_t*)(const void*)(hd + 1);
  if ((hd->kernel != TML_K_MFCC_F32 && hd->kernel != TML_K_MFCC_Q15) || hd->nargs != 5 ||
      args[0] >> 28 != TML_ARG_ARENA || args[1] >> 28 != TML_ARG_BLOB ||
      args[2] >> 28 != TML_ARG_BLOB || args[3] >> 28 != TML_ARG_ARENA)
    return -1;
  r.w = (const uint32_t*)(const void*)tml_pkg_blob(pkg, hd->params_blob, 0);
  r.pkg = pkg;
  decode_tml_mfcc_params(&fe->p, &r);
  fe->fixed = hd->kernel == TML_K_MFCC_Q15;
  fe->tables = tml_pkg_blob(pkg, args[1] & 0x0FFFFFFFu, 0);
  fe->index = (const int32_t*)(const void*)tml_pkg_blob(pkg, args[2] & 0x0FFFFFFFu, 0);
  fe->out_offset = args[3] & 0x0FFFFFFFu;
  return 0;
}

void tml_pkg_reset(const tml_pkg* pkg, uint8_t* arena) {
  uint32_t i;
  for (i = 0; i < pkg->h->arena_bytes; ++i) arena[i] = 0;
}

tml_pkg_status tml_pkg_self_test(const tml_pkg* pkg, uint8_t* arena, int8_t* scratch) {
  const uint8_t* in = tml_pkg_blob(pkg, pkg->h->selftest_input, 0);
  const uint8_t* want = tml_pkg_blob(pkg, pkg->h->selftest_output, 0);
  tml_pkg_status st = TML_PKG_OK;
  uint32_t k, j;
  tml_pkg_reset(pkg, arena); /* the host computed the expected output from a zero state */
  for (k = 0; k < pkg->h->num_inputs; ++k) {
    const tml_pkg_tensor_spec* t = tml_pkg_tensor(pkg, k);
    uint8_t* dst = arena + t->arena_offset;
    for (j = 0; j < t->bytes; ++j) dst[j] = *in++;
  }
  tml_pkg_invoke(pkg, arena, scratch);
  for (k = 0; k < pkg->h->num_outputs; ++k) {
    const tml_pkg_tensor_spec* t = tml_pkg_tensor(pkg, pkg->h->num_inputs + k);
    const uint8_t* got = arena + t->arena_offset;
    for (j = 0; j < t->bytes; ++j)
      if (got[j] != *want++) st = TML_PKG_ERR_SELFTEST;
  }
  tml_pkg_reset(pkg, arena);
  return st;
}
