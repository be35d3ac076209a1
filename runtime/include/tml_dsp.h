/* DSP front ends for audio and signals, C99, identical on the host and the device:
 * windows, a real FFT, power and magnitude spectra, a mel filterbank, log and DCT-II
 * (MFCC). Float variant: built only from IEEE-754 single-precision add, multiply,
 * divide and square root (tml_math.h's log), compiled with -ffp-contract=off, so every
 * platform computes the same bits. Tables (window, twiddles, mel weights, DCT) are
 * computed once in double from add, multiply and divide only (no libm), so they are
 * the same bits everywhere too.
 *
 *   tml_mfcc_config c = tml_mfcc_mlperf_kws();
 *   tml_mfcc_plan plan;
 *   float tables[...]; int32_t index[...];   sizes: tml_mfcc_table_sizes(&c, ...)
 *   tml_mfcc_init(&c, tables, index, &plan);
 *   tml_mfcc_frame(&plan, frame, scratch, out);   one frame: frame_length samples in
 */
#ifndef TML_DSP_H
#define TML_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "tml_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TML_WINDOW_HANN = 0, TML_WINDOW_HAMMING = 1, TML_WINDOW_NONE = 2 };

/* cos(x) in double from add, multiply and divide (|error| < 1e-15 for |x| < 1e6). */
double tml_dsp_cos(double x);
/* ln(x) in double, x > 0 (relative error < 1e-15). */
double tml_dsp_log(double x);

/* A periodic window of n points (as for spectral analysis: w[n] would equal w[0]). */
void tml_dsp_window(int kind, int n, float* w);

/* Twiddle factors of an n-point FFT (n a power of two, 2..65536): n floats,
 * cos and sin of -2 pi k / n for k < n / 2, interleaved. */
void tml_dsp_twiddles(int n, float* tw);
/* Bit-reversed counting over n points (a power of two): from j, the reversal of i, to the
 * reversal of i + 1. */
static inline int tml_dsp_next_reversed(int j, int n) {
  int m = n >> 1;
  while (m >= 1 && j >= m) {
    j -= m;
    m >>= 1;
  }
  return j + m;
}
/* m's bits reversed within log2(n) bits; bits: 32 - log2(n) (32: n = 1). RBIT where
 * Thumb-2 has it. */
static inline int tml_dsp_reversed(int m, int bits) {
#if defined(__GNUC__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
  uint32_t r;
  __asm__("rbit %0, %1" : "=r"(r) : "r"((uint32_t)m));
#else
  uint32_t r = (uint32_t)m;
  r = (r >> 1 & 0x55555555u) | (r & 0x55555555u) << 1;
  r = (r >> 2 & 0x33333333u) | (r & 0x33333333u) << 2;
  r = (r >> 4 & 0x0F0F0F0Fu) | (r & 0x0F0F0F0Fu) << 4;
  r = (r >> 8 & 0x00FF00FFu) | (r & 0x00FF00FFu) << 8;
  r = r >> 16 | r << 16;
#endif
  return bits < 32 ? (int)(r >> bits) : 0;
}
/* In-place complex FFT of n points (re, im: n floats each), radix 2, decimation in
 * time, two stages per pass over the data; tw from tml_dsp_twiddles(n). Returns 0, or -1 when n is
 * not a power of two. */
int tml_dsp_fft(int n, const float* tw, float* re, float* im);
/* |X[k]|^2 (power = 1) or |X[k]| for k = 0 .. n / 2 of the real frame x (length
 * n_in <= n, zero padded to n), after multiplying it by window w (n_in floats, or
 * NULL). scratch: 2 n floats. out: n / 2 + 1 floats. */
int tml_dsp_spectrum(int n, const float* tw, const float* x, int n_in, const float* w, int power,
                     float* scratch, float* out);

/* The mel filterbank of TensorFlow's linear_to_mel_weight_matrix: num_mel triangular
 * bands evenly spaced on the mel scale (1127 ln(1 + f / 700)) between lower_hz and
 * upper_hz, over the bins of an n_fft-point spectrum at sample_rate (the DC bin
 * excluded). Each band is stored as its first bin and its weights. */
typedef struct {
  int num_mel, num_bins;
  const int32_t* first;  /* num_mel: first bin with a nonzero weight */
  const int32_t* count;  /* num_mel: how many bins */
  const int32_t* offset; /* num_mel: where its weights start in weights */
  const float* weights;
} tml_mel_bank;

/* Weights needed (an upper bound) for the bank's table. */
int tml_dsp_mel_weight_count(int n_fft, int num_mel);
/* index: 3 num_mel ints; weights: tml_dsp_mel_weight_count floats. Returns 0 or -1
 * (bad parameters: num_mel < 1, lower_hz < 0, upper_hz <= lower_hz or above Nyquist). */
int tml_dsp_mel_bank(int n_fft, int sample_rate, int num_mel, double lower_hz, double upper_hz,
                     int32_t* index, float* weights, tml_mel_bank* bank);
/* out[b] = sum of spectrum[k] x weight over band b's bins. */
void tml_dsp_mel_apply(const tml_mel_bank* bank, const float* spectrum, float* out);

/* DCT-II as TensorFlow's mfccs_from_log_mel_spectrograms: out[k] = sum_n x[n] 2 cos(pi k
 * (2n + 1) / 2N) / sqrt(2N), k < num_out. table: num_out x n floats. */
void tml_dsp_dct_table(int n, int num_out, float* table);
void tml_dsp_dct(int n, int num_out, const float* table, const float* x, float* out);

/* Deltas of a feature sequence (frames of n features, rows x_stride and out_stride floats
 * apart), the regression of HTK and librosa: d[t] = sum_{k=1..width} k (x[t+k] - x[t-k]) /
 * (2 sum k^2), frames beyond the edges repeating the first and last. */
void tml_dsp_deltas(int frames, int n, int width, const float* x, int x_stride, float* out,
                    int out_stride);
/* Per-feature normalization: out[t][i] = (x[t][i] - mean[i]) * inv_std[i]. */
void tml_dsp_normalize(int frames, int n, const float* mean, const float* inv_std, const float* x,
                       float* out);

/* Spectral features of one axis of a sensor window (accelerometer style, after Edge
 * Impulse's spectral analysis): x (n_in samples at sample_rate) minus its mean; then
 * out[0] = RMS; out[1 + 2j], out[2 + 2j] = frequency (Hz) and magnitude of the j-th highest
 * local maximum of the magnitude spectrum (n-point FFT of the zero-padded window, DC
 * excluded; zeros when there are fewer), j < num_peaks; then the mean power spectrum
 * |X[k]|^2 / n_in over the bins of each band [edges_hz[b], edges_hz[b+1]), b < num_bands.
 * tw: tml_dsp_twiddles(n); scratch: 3 n + 2 floats. out: 1 + 2 num_peaks + num_bands floats.
 * Returns 0, or -1 for bad parameters. */
int tml_dsp_spectral_features(int n, const float* tw, const float* x, int n_in, int sample_rate,
                              int num_peaks, int num_bands, const float* edges_hz, float* scratch,
                              float* out);

/* A whole MFCC (or log-mel) front end for one frame. */
typedef struct {
  int sample_rate;  /* Hz */
  int frame_length; /* samples per frame */
  int frame_step;   /* samples between frame starts */
  int fft_length;   /* a power of two >= frame_length */
  int window;       /* TML_WINDOW_* */
  int power;        /* 1: power spectrum, 0: magnitude */
  int num_mel;
  float lower_hz, upper_hz;
  float log_offset; /* log(mel + log_offset) */
  int num_mfcc;     /* 0: the log-mel energies are the features */
  int deltas;       /* > 0: each frame's features followed by their deltas of this width */
} tml_mfcc_config;

/* MLPerf Tiny KWS: 16 kHz, 30 ms Hann window, 20 ms stride, 512-point FFT, magnitude,
 * 40 mel bins from 20 to 4000 Hz, log(mel + 1e-6), 10 MFCCs. */
tml_mfcc_config tml_mfcc_mlperf_kws(void);

typedef struct {
  tml_mfcc_config c;
  const float *window, *twiddles, *dct;
  tml_mel_bank mel;
} tml_mfcc_plan;

/* The configuration a kernel call's parameters describe. */
void tml_mfcc_config_of(const tml_mfcc_params* p, tml_mfcc_config* c);
/* ... and the parameters of a call over frames frames. */
void tml_mfcc_params_of(const tml_mfcc_config* c, int frames, tml_mfcc_params* p);

/* Sizes of init's buffers, and of a frame's scratch (floats). */
void tml_mfcc_sizes(const tml_mfcc_config* c, size_t* table_floats, size_t* index_ints,
                    size_t* scratch_floats);
/* Returns 0, or -1 for a bad configuration. */
int tml_mfcc_init(const tml_mfcc_config* c, float* tables, int32_t* index, tml_mfcc_plan* plan);
/* The plan over tables and index that tml_mfcc_init filled for c (nothing computed). */
void tml_mfcc_bind(const tml_mfcc_config* c, const float* tables, const int32_t* index,
                   tml_mfcc_plan* plan);
/* Features of frames: frame count for n samples (0 when n < frame_length). */
int tml_mfcc_frames(const tml_mfcc_config* c, long n);
/* One frame (frame_length samples) -> num_mfcc (or num_mel) features. */
void tml_mfcc_frame(const tml_mfcc_plan* plan, const float* frame, float* scratch, float* out);

/* Streaming features: samples arrive in chunks of any size; every frame is computed once,
 * when its last sample arrives (frame f covers samples f * frame_step ..), and kept in a
 * ring of the last window_frames frames, so a sliding window costs one frame per stride
 * instead of all of them. The frames are those of tml_mfcc_frame on the same samples.
 *
 *   tml_mfcc_stream s;
 *   tml_mfcc_stream_init(&s, &plan, samples, ring, 49);   samples: frame_length floats,
 *                                                          ring: 49 x per-frame floats
 *   n = tml_mfcc_stream_push(&s, chunk, 320, scratch);    new frames in this chunk
 *   if (tml_mfcc_stream_window(&s, window)) ...           49 frames, oldest first */
typedef struct {
  const tml_mfcc_plan* plan;
  float* samples;                  /* frame_length: the samples of the frame being filled */
  int have;                        /* samples in it */
  float* ring;                     /* window_frames x per (tml_mfcc_frame's features) */
  int window_frames, next, frames; /* next row to write; frames computed so far */
} tml_mfcc_stream;

void tml_mfcc_stream_init(tml_mfcc_stream* s, const tml_mfcc_plan* plan, float* samples,
                          float* ring, int window_frames);
/* Returns the number of frames computed from these n samples. scratch: as tml_mfcc_frame. */
int tml_mfcc_stream_push(tml_mfcc_stream* s, const float* x, long n, float* scratch);
/* The last window_frames frames, oldest first, window_frames x per floats (then, with the
 * plan's deltas, each row followed by its deltas over the window: rows of 2 x per).
 * Returns 0 while fewer frames than the window have been computed, else 1. */
int tml_mfcc_stream_window(const tml_mfcc_stream* s, float* out);

/* Keyword detection from a stream of posteriors (one per inference): the mean of the last
 * `smooth` posteriors per class, a detection when a keyword class's mean reaches the
 * threshold, then none for `refractory` inferences (one utterance, one detection). */
typedef struct {
  int classes, smooth, refractory;
  float threshold;
  const uint8_t* keyword; /* classes: 1 for a keyword, 0 for silence, unknown, ... */
  float* history;         /* smooth x classes */
  int pos, count, quiet;
} tml_kws_detector;

void tml_kws_detector_init(tml_kws_detector* d, int classes, int smooth, int refractory,
                           float threshold, const uint8_t* keyword, float* history);
/* The class detected at this posterior, or -1; *score: the winning class's smoothed mean. */
int tml_kws_detect(tml_kws_detector* d, const float* posterior, float* score);

/* Fixed-point variant (dsp_fixed.c), for cores without an FPU: int16 samples (the real
 * value is q / 32768), a Q15 window, a block-scaled int32 FFT (one exponent per frame: the
 * largest value just below 2^28; every stage halves, so none can overflow), Q31 twiddles
 * (high words of 32 x 32 products), magnitudes
 * by an integer square root (rounded, 16 significant bits), Q15 mel weights, a base-2 log
 * from the exponent and a 257-entry table with linear interpolation, a Q26 DCT; features
 * in Q24 (the real value is q / 2^24). Integer arithmetic only, so every core computes the
 * same bits; the tables are made on the host (tml_mfccq_init) in double.
 *
 *   tml_mfccq_plan plan; int32_t tables[...], index[...];   sizes: tml_mfccq_sizes
 *   tml_mfccq_init(&c, tables, index, &plan);
 *   tml_mfccq_frame(&plan, frame, scratch, out_q24); */
#define TML_MFCCQ_FRAC_BITS 24 /* features: Q24 */
#define TML_MFCCQ_LOG_TABLE 257

typedef struct {
  tml_mfcc_config c;
  const int32_t* window;   /* frame_length, Q15 */
  const int32_t* twiddles; /* fft_length: cos, -sin of 2 pi k / n interleaved, Q31 */
  const int32_t* mel_w;    /* the bank's weights, Q15 */
  const int32_t* dct;      /* num_mfcc x num_mel, Q26 */
  const int32_t* log2_t;   /* TML_MFCCQ_LOG_TABLE: log2(1 + i / 256), Q30 */
  const int32_t* offset;   /* log_offset = offset[0] x 2^offset[1], offset[0] in [2^30, 2^31) */
  const int32_t* delta_r;  /* round(2^24 / (2 sum k^2)) for the deltas */
  const int32_t *first, *count, *band_offset; /* the mel bank's bins (tml_dsp_mel_bank) */
} tml_mfccq_plan;

/* Table and index ints, and a frame's scratch in int32 words. */
void tml_mfccq_sizes(const tml_mfcc_config* c, size_t* table_ints, size_t* index_ints,
                     size_t* scratch_ints);
/* Returns 0, or -1 for a bad configuration (as tml_mfcc_init; log_offset below 1e-30 too). */
int tml_mfccq_init(const tml_mfcc_config* c, int32_t* tables, int32_t* index, tml_mfccq_plan* plan);
void tml_mfccq_bind(const tml_mfcc_config* c, const int32_t* tables, const int32_t* index,
                    tml_mfccq_plan* plan);
/* One frame (frame_length int16 samples) -> num_mfcc (or num_mel) Q24 features. */
void tml_mfccq_frame(const tml_mfccq_plan* plan, const int16_t* frame, int32_t* scratch,
                     int32_t* out);
/* Deltas of Q24 features, as tml_dsp_deltas (rows x_stride and out_stride ints apart). */
void tml_mfccq_deltas(const tml_mfccq_plan* plan, int frames, int n, const int32_t* x, int x_stride,
                      int32_t* out, int out_stride);

/* Streaming with the fixed-point front end: as tml_mfcc_stream (each frame computed once,
 * when its last sample arrives, kept in a ring of the window's frames), on int16 samples,
 * the ring in Q24. window: the last window_frames frames, oldest first, as floats (the
 * Q24 values / 2^24; with deltas, each row followed by its deltas, computed in Q24 in
 * work: window_frames x 2 x per ints). */
typedef struct {
  const tml_mfccq_plan* plan;
  int16_t* samples; /* frame_length */
  int have;
  int32_t* ring; /* window_frames x per */
  int window_frames, next, frames;
} tml_mfccq_stream;

void tml_mfccq_stream_init(tml_mfccq_stream* s, const tml_mfccq_plan* plan, int16_t* samples,
                           int32_t* ring, int window_frames);
int tml_mfccq_stream_push(tml_mfccq_stream* s, const int16_t* x, long n, int32_t* scratch);
int tml_mfccq_stream_window(const tml_mfccq_stream* s, int32_t* work, float* out);

/* The blocks of the fixed-point front end, exposed for their tests. */
/* floor(sqrt(v) + 0.5) of a 64-bit value, from 16 significant bits of a 32-bit root. */
uint32_t tml_dspq_magnitude(uint64_t power);
/* ln(m x 2^-e + offset) in Q24 (plan's log table and offset); m = 0 gives ln(offset). */
int32_t tml_dspq_log(const tml_mfccq_plan* plan, uint64_t m, int e);
/* The int32 complex FFT of n points in place, divided by n (each stage halves); z: n
 * (re, im) pairs; tw: Q31 twiddles made for n x stride. */
void tml_dspq_fft(int n, const int32_t* tw, int stride, int32_t* z);

#ifdef __cplusplus
}
#endif

#endif
