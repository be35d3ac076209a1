// Per-op tests generated from the op registry: every registered op has cases,
// each case prepares, runs in the interpreter and matches the generated C bit
// for bit on the host target.
#include <gtest/gtest.h>

#include <set>

#include "fixtures.h"
#include "op_cases.h"
#include "ops/op.h"
#include "targets/verify.h"

namespace tml {
namespace {

TEST(OpRegistry, EveryRegisteredOpHasTestCases) {
  std::set<OpType> covered;
  for (const auto& c : testing::AllOpCases()) covered.insert(c.op);
  for (int i = 0; i < static_cast<int>(OpType::kCount); ++i) {
    const OpType op = static_cast<OpType>(i);
    EXPECT_NE(Schema(op).infer, nullptr) << OpName(op) << " has no registry entry";
    EXPECT_TRUE(covered.count(op)) << OpName(op) << " has no test case in tests/op_cases.cc";
  }
}

class OpCaseTest : public ::testing::TestWithParam<testing::OpCase> {};

TEST_P(OpCaseTest, GeneratedCodeIsBitExactWithInterpreter) {
  auto g = GetParam().build();
  ASSERT_TRUE(g.ok()) << g.status().message();
  bool has_op = false;
  for (const Node& n : g->nodes) has_op |= n.op == GetParam().op;
  // Identity and reshape may legitimately vanish into aliases but must still run.
  if (GetParam().op != OpType::kIdentity) EXPECT_TRUE(has_op) << "op was optimized away";
  VerifyOptions o;
  o.inputs = 4;
  o.seed = 11;
  o.work_dir = testing::WorkDir("op_" + GetParam().name);
  auto r = Verify(*g, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->bit_exact) << r->ToText();
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpCaseTest, ::testing::ValuesIn(testing::AllOpCases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tml
