// Per-op tests generated from the op registry: every registered op has cases,
// each case prepares, runs in the interpreter and matches the generated C bit
// for bit on the host target.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "fixtures.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/interpreter.h"
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

// Each op's format facts: an ONNX export rule, an ONNX import rule and a TFLite
// import rule that produce it (Identity is the IR's own no-op and Mfcc the project's own
// front end: TFLite has neither; Svdf and Lstm keep recurrent state, for which ONNX has no tensor:
// ONNX export refuses such a model by name, tests/cli/cli_test.sh).
// The round trip of every case through ONNX is tests/onnx_roundtrip_test.cc.
TEST(OpRegistry, EveryOpCanBeImportedAndExported) {
  std::map<OpType, std::vector<std::string>> onnx, tflite;
  for (const auto& f : OnnxImportOps())
    for (OpType op : f.produces) onnx[op].push_back(f.name);
  for (const auto& f : TfliteImportOps())
    for (OpType op : f.produces) tflite[op].push_back(f.name);
  for (int i = 0; i < static_cast<int>(OpType::kCount); ++i) {
    const OpType op = static_cast<OpType>(i);
    if (op != OpType::kSvdf && op != OpType::kLstm) {
      EXPECT_TRUE(OnnxExports(op)) << OpName(op) << " has no ONNX export rule";
      EXPECT_TRUE(onnx.count(op)) << OpName(op) << " is produced by no ONNX import rule";
    }
    if (op != OpType::kIdentity && op != OpType::kMfcc)
      EXPECT_TRUE(tflite.count(op)) << OpName(op) << " is produced by no TFLite import rule";
  }
  EXPECT_EQ(SupportedTfliteOperators().size(), TfliteImportOps().size());
}

// The fused-activation fact holds for every case of an op that claims it: with
// act_min = act_max the op's output is that one value; without, it varies.
TEST(OpRegistry, OpsWithAFusedActivationApplyIt) {
  int checked = 0;
  for (const auto& c : testing::AllOpCases()) {
    if (!Schema(c.op).fused_activation) continue;
    auto outputs = [&](bool clamp) -> std::vector<double> {
      auto g = c.build();
      EXPECT_TRUE(g.ok()) << c.name;
      if (!g.ok()) return {};
      int node = -1;
      for (size_t k = 0; k < g->nodes.size(); ++k)
        if (g->nodes[k].op == c.op) node = static_cast<int>(k);
      EXPECT_GE(node, 0) << c.name;
      if (node < 0) return {};
      Node& n = g->nodes[static_cast<size_t>(node)];
      if (clamp) {
        n.attrs.Set("act_min", 0.25f);
        n.attrs.Set("act_max", 0.25f);
      }
      auto interp = Interpreter::Create(*g);
      EXPECT_TRUE(interp.ok()) << c.name << ": " << interp.status().message();
      if (!interp.ok()) return {};
      for (size_t k = 0; k < g->inputs.size(); ++k) {
        auto* p = static_cast<uint8_t*>((*interp)->input(k));
        const size_t bytes = (*interp)->input_bytes(k);
        const auto r = testing::RandomI8(bytes, 7 + k);
        // Small int8 bytes; as floats they are small positive and negative values.
        const Tensor& x = g->tensor(g->inputs[k]);
        if (x.dtype == DType::kFloat32) {
          auto* f = reinterpret_cast<float*>(p);
          for (size_t e = 0; e < bytes / 4; ++e) f[e] = static_cast<float>(r[e]) / 64.0f;
        } else {
          std::memcpy(p, r.data(), bytes);
        }
      }
      std::vector<double> values;
      const Tensor& y = g->tensor(n.outputs[0]);
      (*interp)->Invoke([&](size_t k, const void* data, size_t) {
        if (static_cast<int>(k) != node) return;
        Tensor view = y;
        view.data.assign(static_cast<const uint8_t*>(data),
                         static_cast<const uint8_t*>(data) + y.nbytes());
        for (int64_t e = 0; e < y.numel(); ++e) values.push_back(view.ValueAsDouble(e));
      });
      return values;
    };
    const auto free = outputs(false), clamped = outputs(true);
    ASSERT_FALSE(clamped.empty()) << c.name;
    std::set<double> distinct_free(free.begin(), free.end());
    std::set<double> distinct(clamped.begin(), clamped.end());
    if (distinct_free.size() > 1)
      EXPECT_EQ(distinct.size(), 1u) << c.name << ": act_min = act_max did not fix the output";
    ++checked;
  }
  EXPECT_GT(checked, 10);
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
