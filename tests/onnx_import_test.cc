#include <gtest/gtest.h>

#include <random>

#include "fixtures.h"
#include "formats/export.h"
#include "formats/import.h"
#include "prepare/passes.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

TEST(OnnxImport, UnsupportedOpsAreListedInOneMessage) {
  const auto bytes = testing::UnsupportedOpsOnnx();
  auto g = ImportOnnxBuffer(bytes.data(), bytes.size(), "unsupported.onnx");
  ASSERT_FALSE(g.ok());
  const std::string& m = g.status().message();
  EXPECT_NE(m.find("3 unsupported operator types"), std::string::npos) << m;
  EXPECT_NE(m.find("LSTM used by 2 nodes: 'l1', 'l2'"), std::string::npos) << m;
  EXPECT_NE(m.find("NonMaxSuppression"), std::string::npos) << m;
  EXPECT_NE(m.find("com.example::FancyOp"), std::string::npos) << m;
  EXPECT_EQ(m.find("Relu"), std::string::npos) << m;
}

TEST(OnnxImport, GarbageGivesAnError) {
  std::vector<uint8_t> junk(64, 0xFF);
  auto g = ImportOnnxBuffer(junk.data(), junk.size(), "junk.onnx");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("junk.onnx"), std::string::npos);
}

// Mutation fuzzing of exported models: byte flips and truncations must give
// a model or an error, never a crash (ASan/UBSan in the sanitizer build).
TEST(OnnxImport, MutatedModelsNeverCrash) {
  auto g = zoo::DsCnnKws();
  ASSERT_TRUE(g.ok());
  auto seed = ExportOnnx(*g);
  ASSERT_TRUE(seed.ok());
  std::mt19937_64 rng(77);
  int errors = 0, accepted = 0;
  for (int iter = 0; iter < 600; ++iter) {
    std::vector<uint8_t> m = *seed;
    testing::MutateBytes(m, rng, 6);
    auto r = ImportOnnxBuffer(m.data(), m.size(), "mutant.onnx");
    if (r.ok() && PrepareGraph(*r).ok())
      ++accepted;
    else
      ++errors;
  }
  EXPECT_GT(errors, 0);
  EXPECT_EQ(errors + accepted, 600);
}

}  // namespace
}  // namespace tml
