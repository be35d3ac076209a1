#include "semihost.h"

static int32_t tml_sh_call(int32_t op, void* block) {
  register int32_t r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = block;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static int32_t tml_strlen(const char* s) {
  int32_t n = 0;
  while (s[n]) ++n;
  return n;
}

int32_t tml_sh_open(const char* path, int32_t mode) {
  uint32_t block[3] = {(uint32_t)path, (uint32_t)mode, (uint32_t)tml_strlen(path)};
  return tml_sh_call(0x01, block);
}

int32_t tml_sh_read(int32_t fd, void* buf, int32_t len) {
  uint32_t block[3] = {(uint32_t)fd, (uint32_t)buf, (uint32_t)len};
  return len - tml_sh_call(0x06, block);
}

int32_t tml_sh_write(int32_t fd, const void* buf, int32_t len) {
  uint32_t block[3] = {(uint32_t)fd, (uint32_t)buf, (uint32_t)len};
  return len - tml_sh_call(0x05, block);
}

void tml_sh_close(int32_t fd) {
  uint32_t block[1] = {(uint32_t)fd};
  tml_sh_call(0x02, block);
}

int32_t tml_sh_seek(int32_t fd, int32_t pos) {
  uint32_t block[2] = {(uint32_t)fd, (uint32_t)pos};
  return tml_sh_call(0x0A, block);
}

int32_t tml_sh_flen(int32_t fd) {
  uint32_t block[1] = {(uint32_t)fd};
  return tml_sh_call(0x0C, block);
}

int32_t tml_sh_cmdline(char* buf, int32_t len) {
  uint32_t block[2] = {(uint32_t)buf, (uint32_t)len};
  return tml_sh_call(0x15, block);
}

void tml_sh_write0(const char* s) {
  tml_sh_call(0x04, (void*)s);
}

void tml_sh_exit(int32_t code) {
  uint32_t block[2] = {0x20026u, (uint32_t)code}; /* ADP_Stopped_ApplicationExit */
  for (;;) tml_sh_call(0x20, block);
}

char* tml_sh_token(char** p) {
  while (**p == ' ') ++*p;
  if (!**p) return 0;
  char* start = *p;
  while (**p && **p != ' ') ++*p;
  if (**p) *(*p)++ = 0;
  return start;
}
