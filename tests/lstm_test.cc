// LSTM (src/ops/lstm.cc, runtime/kernels/lstm.c): TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM
// imported with its two variable states, run across invocations against a float64
// reference written here from the operator's definition; int8 (8x8_16) and 16x8 within a
// few output steps of it; the int16 sigmoid and tanh against the functions; quantizing a
// float LSTM; unsupported forms refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "fixtures.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "prepare/builder.h"
#include "prepare/passes.h"
#include "squeeze/calibrate.h"
#include "squeeze/quantize.h"
#include "tml_kernels.h"

namespace tml {
namespace {

// The Lstm node's weights as real values, and its state in double.
struct LstmReference {
  int64_t time = 0, batch = 0, input = 0, units = 0;
  bool time_major = false;
  double clip = 0;
  std::vector<double> wi, wr, bias, h, c;

  explicit LstmReference(const Graph& g) {
    const Node& n = g.nodes.at(0);
    EXPECT_EQ(n.op, OpType::kLstm);
    const Tensor& x = g.tensor(n.inputs[0]);
    const auto real = [&](int t, const std::vector<double>* row_scale) {
      const Tensor& w = g.tensor(t);
      std::vector<double> v(static_cast<size_t>(w.numel()));
      const int64_t cols = w.numel() / w.shape[0];
      for (int64_t i = 0; i < w.numel(); ++i) {
        double s = 1.0;
        if (row_scale)
          s = (*row_scale)[static_cast<size_t>(i / cols)];
        else if (!w.quant.empty())
          s = w.quant.scale[w.quant.per_channel() ? i / cols : 0];
        v[static_cast<size_t>(i)] = w.ValueAsDouble(i) * s;
      }
      return v;
    };
    wi = real(n.inputs[1], nullptr);
    wr = real(n.inputs[2], nullptr);
    std::vector<double> bias_scale;  // int biases: input x input-weight scale per row
    const Tensor& w = g.tensor(n.inputs[1]);
    for (int64_t r = 0; r < w.shape[0]; ++r)
      bias_scale.push_back(w.quant.empty() ? 1.0 : x.quant.scale[0] * w.quant.scale[r]);
    bias = real(n.inputs[3], &bias_scale);
    time_major = n.attrs.Int("time_major", 0) != 0;
    time = x.shape[time_major ? 0 : 1];
    batch = x.shape[time_major ? 1 : 0];
    input = x.shape[2];
    units = g.tensor(n.inputs[2]).shape[1];
    clip = n.attrs.Float("cell_clip", 0.0f);
    h.assign(static_cast<size_t>(batch * units), 0.0);
    c = h;
  }
  int64_t Row(int64_t t, int64_t b) const { return time_major ? t * batch + b : b * time + t; }
  // One invocation: the whole sequence x (real values), every step's h.
  std::vector<double> Run(const std::vector<double>& x) {
    std::vector<double> y(static_cast<size_t>(time * batch * units));
    const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < time; ++t) {
        std::vector<double> gate(static_cast<size_t>(4 * units));
        for (int64_t r = 0; r < 4 * units; ++r) {
          double s = bias[static_cast<size_t>(r)];
          for (int64_t i = 0; i < input; ++i)
            s += wi[static_cast<size_t>(r * input + i)] *
                 x[static_cast<size_t>(Row(t, b) * input + i)];
          for (int64_t j = 0; j < units; ++j)
            s += wr[static_cast<size_t>(r * units + j)] * h[static_cast<size_t>(b * units + j)];
          gate[static_cast<size_t>(r)] = r / units == 2 ? std::tanh(s) : sig(s);
        }
        for (int64_t j = 0; j < units; ++j) {
          double& cj = c[static_cast<size_t>(b * units + j)];
          cj = gate[static_cast<size_t>(units + j)] * cj +
               gate[static_cast<size_t>(j)] * gate[static_cast<size_t>(2 * units + j)];
          if (clip > 0) cj = std::clamp(cj, -clip, clip);
          const double hj = gate[static_cast<size_t>(3 * units + j)] * std::tanh(cj);
          h[static_cast<size_t>(b * units + j)] = hj;
          y[static_cast<size_t>(Row(t, b) * units + j)] = hj;
        }
      }
    return y;
  }
};

Graph ImportLstm(int form, bool time_major = false, float clip = 0.0f, int batch = 1) {
  const auto bytes = testing::LstmTflite(form, 11, 3, batch, 5, 4, time_major, clip);
  auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "lstm.tflite");
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? std::move(*g) : Graph{};
}

TEST(Lstm, SigmoidTableIsSigmoidOfIOver24) {
  const uint16_t* t = tml_sigmoid_table();
  for (int i = 0; i < 256; ++i) {
    EXPECT_NEAR(t[i], 65536.0 / (1.0 + std::exp(-i / 24.0)), 1.2) << i;
    if (i) EXPECT_GE(t[i], t[i - 1]) << i;
  }
}

TEST(Lstm, Int16SigmoidAndTanhFollowTheFunctions) {
  double worst_s = 0, worst_t = 0, worst_c = 0;
  for (int32_t x = -32768; x <= 32767; x += 3) {
    const double v = x / 4096.0;  // Q3.12
    worst_s = std::max(worst_s, std::fabs(tml_sigmoid_q15(x) / 32768.0 - 1 / (1 + std::exp(-v))));
    worst_t = std::max(worst_t, std::fabs(tml_tanh_q15(x, 3, 0) / 32768.0 - std::tanh(v)));
    // A cell state at 2^-11: the tanh reads it with a multiplier of 3 << 1.
    worst_c = std::max(worst_c, std::fabs(tml_tanh_q15(x, 6, 0) / 32768.0 - std::tanh(x / 2048.0)));
  }
  std::printf("int16 sigmoid max error %.3g, tanh %.3g, tanh of a 2^-11 cell %.3g\n", worst_s,
              worst_t, worst_c);
  EXPECT_LT(worst_s, 1e-4);
  EXPECT_LT(worst_t, 2e-4);
  EXPECT_LT(worst_c, 2e-4);
  EXPECT_EQ(tml_sigmoid_q15(0), 16384);
  EXPECT_EQ(tml_tanh_q15(0, 3, 0), 0);
  EXPECT_NEAR(tml_sigmoid_q15(32767), 32768 / (1 + std::exp(-32767 / 4096.0)), 1.0);
  EXPECT_EQ(tml_tanh_q15(-32768, 3, 0), -32767);
}

// Float: every step of two invocations (the state carries over), batch-major and
// time-major, with and without a cell clip; a fresh interpreter starts from zero again.
TEST(Lstm, FloatFollowsTheDefinitionAcrossInvocations) {
  for (const auto& [time_major, clip, batch] :
       {std::tuple{false, 0.0f, 1}, std::tuple{true, 0.0f, 2}, std::tuple{false, 0.3f, 2}}) {
    Graph g = ImportLstm(0, time_major, clip, batch);
    ASSERT_EQ(g.inputs.size(), 1u) << "the states are not model inputs";
    LstmReference ref(g);
    auto interp = Interpreter::Create(g);
    ASSERT_TRUE(interp.ok()) << interp.status().message();
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    const size_t nx = static_cast<size_t>(3 * batch * 5), ny = static_cast<size_t>(3 * batch * 4);
    std::vector<float> first;
    for (int call = 0; call < 3; ++call) {
      std::vector<float> x(nx);
      for (float& v : x) v = u(rng);
      std::memcpy((*interp)->input(0), x.data(), 4 * nx);
      (*interp)->Invoke();
      const auto* y = static_cast<const float*>((*interp)->output(0));
      const auto want = ref.Run(std::vector<double>(x.begin(), x.end()));
      for (size_t k = 0; k < ny; ++k)
        EXPECT_NEAR(y[k], want[k], 2e-5) << "call " << call << " value " << k;
      if (call == 0) first.assign(y, y + ny);
      if (clip > 0)
        for (double cv : ref.c) EXPECT_LE(std::fabs(cv), clip + 1e-9);
    }
    auto again = Interpreter::Create(g);
    ASSERT_TRUE(again.ok());
    std::mt19937 rng2(3);
    std::vector<float> x(nx);
    for (float& v : x) v = u(rng2);
    std::memcpy((*again)->input(0), x.data(), 4 * nx);
    (*again)->Invoke();
    EXPECT_EQ(std::memcmp((*again)->output(0), first.data(), 4 * ny), 0);
  }
}

// int8 and 16x8: random inputs over several invocations, each output within a few of its
// steps of the float64 reference run on the dequantized weights and inputs.
template <typename T>
void IntegerTracksTheReference(int form, double max_steps) {
  Graph g = ImportLstm(form, false, 0.0f, 2);
  LstmReference ref(g);
  const Tensor& xt = g.tensor(g.inputs[0]);
  const Tensor& yt = g.tensor(g.outputs[0]);
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  std::mt19937 rng(5);
  const double lim = sizeof(T) == 1 ? 127 : 32767;
  std::uniform_real_distribution<double> u(-1.5, 1.5);  // real input values
  double worst = 0;
  int distinct = 0;
  const size_t nx = 2 * 3 * 5, ny = 2 * 3 * 4;
  for (int call = 0; call < 6; ++call) {
    std::vector<T> x(nx);
    std::vector<double> real(nx);
    for (size_t i = 0; i < nx; ++i) {
      const double q = std::clamp(std::round(u(rng) / xt.quant.scale[0]) + xt.quant.zero_point[0],
                                  -lim - 1, lim);
      x[i] = static_cast<T>(q);
      real[i] = (q - xt.quant.zero_point[0]) * xt.quant.scale[0];
    }
    std::memcpy((*interp)->input(0), x.data(), sizeof(T) * nx);
    (*interp)->Invoke();
    const auto* y = static_cast<const T*>((*interp)->output(0));
    const auto want = ref.Run(real);
    std::vector<T> seen;
    for (size_t k = 0; k < ny; ++k) {
      const double got = (y[k] - yt.quant.zero_point[0]) * yt.quant.scale[0];
      worst = std::max(worst, std::fabs(got - want[k]) / yt.quant.scale[0]);
      if (std::find(seen.begin(), seen.end(), y[k]) == seen.end()) seen.push_back(y[k]);
    }
    distinct += static_cast<int>(seen.size());
  }
  std::printf("%s LSTM vs float64: max error %.3g output steps\n", form == 1 ? "int8" : "16x8",
              worst);
  EXPECT_LT(worst, max_steps);
  EXPECT_GT(distinct, 6 * 12) << "the outputs hardly vary: the test would prove little";
}

TEST(Lstm, Int8WithAnInt16CellWithinAFewStepsOfTheReference) {
  IntegerTracksTheReference<int8_t>(1, 3.0);
}

TEST(Lstm, Int16ActivationsWithinAFewStepsOfTheReference) {
  IntegerTracksTheReference<int16_t>(2, 40.0);
}

// A float LSTM built in the graph, calibrated and quantized to the 8x8_16 form, follows
// the float model across invocations.
TEST(Lstm, QuantizingAFloatLstmKeepsItsOutputs) {
  GraphBuilder b("lstm", 7);
  const int x = b.Input("x", DType::kFloat32, {1, 6, 3});
  b.Output(b.Lstm(x, 5));
  auto fg = b.Finish();
  ASSERT_TRUE(fg.ok()) << fg.status().message();
  ASSERT_TRUE(PrepareGraph(*fg).ok());
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::vector<std::vector<float>>> samples(16, {std::vector<float>(18)});
  for (auto& s : samples)
    for (float& v : s[0]) v = u(rng);
  auto ranges = Calibrate(*fg, samples, {});
  ASSERT_TRUE(ranges.ok()) << ranges.status().message();
  QuantizeOptions qo;
  qo.float_io = true;
  auto qg = QuantizeGraph(*fg, *ranges, qo);
  ASSERT_TRUE(qg.ok()) << qg.status().message();
  const Node* n = nullptr;
  for (const Node& k : qg->nodes)
    if (k.op == OpType::kLstm) n = &k;
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(qg->tensor(n->inputs[0]).dtype, DType::kInt8);
  EXPECT_EQ(qg->tensor(n->inputs[5]).dtype, DType::kInt16);
  EXPECT_EQ(qg->tensor(n->inputs[1]).quant.scale.size(), 20u) << "one scale per row (per gate)";
  const float step = qg->tensor(n->outputs[0]).quant.scale[0];
  auto fi = Interpreter::Create(*fg);
  auto qi = Interpreter::Create(*qg);
  ASSERT_TRUE(fi.ok()) << fi.status().message();
  ASSERT_TRUE(qi.ok()) << qi.status().message();
  double worst = 0;
  for (int k = 0; k < 4; ++k) {  // the state carries over in both
    const auto& s = samples[static_cast<size_t>(k)][0];
    std::memcpy((*fi)->input(0), s.data(), 4 * s.size());
    std::memcpy((*qi)->input(0), s.data(), 4 * s.size());
    (*fi)->Invoke();
    (*qi)->Invoke();
    const auto* fy = static_cast<const float*>((*fi)->output(0));
    const auto* qy = static_cast<const float*>((*qi)->output(0));
    for (size_t j = 0; j < 30; ++j) worst = std::max(worst, double(std::fabs(qy[j] - fy[j])));
  }
  std::printf("quantized LSTM vs float: max error %.3g (output step %.3g)\n", worst, step);
  EXPECT_LT(worst, 6 * step);  // int8 input and hidden state: their rounding feeds back
}

TEST(Lstm, UnsupportedFormsAreRefusedByName) {
  for (const auto& [variant, message] :
       {std::pair{"peephole", "LSTM with peephole weights (inputs 10-12) is not supported"},
        std::pair{"projection", "LSTM with a projection (inputs 17-18) is not supported"},
        std::pair{"layer_norm", "LSTM with layer normalization (inputs 21-24) is not supported"},
        std::pair{"cifg", "LSTM without an input gate (CIFG) is not supported"},
        std::pair{"relu", "only the tanh cell activation is supported, not RELU"},
        std::pair{"const_state", "the hidden state 'hidden_state' is a constant"}}) {
    const auto bytes = testing::LstmTflite(0, 1, 3, 1, 5, 4, false, 0.0f, variant);
    auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "lstm.tflite");
    ASSERT_FALSE(g.ok()) << variant;
    EXPECT_NE(g.status().message().find(message), std::string::npos) << g.status().message();
  }
  Graph g = ImportLstm(0);
  Graph not_state = g;
  not_state.tensor(not_state.nodes[0].inputs[5]).is_state = false;
  auto r = Interpreter::Create(not_state);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must be a state tensor"), std::string::npos)
      << r.status().message();
  Graph bad_w = g;
  bad_w.tensor(bad_w.nodes[0].inputs[2]).shape = {12, 4};
  r = Interpreter::Create(bad_w);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must be [4 units, units]"), std::string::npos)
      << r.status().message();
  Graph q = ImportLstm(1);
  q.tensor(q.nodes[0].inputs[5]).quant.scale = {0.001f};
  r = Interpreter::Create(q);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must be a power of two"), std::string::npos)
      << r.status().message();
  Graph mixed = ImportLstm(1);
  mixed.tensor(mixed.nodes[0].inputs[3]).dtype = DType::kInt64;
  r = Interpreter::Create(mixed);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expected int32 (int8 LSTM)"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace tml
