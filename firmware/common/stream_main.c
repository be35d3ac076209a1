/* Streaming keyword spotting on an emulated board: the "microphone" is a file of float
 * samples (int16 for a fixed-point front end, TML_STREAM_FIXED) read through semihosting
 * one stride at a time; each stride's new feature frame is computed once (tml_mfcc_stream,
 * tml_mfccq_stream), every TML_STREAM_HOP frames the model runs on the
 * last window of frames, its posteriors go through the detector, and each detection is
 * written as a record to the events file. Command line: AUDIO EVENTS.
 *
 * Records (int32 each): frame, class, score bits (float); then a last record -1, frames,
 * inferences, followed by the feature and model instruction ticks (uint32 low, high
 * words each). stream_config.h (written by the host, src/app/stream.cc) holds the front
 * end's tables, the window, hop and detector settings and the output's quantization. */
#include <stdint.h>

#include "model.h"
#include "semihost.h"
#include "stream_config.h"
#include "tml_dsp.h"

void tml_timer_start(void);
uint32_t tml_timer_ticks(void);

#if TML_STREAM_FIXED /* the fixed-point front end: int16 samples, Q24 frames */
typedef int16_t sample_t;
typedef int32_t word_t;
typedef tml_mfccq_plan plan_t;
typedef tml_mfccq_stream stream_t;
#define BIND tml_mfccq_bind
#define STREAM_INIT tml_mfccq_stream_init
#define STREAM_PUSH tml_mfccq_stream_push
static int32_t g_work[TML_STREAM_WINDOW * TML_STREAM_ROW];
#define STREAM_WINDOW(s, out) tml_mfccq_stream_window(s, g_work, out)
#else
typedef float sample_t;
typedef float word_t;
typedef tml_mfcc_plan plan_t;
typedef tml_mfcc_stream stream_t;
#define BIND tml_mfcc_bind
#define STREAM_INIT tml_mfcc_stream_init
#define STREAM_PUSH tml_mfcc_stream_push
#define STREAM_WINDOW(s, out) tml_mfcc_stream_window(s, out)
#endif

static sample_t g_samples[TML_STREAM_FRAME_LENGTH];
static word_t g_ring[TML_STREAM_WINDOW * TML_STREAM_PER];
static word_t g_scratch[TML_STREAM_SCRATCH];
static sample_t g_chunk[TML_STREAM_STEP];
static float g_history[TML_STREAM_SMOOTH * TML_STREAM_CLASSES];
static float g_post[TML_STREAM_CLASSES];

/* The generated code reports layer outputs for bit-exactness traces; a stream keeps none. */
void tml_host_trace(int layer, const void* data, long bytes) {
  (void)layer, (void)data, (void)bytes;
}

static void put(int32_t fd, int32_t v) {
  tml_sh_write(fd, &v, 4);
}

int main(void) {
  static char cmdline[512];
  char* args[4] = {0};
  int argc = 0;
  if (tml_sh_cmdline(cmdline, sizeof cmdline) != 0) return 2;
  char* p = cmdline;
  for (char* t; argc < 4 && (t = tml_sh_token(&p));) args[argc++] = t;
  const int base = argc == 3 ? 1 : 0; /* QEMU passes the kernel path first */
  if (argc - base != 2) return 2;
  const int32_t in = tml_sh_open(args[base], 1);
  const int32_t out = tml_sh_open(args[base + 1], 5);
  if (in < 0 || out < 0) return 3;

  plan_t plan;
  BIND(&tml_stream_config, tml_stream_tables, tml_stream_index, &plan);
  stream_t s;
  STREAM_INIT(&s, &plan, g_samples, g_ring, TML_STREAM_WINDOW);
  tml_kws_detector d;
  tml_kws_detector_init(&d, TML_STREAM_CLASSES, TML_STREAM_SMOOTH, TML_STREAM_REFRACTORY,
                        TML_STREAM_THRESHOLD, tml_stream_keyword, g_history);
  uint64_t feature_ticks = 0, model_ticks = 0;
  int32_t inferences = 0, since = 0;
  tml_timer_start();
  for (;;) {
    const int32_t got = tml_sh_read(in, g_chunk, (int32_t)sizeof g_chunk);
    if (got <= 0) break;
    const uint32_t t0 = tml_timer_ticks();
    const int made = STREAM_PUSH(&s, g_chunk, got / (int32_t)sizeof(sample_t), g_scratch);
    feature_ticks += tml_timer_ticks() - t0;
    since += made;
    if (made == 0 || since < TML_STREAM_HOP) continue;
    const uint32_t t1 = tml_timer_ticks();
    if (!STREAM_WINDOW(&s, (float*)model_input(0))) continue;
    since = 0;
    model_invoke();
    {
      const int8_t* q = (const int8_t*)model_output(0);
      for (int j = 0; j < TML_STREAM_CLASSES; ++j)
        g_post[j] = (float)(q[j] - TML_STREAM_OUT_ZERO_POINT) * TML_STREAM_OUT_SCALE;
    }
    float score = 0.0f;
    const int hit = tml_kws_detect(&d, g_post, &score);
    model_ticks += tml_timer_ticks() - t1;
    ++inferences;
    if (hit >= 0) {
      union {
        float f;
        int32_t i;
      } bits;
      bits.f = score;
      put(out, s.frames);
      put(out, hit);
      put(out, bits.i);
    }
  }
  put(out, -1);
  put(out, s.frames);
  put(out, inferences);
  put(out, (int32_t)(uint32_t)feature_ticks);
  put(out, (int32_t)(uint32_t)(feature_ticks >> 32));
  put(out, (int32_t)(uint32_t)model_ticks);
  put(out, (int32_t)(uint32_t)(model_ticks >> 32));
  tml_sh_close(in);
  tml_sh_close(out);
  return 0;
}
