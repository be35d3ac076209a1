// IR -> ONNX -> IR: float graphs as plain ONNX, int8 graphs as QDQ. The
// re-imported graph must have the same layers and compute identical outputs.
#include <gtest/gtest.h>

#include <cstring>

#include "fixtures.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "op_cases.h"
#include "prepare/passes.h"
#include "targets/verify.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

Result<Graph> RoundTrip(const Graph& g) {
  TML_ASSIGN_OR_RETURN(auto bytes, ExportOnnx(g));
  TML_ASSIGN_OR_RETURN(Graph back, ImportOnnxBuffer(bytes.data(), bytes.size(), g.name + ".onnx"));
  TML_RETURN_IF_ERROR(PrepareGraph(back));
  return back;
}

// Runs both graphs on the same random inputs; all outputs must be identical bytes.
void ExpectSameOutputs(const Graph& a, const Graph& b, int samples) {
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  auto ia = Interpreter::Create(a);
  auto ib = Interpreter::Create(b);
  ASSERT_TRUE(ia.ok() && ib.ok());
  const auto inputs = RandomInputs(a, samples, 5);
  size_t off = 0;
  for (int s = 0; s < samples; ++s) {
    for (size_t k = 0; k < a.inputs.size(); ++k) {
      ASSERT_EQ((*ia)->input_bytes(k), (*ib)->input_bytes(k));
      std::memcpy((*ia)->input(k), inputs.data() + off, (*ia)->input_bytes(k));
      std::memcpy((*ib)->input(k), inputs.data() + off, (*ia)->input_bytes(k));
      off += (*ia)->input_bytes(k);
    }
    (*ia)->Invoke();
    (*ib)->Invoke();
    for (size_t k = 0; k < a.outputs.size(); ++k) {
      ASSERT_EQ((*ia)->output_bytes(k), (*ib)->output_bytes(k));
      ASSERT_EQ(std::memcmp((*ia)->output(k), (*ib)->output(k), (*ia)->output_bytes(k)), 0)
          << a.name << ": output " << k << " differs for sample " << s;
    }
  }
}

void ExpectSameLayers(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size()) << a.name;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    EXPECT_EQ(a.nodes[i].op, b.nodes[i].op) << a.name << " layer " << i;
    EXPECT_EQ(a.tensor(a.nodes[i].outputs[0]).dtype, b.tensor(b.nodes[i].outputs[0]).dtype)
        << a.name << " layer " << i;
  }
}

TEST(OnnxRoundTrip, MlperfArchitecturesRoundTripAndVerifyBitExact) {
  for (const auto& z : zoo::MlperfModels()) {
    auto g = z.build(7);
    ASSERT_TRUE(g.ok()) << z.name;
    auto back = RoundTrip(*g);
    ASSERT_TRUE(back.ok()) << z.name << ": " << back.status().message();
    ExpectSameLayers(*g, *back);
    ExpectSameOutputs(*g, *back, 5);
    VerifyOptions o;
    o.inputs = 100;
    o.work_dir = testing::WorkDir("roundtrip_" + z.name);
    auto r = Verify(*back, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->bit_exact) << z.name << ": " << r->ToText();
  }
}

TEST(OnnxRoundTrip, Int8TfliteModelsRoundTripAsQdq) {
  for (const char* f : {"kws_ref_model.tflite", "ad01_int8.tflite"}) {
    const std::string path = testing::SharedModel(f);
    if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
    auto g = LoadModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    auto back = RoundTrip(*g);
    ASSERT_TRUE(back.ok()) << f << ": " << back.status().message();
    ExpectSameLayers(*g, *back);
    ExpectSameOutputs(*g, *back, 20);
  }
}

TEST(OnnxRoundTrip, EveryOpCaseRoundTrips) {
  for (const auto& c : testing::AllOpCases()) {
    auto g = c.build();
    ASSERT_TRUE(g.ok()) << c.name;
    if (c.op == OpType::kSvdf || c.op == OpType::kLstm) {  // recurrent state: refused by name
      auto refused = ExportOnnx(*g);
      ASSERT_FALSE(refused.ok()) << c.name;
      EXPECT_NE(refused.status().message().find("recurrent state"), std::string::npos);
      continue;
    }
    auto back = RoundTrip(*g);
    ASSERT_TRUE(back.ok()) << c.name << ": " << back.status().message();
    ExpectSameOutputs(*g, *back, 3);
  }
}

}  // namespace
}  // namespace tml
