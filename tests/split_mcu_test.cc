// `split` end to end with an emulated MCU in the chain: per-layer costs measured in QEMU,
// the MCU's sub-model compiles and verifies on its board like any model, and budgets
// that no cut meets are refused naming the node and the bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "app/split.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/evaluate.h"
#include "prepare/builder.h"
#include "split/cascade.h"
#include "targets/verify.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

class SplitOnMcu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(
        (fs::temp_directory_path() / ("tml-split-" + std::to_string(getpid()))).string());
    fs::create_directories(*dir_);
    auto f = zoo::FcAutoencoder(1);
    ASSERT_TRUE(f.ok());
    auto g = zoo::QuantizeSynthetic(*f, 1);
    ASSERT_TRUE(g.ok()) << g.status().message();
    ASSERT_TRUE(SaveOnnx(*g, *dir_ + "/ae.onnx").ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Chain(const std::string& name, const std::string& budgets) {
    const std::string path = *dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "nodes:\n  - {name: mcu, target: cortex-m4" << budgets
                        << "}\n  - {name: cloud, host: {time_scale: 0.5, power_w: 60}" << budgets
                        << "}\nlinks:\n  - {profile: lora-sf7}\n";
    return path;
  }
  static std::string* dir_;
};
std::string* SplitOnMcu::dir_ = nullptr;

TEST_F(SplitOnMcu, MeasuredCutsAndAnMcuPartThatVerifiesOnItsBoard) {
  SplitRequest q;
  q.model = *dir_ + "/ae.onnx";
  q.chain = Chain("lora", "");
  q.out_dir = *dir_ + "/out";
  auto r = SplitModel(q, NoProgress());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const size_t layers = r->layer_names.size();
  // Measured: every layer of the MCU has instructions, the total near the whole model's.
  ASSERT_EQ(r->costs.nodes[0].instructions.size(), layers);
  int64_t total = 0;
  for (int64_t i : r->costs.nodes[0].instructions) total += i;
  EXPECT_GT(total, 200000);  // about 0.26 M MACs
  EXPECT_GT(r->costs.nodes[0].code_bytes, 0);
  EXPECT_EQ(r->cuts.size(), layers + 1);  // a chain of layers: one cut after each, or none
  EXPECT_TRUE(r->exact);
  EXPECT_TRUE(r->host_bit_exact);
  // Over LoRa, sending the 640-byte input costs about a second: the MCU runs a part.
  const CutCost& best = r->cuts[static_cast<size_t>(r->best)];
  EXPECT_GT(best.layers[0], 0);
  for (size_t i = 1; i < r->cuts.size(); ++i)
    if (r->cuts[i].fits) EXPECT_LE(best.latency_s, r->cuts[i].latency_s);
  ASSERT_FALSE(r->part_files.empty());
  EXPECT_EQ(fs::path(r->part_files[0]).filename(), "mcu.onnx");
  EXPECT_TRUE(fs::exists(q.out_dir + "/partition.json"));
  const auto json = SplitJson(q, *r);
  EXPECT_EQ(json["cuts"].size(), r->cuts.size());
  EXPECT_EQ(json["best"], json["cuts"][0]);
  // The MCU's part is an ordinary model: it compiles and is bit-exact on the board.
  auto part = LoadModel(r->part_files[0]);
  ASSERT_TRUE(part.ok()) << part.status().message();
  VerifyOptions v;
  v.target = "cortex-m4";
  v.inputs = 3;
  auto rep = Verify(*part, v);
  ASSERT_TRUE(rep.ok()) << rep.status().message();
  EXPECT_TRUE(rep->bit_exact) << rep->ToText();
}

TEST_F(SplitOnMcu, BudgetsNoCutMeetsAreRefusedNamingTheNodeAndTheBytes) {
  SplitRequest q;
  q.model = *dir_ + "/ae.onnx";
  q.chain = Chain("tight", ", ram_bytes: 64");
  auto r = SplitModel(q, NoProgress());
  ASSERT_FALSE(r.ok());
  const std::string m = r.status().message();
  EXPECT_NE(m.find("no cut of"), std::string::npos) << m;
  EXPECT_NE(m.find("bytes of RAM, its budget is 64"), std::string::npos) << m;
  EXPECT_TRUE(m.find("mcu needs") != std::string::npos ||
              m.find("cloud needs") != std::string::npos)
      << m;
}

// A small and a big classifier on the same 8x8 images; the labels are the big model's
// own answers, so it is right on every sample and the small one where it agrees.
Graph Classifier(int convs, uint64_t seed) {
  GraphBuilder b(convs == 1 ? "small" : "big", seed);
  int x = b.Input("x", DType::kFloat32, {1, 8, 8, 1});
  for (int k = 0; k < convs; ++k) x = b.Conv2D(x, 4, 3, 1, true, Act::kRelu);
  b.Output(b.Softmax(b.Dense(b.Flatten(x), 3)));
  auto f = b.Finish();
  EXPECT_TRUE(f.ok());
  auto q = zoo::QuantizeSynthetic(*f, seed);
  EXPECT_TRUE(q.ok()) << q.status().message();
  return std::move(*q);
}

TEST_F(SplitOnMcu, CascadeSweepsFromSmallOnlyToBigOnly) {
  const Graph small = Classifier(1, 3), big = Classifier(3, 4);
  LabeledData d;
  d.shape = {8, 8, 1};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int i = 0; i < 60; ++i)
    for (int k = 0; k < 64; ++k) d.x.push_back(u(rng));
  d.y.assign(60, 0);
  EvalOptions o;
  o.keep_outputs = true;
  auto truth = EvaluateClassifier(big, d, 3, o);
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  const Tensor& out = big.tensor(big.outputs[0]);
  for (int i = 0; i < 60; ++i)
    d.y[static_cast<size_t>(i)] = ArgmaxClass(out, truth->outputs.data() + i * out.nbytes());
  auto chain = LoadChain(Chain("cascade", ""));
  ASSERT_TRUE(chain.ok()) << chain.status().message();
  CascadeOptions opt;
  opt.thresholds = {0.0, 0.4, 0.6, 0.8, 1.01};
  auto r = RunCascade(small, big, *chain, d, 3, opt, NoProgress());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->equal_to_host);  // the small model's answers came from the board
  EXPECT_EQ(r->small_on, "mcu");
  EXPECT_EQ(r->big_on, "cloud");
  EXPECT_DOUBLE_EQ(r->big_accuracy, 1.0);
  ASSERT_EQ(r->points.size(), 5u);
  EXPECT_EQ(r->points.front().offload_rate, 0.0);
  EXPECT_DOUBLE_EQ(r->points.front().accuracy, r->small_accuracy);
  EXPECT_EQ(r->points.back().offload_rate, 1.0);
  EXPECT_DOUBLE_EQ(r->points.back().accuracy, 1.0);
  EXPECT_LT(r->small_accuracy, 1.0) << "two random models should disagree somewhere";
  EXPECT_GT(r->small_s, 0);
  EXPECT_EQ(r->offload_bytes, 64);  // an int8 8x8 image over LoRa
  for (size_t i = 1; i < r->points.size(); ++i) {
    EXPECT_GE(r->points[i].offload_rate, r->points[i - 1].offload_rate);
    EXPECT_GE(r->points[i].accuracy, r->points[i - 1].accuracy);  // big is always right
  }
  const CascadePoint& all = r->points.back();
  EXPECT_NEAR(all.latency_s, r->small_s + r->link_s[0] + r->big_s, 1e-12);
  EXPECT_NEAR(all.device_energy_j, r->small_j + r->link_j[0], 1e-15);
  EXPECT_NE(CascadeTable(*r).find("all"), std::string::npos);
  EXPECT_EQ(CascadeJson(*r)["points"].size(), 5u);
}

}  // namespace
}  // namespace tml
