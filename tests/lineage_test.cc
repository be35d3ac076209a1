// Lineage queries over the artifacts table, the sweep's Pareto front and best pick,
// and the HTML report's content (escaping, sections, plots).
#include "pipeline/lineage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/scratch_dir.h"
#include "pipeline/report.h"
#include "pipeline/sweep.h"

namespace tml {
namespace {

class LineageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path());
    auto db = OpenSqliteStore(dir_.path() + "/meta.db");
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    // file -> dataset -> run -> float model -> int8 model -> firmware -> evaluation;
    // the evaluation also reads the dataset; a second int8 model from the same float.
    const ArtifactRecord chain[] = {
        {"file:aaaa", "file", "train.gz", "train.gz", "{}", {}, 0},
        {"dataset:fashion@2", "dataset version", "fashion@2", "", "{}", {"file:aaaa"}, 0},
        {"run:7",
         "training run",
         "train tiny_cnn",
         "",
         R"({"val_acc": 0.9})",
         {"dataset:fashion@2"},
         0},
        {"model:f10a", "float model", "float", "/x/f10a.onnx", "{}", {"run:7"}, 0},
        {"model:1a8b",
         "int8 model",
         "int8",
         "/x/1a8b.onnx",
         "{}",
         {"model:f10a", "dataset:fashion@2"},
         0},
        {"model:1a8c", "int8 model", "int8 other", "/x/1a8c.onnx", "{}", {"model:f10a"}, 0},
        {"firmware:fe01",
         "firmware",
         "cortex-m4 firmware",
         "/x/fw.elf",
         R"({"instructions": 5})",
         {"model:1a8b"},
         0},
        {"eval:e1",
         "evaluation",
         "cortex-m4 accuracy 90 %",
         "",
         "{}",
         {"firmware:fe01", "dataset:fashion@2"},
         0},
    };
    for (const ArtifactRecord& a : chain) ASSERT_TRUE(db_->PutArtifact(a).ok()) << a.id;
  }
  ScratchDir dir_{"", "lineage-test"};
  std::unique_ptr<MetaStore> db_;
};

TEST_F(LineageTest, WalksAncestorsAndDescendants) {
  auto g = Lineage(*db_, "model:1a8b");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->focus, "model:1a8b");
  // Ancestors and descendants; not the sibling made from the same float model.
  EXPECT_EQ(g->nodes.size(), 7u);
  EXPECT_FALSE(g->nodes.count("model:1a8c"));
  EXPECT_EQ(g->Parents("model:1a8b"),
            (std::vector<std::string>{"dataset:fashion@2", "model:f10a"}));
  EXPECT_EQ(g->Children("firmware:fe01"), std::vector<std::string>{"eval:e1"});
  const std::string text = LineageText(*g);
  EXPECT_NE(text.find("lineage: file:aaaa -> dataset:fashion@2 -> run:7 -> model:f10a -> "
                      "[model:1a8b] -> firmware:fe01 -> eval:e1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("made from:"), std::string::npos);
  EXPECT_NE(text.find("(above)"), std::string::npos) << text;  // the dataset, reached twice
  const auto j = LineageJson(*g);
  EXPECT_EQ(j["nodes"].size(), 7u);
  EXPECT_EQ(j["focus"], "model:1a8b");
}

TEST_F(LineageTest, ResolvesPrefixesAndFilesAndExplainsAmbiguity) {
  auto a = ResolveArtifact(*db_, "fe0");  // without the kind
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->id, "firmware:fe01");
  EXPECT_EQ(ResolveArtifact(*db_, "run:7")->id, "run:7");
  auto amb = ResolveArtifact(*db_, "model:1a8");
  ASSERT_FALSE(amb.ok());
  EXPECT_NE(amb.status().message().find("names 2 artifacts"), std::string::npos);
  EXPECT_FALSE(ResolveArtifact(*db_, "nothing").ok());
  EXPECT_FALSE(ResolveArtifact(*db_, "%").ok());  // LIKE wildcards are literal
  // A file is looked up by its content hash.
  const std::string f = dir_.path() + "/m.onnx";
  std::ofstream(f) << "abc";  // sha256: ba7816bf8f01cfea414140de5dae2223...
  ASSERT_TRUE(db_->PutArtifact(
                     {"model:ba7816bf8f01cfea414140de5dae2223", "int8 model", "m", f, "{}", {}, 0})
                  .ok());
  EXPECT_EQ(ResolveArtifact(*db_, f)->id, "model:ba7816bf8f01cfea414140de5dae2223");
  // Without `files` (the API) a path is only text: nothing is read.
  auto api = ResolveArtifact(*db_, f, false);
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().message(), "no artifact '" + f + "'");
}

TEST_F(LineageTest, EmptyMetadataKeepsWhatWasRecorded) {
  ASSERT_TRUE(
      db_->PutArtifact({"firmware:fe01", "firmware", "again", "/y", "{}", {"model:1a8c"}, 0}).ok());
  auto a = ResolveArtifact(*db_, "firmware:fe01");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->metadata, R"({"instructions": 5})");
  EXPECT_EQ(a->parents, (std::vector<std::string>{"model:1a8b", "model:1a8c"}));
}

SweepRow Row(const std::string& model, double acc, int64_t instr, int64_t ram, bool fits) {
  SweepRow r;
  r.model = model;
  r.squeeze = "int8";
  r.target = "cortex-m4";
  r.int8_acc = acc;
  r.instructions = instr;
  r.ram_bytes = ram;
  r.fits = fits;
  return r;
}

TEST(Sweep, ParetoFrontAndBestThatFits) {
  std::vector<SweepRow> rows = {
      Row("big", 0.95, 9000, 900, false),  // most accurate, does not fit: front, not best
      Row("mid", 0.92, 5000, 400, true),   // front, best that fits
      Row("slow", 0.90, 6000, 500, true),  // dominated by mid
      Row("tiny", 0.80, 1000, 100, true),  // front (fastest)
      Row("lean", 0.92, 5000, 300, true),  // dominates mid (less RAM): front
  };
  MarkPareto(rows);
  EXPECT_TRUE(rows[0].pareto);
  EXPECT_FALSE(rows[1].pareto);
  EXPECT_FALSE(rows[2].pareto);
  EXPECT_TRUE(rows[3].pareto);
  EXPECT_TRUE(rows[4].pareto);
  EXPECT_FALSE(rows[0].best);
  // mid and lean tie on accuracy and instructions: both count as best.
  EXPECT_TRUE(rows[1].best);
  EXPECT_TRUE(rows[4].best);
  EXPECT_FALSE(rows[3].best);
  const std::string table = SweepTable(rows);
  EXPECT_NE(table.find("best that fits cortex-m4: mid / int8"), std::string::npos) << table;
  EXPECT_EQ(SweepJson(rows).size(), 5u);
  // Another target is its own front.
  rows.push_back(Row("other", 0.5, 100000, 100000, true));
  rows.back().target = "cortex-m7";
  MarkPareto(rows);
  EXPECT_TRUE(rows.back().pareto);
  EXPECT_TRUE(rows.back().best);
}

TEST_F(LineageTest, ReportHasEverySectionAndEscapesText) {
  const std::string conf = R"({"target": "cortex-m4", "accuracy": 0.5, "host_accuracy": 0.5,
      "samples": 4, "classes": ["<cat>", "dog"], "confusion": [[1, 1], [1, 1]]})";
  ASSERT_TRUE(db_->PutArtifact({"eval:e1", "evaluation", "cortex-m4", "", conf, {}, 0}).ok());
  ASSERT_TRUE(db_->PutArtifact({"run:7",
                                "training run",
                                "t",
                                "",
                                R"({"epochs": [{"epoch": 1, "train_loss": 1.0, "val_acc": 0.5},
                                               {"epoch": 2, "train_loss": 0.5, "val_acc": 0.7}]})",
                                {},
                                0})
                  .ok());
  ASSERT_TRUE(db_->PutArtifact({"model:1a8b",
                                "int8 model",
                                "int8",
                                "",
                                R"({"sqnr": [
      {"node": "conv1", "op": "Conv", "sqnr_db": 31.5}, {"node": "fc", "op": "Gemm", "sqnr_db": null}]})",
                                {},
                                0})
                  .ok());
  ASSERT_TRUE(db_->PutArtifact({"firmware:fe01",
                                "firmware",
                                "fw",
                                "",
                                R"({"instructions": 500,
      "fits": true, "layers": [{"op": "Conv", "name": "conv1", "macs": 100, "instructions": 400}]})",
                                {},
                                0})
                  .ok());
  PipelineSpec spec;
  spec.name = "demo <&>";
  spec.file = "p.yaml";
  std::vector<StepOutcome> steps = {
      {"train", "train", "k1", false, 3.0, {{"run", "7"}}, {{"run", "run:7"}}},
      {"int8", "quantize", "k2", true, 0, {{"model", "m"}}, {{"model", "model:1a8b"}}},
      {"m4", "compile", "k3", true, 0, {{"firmware", "f"}}, {{"firmware", "firmware:fe01"}}},
      {"dev", "evaluate", "k4", false, 1.0, {{"accuracy", "0.5"}}, {{"accuracy", "eval:e1"}}},
  };
  std::vector<SweepRow> rows = {Row("a", 0.9, 10, 10, true), Row("b", 0.8, 5, 5, false)};
  MarkPareto(rows);
  auto html = RenderReport({spec, 3, steps, rows}, *db_);
  ASSERT_TRUE(html.ok()) << html.status().message();
  for (const char* want :
       {"<title>demo &lt;&amp;&gt; run 3", "id=training", "id=evaluation", "id=quantization",
        "id=profile", "id=sweep", "id=lineage", "&lt;cat&gt;", "31.5", "exact", ">cached<",
        "confusion matrix", "sweep: accuracy vs instructions vs RAM", "<polyline"})
    EXPECT_NE(html->find(want), std::string::npos) << want;
  EXPECT_EQ(html->find("<cat>"), std::string::npos);
  EXPECT_EQ(html->find("<script"), std::string::npos);  // self-contained, static
  // The lineage graph pulls in the recorded parents of the run's artifacts.
  EXPECT_NE(html->find("dataset:fashion@2"), std::string::npos);
}

}  // namespace
}  // namespace tml
