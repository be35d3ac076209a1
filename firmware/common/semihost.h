/* ARM semihosting calls (bkpt 0xAB): how emulated boards exchange files with
 * the host and report an exit code. Only the harness uses them; the model
 * code never does I/O. */
#ifndef TML_SEMIHOST_H
#define TML_SEMIHOST_H

#include <stdint.h>

int32_t tml_sh_open(const char* path,
                    int32_t mode); /* mode 1 = "rb", 3 = "r+b", 5 = "wb"; -1 on error */
int32_t tml_sh_read(int32_t fd, void* buf, int32_t len);        /* bytes read */
int32_t tml_sh_write(int32_t fd, const void* buf, int32_t len); /* bytes written */
void tml_sh_close(int32_t fd);
int32_t tml_sh_seek(int32_t fd, int32_t pos);   /* 0 on success */
int32_t tml_sh_flen(int32_t fd);                /* file length, -1 on error */
int32_t tml_sh_cmdline(char* buf, int32_t len); /* 0 on success */
void tml_sh_write0(const char* s);              /* text to the debug console */
/* The next space-separated word of a command line (*p moves past it), or 0. */
char* tml_sh_token(char** p);
void tml_sh_exit(int32_t code) __attribute__((noreturn));

#endif
