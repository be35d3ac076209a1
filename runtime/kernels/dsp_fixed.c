/* DSP front ends, fixed-point variant (tml_dsp.h): integer arithmetic only on the device,
 * for cores without an FPU. The tables are made on the host in double (tml_mfccq_init).
 *
 * Scales, for a frame whose windowed samples were shifted left by s (the block exponent):
 * data = real x 2^(30 + s); the FFT's L = log2(n / 2) stages each halve (so no stage can
 * overflow: every value stays below sqrt 2 x 2^28), giving real x 2^(30 + s - L); the split
 * pass keeps 2 X, so a magnitude is real |X| x 2^(31 + s - L) and a power real |X|^2 x
 * 2^(62 + 2 (s - L)); the mel sums then carry 2^(46 + s - L) (magnitude x Q15) or
 * 2^(61 + 2 (s - L)) (power >> 16 x Q15). */
#include <string.h>

#include "tml_dsp.h"
#include "tml_kernels.h"

static const double kPi = 3.14159265358979311600;
static const int32_t kLn2Q30 = 744261118; /* round(ln 2 x 2^30) */

static int clz32(uint32_t x) { /* x != 0 */
#if defined(__GNUC__)
  return __builtin_clz(x);
#else
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
#endif
}

static int clz64(uint64_t x) { /* x != 0 */
  const uint32_t hi = (uint32_t)(x >> 32);
  return hi ? clz32(hi) : 32 + clz32((uint32_t)x);
}

static int log2_exact(int n) {
  int b = 0;
  if (n < 2) return -1;
  while ((1 << b) < n) ++b;
  return (1 << b) == n && b <= 16 ? b : -1;
}

static int64_t round_half_away(double x) {
  return x >= 0 ? (int64_t)(x + 0.5) : -(int64_t)(-x + 0.5);
}

/* Rounding arithmetic shift right by k >= 1. */
static int64_t rshift_round(int64_t v, int k) {
  return (v + ((int64_t)1 << (k - 1))) >> k;
}

static uint32_t isqrt32(uint32_t v) { /* floor(sqrt(v)): Newton from above */
  uint32_t x, y;
  if (v == 0) return 0;
  x = 1u << ((33 - clz32(v)) / 2); /* 2^ceil(bits / 2) >= sqrt(v) */
  for (;;) {
    y = (x + v / x) >> 1;
    if (y >= x) return x;
    x = y;
  }
}

uint32_t tml_dspq_magnitude(uint64_t power) {
  int k = 0;
  uint32_t v, r;
  if (power >> 32) k = (64 - clz64(power) - 31) / 2; /* v keeps 31 or 32 bits */
  v = (uint32_t)(power >> (2 * k));
  r = isqrt32(v);
  if ((uint64_t)v - (uint64_t)r * r > r) ++r; /* round to nearest: (r + 1/2)^2 = r^2 + r + 1/4 */
  return r << k;
}

int32_t tml_dspq_log(const tml_mfccq_plan* plan, uint64_t m, int e) {
  const uint32_t mo = (uint32_t)plan->offset[0];
  const int eo = plan->offset[1];
  uint64_t sum;
  int ex;
  if (m == 0) {
    sum = mo;
    ex = eo;
  } else {
    const int lz = clz64(m);
    const uint32_t top = (uint32_t)((m << lz) >> 33); /* [2^30, 2^31) */
    const int ea = 33 - lz - e;
    if (ea >= eo) {
      const int d = ea - eo;
      sum = (uint64_t)top + (d == 0 ? mo : d < 32 ? (mo + (1u << (d - 1))) >> d : 0u);
      ex = ea;
    } else {
      const int d = eo - ea;
      sum = (uint64_t)mo + (d < 32 ? (top + (1u << (d - 1))) >> d : 0u);
      ex = eo;
    }
    if (sum >> 31) {
      sum >>= 1;
      ++ex;
    }
  }
  {
    /* value = sum x 2^ex, sum in [2^30, 2^31): log2 = ex + 30 + log2(sum / 2^30) */
    const uint32_t s = (uint32_t)sum;
    const int idx = (int)((s >> 22) & 255u);
    const int32_t frac = (int32_t)(s & ((1u << 22) - 1));
    const int32_t* t = plan->log2_t;
    const int32_t l = t[idx] + (int32_t)rshift_round((int64_t)(t[idx + 1] - t[idx]) * frac, 22);
    const int64_t l2 = (int64_t)(ex + 30) * (1 << 24) + rshift_round(l, 6); /* Q24 */
    return (int32_t)rshift_round(l2 * kLn2Q30, 30);
  }
}

/* High word of a 32 x 32 product: SMULL on every ARMv7-M core. */
static int32_t mul_hi(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b) >> 32);
}

/* The butterflies, on input already in bit-reversed order. */
static void fft_stages(int n, const int32_t* tw, int stride, int32_t* z) {
  for (int len = 2; len <= n; len <<= 1) {
    const int half = len >> 1, step = 2 * stride * (n / len);
    for (int a = 0; a < n; a += len) { /* twiddle 1: t / 2 = b / 2, exactly */
      int32_t* pa = z + 2 * a;
      int32_t* pb = pa + 2 * half;
      const int32_t ar = pa[0] >> 1, ai = pa[1] >> 1, tr = pb[0] >> 1, ti = pb[1] >> 1;
      pa[0] = ar + tr;
      pa[1] = ai + ti;
      pb[0] = ar - tr;
      pb[1] = ai - ti;
    }
    for (int j = 1; j < half; ++j) {
      const int32_t wr = tw[j * step], wi = tw[j * step + 1];
      for (int a = j; a < n; a += len) {
        int32_t* pa = z + 2 * a;
        int32_t* pb = pa + 2 * half;
        const int32_t br = pb[0], bi = pb[1];
        const int32_t tr = mul_hi(wr, br) - mul_hi(wi, bi); /* (w b) / 2 */
        const int32_t ti = mul_hi(wr, bi) + mul_hi(wi, br);
        const int32_t ar = pa[0] >> 1, ai = pa[1] >> 1;
        pa[0] = ar + tr;
        pa[1] = ai + ti;
        pb[0] = ar - tr;
        pb[1] = ai - ti;
      }
    }
  }
}

void tml_dspq_fft(int n, const int32_t* tw, int stride, int32_t* z) {
  for (int i = 0, j = 0; i < n; ++i, j = tml_dsp_next_reversed(j, n)) /* as the float FFT */
    if (i < j) {
      const int32_t r = z[2 * i], m = z[2 * i + 1];
      z[2 * i] = z[2 * j];
      z[2 * i + 1] = z[2 * j + 1];
      z[2 * j] = r;
      z[2 * j + 1] = m;
    }
  fft_stages(n, tw, stride, z);
}

static size_t mel_weights(const tml_mfcc_config* c) {
  return (size_t)tml_dsp_mel_weight_count(c->fft_length, c->num_mel);
}

void tml_mfccq_sizes(const tml_mfcc_config* c, size_t* table_ints, size_t* index_ints,
                     size_t* scratch_ints) {
  const size_t n = (size_t)c->fft_length;
  if (table_ints)
    *table_ints = (size_t)c->frame_length + n + mel_weights(c) +
                  (size_t)c->num_mfcc * (size_t)c->num_mel + TML_MFCCQ_LOG_TABLE + 3;
  if (index_ints) *index_ints = 3 * (size_t)c->num_mel;
  if (scratch_ints) *scratch_ints = n + 2 * (n / 2 + 1) + (size_t)c->num_mel;
}

void tml_mfccq_bind(const tml_mfcc_config* c, const int32_t* tables, const int32_t* index,
                    tml_mfccq_plan* plan) {
  plan->c = *c;
  plan->window = tables;
  plan->twiddles = plan->window + c->frame_length;
  plan->mel_w = plan->twiddles + c->fft_length;
  plan->dct = plan->mel_w + mel_weights(c);
  plan->log2_t = plan->dct + c->num_mfcc * c->num_mel;
  plan->offset = plan->log2_t + TML_MFCCQ_LOG_TABLE;
  plan->delta_r = plan->offset + 2;
  plan->first = index;
  plan->count = index + c->num_mel;
  plan->band_offset = index + 2 * c->num_mel;
}

int tml_mfccq_init(const tml_mfcc_config* c, int32_t* tables, int32_t* index,
                   tml_mfccq_plan* plan) {
  tml_mel_bank bank;
  int32_t *window = tables, *tw = window + c->frame_length, *mel_w = tw + c->fft_length;
  int32_t *dct = mel_w + mel_weights(c), *log2_t = dct + c->num_mfcc * c->num_mel;
  int32_t* offset = log2_t + TML_MFCCQ_LOG_TABLE;
  const double ln2 = tml_dsp_log(2.0);
  if (c->frame_length < 1 || c->frame_step < 1 || c->fft_length < c->frame_length ||
      log2_exact(c->fft_length) < 1 || c->num_mfcc < 0 || c->num_mfcc > c->num_mel ||
      !(c->log_offset >= 1e-30f) || c->deltas < 0 || c->deltas > 9)
    return -1;
  /* The bank's float weights first, in the int32 table's memory, then Q15 in place. */
  if (tml_dsp_mel_bank(c->fft_length, c->sample_rate, c->num_mel, c->lower_hz, c->upper_hz, index,
                       (float*)(void*)mel_w, &bank) != 0)
    return -1;
  for (size_t i = 0; i < mel_weights(c); ++i) {
    float w;
    memcpy(&w, &mel_w[i], sizeof w);
    mel_w[i] = (int32_t)round_half_away((double)w * 32768.0);
  }
  for (int i = 0; i < c->frame_length; ++i) {
    const double k = tml_dsp_cos(2.0 * kPi * (double)i / (double)c->frame_length);
    const double w = c->window == TML_WINDOW_HANN      ? 0.5 - 0.5 * k
                     : c->window == TML_WINDOW_HAMMING ? 0.54 - 0.46 * k
                                                       : 1.0;
    window[i] = (int32_t)round_half_away(w * 32768.0);
  }
  for (int k = 0; k < c->fft_length / 2; ++k) {
    const double a = 2.0 * kPi * (double)k / (double)c->fft_length;
    const int64_t re = round_half_away(tml_dsp_cos(a) * 2147483648.0);
    const int64_t im = round_half_away(-tml_dsp_cos(a - kPi / 2) * 2147483648.0);
    tw[2 * k] = (int32_t)(re > 2147483647 ? 2147483647 : re); /* 1 as 1 - 2^-31 */
    tw[2 * k + 1] = (int32_t)(im < -2147483647 ? -2147483647 : im > 2147483647 ? 2147483647 : im);
  }
  {
    double two_n = 2.0 * c->num_mel, root = 1.0; /* sqrt(2 N) by Newton */
    while (root * root < two_n) root *= 2.0;
    for (int i = 0; i < 8; ++i) root = 0.5 * (root + two_n / root);
    for (int k = 0; k < c->num_mfcc; ++k)
      for (int i = 0; i < c->num_mel; ++i)
        dct[k * c->num_mel + i] = (int32_t)round_half_away(
            2.0 / root *
            tml_dsp_cos(kPi * (double)k * (double)(2 * i + 1) / (double)(2 * c->num_mel)) *
            67108864.0);
  }
  for (int i = 0; i < TML_MFCCQ_LOG_TABLE; ++i)
    log2_t[i] = (int32_t)round_half_away(tml_dsp_log(1.0 + i / 256.0) / ln2 * 1073741824.0);
  {
    double m = c->log_offset;
    int e = 0;
    while (m < 1073741824.0) {
      m *= 2.0;
      --e;
    }
    while (m >= 2147483648.0) {
      m *= 0.5;
      ++e;
    }
    int64_t q = round_half_away(m);
    if (q >= 2147483648LL) {
      q >>= 1;
      ++e;
    }
    offset[0] = (int32_t)q;
    offset[1] = e;
  }
  {
    int denom = 0;
    for (int k = 1; k <= c->deltas; ++k) denom += 2 * k * k;
    offset[2] = denom ? (int32_t)round_half_away(16777216.0 / denom) : 0;
  }
  tml_mfccq_bind(c, tables, index, plan);
  return 0;
}

void tml_mfccq_frame(const tml_mfccq_plan* plan, const int16_t* frame, int32_t* scratch,
                     int32_t* out) {
  const tml_mfcc_config* c = &plan->c;
  const int n = c->fft_length, h = n / 2, len = c->frame_length;
  int32_t* z = scratch;                    /* h complex values, interleaved */
  uint32_t* spec = (uint32_t*)(z + 2 * h); /* h + 1 magnitudes, or h + 1 (lo, hi) powers */
  int32_t* logmel = (int32_t*)(spec + 2 * (h + 1));
  uint32_t bits_or = 0;
  int s = 0, e, stages = 0;
  for (int hh = h; hh > 1; hh >>= 1) ++stages;
  /* z[m] = x[2m] + i x[2m+1], written straight to m's bit-reversed place. */
  for (int m = 0, j = 0; m < h; ++m, j = tml_dsp_next_reversed(j, h)) {
    const int ev = 2 * m;
    const int32_t r = ev < len ? (int32_t)frame[ev] * plan->window[ev] : 0;
    const int32_t i = ev + 1 < len ? (int32_t)frame[ev + 1] * plan->window[ev + 1] : 0;
    z[2 * j] = r;
    z[2 * j + 1] = i;
    bits_or |= (uint32_t)(r < 0 ? -r : r) | (uint32_t)(i < 0 ? -i : i);
  }
  if (bits_or) { /* the block exponent: the largest |value| below 2^28 */
    s = 28 - (32 - clz32(bits_or));
    if (s > 0)
      for (int i = 0; i < 2 * h; ++i) z[i] = (int32_t)((uint32_t)z[i] << s);
    else if (s < 0)
      for (int i = 0; i < 2 * h; ++i) z[i] = (int32_t)rshift_round(z[i], -s);
  }
  fft_stages(h, plan->twiddles, 2, z); /* Z / h: every stage halves */
  int lo = h, hi = -1;                 /* only the bins the mel bands read */
  for (int b = 0; b < c->num_mel; ++b)
    if (plan->count[b] > 0) {
      if (plan->first[b] < lo) lo = plan->first[b];
      if (plan->first[b] + plan->count[b] - 1 > hi) hi = plan->first[b] + plan->count[b] - 1;
    }
  for (int k = lo; k <= hi; ++k) { /* 2 X[k] from the half-size transform (as the float path) */
    int64_t xr, xi;
    if (k == 0 || k == h) {
      xr = 2 * (k == 0 ? (int64_t)z[0] + z[1] : (int64_t)z[0] - z[1]);
      xi = 0;
    } else {
      /* |Z| < sqrt 2 x 2^28, so these sums fit in 32 bits, and 2 X < 2^30.5 */
      const int32_t zr = z[2 * k], zi = z[2 * k + 1], cr = z[2 * (h - k)], ci = -z[2 * (h - k) + 1];
      const int32_t er = zr + cr, ei = zi + ci, or_ = zi - ci, oi = cr - zr;
      const int32_t wr = plan->twiddles[2 * k], wi = plan->twiddles[2 * k + 1];
      xr = er + 2 * (int64_t)(mul_hi(wr, or_) - mul_hi(wi, oi)); /* W 2 O, via (W 2 O) / 2 */
      xi = ei + 2 * (int64_t)(mul_hi(wr, oi) + mul_hi(wi, or_));
    }
    {
      const uint64_t p = (uint64_t)(xr * xr) + (uint64_t)(xi * xi);
      if (c->power) {
        spec[2 * k] = (uint32_t)p;
        spec[2 * k + 1] = (uint32_t)(p >> 32);
      } else {
        spec[k] = tml_dspq_magnitude(p);
      }
    }
  }
  e = c->power ? 61 + 2 * (s - stages) : 46 + s - stages;
  for (int b = 0; b < c->num_mel; ++b) {
    const int32_t* w = plan->mel_w + plan->band_offset[b];
    const int first = plan->first[b], count = plan->count[b];
    uint64_t acc = 0;
    if (c->power)
      for (int i = 0; i < count; ++i) {
        const int k = first + i;
        const uint64_t p = ((uint64_t)spec[2 * k + 1] << 32) | spec[2 * k];
        acc += (p >> 16) * (uint64_t)w[i];
      }
    else
      for (int i = 0; i < count; ++i) acc += (uint64_t)spec[first + i] * (uint64_t)w[i];
    logmel[b] = tml_dspq_log(plan, acc, e);
  }
  if (c->num_mfcc == 0) {
    for (int b = 0; b < c->num_mel; ++b) out[b] = logmel[b];
    return;
  }
  for (int k = 0; k < c->num_mfcc; ++k) {
    const int32_t* t = plan->dct + k * c->num_mel;
    int64_t acc = 0;
    for (int b = 0; b < c->num_mel; ++b) acc += (int64_t)logmel[b] * t[b];
    out[k] = (int32_t)rshift_round(acc, 26);
  }
}

void tml_mfccq_deltas(const tml_mfccq_plan* plan, int frames, int n, const int32_t* x, int x_stride,
                      int32_t* out, int out_stride) {
  const int width = plan->c.deltas;
  for (int t = 0; t < frames; ++t)
    for (int i = 0; i < n; ++i) {
      int64_t acc = 0;
      for (int k = 1; k <= width; ++k) {
        const int a = t + k < frames ? t + k : frames - 1, b = t - k >= 0 ? t - k : 0;
        acc += (int64_t)k * ((int64_t)x[a * x_stride + i] - x[b * x_stride + i]);
      }
      out[t * out_stride + i] = width > 0 ? (int32_t)rshift_round(acc * plan->delta_r[0], 24) : 0;
    }
}

void tml_mfcc_q15(const tml_mfcc_params* p, const int16_t* in, const int32_t* tables,
                  const int32_t* index, float* out, void* scratch) {
  tml_mfcc_config c;
  tml_mfccq_plan plan;
  size_t frame_ints = 0;
  const int per = p->num_mfcc > 0 ? p->num_mfcc : p->num_mel, row = p->deltas > 0 ? 2 * per : per;
  tml_mfcc_config_of(p, &c);
  tml_mfccq_bind(&c, tables, index, &plan);
  tml_mfccq_sizes(&c, 0, 0, &frame_ints);
  {
    int32_t* q = (int32_t*)scratch + frame_ints; /* frames x row Q24 features */
    const long total = (long)p->frames * row;
    for (int f = 0; f < p->frames; ++f)
      tml_mfccq_frame(&plan, in + (long)f * p->frame_step, (int32_t*)scratch, q + (long)f * row);
    if (p->deltas > 0) tml_mfccq_deltas(&plan, p->frames, per, q, row, q + per, row);
    for (long i = 0; i < total; ++i) out[i] = (float)q[i] * (1.0f / 16777216.0f);
  }
}

void tml_mfccq_stream_init(tml_mfccq_stream* s, const tml_mfccq_plan* plan, int16_t* samples,
                           int32_t* ring, int window_frames) {
  s->plan = plan;
  s->samples = samples;
  s->have = 0;
  s->ring = ring;
  s->window_frames = window_frames;
  s->next = 0;
  s->frames = 0;
}

int tml_mfccq_stream_push(tml_mfccq_stream* s, const int16_t* x, long n, int32_t* scratch) {
  const tml_mfcc_config* c = &s->plan->c;
  const int per = c->num_mfcc > 0 ? c->num_mfcc : c->num_mel,
            keep = c->frame_length - c->frame_step;
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
    tml_mfccq_frame(s->plan, s->samples, scratch, s->ring + (long)s->next * per);
    s->next = (s->next + 1) % s->window_frames;
    ++s->frames;
    ++made;
    for (int k = 0; k < keep; ++k) s->samples[k] = s->samples[c->frame_step + k];
    s->have = keep;
  }
  return made;
}

int tml_mfccq_stream_window(const tml_mfccq_stream* s, int32_t* work, float* out) {
  const tml_mfcc_config* c = &s->plan->c;
  const int per = c->num_mfcc > 0 ? c->num_mfcc : c->num_mel, row = c->deltas > 0 ? 2 * per : per;
  if (s->frames < s->window_frames) return 0;
  for (int f = 0; f < s->window_frames; ++f) {
    const int32_t* src = s->ring + (long)((s->next + f) % s->window_frames) * per;
    for (int k = 0; k < per; ++k) work[(long)f * row + k] = src[k];
  }
  if (c->deltas > 0) tml_mfccq_deltas(s->plan, s->window_frames, per, work, row, work + per, row);
  for (long i = 0; i < (long)s->window_frames * row; ++i)
    out[i] = (float)work[i] * (1.0f / 16777216.0f);
  return 1;
}
