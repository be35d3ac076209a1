// SVDF (src/ops/svdf.cc, runtime/kernels/svdf.c): imported from TFLite with its variable
// state, run step by step against a float64 reference written here from the operator's
// definition (each filter's projections of the last `memory` inputs, weighted in time,
// rank filters summed per unit), the state kept between invocations and zero at start;
// int8 within a few output steps of the reference; malformed models refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <random>

#include "fixtures.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "ops/quant_util.h"
#include "prepare/passes.h"
#include "prepare/planner.h"
#include "tml_kernels.h"

namespace tml {
namespace {

// The weights of the graph's Svdf node as real values.
struct Reference {
  int input = 0, filters = 0, memory = 0, rank = 0, units = 0;
  std::vector<double> wf, wt, bias;
  bool relu = false;
  std::deque<std::vector<double>> history;  // per frame: each filter's projection

  explicit Reference(const Graph& g) {
    const Node& n = g.nodes.at(0);
    EXPECT_EQ(n.op, OpType::kSvdf);
    const auto real = [&](int t) {
      const Tensor& x = g.tensor(t);
      std::vector<double> v(static_cast<size_t>(x.numel()));
      const double s = x.quant.scale.empty() ? 1.0 : x.quant.scale[0];
      for (int64_t i = 0; i < x.numel(); ++i) v[static_cast<size_t>(i)] = x.ValueAsDouble(i) * s;
      return v;
    };
    wf = real(n.inputs[1]);
    wt = real(n.inputs[2]);
    bias = real(n.inputs[3]);
    filters = static_cast<int>(g.tensor(n.inputs[1]).shape[0]);
    input = static_cast<int>(g.tensor(n.inputs[1]).shape[1]);
    memory = static_cast<int>(g.tensor(n.inputs[2]).shape[1]);
    rank = static_cast<int>(n.attrs.Int("rank", 1));
    units = filters / rank;
    relu = n.attrs.Float("act_min", kNoMin) == 0.0f;
    for (int k = 0; k < memory; ++k) history.push_back(std::vector<double>(filters, 0.0));
  }
  std::vector<double> Step(const std::vector<double>& x) {
    std::vector<double> proj(static_cast<size_t>(filters), 0.0);
    for (int f = 0; f < filters; ++f)
      for (int i = 0; i < input; ++i) proj[f] += wf[f * input + i] * x[i];
    history.pop_front();
    history.push_back(proj);  // history[memory - 1]: the newest frame
    std::vector<double> y(static_cast<size_t>(units));
    for (int u = 0; u < units; ++u) {
      double v = bias[u];
      for (int r = 0; r < rank; ++r) {
        const int f = u * rank + r;
        for (int j = 0; j < memory; ++j) v += wt[f * memory + j] * history[j][f];
      }
      y[u] = relu ? std::max(0.0, v) : v;
    }
    return y;
  }
};

Graph Import(bool int8) {
  const auto bytes = testing::SvdfTflite(int8, 5);
  auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "svdf.tflite");
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? std::move(*g) : Graph{};
}

TEST(Svdf, FloatFollowsTheDefinitionAcrossInvocations) {
  Graph g = Import(false);
  ASSERT_EQ(g.inputs.size(), 1u) << "the state is not a model input";
  Reference ref(g);
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> first;
  for (int step = 0; step < 12; ++step) {
    std::vector<float> x(8);
    for (float& v : x) v = u(rng);
    std::memcpy((*interp)->input(0), x.data(), 32);
    (*interp)->Invoke();
    const auto* y = static_cast<const float*>((*interp)->output(0));
    const auto want = ref.Step(std::vector<double>(x.begin(), x.end()));
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(y[k], want[k], 1e-5) << "step " << step;
    if (step == 0) first.assign(y, y + 3);
  }
  // A fresh interpreter starts from a zero state again.
  auto again = Interpreter::Create(g);
  ASSERT_TRUE(again.ok());
  std::mt19937 rng2(1);
  std::vector<float> x(8);
  for (float& v : x) v = u(rng2);
  std::memcpy((*again)->input(0), x.data(), 32);
  (*again)->Invoke();
  EXPECT_EQ(std::memcmp((*again)->output(0), first.data(), 12), 0);
}

TEST(Svdf, Int8WithInt16StateWithinAFewStepsOfTheReference) {
  Graph g = Import(true);
  Reference ref(g);
  const Tensor& xt = g.tensor(g.inputs[0]);
  const Tensor& yt = g.tensor(g.outputs[0]);
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> q(-128, 127);
  double worst = 0;
  int changed = 0;
  std::vector<int8_t> previous(3, 0);
  for (int step = 0; step < 20; ++step) {
    std::vector<int8_t> x(8);
    for (int8_t& v : x) v = static_cast<int8_t>(q(rng));
    if (step % 5 == 4) x = std::vector<int8_t>(8, 40);  // repeated inputs: the state decides
    std::vector<double> real(8);
    for (int i = 0; i < 8; ++i) real[i] = (x[i] - xt.quant.zero_point[0]) * xt.quant.scale[0];
    std::memcpy((*interp)->input(0), x.data(), 8);
    (*interp)->Invoke();
    const auto* y = static_cast<const int8_t*>((*interp)->output(0));
    const auto want = ref.Step(real);
    for (int k = 0; k < 3; ++k) {
      const double got = (y[k] - yt.quant.zero_point[0]) * yt.quant.scale[0];
      const double clamped = std::clamp(want[k], (-128 - yt.quant.zero_point[0]) * 0.1,
                                        (127 - yt.quant.zero_point[0]) * 0.1);
      worst = std::max(worst, std::fabs(got - clamped));
      changed += y[k] != previous[static_cast<size_t>(k)];
      previous[static_cast<size_t>(k)] = y[k];
    }
  }
  std::printf("int8 SVDF vs float64: max error %.3g (output step %.3g)\n", worst,
              yt.quant.scale[0]);
  EXPECT_LT(worst, 3 * yt.quant.scale[0]);
  EXPECT_GT(changed, 10);
}

TEST(Svdf, StateHasItsOwnArenaBufferForTheWholeRun) {
  Graph g = Import(true);
  ASSERT_TRUE(PrepareGraph(g).ok());
  auto plan = PlanMemory(g);
  ASSERT_TRUE(plan.ok());
  int state = -1;
  for (int t = 0; t < static_cast<int>(g.tensors.size()); ++t)
    if (g.tensor(t).is_state) state = t;
  ASSERT_GE(state, 0);
  const int b = plan->buffer[static_cast<size_t>(state)];
  ASSERT_GE(b, 0);
  EXPECT_EQ(plan->buffers[static_cast<size_t>(b)].first, 0);
  EXPECT_EQ(plan->buffers[static_cast<size_t>(b)].last, static_cast<int>(g.nodes.size()));
  for (int t = 0; t < static_cast<int>(g.tensors.size()); ++t)
    if (t != state) EXPECT_NE(plan->buffer[static_cast<size_t>(t)], b) << g.tensor(t).name;
}

// The optimized int8 kernel against the reference over a grid of shapes (inputs below, at
// and above its four-byte step, odd memories for its word step, rank 1 and 2, two batches,
// input zero points), several invocations each: outputs and states identical.
TEST(Svdf, OptimizedKernelEqualsTheReferenceOverAGrid) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> i8(-128, 127), i16(-32768, 32767);
  int cases = 0;
  for (int input : {1, 3, 4, 5, 8, 13})
    for (int filters : {2, 4, 6})
      for (int memory : {1, 2, 7, 49})
        for (int rank : {1, 2})
          for (int batch : {1, 2}) {
            tml_svdf_params p{};
            p.batch = batch;
            p.input_size = input;
            p.filters = filters;
            p.memory = memory;
            p.rank = rank;
            p.units = filters / rank;
            p.in_zero_point = i8(rng) / 4;
            p.out_zero_point = i8(rng) / 4;
            int s1 = 0, s2 = 0;
            QuantizeMultiplier(0.004 + 0.001 * (cases % 7), &p.mult1, &s1);
            QuantizeMultiplier(0.00002 * (1 + cases % 5), &p.mult2, &s2);
            p.shift1 = s1;
            p.shift2 = s2;
            p.act_min = -128;
            p.act_max = 127;
            std::vector<int8_t> wf(static_cast<size_t>(filters * input));
            std::vector<int16_t> wt(static_cast<size_t>(filters * memory));
            std::vector<int32_t> bias(static_cast<size_t>(p.units));
            for (auto& v : wf) v = static_cast<int8_t>(i8(rng));
            for (auto& v : wt) v = static_cast<int16_t>(i16(rng));
            for (auto& v : bias) v = i16(rng) * 8;
            const size_t n_state = static_cast<size_t>(batch * filters * memory);
            std::vector<int16_t> s_ref(n_state, 0), s_fast(n_state, 0);
            std::vector<int32_t> scratch(static_cast<size_t>(filters + input + 8));
            for (int step = 0; step < 4; ++step) {
              std::vector<int8_t> x(static_cast<size_t>(batch * input));
              for (auto& v : x) v = static_cast<int8_t>(i8(rng));
              std::vector<int8_t> y_ref(static_cast<size_t>(batch * p.units)), y_fast = y_ref;
              tml_svdf_s8(&p, x.data(), wf.data(), wt.data(), step % 2 ? nullptr : bias.data(),
                          s_ref.data(), y_ref.data(), scratch.data());
              tml_svdf_s8_fast(&p, x.data(), wf.data(), wt.data(), step % 2 ? nullptr : bias.data(),
                               s_fast.data(), y_fast.data(), scratch.data());
              ASSERT_EQ(y_fast, y_ref) << input << " " << filters << " " << memory << " " << rank
                                       << " " << batch << " step " << step;
              ASSERT_EQ(s_fast, s_ref) << "state differs";
            }
            ++cases;
          }
  EXPECT_EQ(cases, 6 * 3 * 4 * 2 * 2);
}

TEST(Svdf, MalformedModelsAreRefusedWithTheReason) {
  Graph g = Import(false);
  Graph bad_rank = g;
  bad_rank.nodes[0].attrs.Set("rank", int64_t{4});  // 6 filters
  auto r = Interpreter::Create(bad_rank);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rank 4 must divide the 6 filters"), std::string::npos)
      << r.status().message();
  Graph not_state = g;
  not_state.tensor(not_state.nodes[0].inputs[4]).is_state = false;
  r = Interpreter::Create(not_state);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must be a state tensor"), std::string::npos)
      << r.status().message();
  Graph mixed = Import(true);
  mixed.tensor(mixed.nodes[0].inputs[2]).dtype = DType::kInt8;
  r = Interpreter::Create(mixed);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("weights_time"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tml
