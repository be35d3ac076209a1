/* UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite's operator, without peepholes, projection, layer
 * norm or CIFG: the Keras LSTM). Gates in TFLite's order input, forget, cell, output; the
 * weights of the four gates stacked: w_in [4 units, input], w_rec [4 units, units], bias
 * [4 units]. Per time step and batch row:
 *   gate_k = act_k(w_in_k x + w_rec_k h + b_k)    (sigmoid, except tanh for the cell gate)
 *   c = f * c + i * g (clipped to cell_clip when set),  h = o * tanh(c),  out[t] = h.
 * h and c are state tensors: kept in the arena between invocations, zero at start.
 *
 * The integer variants follow TFLite's integer LSTM (TensorFlow Lite Micro's kernel):
 * each gate's input and recurrent products requantized to int16 Q3.12 and added with
 * saturation, sigmoid and tanh from int16 to Q0.15 through TFLite's 256-entry table of
 * sigmoid(i / 24), an int16 cell state whose scale is a power of two, and the element-wise
 * products requantized like TFLite's integer Mul. int8 ("8x8_16"): int8 input and hidden
 * state with zero points, int32 bias. int16 ("16x8"): int16 input and hidden state
 * (symmetric), int64 bias, 64-bit accumulators. */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"
#include "tml_math.h"

/* TFLite's published sigmoid_table_uint16: sigmoid(i / 24) in unsigned 0.16, each entry
 * within 1.2 of 65536 / (1 + exp(-i / 24)) (tests/lstm_test.cc checks). The int16 sigmoid
 * and tanh of TFLite's integer kernels interpolate in it: tanh(x) = 2 sigmoid(2x) - 1. */
static const uint16_t kSigmoid[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

const uint16_t* tml_sigmoid_table(void) {
  return kSigmoid;
}

int16_t tml_sigmoid_q15(int32_t x) {
  const int32_t v = x * 3; /* Q3.12 input; the table's step is 1/24 = (3 / 2^12) x 2^9 */
  const uint32_t a = (uint32_t)(v < 0 ? -v : v), uh = a >> 9;
  uint32_t r;
  if (uh >= 255)
    r = 0x7FFFu << 10;
  else
    r = ((uint32_t)kSigmoid[uh] << 9) + (a & 0x1FFu) * (uint32_t)(kSigmoid[uh + 1] - kSigmoid[uh]);
  r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
  return (int16_t)(r >> 10);
}

int16_t tml_tanh_q15(int32_t x, int32_t mult, int32_t shift) {
  const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
  const int32_t v = (x * mult + round) >> shift;
  const uint32_t a = (uint32_t)(v < 0 ? -v : v), uh = a >> 8;
  int32_t r;
  if (uh >= 255)
    r = 0xFFFF << 8;
  else
    r = (int32_t)(((uint32_t)kSigmoid[uh] << 8) +
                  (a & 0xFFu) * (uint32_t)(kSigmoid[uh + 1] - kSigmoid[uh]));
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  return (int16_t)(r >> 8);
}

/* TFLite's 64-bit MultiplyByQuantizedMultiplier: the multiplier rounded to 16 bits. */
static int32_t mul_by_quantized_multiplier_i64(int64_t x, int32_t mult, int shift) {
  const int64_t reduced = mult < 0x7FFF0000 ? (mult + (1 << 15)) >> 16 : 0x7FFF;
  const int total = 15 - shift;
  int64_t r = (x * reduced + ((int64_t)1 << (total - 1))) >> total;
  if (r > INT32_MAX) r = INT32_MAX;
  if (r < INT32_MIN) r = INT32_MIN;
  return (int32_t)r;
}

static int16_t sat16(int32_t v) {
  return (int16_t)tml_clamp_i32(v, -32768, 32767);
}

static long row_of(const tml_lstm_params* p, int t, int b) {
  return p->time_major ? (long)t * p->batch + b : (long)b * p->time + t;
}

static float sigmoidf_(float x) {
  return 1.0f / (1.0f + tml_expf(-x));
}

void tml_lstm_f32(const tml_lstm_params* p, const float* in, const float* w_in, const float* w_rec,
                  const float* bias, float* h_state, float* c_state, float* out, void* scratch) {
  const int I = p->input_size, H = p->units;
  float* g = (float*)scratch; /* 4 units */
  for (int b = 0; b < p->batch; ++b) {
    float* h = h_state + (long)b * H;
    float* c = c_state + (long)b * H;
    for (int t = 0; t < p->time; ++t) {
      const float* x = in + row_of(p, t, b) * I;
      for (int r = 0; r < 4 * H; ++r) {
        const float* wi = w_in + (long)r * I;
        const float* wr = w_rec + (long)r * H;
        float s = bias ? bias[r] : 0.0f;
        for (int i = 0; i < I; ++i) s += wi[i] * x[i];
        for (int j = 0; j < H; ++j) s += wr[j] * h[j];
        g[r] = r / H == 2 ? tml_tanhf(s) : sigmoidf_(s);
      }
      for (int j = 0; j < H; ++j) {
        float v = g[H + j] * c[j] + g[j] * g[2 * H + j];
        if (p->cell_clip_f > 0.0f)
          v = v < -p->cell_clip_f ? -p->cell_clip_f : v > p->cell_clip_f ? p->cell_clip_f : v;
        c[j] = v;
        h[j] = g[3 * H + j] * tml_tanhf(v);
      }
      float* y = out + row_of(p, t, b) * H;
      for (int j = 0; j < H; ++j) y[j] = h[j];
    }
  }
}

/* From the four gates' Q3.12 pre-activations in g: gates, cell and hidden state. */
static void lstm_update_q(const tml_lstm_params* p, int16_t* g, int16_t* c, int32_t* h) {
  const int H = p->units;
  for (int r = 0; r < 4 * H; ++r)
    g[r] = r / H == 2 ? tml_tanh_q15(g[r], 3, 0) : tml_sigmoid_q15(g[r]);
  for (int j = 0; j < H; ++j) {
    const int32_t fc =
        tml_mul_by_quantized_multiplier((int32_t)g[H + j] * c[j], p->fc_mult, p->fc_shift);
    const int32_t ig =
        tml_mul_by_quantized_multiplier((int32_t)g[j] * g[2 * H + j], p->ig_mult, p->ig_shift);
    int32_t v = sat16(sat16(fc) + sat16(ig));
    if (p->cell_clip > 0) v = tml_clamp_i32(v, -p->cell_clip, p->cell_clip);
    c[j] = (int16_t)v;
    const int32_t th = tml_tanh_q15(v, p->th_mult, p->th_shift);
    h[j] = tml_clamp_i32(
        tml_mul_by_quantized_multiplier(th * g[3 * H + j], p->h_mult, p->h_shift) + p->h_zero_point,
        p->h_min, p->h_max);
  }
}

void tml_lstm_s8(const tml_lstm_params* p, const int8_t* in, const int8_t* w_in,
                 const int8_t* w_rec, const int32_t* bias, int8_t* h_state, int16_t* c_state,
                 int8_t* out, void* scratch) {
  const int I = p->input_size, H = p->units;
  int16_t* g = (int16_t*)scratch;             /* 4 units */
  int32_t* hn = (int32_t*)(void*)(g + 4 * H); /* units */
  for (int b = 0; b < p->batch; ++b) {
    int8_t* h = h_state + (long)b * H;
    int16_t* c = c_state + (long)b * H;
    for (int t = 0; t < p->time; ++t) {
      const int8_t* x = in + row_of(p, t, b) * I;
      for (int r = 0; r < 4 * H; ++r) {
        const int k = r / H;
        const int8_t* wi = w_in + (long)r * I;
        const int8_t* wr = w_rec + (long)r * H;
        int32_t a = bias ? bias[r] : 0, s = 0;
        for (int i = 0; i < I; ++i) a += (int32_t)wi[i] * ((int32_t)x[i] - p->in_zero_point);
        for (int j = 0; j < H; ++j) s += (int32_t)wr[j] * ((int32_t)h[j] - p->h_zero_point);
        a = sat16(tml_mul_by_quantized_multiplier(a, p->in_mult[k], p->in_shift[k]));
        s = sat16(tml_mul_by_quantized_multiplier(s, p->rec_mult[k], p->rec_shift[k]));
        g[r] = sat16(a + s);
      }
      lstm_update_q(p, g, c, hn);
      int8_t* y = out + row_of(p, t, b) * H;
      for (int j = 0; j < H; ++j) y[j] = h[j] = (int8_t)hn[j];
    }
  }
}

void tml_lstm_s16(const tml_lstm_params* p, const int16_t* in, const int8_t* w_in,
                  const int8_t* w_rec, const int64_t* bias, int16_t* h_state, int16_t* c_state,
                  int16_t* out, void* scratch) {
  const int I = p->input_size, H = p->units;
  int16_t* g = (int16_t*)scratch;
  int32_t* hn = (int32_t*)(void*)(g + 4 * H);
  for (int b = 0; b < p->batch; ++b) {
    int16_t* h = h_state + (long)b * H;
    int16_t* c = c_state + (long)b * H;
    for (int t = 0; t < p->time; ++t) {
      const int16_t* x = in + row_of(p, t, b) * I;
      for (int r = 0; r < 4 * H; ++r) {
        const int k = r / H;
        const int8_t* wi = w_in + (long)r * I;
        const int8_t* wr = w_rec + (long)r * H;
        int64_t a = bias ? bias[r] : 0, s = 0;
        for (int i = 0; i < I; ++i) a += (int32_t)wi[i] * (int32_t)x[i];
        for (int j = 0; j < H; ++j) s += (int32_t)wr[j] * (int32_t)h[j];
        const int32_t qa = sat16(mul_by_quantized_multiplier_i64(a, p->in_mult[k], p->in_shift[k]));
        const int32_t qs =
            sat16(mul_by_quantized_multiplier_i64(s, p->rec_mult[k], p->rec_shift[k]));
        g[r] = sat16(qa + qs);
      }
      lstm_update_q(p, g, c, hn);
      int16_t* y = out + row_of(p, t, b) * H;
      for (int j = 0; j < H; ++j) y[j] = h[j] = (int16_t)hn[j];
    }
  }
}
