/* The device's persistent state: which slot is active, each slot's state, the confirmed
 * version floor, transfer progress. Kept as an append-only journal of CRC-checked
 * records in two flash sectors (the newest valid record wins), so a power cut during any
 * write leaves the previous state readable. */
#ifndef TML_JOURNAL_H
#define TML_JOURNAL_H

#include <stdint.h>

#define TML_JOURNAL_MAGIC 0x4A4C4D54u /* "TMLJ" */
#define TML_NO_SLOT 0xFFFFFFFFu

typedef struct {
  uint8_t state, reserved[3]; /* tml_slot_state */
  uint32_t version, bytes;
  uint32_t received;  /* transfer progress persisted (sector aligned) */
  uint8_t digest[32]; /* of the package being or having been received */
} tml_slot_record;

typedef struct {
  uint32_t magic, seq;
  uint32_t active; /* slot index or TML_NO_SLOT */
  uint32_t confirmed_version;
  uint32_t trial_boots, boots;
  tml_slot_record slot[2];
  uint32_t reserved, crc;
} tml_journal_record;

/* Reads the newest valid record from the two sectors at offset; an empty state if none. */
void tml_journal_load(uint32_t offset, tml_journal_record* r);
/* Appends r (seq incremented); 0 on success. */
int tml_journal_store(uint32_t offset, tml_journal_record* r);

#endif
