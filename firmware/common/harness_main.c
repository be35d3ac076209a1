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

#ifdef TML_PROFILE
/* Per-layer timer readings; written to the output file after the samples. */
void tml_timer_start(void);
uint32_t tml_timer_ticks(void);
static uint32_t g_begin[MODEL_NUM_LAYERS + 1], g_end[MODEL_NUM_LAYERS + 1];
static uint32_t g_t0, g_t1;
void tml_prof_begin(int layer) {
  g_begin[layer] = tml_timer_ticks();
}
void tml_prof_end(int layer) {
  g_end[layer] = tml_timer_ticks();
}
extern uint32_t _ebss, _estack;
#define TML_PAINT 0xC0FFEE11u
/* Paint up to 256 KB below the top of RAM (the stack grows down from there),
 * then find the deepest word the program overwrote. Start and end are fixed
 * addresses, so painting and scanning look at the same words. */
static uint32_t* paint_start(void) {
  uint32_t* start = (uint32_t*)((uint8_t*)&_estack - 262144);
  return start < &_ebss ? &_ebss : start;
}
static void paint_stack(void) {
  uint32_t marker;
  for (uint32_t* p = paint_start(); p < &marker - 64; ++p) *p = TML_PAINT;
}
static uint32_t stack_high_water(void) {
  uint32_t* p = paint_start();
  while (p < &_estack && *p == TML_PAINT) ++p;
  return (uint32_t)((uint8_t*)&_estack - (uint8_t*)p);
}
#endif

void tml_host_trace(int layer, const void* data, long bytes) {
  (void)layer;
  if (g_trace >= 0) tml_sh_write(g_trace, data, (int32_t)bytes);
}

int main(void) {
  static char cmdline[512];
  if (tml_sh_cmdline(cmdline, sizeof cmdline) != 0) return 2;
  char* p = cmdline;
  char* args[6] = {0};
  int argc = 0;
  for (char* t; argc < 6 && (t = tml_sh_token(&p));) args[argc++] = t;
  /* QEMU passes the kernel path first. */
  int base = (argc > 0 && args[0][0] != 0 && (args[0][0] < '0' || args[0][0] > '9')) ? 1 : 0;
  if (argc - base < 3) return 2;
  long samples = 0;
  for (const char* c = args[base]; *c; ++c) samples = samples * 10 + (*c - '0');
  const int32_t in = tml_sh_open(args[base + 1], 1);
  const int32_t out = tml_sh_open(args[base + 2], 5);
  if (in < 0 || out < 0) return 3;
  if (argc - base > 3) g_trace = tml_sh_open(args[base + 3], 5);
#ifdef TML_PROFILE
  paint_stack();
  tml_timer_start();
  /* Calibration: an empty begin/end pair measures the probes themselves. */
  tml_prof_begin(MODEL_NUM_LAYERS);
  tml_prof_end(MODEL_NUM_LAYERS);
#endif
  for (long s = 0; s < samples; ++s) {
    for (int i = 0; i < MODEL_NUM_INPUTS; ++i)
      if (tml_sh_read(in, model_input(i), model_input_size(i)) != model_input_size(i)) return 4;
#ifdef TML_PROFILE
    g_t0 = tml_timer_ticks();
    model_invoke();
    g_t1 = tml_timer_ticks();
#else
    model_invoke();
#endif
    for (int o = 0; o < MODEL_NUM_OUTPUTS; ++o)
      tml_sh_write(out, model_output(o), model_output_size(o));
  }
#ifdef TML_PROFILE
  /* Profile record (last sample): invoke begin/end, calibration begin/end,
   * then begin/end per layer, then the stack high-water mark in bytes. */
  if (samples > 0) {
    uint32_t head[4] = {g_t0, g_t1, g_begin[MODEL_NUM_LAYERS], g_end[MODEL_NUM_LAYERS]};
    tml_sh_write(out, head, sizeof head);
    for (int l = 0; l < MODEL_NUM_LAYERS; ++l) {
      uint32_t pair[2] = {g_begin[l], g_end[l]};
      tml_sh_write(out, pair, sizeof pair);
    }
    const uint32_t hw = stack_high_water();
    tml_sh_write(out, &hw, sizeof hw);
  }
#endif
  tml_sh_close(in);
  tml_sh_close(out);
  if (g_trace >= 0) tml_sh_close(g_trace);
  return 0;
}
