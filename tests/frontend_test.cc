// Feature front ends (src/frontend): YAML settings and their errors, the front-end graph
// against the DSP blocks called directly, and models with a front end attached: the
// audio model computes what features -> quantize -> the original model computes.
#include "frontend/frontend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "fixtures.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "squeeze/calibrate.h"
#include "squeeze/quantize.h"
#include "targets/verify.h"
#include "tml_dsp.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

Result<FrontEnd> FromText(const std::string& text) {
  return FrontEndFromYaml(YAML::Load(text), "fe.yaml");
}

// A tone sweep with a little noise, in -1..1.
std::vector<float> TestAudio(int64_t n, int rate, uint64_t seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> noise(0.0f, 0.01f);
  std::vector<float> a(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    a[static_cast<size_t>(i)] =
        static_cast<float>(0.5 * std::sin(2 * M_PI * (200 + 1500 * t) * t)) + noise(rng);
  }
  return a;
}

std::vector<uint8_t> RunGraph(const Graph& g, const void* in, size_t bytes) {
  auto interp = Interpreter::Create(g);
  EXPECT_TRUE(interp.ok()) << interp.status().message();
  if (!interp.ok()) return {};
  EXPECT_EQ((*interp)->input_bytes(0), bytes);
  std::memcpy((*interp)->input(0), in, bytes);
  (*interp)->Invoke();
  const auto* out = static_cast<const uint8_t*>((*interp)->output(0));
  return std::vector<uint8_t>(out, out + (*interp)->output_bytes(0));
}

TEST(FrontEnd, ShippedOnesLoadAndMlperfKwsIsTheMlperfFeatures) {
  auto all = ShippedFrontEnds();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_GE(all->size(), 2u);
  auto kws = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(kws.ok()) << kws.status().message();
  EXPECT_EQ(kws->frame_length, 480);
  EXPECT_EQ(kws->frame_step, 320);
  EXPECT_EQ(kws->fft_length, 512);
  EXPECT_EQ(kws->samples, 16000);
  EXPECT_EQ(kws->frames(), 49);
  EXPECT_EQ(kws->features(), 10);
  EXPECT_FALSE(kws->power);
  EXPECT_EQ(kws->window, "hann");
  auto missing = FindFrontEnd("no-such-front-end");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("mlperf-kws"), std::string::npos)
      << missing.status().message();
}

TEST(FrontEnd, BadSettingsNameTheFileAndTheSetting) {
  struct Case {
    const char* yaml;
    const char* says;
  } cases[] = {
      {"kind: mfcc\nhop: 3\n", "line 2: front end: unknown key 'hop'"},
      {"kind: mfcc\nsample_rate: 22050\nframe_ms: 30\n", "give frame_length instead"},
      {"frame_length: 400\nframe_ms: 25\n", "not both"},
      {"kind: mfc\n", "kind must be one of"},
      {"window: kaiser\n", "window must be one of"},
      {"mel_bins: 8\nmfcc: 10\n", "num_mfcc 10 must be 0..num_mel (8)"},
      {"frame_length: 600\nfft_length: 512\n", "frame_length 600 must be 1..fft_length"},
      {"fft_length: 500\n", "not a power of two"},
      {"upper_hz: 9000\n", "mel range"},
      {"samples: 100\n", "fewer than one frame"},
      {"kind: log-mel\nmfcc: 5\n", "not log-mel"},
      {"mel_bins: 2.5\n", "mel_bins must be a whole number"},
      {"log_offset: 0\n", "log_offset must be positive"},
      {"- a list\n", "mapping"},
      {"deltas: 12\n", "deltas must be a whole number in 0..9"},
  };
  for (const Case& c : cases) {
    auto fe = FromText(c.yaml);
    ASSERT_FALSE(fe.ok()) << c.yaml;
    EXPECT_NE(fe.status().message().find(c.says), std::string::npos)
        << c.yaml << "\n -> " << fe.status().message();
    EXPECT_NE(fe.status().message().find("fe.yaml"), std::string::npos) << fe.status().message();
  }
}

// The graph's Mfcc op computes, frame by frame, what the DSP blocks compute when called
// directly with tml_mfcc_init's tables.
TEST(FrontEnd, GraphMatchesTheDspBlocksCalledDirectly) {
  for (const char* name : {"mlperf-kws", "log-mel-16k"}) {
    auto fe = FindFrontEnd(name);
    ASSERT_TRUE(fe.ok()) << fe.status().message();
    auto g = FrontEndGraph(*fe);
    ASSERT_TRUE(g.ok()) << g.status().message();
    const auto audio = TestAudio(fe->samples, fe->sample_rate, 3);
    const auto out = RunGraph(*g, audio.data(), audio.size() * 4);
    ASSERT_EQ(out.size(), static_cast<size_t>(fe->frames() * fe->features()) * 4);
    tml_mfcc_config c{};
    c.sample_rate = fe->sample_rate;
    c.frame_length = fe->frame_length;
    c.frame_step = fe->frame_step;
    c.fft_length = fe->fft_length;
    c.window = fe->window == "hann" ? TML_WINDOW_HANN : TML_WINDOW_HAMMING;
    c.power = fe->power;
    c.num_mel = fe->mel_bins;
    c.num_mfcc = fe->mfcc ? fe->num_mfcc : 0;
    c.lower_hz = fe->lower_hz;
    c.upper_hz = fe->upper_hz;
    c.log_offset = fe->log_offset;
    size_t tf = 0, ti = 0, sf = 0;
    tml_mfcc_sizes(&c, &tf, &ti, &sf);
    std::vector<float> tables(tf), scratch(sf), frame(static_cast<size_t>(fe->features()));
    std::vector<int32_t> index(ti);
    tml_mfcc_plan plan;
    ASSERT_EQ(tml_mfcc_init(&c, tables.data(), index.data(), &plan), 0);
    for (int f = 0; f < fe->frames(); ++f) {
      tml_mfcc_frame(&plan, audio.data() + f * fe->frame_step, scratch.data(), frame.data());
      ASSERT_EQ(std::memcmp(frame.data(), out.data() + f * frame.size() * 4, frame.size() * 4), 0)
          << name << " frame " << f;
    }
  }
}

// The clip as the attached model's input takes it: floats, or int16 for fixed point.
std::vector<uint8_t> AudioBytes(const FrontEnd& fe, const std::vector<float>& audio) {
  std::vector<uint8_t> b(audio.size() * (fe.fixed_point ? 2 : 4));
  if (!fe.fixed_point) {
    std::memcpy(b.data(), audio.data(), b.size());
    return b;
  }
  const std::vector<int16_t> pcm = ToPcm16(audio.data(), audio.size());
  std::memcpy(b.data(), pcm.data(), b.size());
  return b;
}

// Features -> quantize with the input's scale and zero point (TFLite: round half away
// from zero, clamp) -> the original model, against the attached model on the audio.
void ExpectAttachedComputesTheSame(const Graph& model, const FrontEnd& fe, int clips) {
  auto attached = AttachFrontEnd(model, fe);
  ASSERT_TRUE(attached.ok()) << attached.status().message();
  EXPECT_EQ(attached->tensor(attached->inputs[0]).shape, (Shape{1, fe.samples}));
  EXPECT_EQ(attached->tensor(attached->inputs[0]).dtype, AudioDType(fe));
  auto features = FrontEndGraph(fe);
  ASSERT_TRUE(features.ok());
  const Tensor& x = model.tensor(model.inputs[0]);
  for (int k = 0; k < clips; ++k) {
    const auto audio = AudioBytes(fe, TestAudio(fe.samples, fe.sample_rate, 10 + k));
    const auto got = RunGraph(*attached, audio.data(), audio.size());
    const auto f = RunGraph(*features, audio.data(), audio.size());
    std::vector<uint8_t> in = f;
    if (x.dtype == DType::kInt8) {
      in.resize(f.size() / 4);
      for (size_t i = 0; i < in.size(); ++i) {
        float v;
        std::memcpy(&v, f.data() + 4 * i, 4);
        const double q = std::round(v / x.quant.scale[0]) + x.quant.zero_point[0];
        in[i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(q, -128.0, 127.0)));
      }
    }
    const auto want = RunGraph(model, in.data(), in.size());
    EXPECT_EQ(got, want) << "clip " << k;
  }
}

TEST(FrontEnd, AttachedToFloatAndInt8DsCnn) {
  auto kws = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(kws.ok());
  auto ds = zoo::MlperfModels()[0].build(3);
  ASSERT_TRUE(ds.ok());
  ASSERT_EQ(ds->tensor(ds->inputs[0]).numel(), 490) << "the zoo's first model is the DS-CNN";
  ExpectAttachedComputesTheSame(*ds, *kws, 2);
  auto q = zoo::QuantizeSynthetic(*ds, 3, 4);
  ASSERT_TRUE(q.ok()) << q.status().message();
  ExpectAttachedComputesTheSame(*q, *kws, 2);
}

// arithmetic: fixed: the model takes int16 samples and the fixed-point kernel computes
// the features, within 2e-3 of the float front end's; ComputeFeatures (training's path)
// gives the op's bits; the setting survives ONNX and quantization.
TEST(FrontEnd, FixedPointArithmetic) {
  auto fixed = FindFrontEnd("mlperf-kws-fixed");
  ASSERT_TRUE(fixed.ok()) << fixed.status().message();
  EXPECT_TRUE(fixed->fixed_point);
  EXPECT_NE(FrontEndSummary(*fixed).find("fixed point"), std::string::npos);
  auto bad = FromText("arithmetic: double\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("arithmetic must be one of fixed, float"),
            std::string::npos)
      << bad.status().message();
  auto ds = zoo::MlperfModels()[0].build(3);
  ASSERT_TRUE(ds.ok());
  auto q = zoo::QuantizeSynthetic(*ds, 3, 4);
  ASSERT_TRUE(q.ok()) << q.status().message();
  ExpectAttachedComputesTheSame(*q, *fixed, 2);

  auto kws = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(kws.ok());
  std::vector<float> audio = TestAudio(16000, 16000, 3);
  for (float& v : audio) v = std::round(v * 32768.0f) / 32768.0f;  // both see the same samples
  auto f = ComputeFeatures(*kws, audio.data(), 16000);
  auto x = ComputeFeatures(*fixed, audio.data(), 16000);
  ASSERT_TRUE(f.ok() && x.ok());
  double worst = 0;
  for (size_t i = 0; i < f->size(); ++i)
    worst = std::max(worst, double(std::fabs((*f)[i] - (*x)[i])));
  EXPECT_LT(worst, 2e-3);
  EXPECT_GT(worst, 0.0) << "the fixed-point features are computed by other arithmetic";
  auto g = FrontEndGraph(*fixed);
  ASSERT_TRUE(g.ok());
  const auto pcm = AudioBytes(*fixed, audio);
  const auto op = RunGraph(*g, pcm.data(), pcm.size());
  ASSERT_EQ(op.size(), x->size() * 4);
  EXPECT_EQ(std::memcmp(op.data(), x->data(), op.size()), 0);

  // Through ONNX, and through calibration and quantization of the float model.
  auto attached = AttachFrontEnd(*ds, *fixed);
  ASSERT_TRUE(attached.ok()) << attached.status().message();
  auto bytes = ExportOnnx(*attached);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto back = ImportOnnxBuffer(bytes->data(), bytes->size(), "fixed.onnx");
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto recovered = AttachedFrontEnd(*back);
  ASSERT_TRUE(recovered.ok());
  EXPECT_TRUE(recovered->fixed_point);
  std::vector<std::vector<std::vector<float>>> samples;
  for (int k = 0; k < 3; ++k) samples.push_back({TestAudio(16000, 16000, 60 + k)});
  auto ranges = Calibrate(*attached, samples, {});
  ASSERT_TRUE(ranges.ok()) << ranges.status().message();
  auto quantized = QuantizeGraph(*attached, *ranges, {});
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(quantized->tensor(quantized->inputs[0]).dtype, DType::kInt16);
  auto after = AttachedFrontEnd(*quantized);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->fixed_point);
}

TEST(FrontEnd, AttachedToThePublishedKwsModel) {
  const std::string path = testing::SharedModel("kws_ref_model.tflite");
  if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
  auto model = LoadModel(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto kws = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(kws.ok());
  ExpectAttachedComputesTheSame(*model, *kws, 3);
}

TEST(FrontEnd, TravelsThroughOnnxAndIsRecognized) {
  auto kws = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(kws.ok());
  auto ds = zoo::MlperfModels()[0].build(3);
  ASSERT_TRUE(ds.ok());
  auto attached = AttachFrontEnd(*ds, *kws);
  ASSERT_TRUE(attached.ok());
  EXPECT_FALSE(AttachedFrontEnd(*ds).ok());
  auto bytes = ExportOnnx(*attached);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto back = ImportOnnxBuffer(bytes->data(), bytes->size(), "attached.onnx");
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto fe = AttachedFrontEnd(*back);
  ASSERT_TRUE(fe.ok()) << fe.status().message();
  EXPECT_EQ(fe->frames(), 49);
  EXPECT_EQ(fe->features(), 10);
  EXPECT_EQ(fe->frame_length, 480);
  EXPECT_FLOAT_EQ(fe->log_offset, 1e-6f);
  const auto audio = TestAudio(16000, 16000, 5);
  EXPECT_EQ(RunGraph(*attached, audio.data(), audio.size() * 4),
            RunGraph(*back, audio.data(), audio.size() * 4));
  auto twice = AttachFrontEnd(*back, *kws);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("already has a front end"), std::string::npos);
}

// Quantizing a float model with its front end: the front end stays float, the model
// behind it becomes int8 with its input quantized from the calibrated features; the same
// as quantizing the model alone with those ranges and attaching the front end after.
TEST(FrontEnd, QuantizingKeepsTheFrontEndFloat) {
  auto kws = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(kws.ok());
  auto ds = zoo::MlperfModels()[0].build(3);
  ASSERT_TRUE(ds.ok());
  auto audio_model = AttachFrontEnd(*ds, *kws);
  ASSERT_TRUE(audio_model.ok());
  std::vector<std::vector<std::vector<float>>> samples;
  for (int k = 0; k < 4; ++k) samples.push_back({TestAudio(16000, 16000, 20 + k)});
  auto ranges = Calibrate(*audio_model, samples, {});
  ASSERT_TRUE(ranges.ok()) << ranges.status().message();
  auto q = QuantizeGraph(*audio_model, *ranges, {});
  ASSERT_TRUE(q.ok()) << q.status().message();
  auto fe = AttachedFrontEnd(*q);
  ASSERT_TRUE(fe.ok()) << fe.status().message();
  EXPECT_EQ(fe->frames(), 49);
  int int8_convs = 0;
  for (const Node& n : q->nodes)
    if (n.op == OpType::kConv2D || n.op == OpType::kDepthwiseConv2D)
      int8_convs += q->tensor(n.inputs[0]).dtype == DType::kInt8;
  EXPECT_GT(int8_convs, 4);
  auto body = DetachFrontEnd(*audio_model);
  ASSERT_TRUE(body.ok()) << body.status().message();
  auto qbody = QuantizeGraph(body->body, *ranges, {});
  ASSERT_TRUE(qbody.ok()) << qbody.status().message();
  auto reattached = AttachFrontEnd(*qbody, *kws);
  ASSERT_TRUE(reattached.ok()) << reattached.status().message();
  for (int k = 0; k < 2; ++k) {
    const auto audio = TestAudio(16000, 16000, 40 + k);
    EXPECT_EQ(RunGraph(*q, audio.data(), audio.size() * 4),
              RunGraph(*reattached, audio.data(), audio.size() * 4));
  }
  VerifyOptions o;
  o.inputs = 2;
  auto v = Verify(*q, o);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->bit_exact) << v->ToText();
  const std::vector<float> audio = TestAudio(16000, 16000, 7);
  auto features = ComputeFeatures(*kws, audio.data(), 16000);
  ASSERT_TRUE(features.ok());
  auto g = FrontEndGraph(*kws);
  ASSERT_TRUE(g.ok());
  const auto op = RunGraph(*g, audio.data(), audio.size() * 4);
  ASSERT_EQ(op.size(), features->size() * 4);
  EXPECT_EQ(std::memcmp(op.data(), features->data(), op.size()), 0)
      << "ComputeFeatures differs from the Mfcc op";
  EXPECT_FALSE(ComputeFeatures(*kws, audio.data(), 15999).ok());
}

// deltas: N doubles the features: each frame's MFCCs, then their regression deltas over
// the clip (edges repeated), computed the same by the op and by ComputeFeatures.
TEST(FrontEnd, DeltasFollowEachFramesFeatures) {
  auto fe = FromText("mfcc: 10\nupper_hz: 4000\nstride_ms: 20\nframe_ms: 30\ndeltas: 2\n");
  ASSERT_TRUE(fe.ok()) << fe.status().message();
  EXPECT_EQ(fe->features(), 20);
  auto g = FrontEndGraph(*fe);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const auto audio = TestAudio(16000, 16000, 9);
  const auto bytes = RunGraph(*g, audio.data(), audio.size() * 4);
  auto direct = ComputeFeatures(*fe, audio.data(), 16000);
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(bytes.size(), direct->size() * 4);
  EXPECT_EQ(std::memcmp(bytes.data(), direct->data(), bytes.size()), 0);
  const float* f = direct->data();
  const auto at = [&](int t, int i) { return f[std::clamp(t, 0, fe->frames() - 1) * 20 + i]; };
  for (int t : {0, 1, 20, 48})
    for (int i : {0, 9}) {
      const float want =
          (1 * (at(t + 1, i) - at(t - 1, i)) + 2 * (at(t + 2, i) - at(t - 2, i))) / 10;
      EXPECT_NEAR(at(t, 10 + i), want, 1e-5f * (1 + std::fabs(want))) << t << " " << i;
    }
}

TEST(FrontEnd, AShapeMismatchSaysBothSizes) {
  auto kws = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(kws.ok());
  auto vww = zoo::MlperfModels()[1].build(3);
  ASSERT_TRUE(vww.ok());
  auto r = AttachFrontEnd(*vww, *kws);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("49 frames x 10 features = 490 values"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("takes 27648"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tml
