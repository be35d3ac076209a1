/* Device-side harness for emulated boards: the host harness protocol over
 * semihosting files. Command line: N INPUTS OUTPUTS [TRACE]. Exit code 0 on
 * success. Only this file does I/O; the model code never does. */
#include <stdint.h>

#include "semihost.h"

#ifndef TML_MODEL_HEADER
#define TML_MODEL_HEADER "model.h"
#endif
#include TML_MODEL_HEADER

static int32_t g_trace = -1;

void tml_host_trace(int layer, const void* data, long bytes) {
  (void)layer;
  if (g_trace >= 0) tml_sh_write(g_trace, data, (int32_t)bytes);
}

static char* next_token(char** p) {
  while (**p == ' ') ++*p;
  if (!**p) return 0;
  char* start = *p;
  while (**p && **p != ' ') ++*p;
  if (**p) *(*p)++ = 0;
  return start;
}

int main(void) {
  static char cmdline[512];
  if (tml_sh_cmdline(cmdline, sizeof cmdline) != 0) return 2;
  char* p = cmdline;
  char* args[6] = {0};
  int argc = 0;
  for (char* t; argc < 6 && (t = next_token(&p));) args[argc++] = t;
  /* QEMU passes the kernel path first. */
  int base = (argc > 0 && args[0][0] != 0 && (args[0][0] < '0' || args[0][0] > '9')) ? 1 : 0;
  if (argc - base < 3) return 2;
  long samples = 0;
  for (const char* c = args[base]; *c; ++c) samples = samples * 10 + (*c - '0');
  const int32_t in = tml_sh_open(args[base + 1], 1);
  const int32_t out = tml_sh_open(args[base + 2], 5);
  if (in < 0 || out < 0) return 3;
  if (argc - base > 3) g_trace = tml_sh_open(args[base + 3], 5);
  for (long s = 0; s < samples; ++s) {
    for (int i = 0; i < MODEL_NUM_INPUTS; ++i)
      if (tml_sh_read(in, model_input(i), model_input_size(i)) != model_input_size(i)) return 4;
    model_invoke();
    for (int o = 0; o < MODEL_NUM_OUTPUTS; ++o) tml_sh_write(out, model_output(o), model_output_size(o));
  }
  tml_sh_close(in);
  tml_sh_close(out);
  if (g_trace >= 0) tml_sh_close(g_trace);
  return 0;
}
