/* Reference FullyConnected, float32 and int8. */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

void tml_fully_connected_f32(const tml_fc_params* p, const float* in, const float* w,
                             const float* bias, float* out) {
  for (int b = 0; b < p->batch; ++b)
    for (int o = 0; o < p->out_features; ++o) {
      const float* ip = in + (int32_t)b * p->in_features;
      const float* wp = w + (int32_t)o * p->in_features;
      float acc = 0.0f;
      for (int k = 0; k < p->in_features; ++k) acc += ip[k] * wp[k];
      if (bias) acc += bias[o];
      if (acc < p->act_min) acc = p->act_min;
      if (acc > p->act_max) acc = p->act_max;
      out[(int32_t)b * p->out_features + o] = acc;
    }
}

void tml_fully_connected_s8(const tml_fc_params* p, const int8_t* in, const int8_t* w,
                            const int32_t* bias, int8_t* out) {
  const tml_requant* q = &p->q;
  for (int b = 0; b < p->batch; ++b)
    for (int o = 0; o < p->out_features; ++o) {
      const int8_t* ip = in + (int32_t)b * p->in_features;
      const int8_t* wp = w + (int32_t)o * p->in_features;
      int32_t acc = 0;
      for (int k = 0; k < p->in_features; ++k)
        acc += ((int32_t)wp[k] + q->filter_offset) * ((int32_t)ip[k] + q->input_offset);
      if (bias) acc += bias[o];
      const int ch = q->per_channel ? o : 0;
      acc = tml_mul_by_quantized_multiplier(acc, q->multiplier[ch], q->shift[ch]);
      acc += q->output_offset;
      out[(int32_t)b * p->out_features + o] = (int8_t)tml_clamp_i32(acc, q->act_min, q->act_max);
    }
}
