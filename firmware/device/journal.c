#include "journal.h"

#include "../../runtime/include/tml_proto.h"
#include "flash.h"

#define PER_SECTOR (TML_FLASH_SECTOR / sizeof(tml_journal_record))

static uint32_t record_crc(const tml_journal_record* r) {
  return tml_crc32(0, r, (uint32_t)(sizeof *r - 4));
}

static int valid(const tml_journal_record* r) {
  return r->magic == TML_JOURNAL_MAGIC && r->crc == record_crc(r) &&
         (r->active == TML_NO_SLOT || r->active < 2);
}

static int erased(const uint8_t* p, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; ++i)
    if (p[i] != 0xFF) return 0;
  return 1;
}

/* Position (sector, index) of the newest valid record; returns 0 when there is none. */
static int newest(uint32_t offset, uint32_t* sector, uint32_t* index) {
  uint32_t s, i, best = 0;
  int found = 0;
  for (s = 0; s < 2; ++s)
    for (i = 0; i < PER_SECTOR; ++i) {
      const tml_journal_record* r = (const tml_journal_record*)(const void*)tml_flash_map(
          offset + s * TML_FLASH_SECTOR + i * (uint32_t)sizeof(tml_journal_record));
      if (valid(r) && (!found || r->seq > best)) {
        best = r->seq;
        *sector = s;
        *index = i;
        found = 1;
      }
    }
  return found;
}

void tml_journal_load(uint32_t offset, tml_journal_record* r) {
  uint32_t s = 0, i = 0, k;
  if (newest(offset, &s, &i)) {
    const uint8_t* src =
        tml_flash_map(offset + s * TML_FLASH_SECTOR + i * (uint32_t)sizeof(tml_journal_record));
    uint8_t* dst = (uint8_t*)r;
    for (k = 0; k < sizeof *r; ++k) dst[k] = src[k];
    return;
  }
  {
    uint8_t* dst = (uint8_t*)r;
    for (k = 0; k < sizeof *r; ++k) dst[k] = 0;
  }
  r->magic = TML_JOURNAL_MAGIC;
  r->active = TML_NO_SLOT;
}

int tml_journal_store(uint32_t offset, tml_journal_record* r) {
  uint32_t s = 0, i = 0, pos;
  const int any = newest(offset, &s, &i);
  ++r->seq;
  r->magic = TML_JOURNAL_MAGIC;
  r->crc = record_crc(r);
  /* The next free place after the newest record, in its sector; else the other sector,
   * erased first (its records are all older). */
  for (i = any ? i + 1 : 0; i < PER_SECTOR; ++i) {
    pos = offset + s * TML_FLASH_SECTOR + i * (uint32_t)sizeof *r;
    if (erased(tml_flash_map(pos), sizeof *r)) return tml_flash_program(pos, r, sizeof *r);
  }
  s = any ? 1 - s : 0;
  pos = offset + s * TML_FLASH_SECTOR;
  if (tml_flash_erase(pos) != 0) return -1;
  return tml_flash_program(pos, r, sizeof *r);
}
