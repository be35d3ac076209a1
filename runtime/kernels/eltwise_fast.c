/* Optimized int8 element-wise Add / Sub without broadcasting, bit-exact with
 * tml_binary_s8 (TFLite's scheme: both inputs shifted left by left_shift,
 * rescaled to a common scale, summed, rescaled to the output).
 *
 * With int8 inputs and left_shift <= 20, every intermediate stays below 2^30 in
 * magnitude, so each MultiplyByQuantizedMultiplier becomes SMMULR(2 x, M) plus
 * a rounding shift (see tml_rq_apply in tml_simd.h). On DSP cores four inputs
 * are unpacked per word with SXTB16 and offset with SADD16. Anything outside
 * these conditions (left shifts in the multipliers, broadcasting) runs the
 * reference kernel. */
#include "tml_simd.h"

/* Rounding divide by 2^r (r >= 0), half away from zero, for |v| < 2^30. */
static inline int32_t tml_rshift_round(int32_t v, int32_t r, int32_t half, int32_t neg) {
  return (v + half + ((v >> 31) & neg)) >> r;
}

void tml_add_s8_fast(const tml_binary_params* p, const int8_t* a, const int8_t* b, int8_t* out) {
  if (!p->flat || (p->kind != TML_BIN_ADD && p->kind != TML_BIN_SUB) || p->left_shift > 20 ||
      p->a_shift > 0 || p->b_shift > 0 || p->out_shift > 0 || -p->a_shift > 30 ||
      -p->b_shift > 30 || -p->out_shift > 30) {
    tml_binary_s8(p, a, b, out);
    return;
  }
  const int32_t ls = p->left_shift + 1; /* the extra 1 doubles for SMMULR */
  const int32_t am = p->a_mult, bm = p->b_mult, om = p->out_mult;
  const int32_t ar = -p->a_shift, br = -p->b_shift, orr = -p->out_shift;
  const int32_t ah = ar ? 1 << (ar - 1) : 0, an = ar ? -1 : 0;
  const int32_t bh = br ? 1 << (br - 1) : 0, bn = br ? -1 : 0;
  const int32_t oh = orr ? 1 << (orr - 1) : 0, on = orr ? -1 : 0;
  const int32_t oo = p->out_offset, lo = p->q_act_min, hi = p->q_act_max;
  const int32_t sub = p->kind == TML_BIN_SUB;
  const int32_t n = p->count;
  int32_t i = 0;
#define TML_ADD_ONE(XA, XB, DST)                                                        \
  do {                                                                                  \
    const int32_t sa_ = tml_rshift_round(tml_smmulr((XA) * (1 << ls), am), ar, ah, an); \
    const int32_t sb_ = tml_rshift_round(tml_smmulr((XB) * (1 << ls), bm), br, bh, bn); \
    const int32_t s_ = sub ? sa_ - sb_ : sa_ + sb_;                                     \
    int32_t v_ = tml_rshift_round(tml_smmulr(s_ * 2, om), orr, oh, on) + oo;            \
    (DST) = (int8_t)(v_ < lo ? lo : (v_ > hi ? hi : v_));                               \
  } while (0)
#ifdef TML_HAVE_DSP
  const uint32_t aoff2 = ((uint32_t)(uint16_t)p->a_offset << 16) | (uint16_t)p->a_offset;
  const uint32_t boff2 = ((uint32_t)(uint16_t)p->b_offset << 16) | (uint16_t)p->b_offset;
  for (; i + 4 <= n; i += 4) {
    const uint32_t va = *(const tml_u32_unaligned*)(a + i);
    const uint32_t vb = *(const tml_u32_unaligned*)(b + i);
    /* (a0 a2) and (a1 a3) as int16 pairs, plus the offsets: |value| <= 255. */
    const int32_t ae = (int32_t)__sadd16(__sxtb16(va), aoff2);
    const int32_t ao = (int32_t)__sadd16(tml_sxtb16_ror8(va), aoff2);
    const int32_t be = (int32_t)__sadd16(__sxtb16(vb), boff2);
    const int32_t bo = (int32_t)__sadd16(tml_sxtb16_ror8(vb), boff2);
    TML_ADD_ONE((int32_t)(int16_t)ae, (int32_t)(int16_t)be, out[i]);
    TML_ADD_ONE((int32_t)(int16_t)ao, (int32_t)(int16_t)bo, out[i + 1]);
    TML_ADD_ONE(ae >> 16, be >> 16, out[i + 2]);
    TML_ADD_ONE(ao >> 16, bo >> 16, out[i + 3]);
  }
#endif
  for (; i < n; ++i) TML_ADD_ONE(a[i] + p->a_offset, b[i] + p->b_offset, out[i]);
#undef TML_ADD_ONE
}
