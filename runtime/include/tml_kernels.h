/* TinyMLaaS reference kernels: the specification of what every device computes.
 *
 * Portable C99, no malloc, no I/O. Tensors are dense, row-major, NHWC for
 * images. Parameter structs are filled once when a model is prepared (by the
 * host interpreter or as constants in generated code); kernels trust them and
 * do no checking on the inference path.
 *
 * Usage:
 *   tml_conv_params p = {...};            // geometry, offsets, requant arrays
 *   tml_conv2d_s8(&p, input, filter, bias, output);
 */
#ifndef TML_KERNELS_H
#define TML_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TML_MAX_DIMS 6

/* Requantization of an int8 result: out = clamp(MBQM(acc, mult, shift) + out_offset). */
typedef struct {
  int32_t input_offset;  /* -input zero point */
  int32_t filter_offset; /* -filter zero point (0 for symmetric weights) */
  int32_t output_offset; /* output zero point */
  int32_t act_min, act_max;
  const int32_t* multiplier; /* one per output channel, or one if per_channel == 0 */
  const int32_t* shift;
  int32_t per_channel;
  /* Optional (optimized kernels only): per output channel, padded to a multiple of
   * four channels, three words {multiplier, 2^(r-1) + (output_offset << r), r} with
   * r = -shift in 1..22; set by the compiler when it has proved that the accumulator
   * stays within +-2^30. Enables the SMMLAR requantization (tml_rq_fast in tml_simd.h). */
  const int32_t* fast;
} tml_requant;

/* Conv2D (filter OHWI) and DepthwiseConv2D (filter 1HW(C*M)); input/output NHWC. */
typedef struct {
  int32_t batch, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t depth_multiplier;
  float act_min, act_max; /* float kernels only */
  tml_requant q;          /* int8 kernels only */
} tml_conv_params;

void tml_conv2d_f32(const tml_conv_params* p, const float* in, const float* filter,
                    const float* bias, float* out);
void tml_conv2d_s8(const tml_conv_params* p, const int8_t* in, const int8_t* filter,
                   const int32_t* bias, int8_t* out);
void tml_depthwise_conv2d_f32(const tml_conv_params* p, const float* in, const float* filter,
                              const float* bias, float* out);
void tml_depthwise_conv2d_s8(const tml_conv_params* p, const int8_t* in, const int8_t* filter,
                             const int32_t* bias, int8_t* out);

/* Optimized int8 conv / fully connected (conv_fast.c, dwconv_fast.c), bit-exact
 * with the reference kernels. corr[oc] = bias[oc] + io * sum(w[oc]) + K * fo * io,
 * where io / fo are the input / filter offsets and K the dot-product length.
 * Conv2D: filter offset 0; wpack in the layout described in conv_fast.c; corr has
 * roundup(out_c, 2) entries; scratch of 20 * ceil(k_h * k_w * in_c / 4) bytes,
 * 4-byte aligned. */
void tml_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int8_t* wpack,
                        const int32_t* corr, int8_t* out, int8_t* scratch);
/* Depth multiplier 1 and filter offset 0 only. blocks: per group of four channels,
 * corr[4] (corr[c] = bias[c] + io * sum over taps of w[c]) and the weights widened to
 * int16, in the layout described in dwconv_fast.c; cols: scratch of
 * k_h * ((out_w - 1) * stride_w + (k_w - 1) * dil_w + 1) * 4 * ceil(in_c / 4) bytes,
 * 4-byte aligned. */
void tml_depthwise_conv2d_s8_fast(const tml_conv_params* p, const int8_t* in, const int32_t* blocks,
                                  int8_t* out, int8_t* cols);

/* FullyConnected: out[b][o] = sum_k in[b][k] * w[o][k] + bias[o]. */
typedef struct {
  int32_t batch, in_features, out_features;
  float act_min, act_max;
  tml_requant q;
} tml_fc_params;

void tml_fully_connected_f32(const tml_fc_params* p, const float* in, const float* w,
                             const float* bias, float* out);
void tml_fully_connected_s8(const tml_fc_params* p, const int8_t* in, const int8_t* w,
                            const int32_t* bias, int8_t* out);
void tml_fully_connected_s8_fast(const tml_fc_params* p, const int8_t* in, const int8_t* w,
                                 const int32_t* corr, int8_t* out);

/* Average / max pooling, NHWC. Padding cells are not counted by average pooling
 * unless count_include_pad is set. */
typedef struct {
  int32_t batch, in_h, in_w, channels, out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t count_include_pad;
  float act_min, act_max;
  int32_t q_act_min, q_act_max;
} tml_pool_params;

void tml_avg_pool_f32(const tml_pool_params* p, const float* in, float* out);
void tml_avg_pool_s8(const tml_pool_params* p, const int8_t* in, int8_t* out);
void tml_max_pool_f32(const tml_pool_params* p, const float* in, float* out);
void tml_max_pool_s8(const tml_pool_params* p, const int8_t* in, int8_t* out);
/* pool_fast.c: the same results, windows clipped once, SIMD on DSP cores. */
void tml_avg_pool_s8_fast(const tml_pool_params* p, const int8_t* in, int8_t* out);
void tml_max_pool_s8_fast(const tml_pool_params* p, const int8_t* in, int8_t* out);

/* Element-wise binary op with numpy broadcasting. Shapes are padded to rank
 * TML_MAX_DIMS; a stride of 0 broadcasts. */
typedef enum { TML_BIN_ADD = 0, TML_BIN_SUB = 1, TML_BIN_MUL = 2, TML_BIN_DIV = 3 } tml_bin_kind;

typedef struct {
  int32_t kind;
  int32_t out_shape[TML_MAX_DIMS];
  int32_t a_stride[TML_MAX_DIMS];
  int32_t b_stride[TML_MAX_DIMS];
  int32_t flat; /* 1: all three have the same shape */
  int32_t count;
  float act_min, act_max;
  /* int8 add/sub: TFLite's scheme with a 20-bit left shift. mul: a single output multiplier. */
  int32_t a_offset, b_offset, out_offset, left_shift;
  int32_t a_mult, a_shift, b_mult, b_shift, out_mult, out_shift;
  int32_t q_act_min, q_act_max;
} tml_binary_params;

void tml_binary_f32(const tml_binary_params* p, const float* a, const float* b, float* out);
void tml_binary_s8(const tml_binary_params* p, const int8_t* a, const int8_t* b, int8_t* out);
/* eltwise_fast.c: int8 Add / Sub of same-shaped tensors (falls back to tml_binary_s8). */
void tml_add_s8_fast(const tml_binary_params* p, const int8_t* a, const int8_t* b, int8_t* out);

/* Unary element-wise ops. */
typedef enum {
  TML_UN_CLIP = 0,
  TML_UN_LOGISTIC = 1,
  TML_UN_TANH = 2,
  TML_UN_LEAKY_RELU = 3
} tml_unary_kind;

typedef struct {
  int32_t kind;
  int32_t count;
  float min, max, alpha; /* clip bounds; leaky relu slope */
  /* int8: clip = requantize then clamp; logistic / tanh use the gemmlowp Q4 input path. */
  int32_t in_zero_point, out_zero_point;
  int32_t mult, shift;
  int32_t input_range_radius;
  int32_t q_min, q_max;
} tml_unary_params;

void tml_unary_f32(const tml_unary_params* p, const float* in, float* out);
void tml_unary_s8(const tml_unary_params* p, const int8_t* in, int8_t* out);

/* Softmax over the innermost dimension. */
typedef struct {
  int32_t outer, depth;
  float beta;
  int32_t input_multiplier, input_left_shift, diff_min; /* int8 */
  int32_t log;                                          /* float only: log-softmax */
} tml_softmax_params;

void tml_softmax_f32(const tml_softmax_params* p, const float* in, float* out);
void tml_softmax_s8(const tml_softmax_params* p, const int8_t* in, int8_t* out);

/* Quantize (float -> int8, or int8 -> int8 requantize) and dequantize, per
 * tensor or per channel along a given axis: element i uses channel (i / inner) % channels. */
typedef struct {
  int32_t count, channels, inner;
  const float* scale;
  const int32_t* zero_point;
  int32_t round_half_even; /* ONNX rounding; TFLite rounds half away from zero */
  int32_t q_min, q_max;
  /* int8 -> int8 requantize */
  int32_t in_zero_point, mult, shift;
} tml_quant_params;

void tml_quantize_f32_s8(const tml_quant_params* p, const float* in, int8_t* out);
void tml_quantize_f32_u8(const tml_quant_params* p, const float* in, uint8_t* out);
void tml_requantize_s8(const tml_quant_params* p, const int8_t* in, int8_t* out);
void tml_dequantize_s8_f32(const tml_quant_params* p, const int8_t* in, float* out);
void tml_dequantize_u8_f32(const tml_quant_params* p, const uint8_t* in, float* out);
void tml_dequantize_s32_f32(const tml_quant_params* p, const int32_t* in, float* out); /* biases */

/* Mean over a contiguous range of axes, seen as [outer, reduce, inner]
 * (global average pooling of NHWC: outer = N, reduce = H*W, inner = C). */
typedef struct {
  int32_t outer, reduce, inner;
  int32_t in_zero_point, out_zero_point, mult, shift; /* int8 */
} tml_mean_params;

void tml_mean_f32(const tml_mean_params* p, const float* in, float* out);
void tml_mean_s8(const tml_mean_params* p, const int8_t* in, int8_t* out);

/* An MFCC (or log-mel) front end over raw samples (tml_dsp.h): frames x num_out
 * features from frames x frame_step + frame_length - frame_step samples. tables and
 * index: what tml_mfcc_init computed for this configuration (window, twiddles, mel
 * weights, DCT; the mel bands' bins); scratch: tml_mfcc_sizes' scratch floats (the
 * shared kernel scratch, aligned for floats). */
typedef struct {
  int32_t sample_rate, frame_length, frame_step, fft_length, window, power, num_mel, num_mfcc;
  int32_t frames, deltas; /* deltas > 0: each frame's features, then their deltas */
  float lower_hz, upper_hz, log_offset;
} tml_mfcc_params;

void tml_mfcc_f32(const tml_mfcc_params* p, const float* in, const float* tables,
                  const int32_t* index, float* out, void* scratch);
/* The fixed-point variant: int16 samples (q / 32768), tables and index from
 * tml_mfccq_init, features as floats (exactly the Q24 values / 2^24); scratch:
 * tml_mfccq_sizes' frame ints plus frames x features ints. */
void tml_mfcc_q15(const tml_mfcc_params* p, const int16_t* in, const int32_t* tables,
                  const int32_t* index, float* out, void* scratch);

/* SVDF (svdf.c; TFLite's operator): input [batch, input_size], weights_feature [filters,
 * input_size], weights_time [filters, memory], bias [units] or NULL, state [batch, filters x
 * memory] kept in the arena between invocations (zero at start), output [batch, units],
 * units = filters / rank. int8: int8 input and feature weights, int16 time weights and
 * state (symmetric), int32 bias; mult1/shift1 take a projection to the state's scale
 * (input x feature / state), mult2/shift2 a unit to the output's (state x time / output),
 * as TFLite's integer reference (no activation but the int8 clamp act_min..act_max).
 * scratch: filters floats or int32. */
typedef struct {
  int32_t batch, input_size, filters, memory, rank, units;
  int32_t in_zero_point, out_zero_point, mult1, shift1, mult2, shift2, act_min, act_max;
  float act_min_f, act_max_f;
} tml_svdf_params;

void tml_svdf_f32(const tml_svdf_params* p, const float* in, const float* wf, const float* wt,
                  const float* bias, float* state, float* out, void* scratch);
void tml_svdf_s8(const tml_svdf_params* p, const int8_t* in, const int8_t* wf, const int16_t* wt,
                 const int32_t* bias, int16_t* state, int8_t* out, void* scratch);
/* Units from the filters' time products (acc): rank sums, bias, requantized (svdf.c). */
void tml_svdf_units_s8(const tml_svdf_params* p, const int32_t* acc, const int32_t* bias,
                       int8_t* out);
/* The same bits, optimized (svdf_fast.c); scratch: filters int32, then input_size + 3 int16. */
void tml_svdf_s8_fast(const tml_svdf_params* p, const int8_t* in, const int8_t* wf,
                      const int16_t* wt, const int32_t* bias, int16_t* state, int8_t* out,
                      void* scratch);

/* UNIDIRECTIONAL_SEQUENCE_LSTM (lstm.c; TFLite's operator as Keras builds it: no peepholes,
 * projection, layer norm or CIFG, tanh): input [time, batch, input] (time_major) or [batch,
 * time, input], the four gates' weights stacked in TFLite's order (input, forget, cell,
 * output): w_in [4 units, input], w_rec [4 units, units], bias [4 units]; hidden state h and
 * cell state c [batch, units], kept in the arena between invocations; output [.., units]
 * (each step's h). Integer variants as TFLite's integer LSTM: in/rec mult and shift take
 * each gate's products to int16 Q3.12; cell scale 2^cell_power; fc (f x c -> c), ig (i x g ->
 * c) and h (tanh(c) x o -> h) requantize the element-wise products; th_mult / th_shift scale
 * c for the int16 tanh; cell_clip quantized (0 = none). scratch: 4 units int16 (or float),
 * then units int32. */
typedef struct {
  int32_t time, batch, input_size, units, time_major;
  int32_t in_zero_point, h_zero_point, h_min, h_max;
  int32_t in_mult[4], in_shift[4], rec_mult[4], rec_shift[4];
  int32_t fc_mult, fc_shift, ig_mult, ig_shift, h_mult, h_shift, th_mult, th_shift, cell_clip;
  float cell_clip_f;
} tml_lstm_params;

void tml_lstm_f32(const tml_lstm_params* p, const float* in, const float* w_in, const float* w_rec,
                  const float* bias, float* h, float* c, float* out, void* scratch);
/* int8 input and hidden state ("8x8_16": int8 weights, int32 bias, int16 cell). */
void tml_lstm_s8(const tml_lstm_params* p, const int8_t* in, const int8_t* w_in,
                 const int8_t* w_rec, const int32_t* bias, int8_t* h, int16_t* c, int8_t* out,
                 void* scratch);
/* int16 input and hidden state ("16x8": int8 weights, int64 bias, int16 cell). */
void tml_lstm_s16(const tml_lstm_params* p, const int16_t* in, const int8_t* w_in,
                  const int8_t* w_rec, const int64_t* bias, int16_t* h, int16_t* c, int16_t* out,
                  void* scratch);
/* TFLite's int16 sigmoid (Q3.12 in) and tanh (x * mult >> shift rounded, then Q3.12), both
 * to Q0.15, through its 256-entry table of sigmoid(i / 24) (lstm.c). */
int16_t tml_sigmoid_q15(int32_t x);
int16_t tml_tanh_q15(int32_t x, int32_t mult, int32_t shift);
const uint16_t* tml_sigmoid_table(void);

/* Data movement, element size in bytes, any type. */
typedef struct {
  int32_t rank, elem_size;
  int32_t in_shape[TML_MAX_DIMS];
  int32_t pad_before[TML_MAX_DIMS];
  int32_t out_shape[TML_MAX_DIMS];
  uint8_t pad_value[4]; /* element bytes to fill with */
} tml_pad_params;

void tml_pad(const tml_pad_params* p, const void* in, void* out);

typedef struct {
  int32_t rank, elem_size;
  int32_t out_shape[TML_MAX_DIMS];
  int32_t in_stride[TML_MAX_DIMS]; /* input stride for each output dimension */
} tml_transpose_params;

void tml_transpose(const tml_transpose_params* p, const void* in, void* out);

/* Concatenation: outer blocks, each input contributes inner_bytes[i] per block. */
typedef struct {
  int32_t num_inputs, outer;
  int32_t inner_bytes[8];
} tml_concat_params;

void tml_concat(const tml_concat_params* p, const void* const* inputs, void* out);

void tml_copy(const void* in, void* out, int32_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_H */
