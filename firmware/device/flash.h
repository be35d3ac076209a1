/* Flash as the device agent sees it: NOR semantics (erase sets a sector to 0xFF,
 * programming can only clear bits), memory-mapped for reading so packages run in
 * place. On QEMU boards it is a host file through semihosting (flash_semihost.c) with a
 * RAM mirror as the mapped window; on a real board, the chip's flash driver.
 *
 * Every erase and program counts as one operation; a simulated power cut at operation N
 * (tml_flash_init's cut_at) leaves that operation half done and stops the device, which
 * is how tests check that every update step is power-safe. */
#ifndef TML_FLASH_H
#define TML_FLASH_H

#include <stdint.h>

#define TML_FLASH_SECTOR 4096u

/* 0 on success. bytes: the flash size (a multiple of the sector size). */
int tml_flash_init(const char* path, uint32_t bytes, uint32_t cut_at);
uint32_t tml_flash_size(void);
const uint8_t* tml_flash_map(uint32_t offset);
int tml_flash_erase(uint32_t offset); /* one sector, offset aligned */
int tml_flash_program(uint32_t offset, const void* data, uint32_t n);
uint32_t tml_flash_operations(void);

#endif
