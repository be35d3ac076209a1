// Keyword datasets from speech synthesis (src/data/synth_speech): the speaker split has no
// leak, the draws are seeded, bad options are refused; and the published MLPerf KWS model,
// fed the synthesized audio through the mlperf-kws front end, recognizes the words.
#include "data/synth_speech.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "fixtures.h"
#include "formats/import.h"
#include "frontend/frontend.h"
#include "interp/interpreter.h"

namespace tml {
namespace {

SynthSpeechOptions Small() {
  SynthSpeechOptions o;
  o.words = {"yes", "no", "stop"};
  o.speakers = 6;
  o.takes = 2;
  o.val = 0.2;
  o.test = 0.2;
  return o;
}

TEST(SynthSpeech, SpeakersNeverCrossSplitsAndClassesAreBalanced) {
  auto s = SynthesizeSpeech(Small(), NoProgress());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->classes, (std::vector<std::string>{"yes", "no", "stop", "silence", "unknown"}));
  // 6 speakers x (3 words x 2 takes + 2 unknown + 2 silence)
  ASSERT_EQ(s->samples.size(), 6u * 10u);
  std::map<std::string, std::set<Split>> splits_of_speaker;
  std::map<std::pair<Split, std::string>, int> per_class;
  for (const NewSample& x : s->samples) {
    const std::string speaker = SynthSpeaker(x.source);
    ASSERT_FALSE(speaker.empty()) << x.source;
    ASSERT_TRUE(x.split.has_value());
    splits_of_speaker[speaker].insert(*x.split);
    ++per_class[{*x.split, x.label}];
    EXPECT_EQ(x.kind, "audio");
    EXPECT_EQ(x.dtype, "int16");
    EXPECT_EQ(x.shape, (std::vector<int64_t>{16000}));
    EXPECT_EQ(x.bytes.size(), 32000u);
  }
  EXPECT_EQ(splits_of_speaker.size(), 6u);
  for (const auto& [speaker, splits] : splits_of_speaker)
    EXPECT_EQ(splits.size(), 1u) << speaker << " is in more than one split";
  std::set<std::string> train;
  for (const auto& v : s->speakers[Split::kTrain]) train.insert(v);
  for (Split held : {Split::kVal, Split::kTest}) {
    ASSERT_FALSE(s->speakers[held].empty());
    for (const auto& v : s->speakers[held]) EXPECT_FALSE(train.count(v)) << v;
  }
  const int test_speakers = static_cast<int>(s->speakers[Split::kTest].size());
  for (const char* c : {"yes", "no", "stop", "silence", "unknown"})
    EXPECT_EQ((per_class[{Split::kTest, c}]), 2 * test_speakers) << c;
  // Every clip has sound in it, and not clipped flat.
  for (const NewSample& x : s->samples) {
    const auto* pcm = reinterpret_cast<const int16_t*>(x.bytes.data());
    int peak = 0;
    for (int i = 0; i < 16000; ++i) peak = std::max(peak, std::abs(static_cast<int>(pcm[i])));
    EXPECT_GT(peak, x.label == "silence" ? 0 : 3000) << x.source;
  }
}

TEST(SynthSpeech, TheSeedDecidesEverything) {
  auto a = SynthesizeSpeech(Small(), NoProgress());
  auto b = SynthesizeSpeech(Small(), NoProgress());
  SynthSpeechOptions other = Small();
  other.seed = 2;
  auto c = SynthesizeSpeech(other, NoProgress());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(a->samples.size(), b->samples.size());
  for (size_t k = 0; k < a->samples.size(); ++k) {
    EXPECT_EQ(a->samples[k].bytes, b->samples[k].bytes) << a->samples[k].source;
    EXPECT_EQ(a->samples[k].source, b->samples[k].source);
  }
  EXPECT_NE(a->speakers, c->speakers);
}

TEST(SynthSpeech, BadOptionsAreRefusedWithTheReason) {
  auto refused = [](SynthSpeechOptions o, const char* says) {
    auto s = CheckSynthSpeechOptions(o);
    ASSERT_FALSE(s.ok()) << says;
    EXPECT_NE(s.message().find(says), std::string::npos) << s.message();
  };
  SynthSpeechOptions o = Small();
  o.words = {};
  refused(o, "no words");
  o = Small();
  o.words = {"yes", "yes"};
  refused(o, "given twice");
  o.words = {"unknown"};
  refused(o, "a class of its own");
  o.words = {"rm -rf"};
  refused(o, "not a word");
  o = Small();
  o.speakers = 2;
  refused(o, "at least 3 speakers");
  o = Small();
  o.val = 0.6;
  o.test = 0.5;
  refused(o, "sum below 1");
  o = Small();
  o.pitch_max = 120;
  refused(o, "pitch");
  EXPECT_FALSE(KeywordSet("colours").ok());
  auto ten = KeywordSet("mlperf-ten");
  ASSERT_TRUE(ten.ok());
  EXPECT_EQ(ten->size(), 10u);
}

// The published model was trained on real speech with the MLPerf features; our front end
// and the synthesized voices together must make it recognize the words far above chance
// (12 classes: 8.3 %). Other features fall far: the same front end with its mel bands up
// to 7600 Hz instead of 4000 took the model from 49 % to 17 % on a 40-speaker set. The
// fixed-point variant of the front end (int16 samples, integer DSP) must cost at most one
// point of accuracy against the float one on the same clips.
TEST(SynthSpeech, ThePublishedKwsModelRecognizesTheWordsThroughOurFrontEnds) {
  const std::string path = testing::SharedModel("kws_ref_model.tflite");
  if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
  auto model = LoadModel(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  SynthSpeechOptions o;
  auto words = KeywordSet("mlperf-ten");
  ASSERT_TRUE(words.ok());
  o.words = *words;
  o.speakers = 16;
  o.takes = 2;
  o.unknown_share = 0;
  o.silence_share = 0;
  auto s = SynthesizeSpeech(o, NoProgress());
  ASSERT_TRUE(s.ok()) << s.status().message();
  double accuracy[2] = {0, 0};
  std::vector<int> predicted[2];
  for (int fixed = 0; fixed < 2; ++fixed) {
    auto fe = FindFrontEnd(fixed ? "mlperf-kws-fixed" : "mlperf-kws");
    ASSERT_TRUE(fe.ok()) << fe.status().message();
    auto audio_model = AttachFrontEnd(*model, *fe);
    ASSERT_TRUE(audio_model.ok()) << audio_model.status().message();
    auto interp = Interpreter::Create(*audio_model);
    ASSERT_TRUE(interp.ok());
    int right = 0;
    for (const NewSample& x : s->samples) {
      const auto* pcm = reinterpret_cast<const int16_t*>(x.bytes.data());
      if (fixed) {
        std::memcpy((*interp)->input(0), pcm, 16000 * sizeof(int16_t));
      } else {
        auto* in = static_cast<float*>((*interp)->input(0));
        for (int i = 0; i < 16000; ++i) in[i] = pcm[i] / 32768.0f;
      }
      (*interp)->Invoke();
      const auto* out = static_cast<const int8_t*>((*interp)->output(0));
      const int best = static_cast<int>(std::max_element(out, out + 12) - out);
      predicted[fixed].push_back(best);
      right += s->classes[static_cast<size_t>(best)] == x.label;
    }
    accuracy[fixed] = static_cast<double>(right) / static_cast<double>(s->samples.size());
  }
  int same = 0;
  for (size_t i = 0; i < predicted[0].size(); ++i) same += predicted[0][i] == predicted[1][i];
  std::cout << "published KWS model on " << s->samples.size()
            << " synthesized keywords: " << 100 * accuracy[0] << " % right with float features, "
            << 100 * accuracy[1] << " % with fixed-point features (" << same
            << " predictions the same)\n";
  EXPECT_GT(accuracy[0], 0.35);
  EXPECT_GE(accuracy[1], accuracy[0] - 0.01);
}

}  // namespace
}  // namespace tml
