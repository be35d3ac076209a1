// Emulated microcontrollers: generated firmware runs in qemu-system-arm and
// must match the reference interpreter bit for bit, for every op case and for
// the MLPerf Tiny architectures, on boards with and without DSP / FPU.
#include "targets/mcu.h"

#include <gtest/gtest.h>

#include "fixtures.h"
#include "formats/import.h"
#include "frontend/frontend.h"
#include "op_cases.h"
#include "prepare/passes.h"
#include "targets/target_profile.h"
#include "targets/verify.h"
#include "tflite_json.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

TEST(TargetProfiles, ShippedProfilesLoad) {
  auto all = LoadTargets();
  ASSERT_TRUE(all.ok()) << all.status().message();
  for (const char* name : {"cortex-m4", "cortex-m7", "cortex-m3", "rp2040", "esp32-s3"}) {
    auto p = FindTarget(name);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_GT(p->ram_bytes, 0);
    EXPECT_GT(p->clock_hz, 0);
  }
  auto m4 = FindTarget("cortex-m4");
  EXPECT_TRUE(m4->has("dsp"));
  EXPECT_EQ(m4->qemu_machine, "mps2-an386");
  EXPECT_EQ(m4->ram_bytes, 262144);
  EXPECT_FALSE(FindTarget("cortex-m3")->has("dsp"));
  EXPECT_FALSE(FindTarget("rp2040")->emulated());
  auto missing = FindTarget("cortex-m99");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cortex-m4"), std::string::npos);
}

TEST(TargetProfiles, BadYamlNamesFileAndLine) {
  auto r = ParseTargetProfile("name: x\ncore: cortex-m4\nbord: {}\n", "x.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("x.yaml: line 3: unknown key 'bord'"), std::string::npos)
      << r.status().message();
  r = ParseTargetProfile("name: [unclosed\n", "y.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("y.yaml: line"), std::string::npos) << r.status().message();
  r = ParseTargetProfile("name: x\ncore: c\nboard: {ram_bytes: 1}\n", "z.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("flash_bytes"), std::string::npos);
}

TEST(McuTarget, NotEmulatedTargetsSayWhy) {
  auto g = zoo::FcAutoencoder();
  ASSERT_TRUE(g.ok());
  VerifyOptions o;
  o.target = "rp2040";
  auto r = Verify(*g, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot be emulated"), std::string::npos);
}

TEST(McuProfile, InstructionCountsAreDeterministicAndAddUp) {
  auto g = zoo::DsCnnKws();
  ASSERT_TRUE(g.ok());
  auto a = ProfileOnDevice(*g, "cortex-m4", testing::WorkDir("profile_a"));
  auto b = ProfileOnDevice(*g, "cortex-m4", testing::WorkDir("profile_b"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(a->instructions, b->instructions);
  EXPECT_EQ(a->layer_instructions, b->layer_instructions);
  ASSERT_EQ(a->layer_instructions.size(), g->nodes.size());
  int64_t sum = 0;
  for (int64_t n : a->layer_instructions) {
    EXPECT_GE(n, 0);
    sum += n;
  }
  // Layers account for the inference except the schedule's own few instructions.
  EXPECT_LE(sum, a->instructions);
  EXPECT_GE(sum, a->instructions * 99 / 100);
  // The 2.66 M MAC model cannot take fewer than 1.3 M instructions (ISA peak 2 MAC/instr).
  EXPECT_GT(a->instructions, 1'330'000);
  EXPECT_GE(a->flash_bytes, a->weight_bytes);
  EXPECT_GE(a->ram_bytes, a->arena_bytes + a->stack_bytes);
  EXPECT_GT(a->stack_bytes, 0);
  EXPECT_LT(a->stack_bytes, 16384);
}

class McuOpCase : public ::testing::TestWithParam<testing::OpCase> {};

TEST_P(McuOpCase, BitExactOnCortexM4) {
  auto g = GetParam().build();
  ASSERT_TRUE(g.ok()) << g.status().message();
  VerifyOptions o;
  o.target = "cortex-m4";
  o.inputs = 3;
  o.seed = 21;
  o.work_dir = testing::WorkDir("m4_" + GetParam().name);
  auto r = Verify(*g, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->bit_exact) << r->ToText();
}

INSTANTIATE_TEST_SUITE_P(AllOps, McuOpCase, ::testing::ValuesIn(testing::AllOpCases()),
                         [](const auto& info) { return info.param.name; });

// A Keras-exported CNN (flatten as SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, a
// depthwise bias with the converter's quantized_dimension quirk), built by flatc.
TEST(McuTflite, KerasStyleCnnIsBitExactOnHostAndCortexM4) {
  auto bytes = testing::BuildWithFlatc(testing::KerasStyleCnn(), "keras_cnn");
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto g = ImportTfliteBuffer(bytes->data(), bytes->size(), "keras_cnn.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_TRUE(PrepareGraph(*g).ok());
  for (const char* target : {"host", "cortex-m4"}) {
    VerifyOptions o;
    o.target = target;
    o.inputs = 10;
    o.work_dir = testing::WorkDir(std::string("keras_") + target);
    auto r = Verify(*g, o);
    ASSERT_TRUE(r.ok()) << target << ": " << r.status().message();
    EXPECT_TRUE(r->bit_exact) << target << ": " << r->ToText();
  }
}

class McuArchitecture : public ::testing::TestWithParam<std::string> {};

TEST_P(McuArchitecture, MlperfModelsBitExact) {
  for (const auto& z : zoo::MlperfModels()) {
    auto g = z.build(5);
    ASSERT_TRUE(g.ok()) << z.name;
    // Float, and int8 (every optimized int8 kernel: conv, depthwise, FC, add, pooling).
    auto q = zoo::QuantizeSynthetic(*g, 5, 4);
    ASSERT_TRUE(q.ok()) << z.name << ": " << q.status().message();
    for (const Graph* m : {&*g, &*q}) {
      VerifyOptions o;
      o.target = GetParam();
      o.inputs = 4;
      o.work_dir = testing::WorkDir(GetParam() + "_" + m->name);
      auto r = Verify(*m, o);
      ASSERT_TRUE(r.ok()) << m->name << ": " << r.status().message();
      EXPECT_TRUE(r->bit_exact) << m->name << ": " << r->ToText();
    }
  }
}

TEST_P(McuArchitecture, PublishedModelsBitExact) {
  for (const std::string& f : testing::PublishedModelFiles()) {
    const std::string path = testing::SharedModel(f);
    if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
    auto g = LoadModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    VerifyOptions o;
    o.target = GetParam();
    o.inputs = 20;
    o.work_dir = testing::WorkDir(GetParam() + "_" + f);
    auto r = Verify(*g, o);
    ASSERT_TRUE(r.ok()) << f << ": " << r.status().message();
    EXPECT_TRUE(r->bit_exact) << f << ": " << r->ToText();
  }
}

// A keyword model fed raw audio: the MLPerf KWS front end (float FFT, mel, log, DCT) and
// the int8 DS-CNN behind it, on boards with a single-precision FPU (M4, M7) and without
// one (M3: soft float): the device computes the host's features bit for bit.
// The zoo's int8 DS-CNN behind a shipped front end, verified on the board.
void ExpectKwsWithFrontEndBitExact(const std::string& frontend, const std::string& target) {
  auto fe = FindFrontEnd(frontend);
  ASSERT_TRUE(fe.ok()) << fe.status().message();
  auto ds = zoo::MlperfModels()[0].build(3);
  ASSERT_TRUE(ds.ok());
  auto q = zoo::QuantizeSynthetic(*ds, 3, 4);
  ASSERT_TRUE(q.ok()) << q.status().message();
  auto audio_model = AttachFrontEnd(*q, *fe);
  ASSERT_TRUE(audio_model.ok()) << audio_model.status().message();
  ASSERT_EQ(audio_model->tensor(audio_model->inputs[0]).dtype, AudioDType(*fe));
  VerifyOptions o;
  o.target = target;
  o.inputs = 2;
  o.work_dir = testing::WorkDir(target + "_" + frontend);
  auto r = Verify(*audio_model, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->bit_exact) << r->ToText();
}

TEST_P(McuArchitecture, KwsModelWithItsFrontEndBitExact) {
  ExpectKwsWithFrontEndBitExact("mlperf-kws", GetParam());
}

// The fixed-point front end (int16 samples, integer DSP) with the int8 model behind it: the
// same bits on every core, the M3 without an FPU included.
TEST_P(McuArchitecture, KwsModelWithAFixedPointFrontEndBitExact) {
  ExpectKwsWithFrontEndBitExact("mlperf-kws-fixed", GetParam());
}

// SVDF keeps its state in the arena between invocations: the inputs run one after the
// other, so every output after the first depends on the state, on the host and the board.
TEST_P(McuArchitecture, SvdfStateCarriesAcrossInvocationsBitExact) {
  struct Shape4 {
    int input, filters, memory, rank;
  };
  // The optimized kernel's word and four-byte steps with and without tails.
  const Shape4 shapes[] = {{8, 6, 5, 2}, {13, 5, 7, 1}, {3, 4, 49, 2}};
  for (int k = 0; k < 4; ++k) {
    const bool int8 = k > 0;
    const Shape4 s = shapes[k > 0 ? k - 1 : 0];
    const auto bytes = testing::SvdfTflite(int8, 9, s.input, s.filters, s.memory, s.rank);
    auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "svdf.tflite");
    ASSERT_TRUE(g.ok()) << g.status().message();
    VerifyOptions o;
    o.target = GetParam();
    o.inputs = 6;
    o.work_dir = testing::WorkDir(GetParam() + "_svdf" + std::to_string(k));
    auto r = Verify(*g, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->bit_exact) << r->ToText();
  }
}

// LSTM's hidden and cell states stay in the arena between invocations: float, int8
// (8x8_16, also time-major with two batches and a cell clip) and 16x8.
TEST_P(McuArchitecture, LstmStateCarriesAcrossInvocationsBitExact) {
  struct Case {
    int form, time, batch, input, units;
    bool time_major;
    float clip;
  };
  const Case cases[] = {
      {0, 3, 1, 5, 4, false, 0.0f}, {1, 4, 2, 7, 6, true, 0.5f}, {2, 3, 1, 5, 4, false, 0.0f}};
  for (const Case& c : cases) {
    const auto bytes =
        testing::LstmTflite(c.form, 4, c.time, c.batch, c.input, c.units, c.time_major, c.clip);
    auto g = ImportTfliteBuffer(bytes.data(), bytes.size(), "lstm.tflite");
    ASSERT_TRUE(g.ok()) << g.status().message();
    VerifyOptions o;
    o.target = GetParam();
    o.inputs = 5;
    o.work_dir = testing::WorkDir(GetParam() + "_lstm" + std::to_string(c.form));
    auto r = Verify(*g, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->bit_exact) << r->ToText();
  }
}

INSTANTIATE_TEST_SUITE_P(Boards, McuArchitecture,
                         ::testing::Values("cortex-m4", "cortex-m7", "cortex-m3"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace tml
