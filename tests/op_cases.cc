#include "op_cases.h"

#include <random>

#include "fixtures.h"
#include "formats/import.h"
#include "prepare/builder.h"

namespace tml::testing {

QuantParams Q(float scale, int64_t zero_point) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {zero_point};
  return q;
}

std::vector<int8_t> RandomI8(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  return v;
}

std::vector<int32_t> RandomI32(size_t n, int32_t range, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = static_cast<int32_t>(rng() % (2 * range + 1)) - range;
  return v;
}

namespace {

Attrs ConvAttrs(int stride, int pad_t, int pad_l, int pad_b, int pad_r, float lo = kNoMin,
                float hi = kNoMax) {
  Attrs a;
  a.Set("stride_h", stride);
  a.Set("stride_w", stride);
  a.Set("pad_top", pad_t);
  a.Set("pad_left", pad_l);
  a.Set("pad_bottom", pad_b);
  a.Set("pad_right", pad_r);
  if (lo != kNoMin) a.Set("act_min", lo);
  if (hi != kNoMax) a.Set("act_max", hi);
  return a;
}

// int8 conv / depthwise with per-channel weights.
Result<Graph> QuantConv(bool depthwise, int h, int w, int c, int oc, int k, int stride, int pad,
                        bool relu, int dilation = 1, float out_scale = 0.08f) {
  GraphBuilder b(depthwise ? "dw_s8" : "conv_s8");
  int x = b.Input("x", DType::kInt8, {1, h, w, c}, Q(0.05f, -3));
  const Shape ws = depthwise ? Shape{1, k, k, oc} : Shape{oc, k, k, c};
  QuantParams wq;
  wq.axis = depthwise ? 3 : 0;
  for (int i = 0; i < oc; ++i) {
    wq.scale.push_back(0.01f + 0.003f * static_cast<float>(i % 7));
    wq.zero_point.push_back(0);
  }
  auto wv = RandomI8(static_cast<size_t>(NumElements(ws)), 7);
  auto bv = RandomI32(static_cast<size_t>(oc), 2000, 8);
  const int wi = b.Const("w", DType::kInt8, ws, wv.data(), wq);
  const int bi = b.Const("b", DType::kInt32, {oc}, bv.data());
  Attrs a = ConvAttrs(stride, pad, pad, pad, pad, relu ? 0.0f : kNoMin);
  a.Set("dilation_h", dilation);
  a.Set("dilation_w", dilation);
  b.Output(b.Op(depthwise ? OpType::kDepthwiseConv2D : OpType::kConv2D, {x, wi, bi}, a,
                DType::kInt8, Q(out_scale, 5)));
  return b.Finish();
}

Result<Graph> FloatConv(bool depthwise, int h, int w, int c, int k, int stride, bool same) {
  GraphBuilder b(depthwise ? "dw_f32" : "conv_f32");
  int x = b.Input("x", DType::kFloat32, {1, h, w, c});
  b.Output(depthwise ? b.DepthwiseConv2D(x, k, stride, same, Act::kRelu6)
                     : b.Conv2D(x, 5, k, stride, same, Act::kRelu));
  return b.Finish();
}

Result<Graph> QuantFc(bool per_channel) {
  GraphBuilder b("fc_s8");
  int x = b.Input("x", DType::kInt8, {2, 37}, Q(0.1f, 4));
  QuantParams wq = Q(0.02f, 0);
  if (per_channel) {
    wq.scale.clear();
    wq.zero_point.clear();
    for (int i = 0; i < 11; ++i) {
      wq.scale.push_back(0.01f * static_cast<float>(i + 1));
      wq.zero_point.push_back(0);
    }
  }
  auto wv = RandomI8(11 * 37, 3);
  auto bv = RandomI32(11, 500, 4);
  const int wi = b.Const("w", DType::kInt8, {11, 37}, wv.data(), wq);
  const int bi = b.Const("b", DType::kInt32, {11}, bv.data());
  b.Output(b.Op(OpType::kFullyConnected, {x, wi, bi}, {}, DType::kInt8, Q(0.3f, -7)));
  return b.Finish();
}

Result<Graph> Pool(OpType op, DType t, int k, int stride, int pad, int channels = 3) {
  GraphBuilder b(OpName(op));
  const Shape s = {1, 9, 7, channels};
  int x = t == DType::kInt8 ? b.Input("x", t, s, Q(0.1f, 2)) : b.Input("x", t, s);
  Attrs a = ConvAttrs(stride, pad, pad, pad, pad);
  a.Set("kernel_h", k);
  a.Set("kernel_w", k);
  b.Output(b.Op(op, {x}, a, t, t == DType::kInt8 ? Q(0.1f, 2) : QuantParams{}));
  return b.Finish();
}

Result<Graph> Binary(OpType op, DType t, Shape a_shape, Shape b_shape) {
  GraphBuilder b(OpName(op));
  const bool q = t == DType::kInt8;
  int x = b.Input("a", t, a_shape, q ? Q(0.05f, 3) : QuantParams{});
  int y = b.Input("b", t, b_shape, q ? Q(0.02f, -9) : QuantParams{});
  Attrs at;
  at.Set("act_min", -2.5f);
  b.Output(b.Op(op, {x, y}, at, t, q ? Q(0.07f, -1) : QuantParams{}));
  return b.Finish();
}

Result<Graph> Unary(OpType op, DType t, Attrs a, QuantParams out_q = {}) {
  GraphBuilder b(OpName(op));
  const bool q = t == DType::kInt8;
  int x = b.Input("x", t, {3, 17}, q ? Q(0.06f, 10) : QuantParams{});
  b.Output(b.Op(op, {x}, a, t, out_q));
  return b.Finish();
}

Result<Graph> SoftmaxCase(DType t, float beta) {
  GraphBuilder b("softmax");
  const bool q = t == DType::kInt8;
  int x = b.Input("x", t, {4, 10}, q ? Q(0.11f, -20) : QuantParams{});
  Attrs a;
  a.Set("beta", beta);
  b.Output(b.Op(OpType::kSoftmax, {x}, a, t, q ? Q(1.0f / 256, -128) : QuantParams{}));
  return b.Finish();
}

Result<Graph> MeanCase(DType t) {
  GraphBuilder b("mean");
  const bool q = t == DType::kInt8;
  int x = b.Input("x", t, {2, 5, 3, 7}, q ? Q(0.05f, 6) : QuantParams{});
  Attrs a;
  a.Set("axes", std::vector<int64_t>{1, 2});
  a.Set("keep_dims", 1);
  b.Output(b.Op(OpType::kMean, {x}, a, t, q ? Q(0.03f, -2) : QuantParams{}));
  return b.Finish();
}

// A small front end (8 kHz, 25 ms frames every 10 ms, 256-point FFT) over 0.2 s.
Result<Graph> MfccCase(int window, int power, int num_mfcc, int deltas = 0) {
  GraphBuilder b("mfcc");
  int x = b.Input("audio", DType::kFloat32, {1, 1600});
  Attrs a;
  a.Set("sample_rate", 8000);
  a.Set("frame_length", 200);
  a.Set("frame_step", 80);
  a.Set("fft_length", 256);
  a.Set("window", window);
  a.Set("power", power);
  a.Set("num_mel", 20);
  a.Set("num_mfcc", num_mfcc);
  a.Set("lower_hz", 60.0f);
  a.Set("upper_hz", 3800.0f);
  a.Set("log_offset", 1e-3f);
  if (deltas) a.Set("deltas", deltas);
  b.Output(b.Op(OpType::kMfcc, {x}, a, DType::kFloat32));
  return b.Finish();
}

Result<Graph> ShapeOp(OpType op, DType t) {
  GraphBuilder b(OpName(op));
  const bool q = t == DType::kInt8;
  const QuantParams qp = q ? Q(0.1f, 1) : QuantParams{};
  int x = b.Input("x", t, {2, 3, 4, 5}, qp);
  Attrs a;
  std::vector<int> inputs = {x};
  switch (op) {
    case OpType::kReshape:
      a.Set("shape", std::vector<int64_t>{6, -1});
      break;
    case OpType::kTranspose:
      a.Set("perm", std::vector<int64_t>{0, 3, 1, 2});
      break;
    case OpType::kSlice:  // backwards on two axes, a step of 2 on another
      a.Set("starts", std::vector<int64_t>{1, 2, 0, 4});
      a.Set("steps", std::vector<int64_t>{1, -1, 2, -2});
      a.Set("sizes", std::vector<int64_t>{1, 3, 2, 3});
      break;
    case OpType::kPad:
      a.Set("pads", std::vector<int64_t>{0, 1, 2, 0, 0, 2, 1, 3});
      a.Set("value", 0.5f);
      break;
    case OpType::kConcat: {
      inputs.push_back(b.Input("y", t, {2, 3, 2, 5}, qp));
      a.Set("axis", -2);
      break;
    }
    default:
      break;
  }
  // Follow with an Add so that an aliased reshape / identity is exercised inside the graph.
  int y = b.Op(op, inputs, a, t, qp);
  if (!q) y = b.Add(y, y);
  b.Output(y);
  return b.Finish();
}

Result<Graph> QuantizeCase(bool per_channel, bool round_half_even) {
  GraphBuilder b("quantize");
  int x = b.Input("x", DType::kFloat32, {2, 3, 4});
  QuantParams q = Q(0.03f, -5);
  if (per_channel) {
    q.scale = {0.01f, 0.02f, 0.05f};
    q.zero_point = {0, 3, -4};
    q.axis = 1;
  }
  Attrs a;
  a.Set("round_half_even", round_half_even ? 1 : 0);
  int y = b.Op(OpType::kQuantize, {x}, a, DType::kInt8, q);
  b.Output(y);
  b.Output(b.Op(OpType::kDequantize, {y}, {}, DType::kFloat32));
  return b.Finish();
}

Result<Graph> RequantizeCase() {
  GraphBuilder b("requantize");
  int x = b.Input("x", DType::kInt8, {5, 7}, Q(0.04f, 3));
  b.Output(b.Op(OpType::kQuantize, {x}, {}, DType::kInt8, Q(0.1f, -10)));
  return b.Finish();
}

Result<Graph> IdentityCase() {
  GraphBuilder b("identity");
  int x = b.Input("x", DType::kFloat32, {4, 4});
  b.Output(b.Op(OpType::kIdentity, {x}));
  return b.Finish();
}

Attrs ClipAttrs(float lo, float hi) {
  Attrs a;
  a.Set("min", lo);
  a.Set("max", hi);
  return a;
}

std::vector<OpCase> Build() {
  using T = DType;
  std::vector<OpCase> c;
  c.push_back(
      {"conv_f32_same_s1", OpType::kConv2D, [] { return FloatConv(false, 7, 6, 3, 3, 1, true); }});
  c.push_back({"conv_f32_valid_s2", OpType::kConv2D,
               [] { return FloatConv(false, 9, 8, 5, 3, 2, false); }});
  c.push_back({"conv_s8_pad_s1_odd", OpType::kConv2D,
               [] { return QuantConv(false, 7, 5, 3, 5, 3, 1, 1, true); }});
  c.push_back({"conv_s8_s2_c8", OpType::kConv2D,
               [] { return QuantConv(false, 8, 8, 8, 16, 3, 2, 1, false); }});
  c.push_back({"conv_s8_1x1", OpType::kConv2D,
               [] { return QuantConv(false, 4, 4, 13, 7, 1, 1, 0, true); }});
  c.push_back(
      {"dw_f32_s1", OpType::kDepthwiseConv2D, [] { return FloatConv(true, 6, 6, 5, 3, 1, true); }});
  c.push_back(
      {"dw_f32_s2", OpType::kDepthwiseConv2D, [] { return FloatConv(true, 9, 7, 4, 3, 2, true); }});
  c.push_back({"dw_s8_s1_odd", OpType::kDepthwiseConv2D,
               [] { return QuantConv(true, 7, 5, 7, 7, 3, 1, 1, true); }});
  // Channels 4 + 3 (SIMD groups and the scalar tail), 5x5 kernel, dilation 2.
  c.push_back({"dw_s8_k5_dil2", OpType::kDepthwiseConv2D,
               [] { return QuantConv(true, 9, 8, 7, 7, 5, 1, 3, false, 2); }});
  // Requantization multipliers above 1 (left shifts): the optimized kernels' general path.
  c.push_back({"conv_s8_left_shift", OpType::kConv2D,
               [] { return QuantConv(false, 5, 5, 8, 6, 3, 1, 1, false, 1, 0.0004f); }});
  c.push_back({"dw_s8_left_shift", OpType::kDepthwiseConv2D,
               [] { return QuantConv(true, 5, 5, 8, 8, 3, 1, 1, false, 1, 0.0004f); }});
  c.push_back({"conv_s8_dil2", OpType::kConv2D,
               [] { return QuantConv(false, 9, 9, 4, 3, 3, 1, 2, true, 2); }});
  c.push_back({"dw_s8_s2", OpType::kDepthwiseConv2D,
               [] { return QuantConv(true, 8, 8, 16, 16, 3, 2, 1, false); }});
  c.push_back({"fc_s8_per_tensor", OpType::kFullyConnected, [] { return QuantFc(false); }});
  c.push_back({"fc_s8_per_channel", OpType::kFullyConnected, [] { return QuantFc(true); }});
  c.push_back({"fc_f32", OpType::kFullyConnected, [] {
                 GraphBuilder b("fc_f32");
                 int x = b.Input("x", DType::kFloat32, {3, 20});
                 b.Output(b.Dense(x, 9, Act::kRelu));
                 return b.Finish();
               }});
  for (OpType op : {OpType::kAveragePool2D, OpType::kMaxPool2D}) {
    c.push_back(
        {std::string(OpName(op)) + "_f32", op, [op] { return Pool(op, T::kFloat32, 3, 2, 1); }});
    c.push_back(
        {std::string(OpName(op)) + "_s8", op, [op] { return Pool(op, T::kInt8, 3, 2, 1); }});
    c.push_back(
        {std::string(OpName(op)) + "_s8_valid", op, [op] { return Pool(op, T::kInt8, 2, 1, 0); }});
    // Six channels: one SIMD group of four and a scalar tail of two.
    c.push_back(
        {std::string(OpName(op)) + "_s8_c6", op, [op] { return Pool(op, T::kInt8, 3, 2, 1, 6); }});
  }
  for (OpType op : {OpType::kAdd, OpType::kSub, OpType::kMul, OpType::kDiv}) {
    const std::string n = OpName(op);
    c.push_back({n + "_f32_same", op, [op] {
                   return Binary(op, T::kFloat32, {2, 3, 4}, {2, 3, 4});
                 }});
    c.push_back({n + "_f32_bcast", op, [op] {
                   return Binary(op, T::kFloat32, {2, 3, 4}, {3, 1});
                 }});
    if (op != OpType::kDiv) {
      c.push_back({n + "_s8_same", op, [op] {
                     return Binary(op, T::kInt8, {2, 3, 4}, {2, 3, 4});
                   }});
      c.push_back({n + "_s8_bcast", op, [op] { return Binary(op, T::kInt8, {1, 4}, {3, 1}); }});
      // 105 elements: whole words and a tail.
      c.push_back({n + "_s8_odd", op, [op] { return Binary(op, T::kInt8, {3, 5, 7}, {3, 5, 7}); }});
    }
  }
  c.push_back({"clip_f32", OpType::kClip,
               [] { return Unary(OpType::kClip, T::kFloat32, ClipAttrs(-0.5f, 0.7f)); }});
  c.push_back({"clip_s8_requant", OpType::kClip, [] {
                 return Unary(OpType::kClip, T::kInt8, ClipAttrs(0.0f, 6.0f), Q(0.03f, -128));
               }});
  c.push_back({"leaky_relu_f32", OpType::kLeakyRelu, [] {
                 Attrs a;
                 a.Set("alpha", 0.1f);
                 return Unary(OpType::kLeakyRelu, T::kFloat32, a);
               }});
  c.push_back({"logistic_f32", OpType::kLogistic,
               [] { return Unary(OpType::kLogistic, T::kFloat32, {}); }});
  c.push_back({"logistic_s8", OpType::kLogistic,
               [] { return Unary(OpType::kLogistic, T::kInt8, {}, Q(1.0f / 256, -128)); }});
  c.push_back({"tanh_f32", OpType::kTanh, [] { return Unary(OpType::kTanh, T::kFloat32, {}); }});
  c.push_back({"tanh_s8", OpType::kTanh,
               [] { return Unary(OpType::kTanh, T::kInt8, {}, Q(1.0f / 128, 0)); }});
  c.push_back({"softmax_f32", OpType::kSoftmax, [] { return SoftmaxCase(T::kFloat32, 1.0f); }});
  c.push_back({"softmax_s8", OpType::kSoftmax, [] { return SoftmaxCase(T::kInt8, 1.0f); }});
  c.push_back({"softmax_s8_beta", OpType::kSoftmax, [] { return SoftmaxCase(T::kInt8, 0.5f); }});
  c.push_back({"log_softmax_f32", OpType::kLogSoftmax, [] {
                 GraphBuilder b("log_softmax");
                 int x = b.Input("x", DType::kFloat32, {3, 6});
                 b.Output(b.Op(OpType::kLogSoftmax, {x}));
                 return b.Finish();
               }});
  c.push_back({"mean_f32", OpType::kMean, [] { return MeanCase(T::kFloat32); }});
  c.push_back({"mean_s8", OpType::kMean, [] { return MeanCase(T::kInt8); }});
  for (OpType op :
       {OpType::kReshape, OpType::kTranspose, OpType::kSlice, OpType::kPad, OpType::kConcat}) {
    c.push_back({std::string(OpName(op)) + "_f32", op, [op] { return ShapeOp(op, T::kFloat32); }});
    c.push_back({std::string(OpName(op)) + "_s8", op, [op] { return ShapeOp(op, T::kInt8); }});
  }
  for (bool int8 : {false, true})
    c.push_back({int8 ? "svdf_s8_rank2" : "svdf_f32_rank2_relu", OpType::kSvdf, [int8] {
                   const auto bytes = SvdfTflite(int8, 4);
                   return ImportTfliteBuffer(bytes.data(), bytes.size(), "svdf.tflite");
                 }});
  for (int form : {0, 1, 2})
    c.push_back({form == 0   ? "lstm_f32"
                 : form == 1 ? "lstm_s8_8x8_16"
                             : "lstm_s16_16x8",
                 OpType::kLstm, [form] {
                   const auto bytes = LstmTflite(form, 6, 3, 2, 5, 4, form == 1);
                   return ImportTfliteBuffer(bytes.data(), bytes.size(), "lstm.tflite");
                 }});
  c.push_back({"identity_f32", OpType::kIdentity, IdentityCase});
  c.push_back({"mfcc_hann_magnitude", OpType::kMfcc, [] { return MfccCase(0, 0, 13); }});
  c.push_back({"logmel_hamming_power", OpType::kMfcc, [] { return MfccCase(1, 1, 0); }});
  c.push_back({"mfcc_with_deltas", OpType::kMfcc, [] { return MfccCase(0, 0, 12, 2); }});
  c.push_back(
      {"quantize_per_tensor", OpType::kQuantize, [] { return QuantizeCase(false, false); }});
  c.push_back(
      {"quantize_per_channel_even", OpType::kQuantize, [] { return QuantizeCase(true, true); }});
  c.push_back({"requantize_s8", OpType::kQuantize, RequantizeCase});
  c.push_back({"dequantize", OpType::kDequantize, [] { return QuantizeCase(true, false); }});
  c.push_back({"dequantize_s32", OpType::kDequantize, [] {
                 GraphBuilder b("dequantize_s32");
                 int x = b.Input("x", DType::kInt32, {6}, Q(0.001f, 0));
                 b.Output(b.Op(OpType::kDequantize, {x}, {}, DType::kFloat32));
                 return b.Finish();
               }});
  return c;
}

}  // namespace

const std::vector<OpCase>& AllOpCases() {
  static const std::vector<OpCase> cases = Build();
  return cases;
}

}  // namespace tml::testing
