/* DSP front ends (tml_dsp.h). Float variant; the tables in double, without libm. */
#include <math.h> /* sqrtf only: IEEE-754 requires it correctly rounded */

/* The FPU's square root where there is one (VSQRT.F32, SQRTSS): firmware is built with
 * -fno-builtin, which would otherwise call the C library's bit-by-bit sqrtf. Both are
 * correctly rounded, so every target gets the same bits. */
#if defined(__GNUC__)
#define dsp_sqrtf(x) __builtin_sqrtf(x)
#else
#define dsp_sqrtf(x) sqrtf(x)
#endif

#include "tml_dsp.h"
#include "tml_kernels.h"
#include "tml_math.h"

static const double kPi = 3.14159265358979311600;
/* pi / 2 in two parts: the first has 33 significant bits, so k x it is exact for |k| < 2^20. */
static const double kPio2Hi = 1.57079632673412561417;
static const double kPio2Lo = 6.07710050650619224932e-11;

static double poly_cos(double r) { /* |r| <= pi / 4 */
  const double r2 = r * r;
  double term = 1.0, sum = 1.0;
  for (int i = 1; i <= 11; ++i) {
    term = -term * r2 / (double)((2 * i - 1) * (2 * i));
    sum += term;
  }
  return sum;
}

static double poly_sin(double r) {
  const double r2 = r * r;
  double term = r, sum = r;
  for (int i = 1; i <= 11; ++i) {
    term = -term * r2 / (double)((2 * i) * (2 * i + 1));
    sum += term;
  }
  return sum;
}

double tml_dsp_cos(double x) {
  const double q = x / (kPi / 2);
  long long k = (long long)(q + (q >= 0 ? 0.5 : -0.5)); /* nearest quadrant */
  const double r = (x - (double)k * kPio2Hi) - (double)k * kPio2Lo;
  switch ((int)(k & 3)) {
    case 0:
      return poly_cos(r);
    case 1:
      return -poly_sin(r);
    case 2:
      return -poly_cos(r);
    default:
      return poly_sin(r);
  }
}

double tml_dsp_log(double x) {
  union {
    double d;
    uint64_t u;
  } v;
  v.d = x;
  int e = (int)((v.u >> 52) & 0x7ff) - 1023;
  v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
  double m = v.d;
  if (m > 1.41421356237309504880) {
    m *= 0.5;
    ++e;
  }
  /* ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172 */
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double term = s, sum = s;
  for (int i = 1; i <= 13; ++i) {
    term *= s2;
    sum += term / (double)(2 * i + 1);
  }
  return 2.0 * sum + (double)e * 0.69314718055994530942;
}

static double sqrt_d(double a) { /* a > 0: Newton from a power-of-two guess */
  double x = 1.0;
  while (x * x < a) x *= 2.0;
  while (x * x > 4.0 * a) x *= 0.5;
  for (int i = 0; i < 8; ++i) x = 0.5 * (x + a / x);
  return x;
}

void tml_dsp_window(int kind, int n, float* w) {
  for (int i = 0; i < n; ++i) {
    const double c = tml_dsp_cos(2.0 * kPi * (double)i / (double)n);
    w[i] = kind == TML_WINDOW_HANN      ? (float)(0.5 - 0.5 * c)
           : kind == TML_WINDOW_HAMMING ? (float)(0.54 - 0.46 * c)
                                        : 1.0f;
  }
}

static int log2_of(int n) {
  int b = 0;
  if (n < 2) return -1;
  while ((1 << b) < n) ++b;
  return (1 << b) == n && b <= 16 ? b : -1;
}

void tml_dsp_twiddles(int n, float* tw) {
  for (int k = 0; k < n / 2; ++k) {
    const double a = 2.0 * kPi * (double)k / (double)n;
    tw[2 * k] = (float)tml_dsp_cos(a);
    tw[2 * k + 1] = (float)-tml_dsp_cos(a - kPi / 2); /* -sin a */
  }
}

/* The stages of a radix-2 decimation-in-time FFT of n points on bit-reversed input, two
 * at a time (a stage of length L and the next, over four points: the same operations as
 * the two stages one after the other, with half the loads and stores), twiddles every
 * stride-th of tw (an FFT of n / 2 points reads a table made for n with stride 2). */
static void fft_stages(int n, const float* tw, int stride, float* re, float* im) {
  int len = 2;
  if (n >= 4) { /* lengths 2 and 4: twiddles 1, and 1 and -i */
    for (int a = 0; a < n; a += 4) {
      const float r0 = re[a], i0 = im[a], r1 = re[a + 1], i1 = im[a + 1];
      const float r2 = re[a + 2], i2 = im[a + 2], r3 = re[a + 3], i3 = im[a + 3];
      const float yr0 = r0 + r1, yi0 = i0 + i1, yr1 = r0 - r1, yi1 = i0 - i1;
      const float yr2 = r2 + r3, yi2 = i2 + i3, yr3 = r2 - r3, yi3 = i2 - i3;
      re[a] = yr0 + yr2;
      im[a] = yi0 + yi2;
      re[a + 2] = yr0 - yr2;
      im[a + 2] = yi0 - yi2;
      re[a + 1] = yr1 + yi3; /* -i y3 = (yi3, -yr3) */
      im[a + 1] = yi1 - yr3;
      re[a + 3] = yr1 - yi3;
      im[a + 3] = yi1 + yr3;
    }
    len = 8;
  }
  for (; len <= n; len <<= 2) {
    const int h = len >> 1, s1 = 2 * stride * (n / len), s2 = s1 >> 1;
    if (2 * len > n) { /* one stage left */
      for (int j = 0; j < h; ++j) {
        const float wr = tw[j * s1], wi = tw[j * s1 + 1];
        for (int a = j; a < n; a += len) {
          const int b = a + h;
          const float tr = wr * re[b] - wi * im[b];
          const float ti = wr * im[b] + wi * re[b];
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] = re[a] + tr;
          im[a] = im[a] + ti;
        }
      }
      break;
    }
    for (int j = 0; j < h; ++j) { /* W_len^j, then W_2len^j (and W_2len^(j+h) = -i W_2len^j) */
      const float ar = tw[j * s1], ai = tw[j * s1 + 1];
      const float br = tw[j * s2], bi = tw[j * s2 + 1];
      for (int a = j; a < n; a += 2 * len) {
        float *r = re + a, *i = im + a;
        const float r0 = r[0], i0 = i[0], r1 = r[h], i1 = i[h];
        const float r2 = r[len], i2 = i[len], r3 = r[len + h], i3 = i[len + h];
        const float t1r = ar * r1 - ai * i1, t1i = ar * i1 + ai * r1;
        const float t3r = ar * r3 - ai * i3, t3i = ar * i3 + ai * r3;
        const float yr0 = r0 + t1r, yi0 = i0 + t1i, yr1 = r0 - t1r, yi1 = i0 - t1i;
        const float yr2 = r2 + t3r, yi2 = i2 + t3i, yr3 = r2 - t3r, yi3 = i2 - t3i;
        const float ur = br * yr2 - bi * yi2, ui = br * yi2 + bi * yr2;
        const float vr = br * yi3 + bi * yr3, vi = bi * yi3 - br * yr3;
        r[0] = yr0 + ur;
        i[0] = yi0 + ui;
        r[len] = yr0 - ur;
        i[len] = yi0 - ui;
        r[h] = yr1 + vr;
        i[h] = yi1 + vi;
        r[len + h] = yr1 - vr;
        i[len + h] = yi1 - vi;
      }
    }
  }
}

int tml_dsp_fft(int n, const float* tw, float* re, float* im) {
  if (log2_of(n) < 0) return -1;
  for (int i = 0, j = 0; i < n - 1;
       ++i, j = tml_dsp_next_reversed(j, n)) /* into bit-reversed order */
    if (i < j) {
      float t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  fft_stages(n, tw, 1, re, im);
  return 0;
}

/* Bins lo .. hi of the spectrum of a real frame of n points: the complex FFT of n / 2
 * points z[m] = x[2m] + i x[2m+1] (written straight to bit-reversed order), then
 * X[k] = E[k] + W^k O[k] with E = (Z[k] + conj Z[n/2-k]) / 2 and O = (Z[k] - conj
 * Z[n/2-k]) / 2i, W = e^(-2 pi i / n). */
static void spectrum_bins(int n, const float* tw, const float* x, int n_in, const float* w,
                          int power, float* scratch, float* out, int lo, int hi) {
  const int h = n / 2, bits = 33 - log2_of(n), pairs = n_in / 2;
  float *re = scratch, *im = scratch + h;
  int m = 0;
  if (w)
    for (; m < pairs; ++m) {
      const int j = tml_dsp_reversed(m, bits);
      re[j] = x[2 * m] * w[2 * m];
      im[j] = x[2 * m + 1] * w[2 * m + 1];
    }
  else
    for (; m < pairs; ++m) {
      const int j = tml_dsp_reversed(m, bits);
      re[j] = x[2 * m];
      im[j] = x[2 * m + 1];
    }
  for (; m < h; ++m) { /* an odd sample left, then the zero padding */
    const int j = tml_dsp_reversed(m, bits);
    re[j] = 2 * m < n_in ? (w ? x[2 * m] * w[2 * m] : x[2 * m]) : 0.0f;
    im[j] = 0.0f;
  }
  fft_stages(h, tw, 2, re, im);
  for (int k = lo; k <= hi; ++k) {
    float xr, xi;
    if (k == 0 || k == h) { /* Z[n/2] = Z[0]; W^0 = 1, W^(n/2) = -1 */
      xr = k == 0 ? re[0] + im[0] : re[0] - im[0];
      xi = 0.0f;
    } else {
      const float zr = re[k], zi = im[k], cr = re[h - k], ci = -im[h - k];
      const float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);
      const float or_ = 0.5f * (zi - ci), oi = -0.5f * (zr - cr); /* (z - c) / 2i */
      const float wr = tw[2 * k], wi = tw[2 * k + 1];
      xr = er + (wr * or_ - wi * oi);
      xi = ei + (wr * oi + wi * or_);
    }
    const float p = xr * xr + xi * xi;
    out[k] = power ? p : dsp_sqrtf(p);
  }
}

int tml_dsp_spectrum(int n, const float* tw, const float* x, int n_in, const float* w, int power,
                     float* scratch, float* out) {
  if (n_in > n || log2_of(n) < 1) return -1;
  spectrum_bins(n, tw, x, n_in, w, power, scratch, out, 0, n / 2);
  return 0;
}

int tml_dsp_mel_weight_count(int n_fft, int num_mel) {
  (void)num_mel;
  return 2 * (n_fft / 2 + 1);
}

static double hz_to_mel(double hz) {
  return 1127.0 * tml_dsp_log(1.0 + hz / 700.0);
}

int tml_dsp_mel_bank(int n_fft, int sample_rate, int num_mel, double lower_hz, double upper_hz,
                     int32_t* index, float* weights, tml_mel_bank* bank) {
  const int bins = n_fft / 2 + 1;
  if (num_mel < 1 || bins < 2 || lower_hz < 0 || upper_hz <= lower_hz ||
      upper_hz > sample_rate / 2.0)
    return -1;
  int32_t *first = index, *count = index + num_mel, *offset = index + 2 * num_mel;
  const double lo = hz_to_mel(lower_hz), hi = hz_to_mel(upper_hz);
  const double step = (hi - lo) / (double)(num_mel + 1);
  int used = 0;
  for (int b = 0; b < num_mel; ++b) {
    const double left = lo + step * b, center = lo + step * (b + 1), right = lo + step * (b + 2);
    first[b] = 0;
    count[b] = 0;
    offset[b] = used;
    for (int k = 1; k < bins; ++k) { /* the DC bin is excluded */
      const double mel = hz_to_mel((double)k * sample_rate / (double)n_fft);
      const double up = (mel - left) / (center - left), down = (right - mel) / (right - center);
      const double wt = up < down ? up : down;
      if (wt <= 0) {
        if (count[b] > 0) break;
        continue;
      }
      if (count[b] == 0) first[b] = k;
      if (used >= tml_dsp_mel_weight_count(n_fft, num_mel)) return -1;
      weights[used++] = (float)wt;
      ++count[b];
    }
  }
  bank->num_mel = num_mel;
  bank->num_bins = bins;
  bank->first = first;
  bank->count = count;
  bank->offset = offset;
  bank->weights = weights;
  return 0;
}

void tml_dsp_mel_apply(const tml_mel_bank* bank, const float* spectrum, float* out) {
  for (int b = 0; b < bank->num_mel; ++b) {
    const float* w = bank->weights + bank->offset[b];
    const float* s = spectrum + bank->first[b];
    float acc = 0.0f;
    for (int i = 0; i < bank->count[b]; ++i) acc += s[i] * w[i];
    out[b] = acc;
  }
}

void tml_dsp_dct_table(int n, int num_out, float* table) {
  const double scale = 2.0 / sqrt_d(2.0 * n);
  for (int k = 0; k < num_out; ++k)
    for (int i = 0; i < n; ++i)
      table[k * n + i] =
          (float)(scale * tml_dsp_cos(kPi * (double)k * (double)(2 * i + 1) / (double)(2 * n)));
}

void tml_dsp_dct(int n, int num_out, const float* table, const float* x, float* out) {
  for (int k = 0; k < num_out; ++k) {
    const float* t = table + k * n;
    float acc = 0.0f;
    for (int i = 0; i < n; ++i) acc += x[i] * t[i];
    out[k] = acc;
  }
}

tml_mfcc_config tml_mfcc_mlperf_kws(void) {
  tml_mfcc_config c;
  c.deltas = 0;
  c.sample_rate = 16000;
  c.frame_length = 480;
  c.frame_step = 320;
  c.fft_length = 512;
  c.window = TML_WINDOW_HANN;
  c.power = 0;
  c.num_mel = 40;
  c.lower_hz = 20.0f;
  c.upper_hz = 4000.0f;
  c.log_offset = 1e-6f;
  c.num_mfcc = 10;
  return c;
}

void tml_mfcc_sizes(const tml_mfcc_config* c, size_t* table_floats, size_t* index_ints,
                    size_t* scratch_floats) {
  const size_t n = (size_t)c->fft_length;
  if (table_floats)
    *table_floats = (size_t)c->frame_length + n +
                    (size_t)tml_dsp_mel_weight_count(c->fft_length, c->num_mel) +
                    (size_t)c->num_mfcc * (size_t)c->num_mel;
  if (index_ints) *index_ints = 3 * (size_t)c->num_mel;
  if (scratch_floats) *scratch_floats = 2 * n + (n / 2 + 1) + (size_t)c->num_mel;
}

int tml_mfcc_init(const tml_mfcc_config* c, float* tables, int32_t* index, tml_mfcc_plan* plan) {
  tml_mel_bank bank;
  float* mel_weights = tables + c->frame_length + c->fft_length;
  if (c->frame_length < 1 || c->frame_step < 1 || c->fft_length < c->frame_length ||
      log2_of(c->fft_length) < 0 || c->num_mfcc < 0 || c->num_mfcc > c->num_mel ||
      !(c->log_offset > 0.0f))
    return -1;
  if (tml_dsp_mel_bank(c->fft_length, c->sample_rate, c->num_mel, c->lower_hz, c->upper_hz, index,
                       mel_weights, &bank) != 0)
    return -1;
  tml_dsp_window(c->window, c->frame_length, tables);
  tml_dsp_twiddles(c->fft_length, tables + c->frame_length);
  tml_dsp_dct_table(c->num_mel, c->num_mfcc,
                    mel_weights + tml_dsp_mel_weight_count(c->fft_length, c->num_mel));
  tml_mfcc_bind(c, tables, index, plan);
  return 0;
}

void tml_mfcc_bind(const tml_mfcc_config* c, const float* tables, const int32_t* index,
                   tml_mfcc_plan* plan) {
  plan->c = *c;
  plan->window = tables;
  plan->twiddles = tables + c->frame_length;
  plan->mel.num_mel = c->num_mel;
  plan->mel.num_bins = c->fft_length / 2 + 1;
  plan->mel.first = index;
  plan->mel.count = index + c->num_mel;
  plan->mel.offset = index + 2 * c->num_mel;
  plan->mel.weights = plan->twiddles + c->fft_length;
  plan->dct = plan->mel.weights + tml_dsp_mel_weight_count(c->fft_length, c->num_mel);
}

void tml_mfcc_config_of(const tml_mfcc_params* p, tml_mfcc_config* c) {
  c->sample_rate = p->sample_rate;
  c->frame_length = p->frame_length;
  c->frame_step = p->frame_step;
  c->fft_length = p->fft_length;
  c->window = p->window;
  c->power = p->power;
  c->num_mel = p->num_mel;
  c->num_mfcc = p->num_mfcc;
  c->lower_hz = p->lower_hz;
  c->upper_hz = p->upper_hz;
  c->log_offset = p->log_offset;
  c->deltas = p->deltas;
}

void tml_mfcc_params_of(const tml_mfcc_config* c, int frames, tml_mfcc_params* p) {
  p->sample_rate = c->sample_rate;
  p->frame_length = c->frame_length;
  p->frame_step = c->frame_step;
  p->fft_length = c->fft_length;
  p->window = c->window;
  p->power = c->power;
  p->num_mel = c->num_mel;
  p->num_mfcc = c->num_mfcc;
  p->frames = frames;
  p->deltas = c->deltas;
  p->lower_hz = c->lower_hz;
  p->upper_hz = c->upper_hz;
  p->log_offset = c->log_offset;
}

void tml_mfcc_f32(const tml_mfcc_params* p, const float* in, const float* tables,
                  const int32_t* index, float* out, void* scratch) {
  tml_mfcc_config c;
  tml_mfcc_plan plan;
  const int per = p->num_mfcc > 0 ? p->num_mfcc : p->num_mel;
  tml_mfcc_config_of(p, &c);
  tml_mfcc_bind(&c, tables, index, &plan);
  {
    const int row = p->deltas > 0 ? 2 * per : per;
    for (int f = 0; f < p->frames; ++f)
      tml_mfcc_frame(&plan, in + (long)f * p->frame_step, (float*)scratch, out + (long)f * row);
    if (p->deltas > 0) tml_dsp_deltas(p->frames, per, p->deltas, out, row, out + per, row);
  }
}

void tml_dsp_deltas(int frames, int n, int width, const float* x, int x_stride, float* out,
                    int out_stride) {
  float denom = 0.0f;
  for (int k = 1; k <= width; ++k) denom += (float)(k * k);
  denom *= 2.0f;
  for (int t = 0; t < frames; ++t)
    for (int i = 0; i < n; ++i) {
      float acc = 0.0f;
      for (int k = 1; k <= width; ++k) {
        const int a = t + k < frames ? t + k : frames - 1, b = t - k >= 0 ? t - k : 0;
        acc += (float)k * (x[a * x_stride + i] - x[b * x_stride + i]);
      }
      out[t * out_stride + i] = width > 0 ? acc / denom : 0.0f;
    }
}

void tml_dsp_normalize(int frames, int n, const float* mean, const float* inv_std, const float* x,
                       float* out) {
  for (int t = 0; t < frames; ++t)
    for (int i = 0; i < n; ++i) out[t * n + i] = (x[t * n + i] - mean[i]) * inv_std[i];
}

int tml_dsp_spectral_features(int n, const float* tw, const float* x, int n_in, int sample_rate,
                              int num_peaks, int num_bands, const float* edges_hz, float* scratch,
                              float* out) {
  float *centred = scratch + 2 * n, *mag = centred; /* centred: n_in <= n floats, then mag */
  const int bins = n / 2 + 1;
  float mean = 0.0f, power = 0.0f;
  if (n_in < 1 || n_in > n || num_peaks < 0 || num_bands < 0 || sample_rate < 1 || log2_of(n) < 1)
    return -1;
  for (int i = 0; i < n_in; ++i) mean += x[i];
  mean /= (float)n_in;
  for (int i = 0; i < n_in; ++i) {
    centred[i] = x[i] - mean;
    power += centred[i] * centred[i];
  }
  out[0] = dsp_sqrtf(power / (float)n_in);
  /* The spectrum's scratch (2 n floats) ends where centred begins; the magnitudes then
   * overwrite centred, which the spectrum has read by then. */
  if (tml_dsp_spectrum(n, tw, centred, n_in, 0, 1, scratch, mag) != 0) return -1;
  {
    float* peaks = out + 1;
    for (int j = 0; j < 2 * num_peaks; ++j) peaks[j] = 0.0f;
    for (int k = 1; k < bins; ++k) {
      const float m = mag[k]; /* power, compared as such; magnitude reported */
      const int is_peak = m > mag[k - 1] && (k + 1 >= bins || m >= mag[k + 1]);
      if (!is_peak) continue;
      for (int j = 0; j < num_peaks; ++j) {
        const float h = peaks[2 * j + 1];
        if (m > h * h) {
          for (int q = num_peaks - 1; q > j; --q) {
            peaks[2 * q] = peaks[2 * q - 2];
            peaks[2 * q + 1] = peaks[2 * q - 1];
          }
          peaks[2 * j] = (float)k * (float)sample_rate / (float)n;
          peaks[2 * j + 1] = dsp_sqrtf(m);
          break;
        }
      }
    }
  }
  for (int b = 0; b < num_bands; ++b) {
    float sum = 0.0f;
    int count = 0;
    for (int k = 0; k < bins; ++k) {
      const float f = (float)k * (float)sample_rate / (float)n;
      if (f >= edges_hz[b] && f < edges_hz[b + 1]) {
        sum += mag[k];
        ++count;
      }
    }
    out[1 + 2 * num_peaks + b] = count ? sum / (float)count / (float)n_in : 0.0f;
  }
  return 0;
}

int tml_mfcc_frames(const tml_mfcc_config* c, long n) {
  return n < c->frame_length ? 0 : (int)((n - c->frame_length) / c->frame_step + 1);
}

void tml_mfcc_frame(const tml_mfcc_plan* plan, const float* frame, float* scratch, float* out) {
  const tml_mfcc_config* c = &plan->c;
  float* spectrum = scratch + 2 * c->fft_length;
  float* mel = spectrum + c->fft_length / 2 + 1;
  int lo = c->fft_length / 2, hi = 0; /* only the bins the mel bands read */
  for (int b = 0; b < c->num_mel; ++b) {
    const int first = plan->mel.first[b], last = first + plan->mel.count[b] - 1;
    if (plan->mel.count[b] > 0 && first < lo) lo = first;
    if (last > hi) hi = last;
  }
  spectrum_bins(c->fft_length, plan->twiddles, frame, c->frame_length, plan->window, c->power,
                scratch, spectrum, lo, hi);
  tml_dsp_mel_apply(&plan->mel, spectrum, mel);
  for (int b = 0; b < c->num_mel; ++b) mel[b] = tml_logf(mel[b] + c->log_offset);
  if (c->num_mfcc == 0) {
    for (int b = 0; b < c->num_mel; ++b) out[b] = mel[b];
    return;
  }
  tml_dsp_dct(c->num_mel, c->num_mfcc, plan->dct, mel, out);
}

static int frame_features(const tml_mfcc_config* c) {
  return c->num_mfcc > 0 ? c->num_mfcc : c->num_mel;
}

void tml_mfcc_stream_init(tml_mfcc_stream* s, const tml_mfcc_plan* plan, float* samples,
                          float* ring, int window_frames) {
  s->plan = plan;
  s->samples = samples;
  s->have = 0;
  s->ring = ring;
  s->window_frames = window_frames;
  s->next = 0;
  s->frames = 0;
}

int tml_mfcc_stream_push(tml_mfcc_stream* s, const float* x, long n, float* scratch) {
  const tml_mfcc_config* c = &s->plan->c;
  const int per = frame_features(c), keep = c->frame_length - c->frame_step;
  int made = 0;
  for (long i = 0; i < n;) {
    if (s->have < 0) { /* frames further apart than long: samples between them skipped */
      long k = -s->have;
      if (k > n - i) k = n - i;
      s->have += (int)k;
      i += k;
      continue;
    }
    {
      long take = c->frame_length - s->have;
      if (take > n - i) take = n - i;
      for (long k = 0; k < take; ++k) s->samples[s->have + k] = x[i + k];
      s->have += (int)take;
      i += take;
    }
    if (s->have < c->frame_length) break;
    tml_mfcc_frame(s->plan, s->samples, scratch, s->ring + (long)s->next * per);
    s->next = (s->next + 1) % s->window_frames;
    ++s->frames;
    ++made;
    /* The overlap stays for the next frame: it is not computed again. */
    for (int k = 0; k < keep; ++k) s->samples[k] = s->samples[c->frame_step + k];
    s->have = keep;
  }
  return made;
}

int tml_mfcc_stream_window(const tml_mfcc_stream* s, float* out) {
  const tml_mfcc_config* c = &s->plan->c;
  const int per = frame_features(c), row = c->deltas > 0 ? 2 * per : per;
  if (s->frames < s->window_frames) return 0;
  for (int f = 0; f < s->window_frames; ++f) {
    const float* src = s->ring + (long)((s->next + f) % s->window_frames) * per;
    for (int k = 0; k < per; ++k) out[(long)f * row + k] = src[k];
  }
  if (c->deltas > 0) tml_dsp_deltas(s->window_frames, per, c->deltas, out, row, out + per, row);
  return 1;
}

void tml_kws_detector_init(tml_kws_detector* d, int classes, int smooth, int refractory,
                           float threshold, const uint8_t* keyword, float* history) {
  d->classes = classes;
  d->smooth = smooth < 1 ? 1 : smooth;
  d->refractory = refractory;
  d->threshold = threshold;
  d->keyword = keyword;
  d->history = history;
  d->pos = 0;
  d->count = 0;
  d->quiet = 0;
}

int tml_kws_detect(tml_kws_detector* d, const float* posterior, float* score) {
  int best = -1;
  float best_mean = 0.0f;
  for (int j = 0; j < d->classes; ++j) d->history[(long)d->pos * d->classes + j] = posterior[j];
  d->pos = (d->pos + 1) % d->smooth;
  if (d->count < d->smooth) ++d->count;
  for (int j = 0; j < d->classes; ++j) {
    float sum = 0.0f;
    for (int k = 0; k < d->count; ++k) sum += d->history[(long)k * d->classes + j];
    {
      const float mean = sum / (float)d->count;
      if (d->keyword[j] && (best < 0 || mean > best_mean)) {
        best = j;
        best_mean = mean;
      }
    }
  }
  if (score) *score = best_mean;
  if (d->quiet > 0) {
    --d->quiet;
    return -1;
  }
  if (best < 0 || best_mean < d->threshold) return -1;
  d->quiet = d->refractory;
  return best;
}
