/* The device protocol (docs/protocol.md): framed, checksummed, versioned messages over a
 * byte stream (UART, TCP). The device agent and the host's device link both use this
 * code, so the two ends cannot disagree about a frame.
 *
 *   frame := A5 5A | version u8 | type u8 | seq u16 | length u16 | payload | crc32 u32
 *   (little-endian; the CRC-32 (IEEE 802.3) covers version .. payload)
 *
 *   tml_proto_rx rx;  tml_proto_rx_init(&rx);
 *   for each received byte b:
 *     switch (tml_proto_rx_byte(&rx, b)) {
 *       case TML_RX_FRAME: handle(rx.type, rx.seq, rx.payload, rx.length); break;
 *       case TML_RX_ERROR: reply_error(rx.error); break;  // then keeps scanning
 *       default: break;
 *     }
 *   n = tml_proto_encode(out, sizeof out, TML_MSG_HELLO, seq, payload, len);
 */
#ifndef TML_PROTO_H
#define TML_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TML_PROTO_VERSION 1u
#define TML_PROTO_SYNC0 0xA5u
#define TML_PROTO_SYNC1 0x5Au
#define TML_PROTO_HEADER 8u
#define TML_PROTO_OVERHEAD 12u /* header + CRC */
#define TML_PROTO_MAX_PAYLOAD 1024u
#define TML_PROTO_MAX_FRAME (TML_PROTO_MAX_PAYLOAD + TML_PROTO_OVERHEAD)

/* Message types. Requests come from the host, replies echo the request's seq. */
typedef enum {
  TML_MSG_HELLO = 0x01,      /* -> HELLO_INFO: what the device is */
  TML_MSG_XFER_BEGIN = 0x02, /* {total u32, version u32, digest[32]} -> XFER_STATE */
  TML_MSG_XFER_CHUNK = 0x03, /* {offset u32, data} -> XFER_STATE */
  TML_MSG_XFER_END = 0x04,   /* -> ACK once the package is checked, else ERROR */
  TML_MSG_ACTIVATE = 0x05,   /* -> ACK after the self-test passed and the slot switched */
  TML_MSG_CONFIRM = 0x06,    /* -> ACK: the trial model becomes the confirmed one */
  TML_MSG_ROLLBACK = 0x07,   /* -> ACK: back to the previous confirmed model */
  TML_MSG_INFER = 0x08,      /* {input} -> RESULT */
  TML_MSG_STATS = 0x09,      /* -> STATS_INFO */
  TML_MSG_INPUT = 0x0A,      /* {offset u32, data}: input bytes staged for an empty INFER -> ACK */
  TML_MSG_SENSE = 0x0B,      /* {count u32, capture_below f32[, flags u32[, stream]]}: run
                                on sensor samples -> ACK, then TELEMETRY (and CAPTURE,
                                SHADOW, DETECTION) pushes per sample */
  TML_MSG_HELLO_INFO = 0x41, /* tml_proto_hello */
  TML_MSG_XFER_STATE = 0x42, /* {next_offset u32}: bytes received and programmed */
  TML_MSG_RESULT = 0x48,     /* tml_proto_result, then the output bytes */
  TML_MSG_STATS_INFO = 0x49, /* tml_proto_stats */
  TML_MSG_TELEMETRY = 0x60,  /* device push: tml_proto_telemetry */
  TML_MSG_CAPTURE = 0x61,    /* device push: tml_proto_capture, then a piece of the sample */
  TML_MSG_SHADOW = 0x62,     /* device push: tml_proto_shadow */
  TML_MSG_DETECTION = 0x63,  /* device push: tml_proto_detection */
  TML_MSG_ACK = 0x7E,        /* empty */
  TML_MSG_ERROR = 0x7F       /* tml_proto_error */
} tml_msg_type;

/* Error codes of an ERROR reply. */
typedef enum {
  TML_E_NONE = 0,
  TML_E_CRC = 1,       /* a frame's checksum did not match: it was dropped */
  TML_E_VERSION = 2,   /* a protocol version this device does not speak */
  TML_E_OVERSIZE = 3,  /* a length above TML_PROTO_MAX_PAYLOAD */
  TML_E_TRUNCATED = 4, /* a payload shorter than its message needs */
  TML_E_TYPE = 5,      /* an unknown or unexpected message type */
  TML_E_REPLAY = 6,    /* a sequence number already seen: nothing was done */
  TML_E_STATE = 7,     /* not now: no transfer open, no ready slot, no previous model */
  TML_E_OFFSET = 8,    /* a chunk that is not the next one (detail: the expected offset) */
  TML_E_TOO_LARGE = 9, /* the package does not fit the slot */
  TML_E_FLASH = 10,    /* the flash refused an erase or write */
  TML_E_PACKAGE = 11,  /* the package was refused (detail: the tml_pkg_status) */
  TML_E_NO_MODEL = 12, /* no model is active */
  TML_E_INPUT = 13,    /* an input of the wrong size */
  TML_E_FRONTEND = 14  /* a stream needs a model whose first call is a front end */
} tml_proto_error_code;

typedef struct {
  uint16_t code, reserved;
  uint32_t detail;
} tml_proto_error;

/* Slot states in HELLO. */
typedef enum {
  TML_SLOT_EMPTY = 0,
  TML_SLOT_RECEIVING = 1, /* a transfer is under way (resumable) */
  TML_SLOT_READY = 2,     /* received and checked, not active */
  TML_SLOT_TRIAL = 3,     /* active, waiting for confirmation */
  TML_SLOT_CONFIRMED = 4, /* active and confirmed */
  TML_SLOT_STANDBY = 5    /* a confirmed model that is not active (the rollback target) */
} tml_slot_state;

typedef struct {
  uint8_t state, reserved[3];
  uint32_t version, bytes;
  char model_id[32];
} tml_proto_slot;

#define TML_ISA_DSP 1u /* SIMD multiply-accumulate (Cortex-M4/M7) */
#define TML_ISA_FPU 2u
#define TML_ISA_MVE 4u

typedef struct {
  char device_id[32], core[16], firmware[16];
  uint32_t isa, clock_hz, ram_bytes, flash_bytes;
  uint32_t arena_bytes, scratch_bytes, slot_bytes;
  uint32_t package_format, kernel_abi, protocol;
  uint32_t opset_lo, opset_hi;
  uint32_t active_slot; /* 0, 1, or 0xFFFFFFFF for none */
  uint32_t confirmed_version;
  uint32_t boots, reserved;
  tml_proto_slot slots[2];
} tml_proto_hello;

typedef struct {
  uint32_t model_version;
  uint32_t ticks; /* 25 MHz timer ticks of the inference (instructions under -icount:
                     docs/protocol.md) */
  int32_t top_class;
  float confidence; /* of the top class, from the dequantized output */
  uint32_t output_bytes;
} tml_proto_result;

typedef struct {
  uint32_t inferences, errors, boots, rejected_frames;
  uint32_t model_version, trial_inferences;
} tml_proto_stats;

typedef struct {
  uint32_t model_version, ticks, boots, errors;
  int32_t top_class;
  float confidence;
  uint32_t sample; /* its number within the SENSE run */
} tml_proto_telemetry;

/* SENSE flags. SHADOW: the READY slot's package (received and checked, not active) also
 * runs on every sample, beside the active model, without serving its answer; it passes
 * its self-test first (once per boot and package), and a failed one empties the slot
 * and refuses the SENSE (TML_E_PACKAGE, detail: the tml_pkg_status). */
#define TML_SENSE_SHADOW 1u
/* STREAM: the sensor is a microphone: the file holds raw samples (float32, or int16 for a
 * fixed-point front end) that the device reads one stride at a time, computing each new
 * feature frame once (the package's front end, streamed); every `hop` frames the rest of
 * the model runs on the last window, a TELEMETRY push per inference, and the keyword
 * detector (smoothed posteriors, threshold, refractory inferences) sends a DETECTION push
 * for each keyword it hears. count: inferences. The settings follow the flags; the stream
 * goes on across SENSE runs, and starts again from the file's start when the active model
 * or the settings change. */
#define TML_SENSE_STREAM 2u

typedef struct {
  uint32_t hop, smooth, refractory; /* 1..255, 1..16, 0.. */
  float threshold;                  /* (0, 1] */
  uint32_t keywords;                /* bit c: output class c is a keyword (c < 32) */
} tml_proto_stream;

typedef struct {
  uint32_t model_version;
  uint32_t frame;  /* feature frames computed in the stream when it fired */
  int32_t keyword; /* the output class */
  float score;     /* its smoothed posterior */
  uint32_t sample; /* the inference of the SENSE run it fired on */
} tml_proto_detection;

typedef struct {
  uint32_t model_version; /* the shadow package's */
  uint32_t ticks;
  int32_t top_class;
  float confidence;
  uint32_t sample;
  uint32_t active_version; /* and what the active model answered for the same sample */
  int32_t active_class;
  float active_confidence;
} tml_proto_shadow;

typedef struct {
  char device_id[32];
  uint32_t model_version, sample_bytes;
  uint32_t sample, offset; /* which sample of the SENSE run, where this piece starts */
  int32_t top_class;
  float confidence;
} tml_proto_capture;

/* ---- Receiving: a byte-at-a-time state machine that resynchronizes after errors ---- */
typedef enum { TML_RX_MORE = 0, TML_RX_FRAME = 1, TML_RX_ERROR = 2 } tml_rx_event;

typedef struct {
  uint8_t buf[TML_PROTO_MAX_FRAME];
  uint32_t have, need;
  /* Valid after TML_RX_FRAME: */
  uint8_t type;
  uint16_t seq, length;
  const uint8_t* payload;
  /* Valid after TML_RX_ERROR: a tml_proto_error_code, and the seq when it was readable. */
  uint16_t error, error_seq;
} tml_proto_rx;

void tml_proto_rx_init(tml_proto_rx* rx);
tml_rx_event tml_proto_rx_byte(tml_proto_rx* rx, uint8_t byte);

/* Writes one frame into out; returns its length, or 0 when it does not fit or the
 * payload is over TML_PROTO_MAX_PAYLOAD. */
uint32_t tml_proto_encode(uint8_t* out, uint32_t out_size, uint8_t type, uint16_t seq,
                          const void* payload, uint32_t length);

uint32_t tml_crc32(uint32_t crc, const void* data, uint32_t n); /* start with crc = 0 */

#ifdef __cplusplus
}
#endif

#endif /* TML_PROTO_H */
