#include "codegen/codegen.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/process.h"
#include "fixtures.h"
#include "formats/import.h"
#include "targets/profile.h"
#include "targets/verify.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

std::string Slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(Codegen, GeneratedCodeIsWarningFreeC99WithoutMallocOrIo) {
  auto g = zoo::DsCnnKws();
  ASSERT_TRUE(g.ok()) << g.status().message();
  const std::string dir = testing::WorkDir("codegen_c99");
  CodegenOptions opt;
  opt.prefix = "kws";
  auto r = GenerateC(*g, dir, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const auto& src : r->sources) {
    auto p = RunProcess({"cc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O1", "-c",
                         "-I" + dir, "-I" + r->include_dir, src, "-o", dir + "/tmp.o"});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->exit_code, 0) << src << "\n" << p->output;
    const std::string text = Slurp(src);
    for (const char* banned : {"malloc", "calloc", "free(", "printf", "fopen", "<stdio.h>"})
      EXPECT_EQ(text.find(banned), std::string::npos) << src << " uses " << banned;
  }
  const std::string header = Slurp(dir + "/kws.h");
  EXPECT_NE(header.find("#define KWS_ARENA_BYTES " + std::to_string(r->plan.arena_bytes)),
            std::string::npos);
  EXPECT_NE(header.find("void kws_invoke(void);"), std::string::npos);
}

TEST(Codegen, OptimizedKernelsByDefaultReferenceKernelsOnRequest) {
  const std::string path = testing::SharedModel("kws_ref_model.tflite");
  if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
  auto g = LoadModel(path);
  ASSERT_TRUE(g.ok());
  CodegenOptions fast, reference;
  reference.reference_kernels = true;
  auto a = GenerateC(*g, testing::WorkDir("gen_fast"), fast);
  auto b = GenerateC(*g, testing::WorkDir("gen_reference"), reference);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string fast_c = Slurp(testing::WorkDir("gen_fast") + "/model.c");
  const std::string ref_c = Slurp(testing::WorkDir("gen_reference") + "/model.c");
  EXPECT_NE(fast_c.find("tml_conv2d_s8_fast("), std::string::npos);
  EXPECT_NE(fast_c.find("tml_fully_connected_s8_fast("), std::string::npos);
  EXPECT_EQ(ref_c.find("_fast("), std::string::npos);
  EXPECT_NE(ref_c.find("tml_conv2d_s8("), std::string::npos);
  EXPECT_GT(a->scratch_bytes, 0);
  EXPECT_EQ(b->scratch_bytes, 0);
}

TEST(Codegen, MlperfArchitecturesVerifyBitExactOver100Inputs) {
  for (const auto& z : zoo::MlperfModels()) {
    auto g = z.build(3);
    ASSERT_TRUE(g.ok()) << z.name << ": " << g.status().message();
    VerifyOptions o;
    o.inputs = 100;
    o.work_dir = testing::WorkDir("verify_" + z.name);
    auto r = Verify(*g, o);
    ASSERT_TRUE(r.ok()) << z.name << ": " << r.status().message();
    EXPECT_TRUE(r->bit_exact) << z.name << ": " << r->ToText();
  }
}

TEST(Codegen, MlperfArchitecturesHavePublishedMacCounts) {
  for (const auto& z : zoo::MlperfModels()) {
    auto g = z.build(1);
    ASSERT_TRUE(g.ok()) << z.name;
    auto p = ProfileGraph(*g);
    ASSERT_TRUE(p.ok());
    EXPECT_NEAR(static_cast<double>(p->macs), z.published_macs, z.published_macs * 0.02)
        << z.name << " has " << p->macs << " MACs";
  }
}

TEST(Codegen, PublishedModelsVerifyBitExact) {
  for (const std::string& f : testing::PublishedModelFiles()) {
    const std::string path = testing::SharedModel(f);
    if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
    auto g = LoadModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    VerifyOptions o;
    o.inputs = 100;
    o.work_dir = testing::WorkDir("verify_" + f);
    auto r = Verify(*g, o);
    ASSERT_TRUE(r.ok()) << f << ": " << r.status().message();
    EXPECT_TRUE(r->bit_exact) << f << ": " << r->ToText();
  }
}

TEST(Codegen, VerifyReportsTheFirstDifferingLayer) {
  // Compile the original graph, but let the reference interpreter run a twin
  // whose third layer has one changed bias: verify must blame that layer.
  auto g = zoo::FcAutoencoder();
  ASSERT_TRUE(g.ok());
  Graph changed = *g;
  Tensor& bias = changed.tensor(changed.nodes[2].inputs[2]);
  bias.mutable_as<float>()[0] += 100.0f;  // survives the fused ReLU
  VerifyOptions o;
  o.inputs = 3;
  o.work_dir = testing::WorkDir("verify_corrupt");
  o.reference = &changed;
  auto r = Verify(*g, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->bit_exact);
  EXPECT_EQ(r->layer, 2);
  EXPECT_EQ(r->op, "FullyConnected");
  EXPECT_GT(r->max_abs_diff, 0.0);
  EXPECT_NE(r->ToText().find("layer #2"), std::string::npos) << r->ToText();
}

}  // namespace
}  // namespace tml
