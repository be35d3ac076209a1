/* Flash on emulated boards: a host file through semihosting, mirrored in the board's
 * 16 MB PSRAM as the memory-mapped window (0x21000000 on MPS2 AN385/AN386, 0x60000000
 * on AN500: TML_FLASH_MIRROR, set by the image builder). */
#include "../common/semihost.h"
#include "flash.h"

#ifndef TML_FLASH_MIRROR
#define TML_FLASH_MIRROR 0x21000000u
#endif
#define MIRROR ((uint8_t*)TML_FLASH_MIRROR)
#define MIRROR_MAX (16u << 20)

static int32_t g_fd = -1;
static uint32_t g_size, g_ops, g_cut_at;

static int file_write(uint32_t offset, const uint8_t* src, uint32_t n) {
  if (tml_sh_seek(g_fd, (int32_t)offset) != 0) return -1;
  return tml_sh_write(g_fd, src, (int32_t)n) == (int32_t)n ? 0 : -1;
}

/* Counts one operation; a power cut at it: the operation stops half way (the first half
 * of its bytes reach the file) and the device is gone. */
static void count_operation(uint32_t half_offset, const uint8_t* half, uint32_t half_n) {
  if (++g_ops != g_cut_at) return;
  if (half_n) file_write(half_offset, half, half_n);
  tml_sh_close(g_fd);
  tml_sh_write0("flash: power cut\n");
  tml_sh_exit(75);
}

int tml_flash_init(const char* path, uint32_t bytes, uint32_t cut_at) {
  uint32_t i;
  if (bytes > MIRROR_MAX || bytes % TML_FLASH_SECTOR) return -1;
  g_size = bytes;
  g_cut_at = cut_at;
  g_fd = tml_sh_open(path, 3); /* r+b: an existing flash image */
  if (g_fd < 0) {
    g_fd = tml_sh_open(path, 5); /* wb: a new, erased one */
    if (g_fd < 0) return -1;
    for (i = 0; i < bytes; ++i) MIRROR[i] = 0xFF;
    if (file_write(0, MIRROR, bytes) != 0) return -1;
    tml_sh_close(g_fd);
    g_fd = tml_sh_open(path, 3);
    if (g_fd < 0) return -1;
  }
  if (tml_sh_flen(g_fd) != (int32_t)bytes || tml_sh_seek(g_fd, 0) != 0) return -1;
  return tml_sh_read(g_fd, MIRROR, (int32_t)bytes) == (int32_t)bytes ? 0 : -1;
}

uint32_t tml_flash_size(void) {
  return g_size;
}
uint32_t tml_flash_operations(void) {
  return g_ops;
}
const uint8_t* tml_flash_map(uint32_t offset) {
  return MIRROR + offset;
}

int tml_flash_erase(uint32_t offset) {
  uint32_t i;
  if (offset % TML_FLASH_SECTOR || offset >= g_size) return -1;
  for (i = 0; i < TML_FLASH_SECTOR / 2; ++i) MIRROR[offset + i] = 0xFF;
  count_operation(offset, MIRROR + offset, TML_FLASH_SECTOR / 2);
  for (i = TML_FLASH_SECTOR / 2; i < TML_FLASH_SECTOR; ++i) MIRROR[offset + i] = 0xFF;
  return file_write(offset, MIRROR + offset, TML_FLASH_SECTOR);
}

int tml_flash_program(uint32_t offset, const void* data, uint32_t n) {
  const uint8_t* d = (const uint8_t*)data;
  uint32_t i;
  if (offset > g_size || n > g_size - offset) return -1;
  for (i = 0; i < n / 2; ++i) MIRROR[offset + i] &= d[i]; /* NOR: bits only clear */
  count_operation(offset, MIRROR + offset, n / 2);
  for (i = n / 2; i < n; ++i) MIRROR[offset + i] &= d[i];
  return file_write(offset, MIRROR + offset, n);
}
