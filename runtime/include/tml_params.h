/* Field lists of the kernel parameter structs (tml_kernels.h), in declaration order.
 *
 * One list per struct drives every place that walks a struct field by field: the C code
 * generator's initializers, the model-package writer on the host and the package
 * decoder on the device, so the three cannot disagree about a field. A list takes
 * five visitor macros:
 *   I(name)              int32_t field
 *   F(name)              float field
 *   P(type, name)        const type* field (a constant array)
 *   A(name, n)           int32_t name[n]
 *   B(name, n)           uint8_t name[n]
 *   S(type, name, LIST)  nested struct of the given type, walked with its own list
 *
 *   #define PRINT_I(name) printf(#name " = %d\n", (int)p->name);
 *   TML_SOFTMAX_FIELDS(PRINT_I, ...)
 */
#ifndef TML_PARAMS_H
#define TML_PARAMS_H

#include "tml_kernels.h"

#define TML_REQUANT_FIELDS(I, F, P, A, B, S) \
  I(input_offset)                            \
  I(filter_offset)                           \
  I(output_offset)                           \
  I(act_min) I(act_max) P(int32_t, multiplier) P(int32_t, shift) I(per_channel) P(int32_t, fast)

#define TML_CONV_FIELDS(I, F, P, A, B, S)                                                          \
  I(batch)                                                                                         \
  I(in_h)                                                                                          \
  I(in_w)                                                                                          \
  I(in_c)                                                                                          \
  I(out_h)                                                                                         \
  I(out_w) I(out_c) I(k_h) I(k_w) I(stride_h) I(stride_w) I(dil_h) I(dil_w) I(pad_top) I(pad_left) \
      I(depth_multiplier) F(act_min) F(act_max) S(tml_requant, q, TML_REQUANT_FIELDS)

#define TML_FC_FIELDS(I, F, P, A, B, S) \
  I(batch)                              \
  I(in_features) I(out_features) F(act_min) F(act_max) S(tml_requant, q, TML_REQUANT_FIELDS)

#define TML_POOL_FIELDS(I, F, P, A, B, S)                                                 \
  I(batch)                                                                                \
  I(in_h)                                                                                 \
  I(in_w)                                                                                 \
  I(channels)                                                                             \
  I(out_h)                                                                                \
  I(out_w) I(k_h) I(k_w) I(stride_h) I(stride_w) I(dil_h) I(dil_w) I(pad_top) I(pad_left) \
      I(count_include_pad) F(act_min) F(act_max) I(q_act_min) I(q_act_max)

#define TML_BINARY_FIELDS(I, F, P, A, B, S)                                                    \
  I(kind)                                                                                      \
  A(out_shape, TML_MAX_DIMS)                                                                   \
  A(a_stride, TML_MAX_DIMS)                                                                    \
  A(b_stride, TML_MAX_DIMS)                                                                    \
  I(flat)                                                                                      \
  I(count) F(act_min) F(act_max) I(a_offset) I(b_offset) I(out_offset) I(left_shift) I(a_mult) \
      I(a_shift) I(b_mult) I(b_shift) I(out_mult) I(out_shift) I(q_act_min) I(q_act_max)

#define TML_UNARY_FIELDS(I, F, P, A, B, S) \
  I(kind)                                  \
  I(count)                                 \
  F(min)                                   \
  F(max)                                   \
  F(alpha)                                 \
  I(in_zero_point) I(out_zero_point) I(mult) I(shift) I(input_range_radius) I(q_min) I(q_max)

#define TML_SOFTMAX_FIELDS(I, F, P, A, B, S) \
  I(outer) I(depth) F(beta) I(input_multiplier) I(input_left_shift) I(diff_min) I(log)

#define TML_QUANT_FIELDS(I, F, P, A, B, S) \
  I(count)                                 \
  I(channels)                              \
  I(inner)                                 \
  P(float, scale)                          \
  P(int32_t, zero_point) I(round_half_even) I(q_min) I(q_max) I(in_zero_point) I(mult) I(shift)

#define TML_MEAN_FIELDS(I, F, P, A, B, S) \
  I(outer) I(reduce) I(inner) I(in_zero_point) I(out_zero_point) I(mult) I(shift)

#define TML_MFCC_FIELDS(I, F, P, A, B, S) \
  I(sample_rate)                          \
  I(frame_length)                         \
  I(frame_step)                           \
  I(fft_length)                           \
  I(window)                               \
  I(power) I(num_mel) I(num_mfcc) I(frames) I(deltas) F(lower_hz) F(upper_hz) F(log_offset)

#define TML_SVDF_FIELDS(I, F, P, A, B, S)                                                      \
  I(batch)                                                                                     \
  I(input_size)                                                                                \
  I(filters)                                                                                   \
  I(memory)                                                                                    \
  I(rank)                                                                                      \
  I(units) I(in_zero_point) I(out_zero_point) I(mult1) I(shift1) I(mult2) I(shift2) I(act_min) \
      I(act_max) F(act_min_f) F(act_max_f)

#define TML_LSTM_FIELDS(I, F, P, A, B, S)                                                        \
  I(time)                                                                                        \
  I(batch)                                                                                       \
  I(input_size)                                                                                  \
  I(units)                                                                                       \
  I(time_major)                                                                                  \
  I(in_zero_point) I(h_zero_point) I(h_min) I(h_max) A(in_mult, 4) A(in_shift, 4) A(rec_mult, 4) \
      A(rec_shift, 4) I(fc_mult) I(fc_shift) I(ig_mult) I(ig_shift) I(h_mult) I(h_shift)         \
          I(th_mult) I(th_shift) I(cell_clip) F(cell_clip_f)

#define TML_PAD_FIELDS(I, F, P, A, B, S) \
  I(rank)                                \
  I(elem_size)                           \
  A(in_shape, TML_MAX_DIMS) A(pad_before, TML_MAX_DIMS) A(out_shape, TML_MAX_DIMS) B(pad_value, 4)

#define TML_TRANSPOSE_FIELDS(I, F, P, A, B, S) \
  I(rank) I(elem_size) A(out_shape, TML_MAX_DIMS) A(in_stride, TML_MAX_DIMS)

#define TML_CONCAT_FIELDS(I, F, P, A, B, S) I(num_inputs) I(outer) A(inner_bytes, 8)

/* tml_copy takes no parameter struct; its byte count travels as one. */
typedef struct {
  int32_t bytes;
} tml_copy_params;
#define TML_COPY_FIELDS(I, F, P, A, B, S) I(bytes)

/* Every parameter struct: X(type, FIELD_LIST). */
#define TML_PARAM_STRUCTS(X)                    \
  X(tml_conv_params, TML_CONV_FIELDS)           \
  X(tml_fc_params, TML_FC_FIELDS)               \
  X(tml_pool_params, TML_POOL_FIELDS)           \
  X(tml_binary_params, TML_BINARY_FIELDS)       \
  X(tml_unary_params, TML_UNARY_FIELDS)         \
  X(tml_softmax_params, TML_SOFTMAX_FIELDS)     \
  X(tml_quant_params, TML_QUANT_FIELDS)         \
  X(tml_mean_params, TML_MEAN_FIELDS)           \
  X(tml_pad_params, TML_PAD_FIELDS)             \
  X(tml_transpose_params, TML_TRANSPOSE_FIELDS) \
  X(tml_concat_params, TML_CONCAT_FIELDS)       \
  X(tml_copy_params, TML_COPY_FIELDS)           \
  X(tml_mfcc_params, TML_MFCC_FIELDS)           \
  X(tml_svdf_params, TML_SVDF_FIELDS)           \
  X(tml_lstm_params, TML_LSTM_FIELDS)

#endif /* TML_PARAMS_H */
