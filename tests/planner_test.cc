#include "prepare/planner.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fixtures.h"
#include "formats/import.h"
#include "prepare/builder.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

TEST(Planner, ChainReusesMemory) {
  GraphBuilder b("chain");
  int x = b.Input("x", DType::kFloat32, {1, 8, 8, 4});
  x = b.Conv2D(x, 4, 3, 1, true, Act::kRelu);
  x = b.Conv2D(x, 4, 3, 1, true, Act::kRelu);
  x = b.Conv2D(x, 4, 3, 1, true, Act::kRelu);
  b.Output(x);
  auto g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto p = PlanMemory(*g);
  ASSERT_TRUE(p.ok());
  // Three 1 KiB activations + input, but at most two live at once.
  EXPECT_EQ(p->arena_bytes, 2 * 1024);
  EXPECT_EQ(p->lower_bound_bytes, 2 * 1024);
}

TEST(Planner, LiveTensorsNeverOverlap) {
  auto g = zoo::ResNet8();
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto p = PlanMemory(*g);
  ASSERT_TRUE(p.ok());
  // Check every pair of tensors alive at the same step against the offsets.
  const size_t n = g->nodes.size();
  std::vector<int> first(g->tensors.size(), -1), last(g->tensors.size(), -1);
  auto touch = [&](int t, int s) {
    if (t < 0 || g->tensor(t).is_const) return;
    if (first[t] < 0) first[t] = s;
    last[t] = std::max(last[t], s);
  };
  for (int t : g->inputs) touch(t, 0);
  for (size_t s = 0; s < n; ++s) {
    for (int t : g->nodes[s].inputs) touch(t, static_cast<int>(s));
    for (int t : g->nodes[s].outputs) touch(t, static_cast<int>(s));
  }
  for (int t : g->outputs) touch(t, static_cast<int>(n));
  for (size_t a = 0; a < g->tensors.size(); ++a)
    for (size_t b2 = a + 1; b2 < g->tensors.size(); ++b2) {
      if (first[a] < 0 || first[b2] < 0 || p->buffer[a] == p->buffer[b2]) continue;
      if (first[a] > last[b2] || first[b2] > last[a]) continue;
      const int64_t a0 = p->offset[a], a1 = a0 + g->tensors[a].nbytes();
      const int64_t b0 = p->offset[b2], b1 = b0 + g->tensors[b2].nbytes();
      EXPECT_TRUE(a1 <= b0 || b1 <= a0)
          << g->tensors[a].name << " overlaps " << g->tensors[b2].name;
    }
}

// The buffer list (what the dashboard's arena timeline draws) agrees with the
// per-tensor offsets, stays inside the arena and never overlaps in time and bytes.
TEST(Planner, BuffersDescribeTheArenaOverTime) {
  auto g = zoo::ResNet8();
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto p = PlanMemory(*g);
  ASSERT_TRUE(p.ok());
  ASSERT_FALSE(p->buffers.empty());
  for (size_t t = 0; t < g->tensors.size(); ++t)
    if (p->buffer[t] >= 0) {
      EXPECT_EQ(p->offset[t], p->buffers[static_cast<size_t>(p->buffer[t])].offset);
    }
  int64_t peak = 0;
  for (const PlannedBuffer& b : p->buffers) {
    EXPECT_LE(b.first, b.last);
    EXPECT_LE(b.offset + b.bytes, p->arena_bytes);
    peak = std::max(peak, b.offset + b.bytes);
  }
  EXPECT_GT(peak, p->arena_bytes - p->alignment);  // the arena is as big as its top buffer
  for (size_t a = 0; a < p->buffers.size(); ++a)
    for (size_t c = a + 1; c < p->buffers.size(); ++c) {
      const PlannedBuffer &x = p->buffers[a], &y = p->buffers[c];
      if (x.first > y.last || y.first > x.last) continue;
      EXPECT_TRUE(x.offset + x.bytes <= y.offset || y.offset + y.bytes <= x.offset)
          << "buffers " << a << " and " << c << " overlap";
    }
  EXPECT_EQ(p->buffers[0].first, 0);  // the graph input, live from the start
  EXPECT_EQ(std::max_element(p->buffers.begin(), p->buffers.end(),
                             [](auto& x, auto& y) { return x.last < y.last; })
                ->last,
            static_cast<int>(g->nodes.size()));  // the output, live to the end
}

TEST(Planner, ReshapeIsAnAlias) {
  GraphBuilder b("alias");
  int x = b.Input("x", DType::kFloat32, {1, 4, 4, 2});
  x = b.Conv2D(x, 2, 1, 1, true);
  const int flat = b.Flatten(x);
  b.Output(b.Dense(flat, 3));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  auto p = PlanMemory(*g);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->offset[g->nodes[1].inputs[0]], p->offset[g->nodes[1].outputs[0]]);
}

// Regression bound on every model we ship or test with: arena <= 1.05 x lower bound.
TEST(Planner, ArenaWithinFivePercentOfLowerBound) {
  std::vector<std::pair<std::string, Result<Graph>>> models;
  for (const auto& z : zoo::MlperfModels()) models.emplace_back(z.name, z.build(1));
  for (const std::string& f : testing::PublishedModelFiles()) {
    const std::string path = testing::SharedModel(f);
    if (!path.empty()) models.emplace_back(f, LoadModel(path));
  }
  for (auto& [name, g] : models) {
    ASSERT_TRUE(g.ok()) << name << ": " << g.status().message();
    auto p = PlanMemory(*g);
    ASSERT_TRUE(p.ok());
    EXPECT_LE(p->arena_bytes, p->lower_bound_bytes * 105 / 100)
        << name << ": arena " << p->arena_bytes << " lower bound " << p->lower_bound_bytes;
  }
}

TEST(Planner, KnownArenaSizes) {
  // Regression values: a change to the planner that grows these must be deliberate.
  const std::string kws = testing::SharedModel("kws_ref_model.tflite");
  if (kws.empty()) GTEST_SKIP() << "../shared/models is absent";
  auto g = LoadModel(kws);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(PlanMemory(*g)->arena_bytes, 16000);
  auto ad = LoadModel(testing::SharedModel("ad01_int8.tflite"));
  ASSERT_TRUE(ad.ok());
  EXPECT_EQ(PlanMemory(*ad)->arena_bytes, 768);
}

}  // namespace
}  // namespace tml
