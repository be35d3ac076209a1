// Hand-checked cases: small inputs whose int8 and float results were worked
// out on paper from the TFLite quantization rules.
#include "interp/interpreter.h"

#include <gtest/gtest.h>

#include <cstring>

#include "op_cases.h"
#include "prepare/builder.h"

namespace tml {
namespace {

using testing::Q;

template <typename T>
std::vector<T> RunGraph(const Graph& g, const std::vector<std::vector<T>>& inputs, size_t out = 0) {
  auto it = Interpreter::Create(g);
  EXPECT_TRUE(it.ok()) << it.status().message();
  for (size_t i = 0; i < inputs.size(); ++i)
    std::memcpy((*it)->input(i), inputs[i].data(), inputs[i].size() * sizeof(T));
  (*it)->Invoke();
  std::vector<T> y((*it)->output_bytes(out) / sizeof(T));
  std::memcpy(y.data(), (*it)->output(out), y.size() * sizeof(T));
  return y;
}

TEST(Interpreter, Int8ConvMatchesHandComputation) {
  // x = [10, -20] * 0.5 (zero point 2), w = [3, 4] * 0.25, out scale 0.25:
  // real = (5*0.75 + -10*1.0) = -6.25 -> q = -25, plus bias 8 * (0.5*0.25) = 1.0 -> -21.
  GraphBuilder b("conv");
  int x = b.Input("x", DType::kInt8, {1, 1, 1, 2}, Q(0.5f, 2));
  const int8_t w[] = {3, 4};
  const int32_t bias[] = {8};
  QuantParams wq = Q(0.25f, 0);
  const int wi = b.Const("w", DType::kInt8, {1, 1, 1, 2}, w, wq);
  const int bi = b.Const("b", DType::kInt32, {1}, bias);
  b.Output(b.Op(OpType::kConv2D, {x, wi, bi}, {}, DType::kInt8, Q(0.25f, 0)));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(RunGraph<int8_t>(*g, {{12, -18}})[0], -21);
}

TEST(Interpreter, Int8AveragePoolRoundsHalfAwayFromZero) {
  GraphBuilder b("pool");
  int x = b.Input("x", DType::kInt8, {1, 1, 2, 2}, Q(1.0f, 0));
  Attrs a;
  a.Set("kernel_h", 1);
  a.Set("kernel_w", 2);
  a.Set("stride_w", 2);
  b.Output(b.Op(OpType::kAveragePool2D, {x}, a, DType::kInt8, Q(1.0f, 0)));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  // NHWC [1,1,2,2]: channel 0 = {1, 2}, channel 1 = {-1, -2}
  const auto y = RunGraph<int8_t>(*g, {{1, -1, 2, -2}});
  EXPECT_EQ(y, (std::vector<int8_t>{2, -2}));
}

TEST(Interpreter, Int8AddRescalesBothInputs) {
  // 0.5 + 0.2 = 0.7 -> 10 at scale 0.07.
  GraphBuilder b("add");
  int x = b.Input("a", DType::kInt8, {1}, Q(0.05f, 0));
  int y = b.Input("b", DType::kInt8, {1}, Q(0.02f, 0));
  b.Output(b.Op(OpType::kAdd, {x, y}, {}, DType::kInt8, Q(0.07f, 0)));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(RunGraph<int8_t>(*g, {{10}, {10}})[0], 10);
}

TEST(Interpreter, Int8SoftmaxOfEqualInputsIsUniform) {
  GraphBuilder b("softmax");
  int x = b.Input("x", DType::kInt8, {1, 4}, Q(0.1f, 0));
  b.Output(b.Op(OpType::kSoftmax, {x}, {}, DType::kInt8, Q(1.0f / 256, -128)));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  // 0.25 * 256 - 128 = -64
  EXPECT_EQ(RunGraph<int8_t>(*g, {{5, 5, 5, 5}}), (std::vector<int8_t>{-64, -64, -64, -64}));
}

TEST(Interpreter, Int8MeanHandComputed) {
  // mean of {1, 2, 3, 6} = 3 (zero point 0, same scale).
  GraphBuilder b("mean");
  int x = b.Input("x", DType::kInt8, {1, 2, 2, 1}, Q(0.5f, 0));
  Attrs a;
  a.Set("axes", std::vector<int64_t>{1, 2});
  b.Output(b.Op(OpType::kMean, {x}, a, DType::kInt8, Q(0.5f, 0)));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(RunGraph<int8_t>(*g, {{1, 2, 3, 6}})[0], 3);
}

TEST(Interpreter, FloatFullyConnectedAndRelu) {
  GraphBuilder b("fc");
  int x = b.Input("x", DType::kFloat32, {1, 3});
  const float w[] = {1, 2, 3, -1, -1, -1};
  const float bias[] = {0.5f, 0.0f};
  const int wi = b.Const("w", DType::kFloat32, {2, 3}, w);
  const int bi = b.Const("b", DType::kFloat32, {2}, bias);
  Attrs a;
  a.Set("act_min", 0.0f);
  b.Output(b.Op(OpType::kFullyConnected, {x, wi, bi}, a));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(RunGraph<float>(*g, {{1, 1, 1}}), (std::vector<float>{6.5f, 0.0f}));
}

TEST(Interpreter, FloatConvSamePaddingHandComputed) {
  // 3x3 all-ones filter over a 3x3 all-ones image with SAME padding: corner 4, edge 6, centre 9.
  GraphBuilder b("conv");
  int x = b.Input("x", DType::kFloat32, {1, 3, 3, 1});
  std::vector<float> w(9, 1.0f);
  const int wi = b.Const("w", DType::kFloat32, {1, 3, 3, 1}, w.data());
  Attrs a;
  for (const char* k : {"pad_top", "pad_left", "pad_bottom", "pad_right"}) a.Set(k, 1);
  b.Output(b.Op(OpType::kConv2D, {x, wi, -1}, a));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(RunGraph<float>(*g, {std::vector<float>(9, 1.0f)}),
            (std::vector<float>{4, 6, 4, 6, 9, 6, 4, 6, 4}));
}

TEST(Interpreter, ConstantSubgraphsAreFolded) {
  GraphBuilder b("fold");
  int x = b.Input("x", DType::kFloat32, {2});
  const float c1[] = {1, 2}, c2[] = {10, 20};
  const int a = b.Const("a", DType::kFloat32, {2}, c1);
  const int c = b.Const("c", DType::kFloat32, {2}, c2);
  const int folded = b.Add(a, c);
  b.Output(b.Add(x, folded));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(RunGraph<float>(*g, {{100, 200}}), (std::vector<float>{111, 222}));
}

TEST(Interpreter, BatchNormAfterConvIsFoldedIntoIt) {
  // conv(2) = 2*3 + 1 = 7; * 10 = 70; + 5 = 75, all inside one convolution.
  GraphBuilder b("bn");
  int x = b.Input("x", DType::kFloat32, {1, 1, 1, 1});
  const float w[] = {3}, bias[] = {1}, scale[] = {10}, shift[] = {5};
  const int wi = b.Const("w", DType::kFloat32, {1, 1, 1, 1}, w);
  const int bi = b.Const("b", DType::kFloat32, {1}, bias);
  int y = b.Op(OpType::kConv2D, {x, wi, bi}, {});
  y = b.Op(OpType::kMul, {y, b.Const("s", DType::kFloat32, {1}, scale)});
  y = b.Op(OpType::kAdd, {y, b.Const("t", DType::kFloat32, {1}, shift)});
  b.Output(y);
  auto g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(RunGraph<float>(*g, {{2.0f}})[0], 75.0f);
}

TEST(Interpreter, InverseTransposesCancel) {
  GraphBuilder b("transposes");
  int x = b.Input("x", DType::kFloat32, {1, 2, 3, 4});
  Attrs to, back;
  to.Set("perm", std::vector<int64_t>{0, 2, 3, 1});
  back.Set("perm", std::vector<int64_t>{0, 3, 1, 2});
  int y = b.Op(OpType::kTranspose, {x}, to);
  y = b.Op(OpType::kTranspose, {y}, back);
  b.Output(b.Op(OpType::kClip, {y}, {}));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].op, OpType::kClip);
}

TEST(Interpreter, ShapeErrorsNameTheNode) {
  GraphBuilder b("bad");
  int x = b.Input("x", DType::kFloat32, {1, 5});
  const float w[6] = {};
  const int wi = b.Const("w", DType::kFloat32, {2, 3}, w);
  b.Output(b.Op(OpType::kFullyConnected, {x, wi}, {}));
  auto g = b.Finish();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("FullyConnected"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("[1,5]"), std::string::npos) << g.status().message();
}

}  // namespace
}  // namespace tml
