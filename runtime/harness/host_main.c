/* Host harness for generated model code: feeds samples, writes outputs and,
 * when asked, every layer's output (a trace) so the host can locate the first
 * layer that differs from the reference interpreter.
 *
 *   model_host N INPUTS OUTPUTS [TRACE]
 *
 * INPUTS holds N samples back to back (each: all inputs in order). OUTPUTS
 * receives N results (each: all outputs in order). Build model.c with
 * -DTML_HOST_TRACE. */
#include <stdio.h>
#include <stdlib.h>

#ifndef TML_MODEL_HEADER
#define TML_MODEL_HEADER "model.h"
#endif
#include TML_MODEL_HEADER

static FILE* g_trace = NULL;

void tml_host_trace(int layer, const void* data, long bytes) {
  (void)layer;
  if (g_trace) fwrite(data, 1, (size_t)bytes, g_trace);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s N INPUTS OUTPUTS [TRACE]\n", argv[0]);
    return 2;
  }
  const long samples = atol(argv[1]);
  FILE* in = fopen(argv[2], "rb");
  FILE* out = fopen(argv[3], "wb");
  if (!in || !out) {
    fprintf(stderr, "cannot open input or output file\n");
    return 2;
  }
  if (argc > 4) g_trace = fopen(argv[4], "wb");
  for (long sample = 0; sample < samples; ++sample) {
    for (int i = 0; i < MODEL_NUM_INPUTS; ++i) {
      const size_t n = (size_t)model_input_size(i);
      if (fread(model_input(i), 1, n, in) != n) {
        fprintf(stderr, "sample %ld: truncated input %d\n", sample, i);
        return 3;
      }
    }
    model_invoke();
    for (int o = 0; o < MODEL_NUM_OUTPUTS; ++o)
      fwrite(model_output(o), 1, (size_t)model_output_size(o), out);
  }
  fclose(in);
  fclose(out);
  if (g_trace) fclose(g_trace);
  return 0;
}
