#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "fixtures.h"
#include "formats/import.h"
#include "prepare/passes.h"
#include "tflite_writer.h"

namespace tml {
namespace {

using testing::SharedModel;

TEST(TfliteImport, PublishedModelsImport) {
  struct Want {
    const char* file;
    size_t nodes;
    DType in;
  };
  for (const Want& w : {Want{"kws_ref_model.tflite", 13, DType::kInt8},
                        Want{"kws_ref_model_float32.tflite", 13, DType::kFloat32},
                        Want{"ad01_int8.tflite", 10, DType::kInt8},
                        Want{"ad01_fp32.tflite", 10, DType::kFloat32}}) {
    const std::string path = SharedModel(w.file);
    if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
    auto g = LoadModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_EQ(g->nodes.size(), w.nodes) << w.file;
    EXPECT_EQ(g->tensor(g->inputs[0]).dtype, w.in) << w.file;
  }
}

TEST(TfliteImport, KwsHasPerChannelConvAndFusedRelu) {
  const std::string path = SharedModel("kws_ref_model.tflite");
  if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
  auto g = LoadModel(path);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& conv = g->nodes[0];
  ASSERT_EQ(conv.op, OpType::kConv2D);
  EXPECT_EQ(conv.attrs.Float("act_min", kNoMin), 0.0f);
  EXPECT_EQ(g->tensor(conv.inputs[1]).quant.scale.size(), 64u);
  EXPECT_EQ(conv.attrs.Int("stride_h"), 2);
}

TEST(TfliteImport, UnsupportedOpsAreListedInOneMessage) {
  const auto bytes = testing::UnsupportedOpsTflite();
  auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "unsupported.tflite");
  ASSERT_FALSE(g.ok());
  const std::string& m = g.status().message();
  EXPECT_NE(m.find("3 unsupported operator types"), std::string::npos) << m;
  EXPECT_NE(m.find("LSTM (16) used by 2 nodes"), std::string::npos) << m;
  EXPECT_NE(m.find("CUSTOM 'MyCustomOp'"), std::string::npos) << m;
  EXPECT_NE(m.find("HARD_SWISH"), std::string::npos) << m;
  EXPECT_NE(m.find("after_lstm_2"), std::string::npos) << m;
  EXPECT_EQ(m.find("RELU"), std::string::npos) << "supported ops must not be listed: " << m;
}

TEST(TfliteImport, WrittenModelImportsAndRuns) {
  const auto bytes = testing::TinyFcTflite();
  auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "tiny.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_TRUE(PrepareGraph(*g).ok());
  ASSERT_EQ(g->nodes.size(), 2u);
  EXPECT_EQ(g->nodes[0].op, OpType::kFullyConnected);
  EXPECT_EQ(g->nodes[0].attrs.Float("act_min", kNoMin), 0.0f);
}

// Keras' Reshape exports SHAPE -> STRIDED_SLICE -> PACK feeding RESHAPE; it must fold away.
TEST(TfliteImport, ShapeSubgraphsAreFoldedAtImport) {
  testing::TfliteWriter w;
  auto i32 = [](std::vector<int32_t> v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
  };
  const int x = w.AddTensor({"x", 0, {1, 2, 3, 4}, {}, {}, {}});
  const int shape = w.AddTensor({"shape", 2, {4}, {}, {}, {}});
  const int begin = w.AddTensor({"begin", 2, {1}, {}, {}, i32({0})});
  const int end = w.AddTensor({"end", 2, {1}, {}, {}, i32({1})});
  const int strides = w.AddTensor({"strides", 2, {1}, {}, {}, i32({1})});
  const int batch = w.AddTensor({"batch", 2, {}, {}, {}, {}});
  const int minus1 = w.AddTensor({"minus1", 2, {}, {}, {}, i32({-1})});
  const int packed = w.AddTensor({"packed", 2, {2}, {}, {}, {}});
  const int y = w.AddTensor({"y", 0, {1, 24}, {}, {}, {}});
  w.AddOp({77, "", {x}, {shape}});
  w.AddOp({45, "", {shape, begin, end, strides}, {batch}, 32, {{4, 1}}});  // shrink_axis_mask = 1
  w.AddOp({83, "", {batch, minus1}, {packed}, 59, {{0, 2}, {1, 0}}});      // values_count 2, axis 0
  w.AddOp({22, "", {x, packed}, {y}});
  const auto bytes = w.Finish({x}, {y});
  auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "keras_reshape.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_TRUE(PrepareGraph(*g).ok());
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].op, OpType::kReshape);
  EXPECT_EQ(g->tensor(g->outputs[0]).shape, (Shape{1, 24}));
}

TEST(TfliteImport, GarbageAndTruncatedFilesGiveErrors) {
  std::vector<uint8_t> junk(100, 0xAB);
  auto g = ImportTfliteBuffer(junk.data(), junk.size(), "junk.tflite");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("junk.tflite"), std::string::npos);
  auto empty = ImportTfliteBuffer(nullptr, 0, "empty.tflite");
  EXPECT_FALSE(empty.ok());
  auto bytes = testing::TinyFcTflite();
  for (size_t n = 0; n < bytes.size(); n += 7) {
    auto t = ImportTfliteBuffer(bytes.data(), n, "cut.tflite");
    EXPECT_FALSE(t.ok()) << "truncated to " << n << " bytes was accepted";
  }
}

// Mutation fuzzing: random byte flips, overwrites and truncations of real
// models must give a model or an error, never a crash or a hang (run under
// ASan/UBSan in the sanitizer build).
TEST(TfliteImport, MutatedModelsNeverCrash) {
  std::vector<std::vector<uint8_t>> seeds = {testing::TinyFcTflite(),
                                             testing::UnsupportedOpsTflite()};
  const std::string kws = SharedModel("kws_ref_model.tflite");
  if (!kws.empty()) seeds.push_back(*ReadFile(kws));
  std::mt19937_64 rng(2024);
  int errors = 0, accepted = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::vector<uint8_t> m = seeds[static_cast<size_t>(iter) % seeds.size()];
    testing::MutateBytes(m, rng, 8);
    auto g = ImportTfliteBuffer(m.data(), m.size(), "mutant.tflite");
    if (g.ok() && PrepareGraph(*g).ok())
      ++accepted;
    else
      ++errors;
  }
  EXPECT_GT(errors, 0);
  EXPECT_EQ(errors + accepted, 1500);
}

}  // namespace
}  // namespace tml
