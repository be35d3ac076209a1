// Post-training quantization: hand-checked parameters, calibration methods,
// int8 outputs close to float, and the QDQ ONNX round trip of quantized models.
#include "squeeze/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "formats/export.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "op_cases.h"
#include "ops/op.h"
#include "prepare/builder.h"
#include "prepare/passes.h"
#include "squeeze/calibrate.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

TEST(Quantize, ActivationParametersHandChecked) {
  // [-1, 1]: scale 2/255, zero point -128 + 127.5 = -0.5 -> -1 (half away from zero).
  QuantParams q = ActivationQuant(-1.0f, 1.0f);
  EXPECT_FLOAT_EQ(q.scale[0], 2.0f / 255.0f);
  EXPECT_EQ(q.zero_point[0], -1);
  // [0, 6] (ReLU6): zero point -128, 0 exactly representable.
  q = ActivationQuant(0.0f, 6.0f);
  EXPECT_EQ(q.zero_point[0], -128);
  // A positive-only range is widened to include 0.
  q = ActivationQuant(2.0f, 4.0f);
  EXPECT_FLOAT_EQ(q.scale[0], 4.0f / 255.0f);
  const float v[] = {0.0f, 4.0f, -1.0f, 100.0f, NAN};
  const auto bytes = QuantizeValues(v, 5, q);
  EXPECT_EQ(bytes[0], -128);
  EXPECT_EQ(bytes[1], 127);
  EXPECT_EQ(bytes[2], -128);  // saturates
  EXPECT_EQ(bytes[3], 127);
  EXPECT_NEAR(DequantizeValue(bytes[1], q), 4.0f, 1e-6f);
}

// y = FC(x) with weights [[1, -0.5], [0.25, 0]], bias [0.3, -0.2].
Result<Graph> TinyDense() {
  GraphBuilder b("tiny_dense", 1);
  const int x = b.Input("x", DType::kFloat32, {1, 2});
  b.Output(b.Dense(x, 2, Act::kNone));
  TML_ASSIGN_OR_RETURN(Graph g, b.Finish());
  for (Node& n : g.nodes) {
    if (n.op != OpType::kFullyConnected) continue;
    float* w = g.tensor(n.inputs[1]).mutable_as<float>();
    w[0] = 1.0f, w[1] = -0.5f, w[2] = 0.25f, w[3] = 0.0f;
    float* bias = g.tensor(n.inputs[2]).mutable_as<float>();
    bias[0] = 0.3f, bias[1] = -0.2f;
  }
  return g;
}

TEST(Quantize, WeightsPerChannelAndBiasHandChecked) {
  auto g = TinyDense();
  ASSERT_TRUE(g.ok()) << g.status().message();
  const std::vector<std::vector<std::vector<float>>> samples = {{{1.0f, -1.0f}}, {{-1.0f, 1.0f}}};
  auto ranges = Calibrate(*g, samples, {});
  ASSERT_TRUE(ranges.ok()) << ranges.status().message();
  EXPECT_FLOAT_EQ((*ranges)[static_cast<size_t>(g->inputs[0])].lo, -1.0f);
  // Outputs: [1.8, 0.05] and [-1.2, -0.45]: the tensor's range is [-1.2, 1.8].
  const auto& out = (*ranges)[static_cast<size_t>(g->outputs[0])];
  EXPECT_NEAR(out.lo, -1.2f, 1e-6f);
  EXPECT_NEAR(out.hi, 1.8f, 1e-6f);
  auto q = QuantizeGraph(*g, *ranges, {});
  ASSERT_TRUE(q.ok()) << q.status().message();
  const Node* fc = nullptr;
  for (const Node& n : q->nodes)
    if (n.op == OpType::kFullyConnected) fc = &n;
  ASSERT_NE(fc, nullptr);
  const Tensor& w = q->tensor(fc->inputs[1]);
  ASSERT_EQ(w.dtype, DType::kInt8);
  ASSERT_EQ(w.quant.scale.size(), 2u);
  EXPECT_FLOAT_EQ(w.quant.scale[0], 1.0f / 127);
  EXPECT_FLOAT_EQ(w.quant.scale[1], 0.25f / 127);
  EXPECT_EQ(w.as<int8_t>()[0], 127);
  EXPECT_EQ(w.as<int8_t>()[1], -64);  // -0.5 * 127 = -63.5 -> -64
  EXPECT_EQ(w.as<int8_t>()[2], 127);
  const Tensor& b = q->tensor(fc->inputs[2]);
  ASSERT_EQ(b.dtype, DType::kInt32);
  // 0.3 / ((2/255) * (1/127)) = 4857.75 -> 4858
  EXPECT_EQ(b.as<int32_t>()[0], 4858);
  EXPECT_EQ(q->tensor(q->inputs[0]).dtype, DType::kInt8);
}

TEST(Quantize, PercentileAndMseNarrowAnOutlierRange) {
  GraphBuilder b("identityish", 1);
  const int x = b.Input("x", DType::kFloat32, {1, 1000});
  b.Output(b.Dense(x, 1, Act::kNone));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  std::vector<float> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 100) / 100.0f;
  v[7] = 50.0f;  // one outlier
  const std::vector<std::vector<std::vector<float>>> samples = {{v}};
  const size_t in = static_cast<size_t>(g->inputs[0]);
  auto mm = Calibrate(*g, samples, {Calibration::kMinMax});
  auto pc = Calibrate(*g, samples, {Calibration::kPercentile, 99.5});
  auto mse = Calibrate(*g, samples, {Calibration::kMse});
  ASSERT_TRUE(mm.ok() && pc.ok() && mse.ok());
  EXPECT_FLOAT_EQ((*mm)[in].hi, 50.0f);
  EXPECT_LT((*pc)[in].hi, 1.5f);
  // MSE keeps a lone outlier (clipping it costs more than the rounding noise it saves).
  EXPECT_LE((*mse)[in].hi, 50.0f);
  EXPECT_GT((*mse)[in].hi, 0.9f);
  EXPECT_GE((*pc)[in].hi, 0.9f);
  EXPECT_FALSE(ParseCalibration("kl").ok());
  EXPECT_FALSE(Calibrate(*g, {}, {}).ok());
  EXPECT_FALSE(Calibrate(*g, {{{1.0f}}}, {}).ok());  // wrong input size: error, no crash
}

// Signal-to-quantization-noise ratio of the int8 model's dequantized output, in dB.
double OutputSqnr(const Graph& f, const Graph& q, int samples) {
  auto fi = Interpreter::Create(f);
  auto qi = Interpreter::Create(q);
  if (!fi.ok() || !qi.ok()) return -1.0;
  const Tensor& qin = q.tensor(q.inputs[0]);
  const Tensor& qout = q.tensor(q.outputs[0]);
  double sig = 0.0, noise = 0.0;
  uint32_t s = 12345;
  for (int k = 0; k < samples; ++k) {
    std::vector<float> x(static_cast<size_t>(qin.numel()));
    for (float& v : x) {
      s = s * 1664525u + 1013904223u;
      v = static_cast<float>(s >> 8) / static_cast<float>(1 << 23) - 1.0f;
    }
    std::memcpy((*fi)->input(0), x.data(), x.size() * sizeof(float));
    const auto xq = QuantizeValues(x.data(), x.size(), qin.quant);
    std::memcpy((*qi)->input(0), xq.data(), xq.size());
    (*fi)->Invoke();
    (*qi)->Invoke();
    const float* yf = static_cast<const float*>((*fi)->output(0));
    const int8_t* yq = static_cast<const int8_t*>((*qi)->output(0));
    for (int64_t i = 0; i < qout.numel(); ++i) {
      const double d = yf[i] - DequantizeValue(yq[i], qout.quant);
      sig += static_cast<double>(yf[i]) * yf[i];
      noise += d * d;
    }
  }
  return 10.0 * std::log10(sig / std::max(noise, 1e-30));
}

TEST(Quantize, MlperfArchitecturesStayCloseToFloatAndRoundTripThroughQdqOnnx) {
  for (const auto& z : zoo::MlperfModels()) {
    SCOPED_TRACE(z.name);
    auto f = z.build(1);
    ASSERT_TRUE(f.ok()) << f.status().message();
    auto q = zoo::QuantizeSynthetic(*f, 1, 4);
    ASSERT_TRUE(q.ok()) << q.status().message();
    int int8_weighted = 0;
    for (const Node& n : q->nodes) {
      if (n.op == OpType::kConv2D || n.op == OpType::kDepthwiseConv2D ||
          n.op == OpType::kFullyConnected) {
        EXPECT_EQ(q->tensor(n.inputs[1]).dtype, DType::kInt8) << n.name;
        ++int8_weighted;
      }
      EXPECT_NE(q->tensor(n.outputs[0]).dtype, DType::kFloat32) << n.name;
    }
    EXPECT_GT(int8_weighted, 0);
    // Softmax outputs are probabilities of near-uniform synthetic logits: compare the rest.
    EXPECT_GT(OutputSqnr(*f, *q, 3), z.name == "fc_autoencoder" ? 15.0 : 10.0);

    auto bytes = ExportOnnx(*q);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    auto back = ImportOnnxBuffer(bytes->data(), bytes->size(), z.name + "_int8.onnx");
    ASSERT_TRUE(back.ok()) << back.status().message();
    ASSERT_TRUE(PrepareGraph(*back).ok());
    ASSERT_EQ(back->nodes.size(), q->nodes.size());
    auto a = Interpreter::Create(*q);
    auto c = Interpreter::Create(*back);
    ASSERT_TRUE(a.ok() && c.ok());
    for (int k = 0; k < 3; ++k) {
      int8_t* in = static_cast<int8_t*>((*a)->input(0));
      for (size_t i = 0; i < (*a)->input_bytes(0); ++i)
        in[i] = static_cast<int8_t>(i * 37 + k * 11);
      std::memcpy((*c)->input(0), in, (*a)->input_bytes(0));
      (*a)->Invoke();
      (*c)->Invoke();
      ASSERT_EQ(std::memcmp((*a)->output(0), (*c)->output(0), (*a)->output_bytes(0)), 0);
    }
  }
}

TEST(Quantize, FloatEdgesOptionKeepsFloatInputsAndOutputs) {
  auto f = zoo::FcAutoencoder(1);
  ASSERT_TRUE(f.ok());
  auto ranges = Calibrate(*f, {{std::vector<float>(640, 0.5f)}}, {});
  ASSERT_TRUE(ranges.ok());
  QuantizeOptions opts;
  opts.float_io = true;
  auto q = QuantizeGraph(*f, *ranges, opts);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->tensor(q->inputs[0]).dtype, DType::kFloat32);
  EXPECT_EQ(q->tensor(q->outputs[0]).dtype, DType::kFloat32);
  EXPECT_EQ(q->nodes.front().op, OpType::kQuantize);
  EXPECT_EQ(q->nodes.back().op, OpType::kDequantize);
}

TEST(Quantize, RejectsAQuantizedModel) {
  auto f = zoo::FcAutoencoder(1);
  ASSERT_TRUE(f.ok());
  auto q = zoo::QuantizeSynthetic(*f, 1, 1);
  ASSERT_TRUE(q.ok());
  auto again = zoo::QuantizeSynthetic(*q, 1, 1);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("float model"), std::string::npos)
      << again.status().message();
}

// The registry's quantization facts against the quantizer itself: every float op case
// quantizes exactly when all its ops have a rule, and then the op runs in int8.
TEST(Quantize, RegistryQuantRulesHoldForEveryFloatOpCase) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  int quantized = 0, refused = 0;
  for (const auto& c : testing::AllOpCases()) {
    auto g = c.build();
    ASSERT_TRUE(g.ok()) << c.name;
    bool float_only = true, all_rules = true;
    for (int t : g->inputs) float_only &= g->tensor(t).dtype == DType::kFloat32;
    for (const Node& n : g->nodes) {
      float_only &= n.op != OpType::kQuantize && n.op != OpType::kDequantize;
      all_rules &= Schema(n.op).quant != QuantRule::kNone;
    }
    if (!float_only) continue;
    SCOPED_TRACE(c.name);
    std::vector<std::vector<std::vector<float>>> samples(4);
    for (auto& sample : samples)
      for (int t : g->inputs) {
        std::vector<float> x(static_cast<size_t>(g->tensor(t).numel()));
        for (float& v : x) v = u(rng);
        sample.push_back(std::move(x));
      }
    auto ranges = Calibrate(*g, samples, {});
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    auto q = QuantizeGraph(*g, *ranges, {});
    if (!all_rules) {
      ++refused;
      ASSERT_FALSE(q.ok()) << "an op without a rule was quantized";
      EXPECT_NE(q.status().message().find("no int8 quantization rule"), std::string::npos)
          << q.status().message();
      continue;
    }
    ++quantized;
    ASSERT_TRUE(q.ok()) << q.status().message();
    ASSERT_TRUE(PrepareGraph(*q).ok());
    bool int8_op = false;
    for (const Node& n : q->nodes)
      int8_op |= n.op == c.op && q->tensor(n.outputs[0]).dtype == DType::kInt8;
    EXPECT_TRUE(int8_op || c.op == OpType::kIdentity) << OpName(c.op) << " did not run in int8";
  }
  EXPECT_GT(quantized, 10);
  EXPECT_GE(refused, 1);  // LogSoftmax (no int8 kernel)
}

}  // namespace
}  // namespace tml
