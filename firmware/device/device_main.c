/* The device image: a protocol agent (docs/protocol.md) that receives model packages
 * over the serial port into the inactive of two flash slots, checks them (signature,
 * version floor, op set, arena, self-test) before switching, and runs the active one.
 *
 * Command line (semihosting): flash=PATH [id=NAME] [sensor=PATH] [cut=N]
 *   flash  host file that holds the device's flash (created erased when missing)
 *   id     the device id it reports
 *   sensor samples (the active model's inputs back to back) the emulated sensor replays,
 *          or, for a streaming SENSE, the raw samples of an emulated microphone
 *   cut    simulate a power cut at flash operation N (tests of power safety)
 *
 * Build-time settings (src/targets/device_image.cc sets them from the target profile):
 * TML_DEVICE_CORE, TML_DEVICE_ISA, TML_DEVICE_CLOCK_HZ, TML_DEVICE_RAM_BYTES,
 * TML_FLASH_BYTES, TML_ARENA_BYTES, TML_SCRATCH_BYTES, TML_CONFIRM_AFTER, TML_FIRMWARE. */
#include <mbedtls/memory_buffer_alloc.h>
#include <stdint.h>

#include "../common/semihost.h"
#include "../common/uart.h"
#include "flash.h"
#include "journal.h"
#include "signing_key.h"
#include "tml_dsp.h"
#include "tml_package.h"
#include "tml_proto.h"

#ifndef TML_CONFIRM_AFTER
#define TML_CONFIRM_AFTER 3
#endif

void tml_timer_start(void);
uint32_t tml_timer_ticks(void);

#define SLOT_BASE (2u * TML_FLASH_SECTOR)
#define SLOT_BYTES ((TML_FLASH_BYTES - SLOT_BASE) / 2u / TML_FLASH_SECTOR * TML_FLASH_SECTOR)
#define CHECKPOINT (4u * TML_FLASH_SECTOR) /* transfer progress persisted this often */

static uint8_t g_arena[TML_ARENA_BYTES] __attribute__((aligned(16)));
static int8_t g_scratch[TML_SCRATCH_BYTES > 0 ? TML_SCRATCH_BYTES : 4] __attribute__((aligned(16)));
static unsigned char g_heap[12288]; /* mbedTLS bignums during signature checks */

static tml_journal_record g_j;
static tml_pkg g_pkg; /* the active package, valid when g_j.active != TML_NO_SLOT */
static char g_id[32] = "device";
static char g_sensor[256];     /* sensor=PATH: samples the emulated sensor replays */
static uint32_t g_sensor_next; /* the next sample to read */
static tml_proto_rx g_rx;
static uint8_t g_tx[TML_PROTO_MAX_FRAME];
static uint8_t g_reply[TML_PROTO_MAX_PAYLOAD];
static uint16_t g_last_seq;
static int g_have_seq;
static uint32_t g_next_offset, g_xfer_slot = TML_NO_SLOT; /* transfer open in this boot */
static tml_proto_stats g_stats;
/* The READY slot's package as a shadow (SENSE with TML_SENSE_SHADOW), once it passed
 * its self-test in this boot: which slot, and the digest it had then. */
static tml_pkg g_shadow;
static uint32_t g_shadow_slot = TML_NO_SLOT;
static uint8_t g_shadow_digest[32];
/* The stream of the active model's front end, kept across SENSE runs; its buffers lie in
 * the arena after the package's, so any other package run there (a self-test, a shadow)
 * starts it again (version 0). */
static struct {
  uint32_t version, slot; /* the active model it belongs to (version 0: none) */
  tml_proto_stream set;
  tml_pkg_frontend fe;
  tml_mfcc_config c;
  tml_mfcc_plan plan;
  tml_mfccq_plan qplan;
  tml_mfcc_stream s;
  tml_mfccq_stream q;
  tml_kws_detector d;
  uint8_t keyword[32];
  float post[32];
  int32_t* work; /* fixed point: the window in Q24 */
  uint32_t classes, pos, since;
} g_mic;

static uint32_t rd32(const uint8_t* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void copy(void* dst, const void* src, uint32_t n) {
  uint8_t* d = (uint8_t*)dst;
  const uint8_t* s = (const uint8_t*)src;
  while (n--) *d++ = *s++;
}
static int same(const void* a, const void* b, uint32_t n) {
  const uint8_t *x = (const uint8_t*)a, *y = (const uint8_t*)b;
  while (n--)
    if (*x++ != *y++) return 0;
  return 1;
}

static uint32_t slot_offset(uint32_t s) {
  return SLOT_BASE + s * SLOT_BYTES;
}

static void send(uint8_t type, uint16_t seq, const void* payload, uint32_t n) {
  const uint32_t len = tml_proto_encode(g_tx, sizeof g_tx, type, seq, payload, n);
  tml_uart_write(g_tx, len);
}

static void send_error(uint16_t seq, uint16_t code, uint32_t detail) {
  tml_proto_error e;
  e.code = code;
  e.reserved = 0;
  e.detail = detail;
  ++g_stats.rejected_frames;
  send(TML_MSG_ERROR, seq, &e, sizeof e);
}

/* Every check a package passes before it may run: signature and digest, structure,
 * op set and memory. */
static tml_pkg_status check_slot(uint32_t s, uint32_t bytes, tml_pkg* pkg) {
  const uint8_t* p = tml_flash_map(slot_offset(s));
  tml_pkg_status st;
  if (bytes == 0 || bytes > SLOT_BYTES) return TML_PKG_ERR_TRUNCATED;
  st = tml_pkg_verify(p, bytes, tml_signing_key, sizeof tml_signing_key);
  if (st == TML_PKG_OK) st = tml_pkg_open(pkg, p, bytes);
  if (st == TML_PKG_OK)
    st = tml_pkg_check_fit(pkg, tml_pkg_runtime_opset(), sizeof g_arena,
                           TML_SCRATCH_BYTES > 0 ? sizeof g_scratch : 0);
  return st;
}

/* Back to the rollback target (or to no model): the active slot is given up. */
static void revert(void) {
  const uint32_t a = g_j.active;
  if (a == TML_NO_SLOT) return;
  g_j.slot[a].state = TML_SLOT_EMPTY;
  g_j.active = TML_NO_SLOT;
  if (g_j.slot[1 - a].state == TML_SLOT_STANDBY &&
      check_slot(1 - a, g_j.slot[1 - a].bytes, &g_pkg) == TML_PKG_OK) {
    g_j.active = 1 - a;
    g_j.slot[1 - a].state = TML_SLOT_CONFIRMED;
  }
  g_j.trial_boots = 0;
}

static void boot(void) {
  tml_journal_load(0, &g_j);
  ++g_j.boots;
  /* A restart while a new model is on trial reverts it (MCUboot's test-swap rule). */
  if (g_j.active != TML_NO_SLOT && g_j.slot[g_j.active].state == TML_SLOT_TRIAL) revert();
  /* The active model must still pass its checks; otherwise fall back. */
  if (g_j.active != TML_NO_SLOT &&
      check_slot(g_j.active, g_j.slot[g_j.active].bytes, &g_pkg) != TML_PKG_OK)
    revert();
  tml_journal_store(0, &g_j);
  g_stats.boots = g_j.boots;
}

static void fill_hello(tml_proto_hello* h) {
  uint32_t i, s;
  uint8_t* z = (uint8_t*)h;
  const uint64_t opset = tml_pkg_runtime_opset();
  static const char core[] = TML_DEVICE_CORE, fw[] = TML_FIRMWARE;
  for (i = 0; i < sizeof *h; ++i) z[i] = 0;
  copy(h->device_id, g_id, sizeof h->device_id);
  copy(h->core, core, sizeof core < sizeof h->core ? sizeof core : sizeof h->core);
  copy(h->firmware, fw, sizeof fw < sizeof h->firmware ? sizeof fw : sizeof h->firmware);
  h->isa = TML_DEVICE_ISA;
  h->clock_hz = TML_DEVICE_CLOCK_HZ;
  h->ram_bytes = TML_DEVICE_RAM_BYTES;
  h->flash_bytes = TML_FLASH_BYTES;
  h->arena_bytes = sizeof g_arena;
  h->scratch_bytes = TML_SCRATCH_BYTES;
  h->slot_bytes = SLOT_BYTES;
  h->package_format = TML_PKG_FORMAT;
  h->kernel_abi = TML_PKG_KERNEL_ABI;
  h->protocol = TML_PROTO_VERSION;
  h->opset_lo = (uint32_t)opset;
  h->opset_hi = (uint32_t)(opset >> 32);
  h->active_slot = g_j.active;
  h->confirmed_version = g_j.confirmed_version;
  h->boots = g_j.boots;
  for (s = 0; s < 2; ++s) {
    h->slots[s].state = g_j.slot[s].state;
    h->slots[s].version = g_j.slot[s].version;
    h->slots[s].bytes = g_j.slot[s].bytes;
    if (g_j.slot[s].state >= TML_SLOT_READY) {
      const tml_pkg_header* ph = (const tml_pkg_header*)(const void*)tml_flash_map(slot_offset(s));
      copy(h->slots[s].model_id, ph->model_id, sizeof ph->model_id);
    }
  }
}

static void on_xfer_begin(uint16_t seq, const uint8_t* p, uint32_t n) {
  uint32_t total, s, out[2];
  tml_slot_record* r;
  if (n < 40) return send_error(seq, TML_E_TRUNCATED, 40);
  total = rd32(p);
  if (total == 0 || total > SLOT_BYTES) return send_error(seq, TML_E_TOO_LARGE, SLOT_BYTES);
  /* Refused before any byte moves; XFER_END checks the package's own version again. */
  if (rd32(p + 4) < g_j.confirmed_version)
    return send_error(seq, TML_E_PACKAGE, TML_PKG_ERR_DOWNGRADE);
  s = g_j.active == TML_NO_SLOT ? 0u : 1u - g_j.active;
  r = &g_j.slot[s];
  if (r->state == TML_SLOT_READY && r->bytes == total && same(r->digest, p + 8, 32)) {
    /* Received and checked already (staged for a shadow run): nothing to send again;
     * XFER_END checks it once more. */
    g_next_offset = total;
  } else if (r->state == TML_SLOT_RECEIVING && r->bytes == total && same(r->digest, p + 8, 32)) {
    /* The same package again: resume where it stopped (in this boot, exactly; after a
     * restart, from the last checkpoint). */
    if (g_xfer_slot != s) g_next_offset = r->received;
  } else {
    r->state = TML_SLOT_RECEIVING;
    r->bytes = total;
    r->version = rd32(p + 4);
    r->received = 0;
    copy(r->digest, p + 8, 32);
    if (tml_journal_store(0, &g_j) != 0) return send_error(seq, TML_E_FLASH, 0);
    g_next_offset = 0;
  }
  g_xfer_slot = s;
  out[0] = g_next_offset;
  out[1] = s;
  send(TML_MSG_XFER_STATE, seq, out, sizeof out);
}

static void on_xfer_chunk(uint16_t seq, const uint8_t* p, uint32_t n) {
  uint32_t offset, len, base;
  tml_slot_record* r;
  if (g_xfer_slot == TML_NO_SLOT) return send_error(seq, TML_E_STATE, 0);
  if (n < 5) return send_error(seq, TML_E_TRUNCATED, 5);
  r = &g_j.slot[g_xfer_slot];
  offset = rd32(p);
  len = n - 4;
  if (offset != g_next_offset || len > r->bytes - offset ||
      offset / TML_FLASH_SECTOR != (offset + len - 1) / TML_FLASH_SECTOR)
    return send_error(seq, TML_E_OFFSET, g_next_offset);
  base = slot_offset(g_xfer_slot);
  if (offset % TML_FLASH_SECTOR == 0 && tml_flash_erase(base + offset) != 0)
    return send_error(seq, TML_E_FLASH, offset);
  if (tml_flash_program(base + offset, p + 4, len) != 0)
    return send_error(seq, TML_E_FLASH, offset);
  g_next_offset = offset + len;
  if (g_next_offset % CHECKPOINT == 0 && g_next_offset < r->bytes) {
    r->received = g_next_offset;
    if (tml_journal_store(0, &g_j) != 0) return send_error(seq, TML_E_FLASH, offset);
  }
  send(TML_MSG_XFER_STATE, seq, &g_next_offset, 4);
}

static void on_xfer_end(uint16_t seq) {
  tml_pkg pkg;
  tml_pkg_status st;
  const uint32_t s = g_xfer_slot;
  tml_slot_record* r;
  if (s == TML_NO_SLOT) return send_error(seq, TML_E_STATE, 0);
  r = &g_j.slot[s];
  if (g_next_offset != r->bytes) return send_error(seq, TML_E_OFFSET, g_next_offset);
  st = check_slot(s, r->bytes, &pkg);
  if (st == TML_PKG_OK && pkg.h->model_version < g_j.confirmed_version) st = TML_PKG_ERR_DOWNGRADE;
  g_xfer_slot = TML_NO_SLOT;
  r->state = st == TML_PKG_OK ? TML_SLOT_READY : TML_SLOT_EMPTY;
  if (st == TML_PKG_OK) r->version = pkg.h->model_version;
  if (tml_journal_store(0, &g_j) != 0) return send_error(seq, TML_E_FLASH, 0);
  if (st != TML_PKG_OK) return send_error(seq, TML_E_PACKAGE, st);
  send(TML_MSG_ACK, seq, 0, 0);
}

static void on_activate(uint16_t seq) {
  tml_pkg pkg;
  tml_pkg_status st;
  uint32_t s;
  for (s = 0; s < 2 && g_j.slot[s].state != TML_SLOT_READY; ++s) {
  }
  if (s == 2) return send_error(seq, TML_E_STATE, 0);
  st = check_slot(s, g_j.slot[s].bytes, &pkg);
  if (st == TML_PKG_OK) st = tml_pkg_self_test(&pkg, g_arena, g_scratch);
  g_mic.version = 0;
  if (st != TML_PKG_OK) {
    g_j.slot[s].state = TML_SLOT_EMPTY;
    tml_journal_store(0, &g_j);
    return send_error(seq, TML_E_PACKAGE, st);
  }
  if (g_j.active != TML_NO_SLOT)
    g_j.slot[g_j.active].state =
        g_j.slot[g_j.active].state == TML_SLOT_CONFIRMED ? TML_SLOT_STANDBY : TML_SLOT_EMPTY;
  g_j.active = s;
  g_j.slot[s].state = TML_SLOT_TRIAL;
  g_j.trial_boots = 0;
  if (tml_journal_store(0, &g_j) != 0) return send_error(seq, TML_E_FLASH, 0);
  g_pkg = pkg;
  g_stats.trial_inferences = 0;
  send(TML_MSG_ACK, seq, 0, 0);
}

static int confirm(void) {
  tml_slot_record* r;
  if (g_j.active == TML_NO_SLOT || g_j.slot[g_j.active].state != TML_SLOT_TRIAL) return -1;
  r = &g_j.slot[g_j.active];
  r->state = TML_SLOT_CONFIRMED;
  if (r->version > g_j.confirmed_version) g_j.confirmed_version = r->version;
  return tml_journal_store(0, &g_j);
}

static uint32_t pkg_input_bytes(const tml_pkg* pkg) {
  uint32_t k, need = 0;
  for (k = 0; k < pkg->h->num_inputs; ++k) need += tml_pkg_tensor(pkg, k)->bytes;
  return need;
}
static uint32_t input_bytes(void) {
  return pkg_input_bytes(&g_pkg);
}

/* Copies bytes at offset of a package's inputs seen back to back into their arena places. */
static void stage_input_of(const tml_pkg* pkg, uint32_t offset, const uint8_t* p, uint32_t n) {
  uint32_t k, start = 0;
  for (k = 0; k < pkg->h->num_inputs && n > 0; ++k) {
    const uint32_t b = tml_pkg_tensor(pkg, k)->bytes;
    if (offset < start + b) {
      const uint32_t at = offset - start, len = b - at < n ? b - at : n;
      copy((uint8_t*)tml_pkg_input(pkg, g_arena, k) + at, p, len);
      p += len;
      n -= len;
      offset += len;
    }
    start += b;
  }
}
static void stage_input(uint32_t offset, const uint8_t* p, uint32_t n) {
  stage_input_of(&g_pkg, offset, p, n);
}

static void on_input(uint16_t seq, const uint8_t* p, uint32_t n) {
  uint32_t offset;
  if (g_j.active == TML_NO_SLOT) return send_error(seq, TML_E_NO_MODEL, 0);
  if (n < 4) return send_error(seq, TML_E_TRUNCATED, 4);
  offset = rd32(p);
  if (offset > input_bytes() || n - 4 > input_bytes() - offset)
    return send_error(seq, TML_E_INPUT, input_bytes());
  stage_input(offset, p + 4, n - 4);
  send(TML_MSG_ACK, seq, 0, 0);
}

/* One inference of a package on its staged inputs: timer ticks, the top class of
 * output 0 and its dequantized value. */
static void run_pkg(const tml_pkg* pkg, tml_proto_result* res) {
  const tml_pkg_tensor_spec* out;
  uint32_t t0, t1, i, count;
  t0 = tml_timer_ticks();
  tml_pkg_invoke(pkg, g_arena, g_scratch);
  t1 = tml_timer_ticks();
  out = tml_pkg_tensor(pkg, pkg->h->num_inputs);
  res->model_version = pkg->h->model_version;
  res->ticks = t1 - t0;
  res->top_class = -1;
  res->confidence = 0;
  res->output_bytes = out->bytes;
  count = out->dtype == 1 ? out->bytes / 4 : out->dtype == 2 ? out->bytes : 0;
  for (i = 0; i < count; ++i) {
    const uint8_t* o = (const uint8_t*)tml_pkg_output(pkg, g_arena, 0);
    float v;
    if (out->dtype == 1)
      copy(&v, o + 4 * i, 4);
    else
      v = (float)((int32_t)(int8_t)o[i] - out->zero_point) * out->scale;
    if (res->top_class < 0 || v > res->confidence) {
      res->top_class = (int32_t)i;
      res->confidence = v;
    }
  }
}

/* The active model on the staged inputs; counts towards confirming a trial model. */
static void run_model(tml_proto_result* res) {
  run_pkg(&g_pkg, res);
  ++g_stats.inferences;
  ++g_stats.trial_inferences;
}

static void maybe_confirm(void) {
  if (g_j.slot[g_j.active].state == TML_SLOT_TRIAL && g_stats.trial_inferences >= TML_CONFIRM_AFTER)
    confirm();
}

static void on_infer(uint16_t seq, const uint8_t* p, uint32_t n) {
  tml_proto_result* res = (tml_proto_result*)(void*)g_reply;
  if (g_j.active == TML_NO_SLOT) return send_error(seq, TML_E_NO_MODEL, 0);
  if (n != 0 && n != input_bytes()) return send_error(seq, TML_E_INPUT, input_bytes());
  stage_input(0, p, n); /* n == 0: the inputs INPUT frames staged */
  run_model(res);
  n = sizeof *res;
  if (res->output_bytes <= sizeof g_reply - n) {
    copy(g_reply + n, tml_pkg_output(&g_pkg, g_arena, 0), res->output_bytes);
    n += res->output_bytes;
  }
  send(TML_MSG_RESULT, seq, g_reply, n);
  maybe_confirm();
}

/* Reads bytes of sample k of the sensor file at offset into dst; 0 on success. */
static int sensor_read(int32_t fd, uint32_t k, uint32_t offset, uint8_t* dst, uint32_t n) {
  if (tml_sh_seek(fd, (int32_t)(k * input_bytes() + offset)) != 0) return -1;
  return tml_sh_read(fd, dst, (int32_t)n) == (int32_t)n ? 0 : -1;
}

/* Sample k of the sensor into a package's inputs; 0 on success. */
static int load_sample(int32_t fd, uint32_t k, const tml_pkg* pkg) {
  uint32_t off;
  for (off = 0; off < input_bytes(); off += sizeof g_reply) {
    const uint32_t m = input_bytes() - off < sizeof g_reply ? input_bytes() - off : sizeof g_reply;
    if (sensor_read(fd, k, off, g_reply, m) != 0) return -1;
    stage_input_of(pkg, off, g_reply, m);
  }
  return 0;
}

/* The READY slot's package, ready to run as a shadow: checked, and its self-test passed
 * once in this boot; a failed check empties the slot. 0, or the error already sent. */
static int open_shadow(uint16_t seq) {
  uint32_t s;
  tml_pkg_status st;
  for (s = 0; s < 2 && g_j.slot[s].state != TML_SLOT_READY; ++s) {
  }
  if (s == 2) {
    send_error(seq, TML_E_STATE, 0);
    return -1;
  }
  if (g_shadow_slot == s && same(g_shadow_digest, g_j.slot[s].digest, 32)) return 0;
  g_shadow_slot = TML_NO_SLOT;
  st = check_slot(s, g_j.slot[s].bytes, &g_shadow);
  /* One arena serves both models: recurrent state in either would not survive the other
   * (the package is fine: the slot stays READY). */
  if (st == TML_PKG_OK && ((g_shadow.h->flags | (g_j.active != TML_NO_SLOT ? g_pkg.h->flags : 0u)) &
                           TML_PKG_FLAG_STATE)) {
    send_error(seq, TML_E_PACKAGE, TML_PKG_ERR_STATEFUL);
    return -1;
  }
  if (st == TML_PKG_OK) st = tml_pkg_self_test(&g_shadow, g_arena, g_scratch);
  g_mic.version = 0;
  if (st != TML_PKG_OK) {
    g_j.slot[s].state = TML_SLOT_EMPTY;
    tml_journal_store(0, &g_j);
    send_error(seq, TML_E_PACKAGE, st);
    return -1;
  }
  if (pkg_input_bytes(&g_shadow) != input_bytes()) {
    send_error(seq, TML_E_INPUT, pkg_input_bytes(&g_shadow));
    return -1;
  }
  g_shadow_slot = s;
  copy(g_shadow_digest, g_j.slot[s].digest, 32);
  return 0;
}

/* The emulated sensor: samples from a host file (sensor=PATH), one input after another,
 * from where the last run stopped; a TELEMETRY push per sample, CAPTURE pushes of the
 * sample when its confidence is below the threshold, and with TML_SENSE_SHADOW a SHADOW
 * push of what the READY slot's package answers for the same sample. */
static void on_listen(uint16_t seq, uint32_t count, const tml_proto_stream* set);

static void on_sense(uint16_t seq, const uint8_t* p, uint32_t n) {
  static const uint32_t kPiece = TML_PROTO_MAX_PAYLOAD - sizeof(tml_proto_capture);
  uint32_t count, samples, r, off, flags;
  float below;
  int32_t fd, len;
  if (n < 8) return send_error(seq, TML_E_TRUNCATED, 8);
  if (g_j.active == TML_NO_SLOT) return send_error(seq, TML_E_NO_MODEL, 0);
  if (!g_sensor[0]) return send_error(seq, TML_E_STATE, 0);
  count = rd32(p);
  copy(&below, p + 4, 4);
  flags = n >= 12 ? rd32(p + 8) : 0;
  if (flags & TML_SENSE_STREAM) {
    tml_proto_stream set;
    if (n < 12 + sizeof set) return send_error(seq, TML_E_TRUNCATED, 12 + sizeof set);
    copy(&set, p + 12, sizeof set);
    return on_listen(seq, count, &set);
  }
  if ((flags & TML_SENSE_SHADOW) && open_shadow(seq) != 0) return;
  fd = tml_sh_open(g_sensor, 1);
  len = fd < 0 ? -1 : tml_sh_flen(fd);
  samples = len > 0 ? (uint32_t)len / input_bytes() : 0;
  if (samples == 0) {
    if (fd >= 0) tml_sh_close(fd);
    return send_error(seq, TML_E_INPUT, input_bytes());
  }
  send(TML_MSG_ACK, seq, 0, 0);
  for (r = 0; r < count; ++r, ++g_sensor_next) {
    const uint32_t k = g_sensor_next % samples;
    tml_proto_result res;
    tml_proto_telemetry t;
    if (load_sample(fd, k, &g_pkg) != 0) {
      ++g_stats.errors;
      break;
    }
    run_model(&res);
    t.model_version = res.model_version;
    t.ticks = res.ticks;
    t.boots = g_j.boots;
    t.errors = g_stats.errors;
    t.top_class = res.top_class;
    t.confidence = res.confidence;
    t.sample = r;
    send(TML_MSG_TELEMETRY, seq, &t, sizeof t);
    if (res.confidence < below) {
      tml_proto_capture* c = (tml_proto_capture*)(void*)g_reply;
      for (off = 0; off < input_bytes(); off += kPiece) {
        const uint32_t m = input_bytes() - off < kPiece ? input_bytes() - off : kPiece;
        copy(c->device_id, g_id, sizeof c->device_id);
        c->model_version = res.model_version;
        c->sample_bytes = input_bytes();
        c->sample = r;
        c->offset = off;
        c->top_class = res.top_class;
        c->confidence = res.confidence;
        if (sensor_read(fd, k, off, g_reply + sizeof *c, m) != 0) break;
        send(TML_MSG_CAPTURE, seq, g_reply, sizeof *c + m);
      }
    }
    if (flags & TML_SENSE_SHADOW) {
      tml_proto_result sr;
      tml_proto_shadow sh;
      if (load_sample(fd, k, &g_shadow) != 0) {
        ++g_stats.errors;
        break;
      }
      run_pkg(&g_shadow, &sr);
      g_mic.version = 0;
      sh.model_version = sr.model_version;
      sh.ticks = sr.ticks;
      sh.top_class = sr.top_class;
      sh.confidence = sr.confidence;
      sh.sample = r;
      sh.active_version = res.model_version;
      sh.active_class = res.top_class;
      sh.active_confidence = res.confidence;
      send(TML_MSG_SHADOW, seq, &sh, sizeof sh);
    }
    maybe_confirm();
  }
  tml_sh_close(fd);
}

/* ---- The emulated microphone: SENSE with TML_SENSE_STREAM ---- */

/* Binds the stream to the active model and settings (again only when either changed: then
 * from the file's start, and from a zero model state). 0, or an error code and detail. */
static uint16_t mic_open(const tml_proto_stream* set, uint32_t* detail) {
  const tml_pkg_tensor_spec* out = tml_pkg_tensor(&g_pkg, g_pkg.h->num_inputs);
  uint32_t per, row, need, at = (g_pkg.h->arena_bytes + 15u) & ~15u, k;
  uint8_t* samples;
  int32_t* ring;
  float* history;
  if (g_mic.version == g_pkg.h->model_version && g_mic.slot == g_j.active &&
      same(&g_mic.set, set, sizeof *set))
    return 0;
  g_mic.version = 0;
  *detail = 0;
  if (tml_pkg_frontend_of(&g_pkg, &g_mic.fe) != 0) return TML_E_FRONTEND;
  g_mic.classes = out->dtype == 1 ? out->bytes / 4 : out->dtype == 2 ? out->bytes : 0;
  *detail = 1;
  if (g_mic.classes < 1 || g_mic.classes > 32 || set->hop < 1 || set->hop > 255 ||
      set->smooth < 1 || set->smooth > 16 || !(set->threshold > 0.0f && set->threshold <= 1.0f))
    return TML_E_FRONTEND;
  tml_mfcc_config_of(&g_mic.fe.p, &g_mic.c);
  per = (uint32_t)(g_mic.c.num_mfcc > 0 ? g_mic.c.num_mfcc : g_mic.c.num_mel);
  row = g_mic.c.deltas > 0 ? 2u * per : per;
  {
    /* samples (one frame), the ring of frames, the fixed-point window, the history */
    const uint32_t sample_bytes =
        ((uint32_t)g_mic.c.frame_length * (g_mic.fe.fixed ? 2u : 4u) + 3u) & ~3u;
    const uint32_t ring_bytes = 4u * (uint32_t)g_mic.fe.p.frames * per;
    const uint32_t work_bytes = g_mic.fe.fixed ? 4u * (uint32_t)g_mic.fe.p.frames * row : 0u;
    need = sample_bytes + ring_bytes + work_bytes + 4u * set->smooth * g_mic.classes;
    if (need > sizeof g_arena - at) {
      *detail = need;
      return TML_E_FRONTEND;
    }
    samples = g_arena + at;
    ring = (int32_t*)(void*)(samples + sample_bytes);
    g_mic.work = (int32_t*)(void*)(samples + sample_bytes + ring_bytes);
    history = (float*)(void*)(samples + sample_bytes + ring_bytes + work_bytes);
  }
  if (g_mic.fe.fixed) {
    tml_mfccq_bind(&g_mic.c, (const int32_t*)g_mic.fe.tables, g_mic.fe.index, &g_mic.qplan);
    tml_mfccq_stream_init(&g_mic.q, &g_mic.qplan, (int16_t*)(void*)samples, ring,
                          g_mic.fe.p.frames);
  } else {
    tml_mfcc_bind(&g_mic.c, (const float*)g_mic.fe.tables, g_mic.fe.index, &g_mic.plan);
    tml_mfcc_stream_init(&g_mic.s, &g_mic.plan, (float*)(void*)samples, (float*)(void*)ring,
                         g_mic.fe.p.frames);
  }
  for (k = 0; k < g_mic.classes; ++k) g_mic.keyword[k] = (uint8_t)((set->keywords >> k) & 1u);
  tml_kws_detector_init(&g_mic.d, (int)g_mic.classes, (int)set->smooth, (int)set->refractory,
                        set->threshold, g_mic.keyword, history);
  tml_pkg_reset(&g_pkg, g_arena); /* a recurrent model starts from zero, as on the host */
  g_mic.set = *set;
  g_mic.pos = g_mic.since = 0;
  g_mic.slot = g_j.active;
  g_mic.version = g_pkg.h->model_version;
  return 0;
}

/* The next piece of at most one stride from the microphone file (wrapping around at its
 * end) through the front end: the frames it completed, or -1 when the file fails. */
static int mic_push(int32_t fd, uint32_t file_samples) {
  const uint32_t size = g_mic.fe.fixed ? 2u : 4u;
  uint32_t n = (uint32_t)g_mic.c.frame_step;
  if (n > sizeof g_reply / size) n = sizeof g_reply / size;
  if (g_mic.pos >= file_samples) g_mic.pos = 0;
  if (n > file_samples - g_mic.pos) n = file_samples - g_mic.pos;
  if (tml_sh_seek(fd, (int32_t)(g_mic.pos * size)) != 0 ||
      tml_sh_read(fd, g_reply, (int32_t)(n * size)) != (int32_t)(n * size))
    return -1;
  g_mic.pos += n;
  return g_mic.fe.fixed ? tml_mfccq_stream_push(&g_mic.q, (const int16_t*)(void*)g_reply, (long)n,
                                                (int32_t*)(void*)g_scratch)
                        : tml_mfcc_stream_push(&g_mic.s, (const float*)(void*)g_reply, (long)n,
                                               (float*)(void*)g_scratch);
}

static void on_listen(uint16_t seq, uint32_t count, const tml_proto_stream* set) {
  const tml_pkg_tensor_spec* out = tml_pkg_tensor(&g_pkg, g_pkg.h->num_inputs);
  uint32_t detail = 0, r = 0, file_samples, hop_ticks = 0;
  uint16_t err = mic_open(set, &detail);
  int32_t fd, len;
  if (err) return send_error(seq, err, detail);
  fd = tml_sh_open(g_sensor, 1);
  len = fd < 0 ? -1 : tml_sh_flen(fd);
  file_samples = len > 0 ? (uint32_t)len / (g_mic.fe.fixed ? 2u : 4u) : 0;
  if (file_samples == 0) {
    if (fd >= 0) tml_sh_close(fd);
    return send_error(seq, TML_E_INPUT, 0);
  }
  send(TML_MSG_ACK, seq, 0, 0);
  while (r < count) {
    uint32_t t0 = tml_timer_ticks(), k;
    const int made = mic_push(fd, file_samples);
    int found;
    float* window = (float*)(void*)(g_arena + g_mic.fe.out_offset);
    tml_proto_telemetry t;
    if (made < 0) {
      ++g_stats.errors;
      break;
    }
    g_mic.since += (uint32_t)made;
    if (made == 0 || g_mic.since < g_mic.set.hop ||
        !(g_mic.fe.fixed ? tml_mfccq_stream_window(&g_mic.q, g_mic.work, window)
                         : tml_mfcc_stream_window(&g_mic.s, window))) {
      hop_ticks += tml_timer_ticks() - t0;
      continue;
    }
    g_mic.since = 0;
    tml_pkg_invoke_from(&g_pkg, 1, g_arena, g_scratch);
    t.top_class = 0;
    for (k = 0; k < g_mic.classes; ++k) {
      const uint8_t* o = (const uint8_t*)tml_pkg_output(&g_pkg, g_arena, 0);
      if (out->dtype == 1)
        copy(&g_mic.post[k], o + 4 * k, 4);
      else
        g_mic.post[k] = (float)((int32_t)(int8_t)o[k] - out->zero_point) * out->scale;
      if (g_mic.post[k] > g_mic.post[t.top_class]) t.top_class = (int32_t)k;
    }
    {
      tml_proto_detection det;
      found = tml_kws_detect(&g_mic.d, g_mic.post, &det.score);
      hop_ticks += tml_timer_ticks() - t0;
      if (found >= 0) {
        det.model_version = g_pkg.h->model_version;
        det.frame = (uint32_t)(g_mic.fe.fixed ? g_mic.q.frames : g_mic.s.frames);
        det.keyword = found;
        det.sample = r;
        send(TML_MSG_DETECTION, seq, &det, sizeof det);
      }
    }
    ++g_stats.inferences;
    ++g_stats.trial_inferences;
    t.model_version = g_pkg.h->model_version;
    t.ticks = hop_ticks;
    t.boots = g_j.boots;
    t.errors = g_stats.errors;
    t.confidence = g_mic.post[t.top_class];
    t.sample = r++;
    send(TML_MSG_TELEMETRY, seq, &t, sizeof t);
    hop_ticks = 0;
    maybe_confirm();
  }
  tml_sh_close(fd);
}

static void handle(uint8_t type, uint16_t seq, const uint8_t* p, uint32_t n) {
  if (type == TML_MSG_HELLO) {
    tml_proto_hello h;
    g_last_seq = seq;
    g_have_seq = 1;
    fill_hello(&h);
    return send(TML_MSG_HELLO_INFO, seq, &h, sizeof h);
  }
  if (!g_have_seq || (int16_t)(uint16_t)(seq - g_last_seq) <= 0)
    return send_error(seq, TML_E_REPLAY, g_last_seq);
  g_last_seq = seq;
  switch (type) {
    case TML_MSG_XFER_BEGIN:
      return on_xfer_begin(seq, p, n);
    case TML_MSG_XFER_CHUNK:
      return on_xfer_chunk(seq, p, n);
    case TML_MSG_XFER_END:
      return on_xfer_end(seq);
    case TML_MSG_ACTIVATE:
      return on_activate(seq);
    case TML_MSG_CONFIRM:
      if (confirm() != 0) return send_error(seq, TML_E_STATE, 0);
      return send(TML_MSG_ACK, seq, 0, 0);
    case TML_MSG_ROLLBACK: {
      const uint32_t a = g_j.active;
      tml_pkg standby;
      if (a == TML_NO_SLOT || g_j.slot[1 - a].state != TML_SLOT_STANDBY ||
          check_slot(1 - a, g_j.slot[1 - a].bytes, &standby) != TML_PKG_OK)
        return send_error(seq, TML_E_STATE, 0);
      revert();
      if (g_j.active == TML_NO_SLOT || tml_journal_store(0, &g_j) != 0)
        return send_error(seq, TML_E_FLASH, 0);
      return send(TML_MSG_ACK, seq, 0, 0);
    }
    case TML_MSG_INFER:
      return on_infer(seq, p, n);
    case TML_MSG_INPUT:
      return on_input(seq, p, n);
    case TML_MSG_SENSE:
      return on_sense(seq, p, n);
    case TML_MSG_STATS:
      g_stats.model_version = g_j.active == TML_NO_SLOT ? 0 : g_pkg.h->model_version;
      return send(TML_MSG_STATS_INFO, seq, &g_stats, sizeof g_stats);
    default:
      return send_error(seq, TML_E_TYPE, type);
  }
}

static void parse_args(char* cmd, const char** flash, uint32_t* cut) {
  char* t = cmd;
  while (*t) {
    char* start;
    while (*t == ' ') ++t;
    start = t;
    while (*t && *t != ' ') ++t;
    if (*t) *t++ = 0;
    if (start[0] == 'f' && same(start, "flash=", 6)) *flash = start + 6;
    if (start[0] == 'i' && same(start, "id=", 3)) {
      uint32_t i;
      for (i = 0; i + 1 < sizeof g_id && start[3 + i]; ++i) g_id[i] = start[3 + i];
      g_id[i] = 0;
    }
    if (start[0] == 's' && same(start, "sensor=", 7)) {
      uint32_t i;
      for (i = 0; i + 1 < sizeof g_sensor && start[7 + i]; ++i) g_sensor[i] = start[7 + i];
      g_sensor[i] = 0;
    }
    if (start[0] == 'c' && same(start, "cut=", 4)) {
      const char* c;
      for (c = start + 4, *cut = 0; *c >= '0' && *c <= '9'; ++c)
        *cut = *cut * 10 + (uint32_t)(*c - '0');
    }
  }
}

int main(void) {
  static char cmd[512];
  const char* flash = 0;
  uint32_t cut = 0;
  if (tml_sh_cmdline(cmd, sizeof cmd) != 0) return 2;
  parse_args(cmd, &flash, &cut);
  if (!flash) {
    tml_sh_write0("device: no flash=PATH on the command line\n");
    return 2;
  }
  mbedtls_memory_buffer_alloc_init(g_heap, sizeof g_heap);
  if (tml_flash_init(flash, TML_FLASH_BYTES, cut) != 0) {
    tml_sh_write0("device: cannot open the flash file\n");
    return 3;
  }
  boot();
  tml_timer_start();
  tml_uart_init();
  tml_proto_rx_init(&g_rx);
  for (;;) {
    const int c = tml_uart_read();
    if (c < 0) {
      tml_uart_wait();
      continue;
    }
    switch (tml_proto_rx_byte(&g_rx, (uint8_t)c)) {
      case TML_RX_FRAME:
        handle(g_rx.type, g_rx.seq, g_rx.payload, g_rx.length);
        break;
      case TML_RX_ERROR:
        send_error(g_rx.error_seq, g_rx.error, 0);
        break;
      default:
        break;
    }
  }
}
