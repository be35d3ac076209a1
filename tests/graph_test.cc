#include "graph/graph.h"

#include <gtest/gtest.h>

namespace tml {
namespace {

Graph Chain() {
  Graph g;
  const int x = g.AddTensor(Tensor::Make("x", DType::kFloat32, {4}));
  const int y = g.AddTensor(Tensor::Make("y", DType::kFloat32, {4}));
  const int z = g.AddTensor(Tensor::Make("z", DType::kFloat32, {4}));
  g.inputs = {x};
  g.outputs = {z};
  // Deliberately out of order.
  g.AddNode(OpType::kClip, "second", {y}, {z});
  g.AddNode(OpType::kClip, "first", {x}, {y});
  return g;
}

TEST(Graph, ValidateFindsUseBeforeDefinition) {
  Graph g = Chain();
  Status s = g.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'second'"), std::string::npos) << s.message();
  ASSERT_TRUE(g.TopoSort().ok());
  EXPECT_EQ(g.nodes[0].name, "first");
  EXPECT_TRUE(g.Validate().ok());
}

TEST(Graph, ValidateFindsDoubleWrites) {
  Graph g = Chain();
  ASSERT_TRUE(g.TopoSort().ok());
  g.AddNode(OpType::kClip, "again", {g.inputs[0]}, {g.outputs[0]});
  EXPECT_FALSE(g.Validate().ok());
}

TEST(Graph, TopoSortDetectsCycles) {
  Graph g;
  const int a = g.AddTensor(Tensor::Make("a", DType::kFloat32, {1}));
  const int b = g.AddTensor(Tensor::Make("b", DType::kFloat32, {1}));
  g.AddNode(OpType::kClip, "n1", {a}, {b});
  g.AddNode(OpType::kClip, "n2", {b}, {a});
  g.outputs = {b};
  EXPECT_FALSE(g.TopoSort().ok());
}

TEST(Graph, PruneDropsDeadNodesAndRenumbers) {
  Graph g = Chain();
  ASSERT_TRUE(g.TopoSort().ok());
  const int dead = g.AddTensor(Tensor::Make("dead", DType::kFloat32, {4}));
  g.AddNode(OpType::kClip, "unused", {g.inputs[0]}, {dead});
  g.Prune();
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.tensors.size(), 3u);
  EXPECT_TRUE(g.Validate().ok());
}

TEST(Graph, AttrsAndTensorHelpers) {
  Attrs a;
  a.Set("i", 3);
  a.Set("f", 2.5f);
  a.Set("v", std::vector<int64_t>{1, 2});
  EXPECT_EQ(a.Int("i"), 3);
  EXPECT_EQ(a.Float("f"), 2.5f);
  EXPECT_EQ(a.Int("missing", 7), 7);
  EXPECT_EQ(a.Ints("v").size(), 2u);
  Tensor t = Tensor::Make("t", DType::kInt8, {2, 3});
  EXPECT_EQ(t.nbytes(), 6u);
  EXPECT_EQ(ShapeStr(t.shape), "[2,3]");
}

}  // namespace
}  // namespace tml
