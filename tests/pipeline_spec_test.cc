// Pipeline files: parsing, dependencies, and errors with file and line before anything runs.
#include "pipeline/pipeline_spec.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tml
