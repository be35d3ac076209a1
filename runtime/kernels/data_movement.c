/* Pad, transpose, concatenation and copy: type-agnostic byte movers. */
#include "tml_kernels.h"

static void tml_bytes_copy(uint8_t* dst, const uint8_t* src, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
}

void tml_copy(const void* in, void* out, int32_t bytes) {
  if (in != out) tml_bytes_copy((uint8_t*)out, (const uint8_t*)in, bytes);
}

void tml_pad(const tml_pad_params* p, const void* in, void* out) {
  const uint8_t* src = (const uint8_t*)in;
  uint8_t* dst = (uint8_t*)out;
  int32_t total = 1;
  for (int d = 0; d < p->rank; ++d) total *= p->out_shape[d];
  int32_t idx[TML_MAX_DIMS] = {0, 0, 0, 0, 0, 0};
  for (int32_t i = 0; i < total; ++i) {
    int32_t src_index = 0, inside = 1;
    for (int d = 0; d < p->rank; ++d) {
      const int32_t s = idx[d] - p->pad_before[d];
      if (s < 0 || s >= p->in_shape[d]) inside = 0;
      src_index = src_index * p->in_shape[d] + s;
    }
    if (inside)
      tml_bytes_copy(dst + i * p->elem_size, src + src_index * p->elem_size, p->elem_size);
    else
      tml_bytes_copy(dst + i * p->elem_size, p->pad_value, p->elem_size);
    for (int d = p->rank - 1; d >= 0; --d) {
      if (++idx[d] < p->out_shape[d]) break;
      idx[d] = 0;
    }
  }
}

void tml_transpose(const tml_transpose_params* p, const void* in, void* out) {
  const uint8_t* src = (const uint8_t*)in;
  uint8_t* dst = (uint8_t*)out;
  int32_t total = 1;
  for (int d = 0; d < p->rank; ++d) total *= p->out_shape[d];
  int32_t idx[TML_MAX_DIMS] = {0, 0, 0, 0, 0, 0};
  int32_t src_index = 0;
  for (int32_t i = 0; i < total; ++i) {
    tml_bytes_copy(dst + i * p->elem_size, src + src_index * p->elem_size, p->elem_size);
    for (int d = p->rank - 1; d >= 0; --d) {
      src_index += p->in_stride[d];
      if (++idx[d] < p->out_shape[d]) break;
      src_index -= p->in_stride[d] * p->out_shape[d];
      idx[d] = 0;
    }
  }
}

void tml_concat(const tml_concat_params* p, const void* const* inputs, void* out) {
  uint8_t* dst = (uint8_t*)out;
  for (int32_t o = 0; o < p->outer; ++o)
    for (int32_t k = 0; k < p->num_inputs; ++k) {
      const uint8_t* src = (const uint8_t*)inputs[k] + o * p->inner_bytes[k];
      tml_bytes_copy(dst, src, p->inner_bytes[k]);
      dst += p->inner_bytes[k];
    }
}
