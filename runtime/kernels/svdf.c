/* SVDF (TFLite's BuiltinOperator_SVDF): a rank-r factored fully connected layer over the
 * last `memory` frames, whose state (the feature projections of those frames) lives in the
 * arena between invocations. Per invocation: the state shifts left by one frame, each
 * filter's projection of the new input fills the newest column, each filter's dot product
 * with its time weights goes to scratch, rank consecutive filters sum into a unit, bias.
 * State layout: [batch][filters][memory], oldest frame first. */
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

static void shift_state_f32(float* s, long n) {
  for (long i = 0; i + 1 < n; ++i) s[i] = s[i + 1];
}

void tml_svdf_f32(const tml_svdf_params* p, const float* in, const float* wf, const float* wt,
                  const float* bias, float* state, float* out, void* scratch) {
  const int F = p->filters, M = p->memory, U = p->units, R = p->rank;
  float* acc = (float*)scratch; /* filters */
  shift_state_f32(state, (long)p->batch * F * M);
  for (int b = 0; b < p->batch; ++b) {
    const float* x = in + (long)b * p->input_size;
    float* st = state + (long)b * F * M;
    for (int f = 0; f < F; ++f) {
      const float* w = wf + (long)f * p->input_size;
      float d = 0.0f;
      for (int i = 0; i < p->input_size; ++i) d += w[i] * x[i];
      st[(long)f * M + M - 1] = d;
    }
    for (int f = 0; f < F; ++f) {
      const float* w = wt + (long)f * M;
      const float* s = st + (long)f * M;
      float d = 0.0f;
      for (int j = 0; j < M; ++j) d += w[j] * s[j];
      acc[f] = d;
    }
    for (int u = 0; u < U; ++u) {
      float v = bias ? bias[u] : 0.0f;
      for (int r = 0; r < R; ++r) v += acc[u * R + r];
      v = v < p->act_min_f ? p->act_min_f : v;
      out[(long)b * U + u] = v > p->act_max_f ? p->act_max_f : v;
    }
  }
}

void tml_svdf_s8(const tml_svdf_params* p, const int8_t* in, const int8_t* wf, const int16_t* wt,
                 const int32_t* bias, int16_t* state, int8_t* out, void* scratch) {
  const int F = p->filters, M = p->memory, U = p->units;
  int32_t* acc = (int32_t*)scratch; /* filters */
  {
    const long n = (long)p->batch * F * M;
    for (long i = 0; i + 1 < n; ++i) state[i] = state[i + 1];
  }
  for (int b = 0; b < p->batch; ++b) {
    const int8_t* x = in + (long)b * p->input_size;
    int16_t* st = state + (long)b * F * M;
    for (int f = 0; f < F; ++f) { /* the newest column, int16 (symmetric state) */
      const int8_t* w = wf + (long)f * p->input_size;
      int32_t d = 0;
      for (int i = 0; i < p->input_size; ++i)
        d += (int32_t)w[i] * ((int32_t)x[i] - p->in_zero_point);
      d = tml_mul_by_quantized_multiplier(d, p->mult1, p->shift1);
      st[(long)f * M + M - 1] = (int16_t)tml_clamp_i32(d, -32768, 32767);
    }
    for (int f = 0; f < F; ++f) {
      const int16_t* w = wt + (long)f * M;
      const int16_t* s = st + (long)f * M;
      int32_t d = 0;
      for (int j = 0; j < M; ++j) d += (int32_t)w[j] * s[j];
      acc[f] = d;
    }
    tml_svdf_units_s8(p, acc, bias, out + (long)b * U);
  }
}

void tml_svdf_units_s8(const tml_svdf_params* p, const int32_t* acc, const int32_t* bias,
                       int8_t* out) {
  for (int u = 0; u < p->units; ++u) {
    int32_t v = 0;
    for (int r = 0; r < p->rank; ++r) v += acc[u * p->rank + r];
    if (bias) v += bias[u];
    v = tml_mul_by_quantized_multiplier(v, p->mult2, p->shift2) + p->out_zero_point;
    out[u] = (int8_t)tml_clamp_i32(v, p->act_min, p->act_max);
  }
}
