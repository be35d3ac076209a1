// `split` end to end with an emulated MCU in the chain: per-layer costs measured in QEMU,
// the MCU's sub-model compiles and verifies on its board like any model, and budgets
// that no cut meets are refused naming the node and the bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/split.h"
#include "formats/export.h"
#include "formats/import.h"
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
  auto r = Split(q, NoProgress());
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
  auto r = Split(q, NoProgress());
  ASSERT_FALSE(r.ok());
  const std::string m = r.status().message();
  EXPECT_NE(m.find("no cut of"), std::string::npos) << m;
  EXPECT_NE(m.find("bytes of RAM, its budget is 64"), std::string::npos) << m;
  EXPECT_TRUE(m.find("mcu needs") != std::string::npos ||
              m.find("cloud needs") != std::string::npos)
      << m;
}

}  // namespace
}  // namespace tml
