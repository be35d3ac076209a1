// Pipeline files: parsing, dependencies, and errors with file and line before anything runs.
#include "pipeline/pipeline_spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/scratch_dir.h"

namespace tml {
namespace {

const char* kGood = R"(name: p
steps:
  - name: data
    component: dataset
    with: {dataset: d, idx: [a.gz, b.gz], split: train}
  - name: model
    component: train
    with: {spec: s.yaml, data: "${data.dataset}", epochs: 2, lr: 0.01}
  - name: q
    component: quantize
    with: {model: "${model.model}", calibration: "${data.dataset}@train"}
)";

TEST(PipelineSpec, ParsesStepsAndTheirDependencies) {
  auto p = ParsePipeline(kGood, "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->steps.size(), 3u);
  EXPECT_EQ(p->steps[1].component, "train");
  EXPECT_EQ(p->steps[1].with.at("epochs"), std::vector<std::string>{"2"});
  EXPECT_EQ(p->steps[0].with.at("idx"), (std::vector<std::string>{"a.gz", "b.gz"}));
  EXPECT_EQ(p->steps[2].after, (std::vector<std::string>{"model", "data"}));
  EXPECT_EQ(p->steps[2].lines.at("calibration"), 11);
  EXPECT_EQ(References("${a.b}@x${c.d}"),
            (std::vector<std::pair<std::string, std::string>>{{"a", "b"}, {"c", "d"}}));
}

TEST(PipelineSpec, ExampleParses) {
  auto p = LoadPipeline(std::string(TML_SOURCE_DIR) + "/examples/fashion-mnist.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->steps.size(), 6u);
  auto s = LoadPipeline(std::string(TML_SOURCE_DIR) + "/examples/sweep-cortex-m4.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->sweep);
  EXPECT_EQ(s->sweep->cells.size(), 6u);  // 3 models x 2 squeeze configs x cortex-m4
}

const char* kSweep = R"(name: s
steps:
  - name: data
    component: dataset
    with: {dataset: d, idx: [a.gz, b.gz]}
sweep:
  data: "${data.dataset}"
  models: [m/a.yaml, m/b.yaml, m/c.yaml]
  train: {epochs: 1, max_steps: 5}
  squeeze:
    - {name: int8, method: percentile}
    - {name: p50, prune: 0.5, prune_epochs: 2}
  targets: [cortex-m4, cortex-m7]
  samples: 100
)";

// What one cell of a sweep runs as a job: its measuring steps and what they read,
// in pipeline order, without the sweep block (a job names such a part with "only").
TEST(PipelineSpec, ASweepCellIsASubPipelineOfItsStepsAndWhatTheyRead) {
  auto p = ParsePipeline(kSweep, "s.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto cells = SweepCellSteps(*p->sweep);
  ASSERT_EQ(cells.size(), 12u);
  EXPECT_EQ(cells[3], (std::vector<std::string>{"a/p50/float", "a/p50/int8-eval", "a/p50/cortex-m7",
                                                "a/p50/cortex-m7/device"}));
  const PipelineSpec sub = SubPipeline(*p, cells[3]);
  EXPECT_FALSE(sub.sweep);
  std::vector<std::string> names;
  for (const StepSpec& s : sub.steps) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"data", "a/train", "a/p50/prune", "a/p50/float",
                                             "a/p50/int8", "a/p50/int8-eval", "a/p50/cortex-m7",
                                             "a/p50/cortex-m7/device"}));
}

TEST(PipelineSpec, SweepExpandsModelsTimesSqueezeTimesTargets) {
  auto p = ParsePipeline(kSweep, "s.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(p->sweep);
  // 3 models x 2 squeeze configs x 2 targets, in that order.
  ASSERT_EQ(p->sweep->cells.size(), 12u);
  const SweepCell& c = p->sweep->cells[3];  // a, p50, cortex-m7
  EXPECT_EQ(c.model, "a");
  EXPECT_EQ(c.squeeze, "p50");
  EXPECT_EQ(c.target, "cortex-m7");
  EXPECT_EQ(c.float_eval, "a/p50/float");
  EXPECT_EQ(c.int8_eval, "a/p50/int8-eval");
  EXPECT_EQ(c.compile, "a/p50/cortex-m7");
  EXPECT_EQ(c.device_eval, "a/p50/cortex-m7/device");
  EXPECT_EQ(p->sweep->cells[0].float_eval, "a/float");  // unpruned: the trained model's
  // Per model: train, float; per squeeze: [prune, float,] int8, int8-eval; per target:
  // compile, device: 1 + 3 * (2 + (2 + 2 * 2) + (4 + 2 * 2)) steps.
  EXPECT_EQ(p->steps.size(), 1u + 3 * (2 + 6 + 8));
  const StepSpec* train = p->Find("b/train");
  ASSERT_NE(train, nullptr);
  EXPECT_EQ(train->with.at("spec"), std::vector<std::string>{"m/b.yaml"});
  EXPECT_EQ(train->with.at("max_steps"), std::vector<std::string>{"5"});
  const StepSpec* prune = p->Find("c/p50/prune");
  ASSERT_NE(prune, nullptr);
  EXPECT_EQ(prune->with.at("ratio"), std::vector<std::string>{"0.5"});
  EXPECT_EQ(prune->with.at("epochs"), std::vector<std::string>{"2"});
  EXPECT_EQ(prune->with.at("model"), std::vector<std::string>{"${c/train.model}"});
  const StepSpec* q = p->Find("c/p50/int8");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->with.at("model"), std::vector<std::string>{"${c/p50/prune.model}"});
  EXPECT_EQ(q->with.at("calibration"), std::vector<std::string>{"${data.dataset}@train"});
  EXPECT_EQ(p->Find("a/int8/int8")->with.at("method"), std::vector<std::string>{"percentile"});
  const StepSpec* dev = p->Find("b/int8/cortex-m4/device");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->with.at("target"), std::vector<std::string>{"cortex-m4"});
  EXPECT_EQ(dev->with.at("samples"), std::vector<std::string>{"100"});
  EXPECT_EQ(dev->after, (std::vector<std::string>{"data", "b/int8/int8"}));
}

TEST(PipelineSpec, SweepErrorsNameTheLine) {
  const std::string head =
      "name: s\nsteps:\n  - name: data\n    component: dataset\n    with: {dataset: d, idx: [a, "
      "b]}\nsweep:\n";
  const std::string ok_models = "  models: [m/a.yaml]\n";
  const std::pair<std::string, std::string> cases[] = {
      {head + "  data: \"${nope.dataset}\"\n" + ok_models +
           "  squeeze: [{name: q}]\n  targets: [cortex-m4]\n",
       "s.yaml:7: '${nope.dataset}' refers to no earlier step"},
      {head + "  data: \"${data.dataset}\"\n" + ok_models +
           "  squeeze: [{name: q}]\n  targets: [cortex-m99]\n",
       "s.yaml:10: unknown target 'cortex-m99'"},
      {head + "  data: \"${data.dataset}\"\n" + ok_models +
           "  squeeze: [{name: q}]\n  targets: [host]\n",
       "s.yaml:10: a sweep measures each cell on a board: 'host'"},
      {head + "  data: \"${data.dataset}\"\n" + ok_models +
           "  squeeze: [{name: q, prune: lots}]\n  targets: [cortex-m4]\n",
       "s.yaml:9: 'prune' must be a number"},
      {head + "  data: \"${data.dataset}\"\n" + ok_models +
           "  squeeze:\n    - {name: q, bits: 4}\n  targets: [cortex-m4]\n",
       "s.yaml:10: unknown key 'bits' in a squeeze config"},
      {head + "  data: \"${data.dataset}\"\n  models: [a/x.yaml, b/x.yaml]\n"
              "  squeeze: [{name: q}]\n  targets: [cortex-m4]\n",
       "s.yaml:8: two models named 'x'"},
      {head + "  data: \"${data.dataset}\"\n" + ok_models + "  targets: [cortex-m4]\n",
       "s.yaml:7: the sweep needs 'squeeze'"},
      {head + "  data: \"${data.dataset}\"\n" + ok_models +
           "  squeeze: [{name: q}]\n  targets: [cortex-m4]\n  train: {colour: 1}\n",
       "s.yaml:11: sweep train: unknown parameter 'colour'"},
      {head + "  dta: 1\n", "s.yaml:7: unknown key 'dta' in sweep"},
  };
  for (const auto& [text, want] : cases) {
    auto p = ParsePipeline(text, "s.yaml");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_NE(p.status().message().find(want), std::string::npos)
        << "got: " << p.status().message() << "\nwant: " << want;
  }
}

TEST(PipelineSpec, ErrorsNameFileAndLineBeforeAnythingRuns) {
  const std::string head = "name: p\nsteps:\n  - name: data\n    component: dataset\n";
  const std::pair<std::string, std::string> cases[] = {
      {head + "    with: {dataset: d, colour: red}\n",
       "p.yaml:5: dataset: unknown parameter 'colour'"},
      {head + "    with: {dataset: d, channels: many}\n",
       "p.yaml:5: 'channels' must be an integer"},
      {head + "    with: {idx: [a, b]}\n", "p.yaml:3: step 'data' (dataset) needs 'dataset'"},
      {head + "    with: {dataset: d}\n  - name: m\n    component: train\n"
              "    with: {spec: s, data: \"${nope.dataset}\"}\n",
       "p.yaml:8: '${nope.dataset}' refers to no earlier step 'nope'"},
      {head + "    with: {dataset: d}\n  - name: m\n    component: train\n"
              "    with: {spec: s, data: \"${data.model}\"}\n",
       "p.yaml:8: step 'data' (dataset) has no output 'model'"},
      {head + "    with: {dataset: d}\n  - name: data\n    component: train\n",
       "p.yaml:6: step 'data' is defined twice"},
      {"name: p\nsteps:\n  - name: x\n    component: teleport\n",
       "p.yaml:4: unknown component 'teleport'"},
      {"name: p\nsteps:\n  - name: x\n    componnet: train\n", "p.yaml:4: unknown key 'componnet'"},
      {"name: p\nstep: []\n", "p.yaml:2: unknown key 'step'"},
      {"name: p\nsteps: [\n", "p.yaml:"},
  };
  for (const auto& [text, want] : cases) {
    auto p = ParsePipeline(text, "p.yaml");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_NE(p.status().message().find(want), std::string::npos)
        << "got: " << p.status().message() << "\nwant: " << want;
  }
}

// What a server checks before it queues a job: every file a step reads lies under an
// allowed directory, after symlinks and ".." are resolved; references are not files.
TEST(PipelineSpec, FilesMustLieUnderTheAllowedDirectories) {
  namespace fs = std::filesystem;
  ScratchDir dir{"", "files-under"};
  const std::string root = dir.path() + "/ok";
  fs::create_directories(root + "/models");
  std::ofstream(root + "/models/s.yaml") << "name: s\n";
  fs::create_symlink("/etc/hostname", root + "/models/link.yaml");
  fs::create_directories(dir.path() + "/ok-not");
  auto job = [](const std::string& spec, const std::string& idx) {
    return ParsePipeline(
        "name: j\nsteps:\n  - name: data\n    component: dataset\n    with: {dataset: d, idx: [" +
            idx + ", " + idx + "]}\n  - name: t\n    component: train\n    with: {spec: " + spec +
            ", data: \"${data.dataset}\"}\n  - name: q\n    component: quantize\n    with: "
            "{model: \"${t.model}\", calibration: d}\n",
        "job");
  };
  const std::vector<std::string> roots = {root, "/usr/share/datasets"};
  auto ok = job(root + "/models/s.yaml", "/usr/share/datasets/x.gz");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(CheckFilesUnder(*ok, roots).ok()) << CheckFilesUnder(*ok, roots).message();
  const std::pair<std::string, std::string> outside[] = {
      {"/etc/passwd", "spec '/etc/passwd'"},
      {root + "/../ok-not/s.yaml", "ok-not/s.yaml"},  // a sibling that shares the prefix
      {root + "/models/../../ok-not/x", "../ok-not/x"},
      {root + "/models/link.yaml", "link.yaml"},  // a symlink out
  };
  for (const auto& [spec, says] : outside) {
    auto p = job(spec, "/usr/share/datasets/x.gz");
    ASSERT_TRUE(p.ok()) << p.status().message();
    const Status st = CheckFilesUnder(*p, roots);
    ASSERT_FALSE(st.ok()) << spec;
    EXPECT_NE(st.message().find("step 't': spec"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(says), std::string::npos) << st.message();
  }
  auto idx = job(root + "/models/s.yaml", "/tmp/../etc/shadow");
  ASSERT_TRUE(idx.ok());
  EXPECT_NE(CheckFilesUnder(*idx, roots).message().find("step 'data': idx"), std::string::npos);
}

}  // namespace
}  // namespace tml
