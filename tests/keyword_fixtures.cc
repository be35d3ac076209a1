#include "keyword_fixtures.h"

#include <gtest/gtest.h>

#include "data/synth_speech.h"
#include "frontend/frontend.h"
#include "zoo/mlperf_models.h"

namespace tml::testing {

std::vector<std::string> KwsClasses() {
  auto words = KeywordSet("mlperf-ten");
  std::vector<std::string> c = words.ok() ? *words : std::vector<std::string>{};
  c.push_back("silence");
  c.push_back("unknown");
  return c;
}

KeywordStream SynthKeywordStream(int speakers, uint64_t seed) {
  SynthSpeechOptions o;
  o.words = KeywordSet("mlperf-ten").value();
  o.speakers = speakers;
  o.takes = 1;
  o.silence_share = 0;
  o.unknown_share = 1;
  o.seed = seed;
  auto s = SynthesizeSpeech(o, NoProgress());
  EXPECT_TRUE(s.ok()) << s.status().message();
  std::vector<NewSample> takes;
  if (s.ok())
    for (size_t k = 0; k < s->samples.size(); k += 4) takes.push_back(s->samples[k]);
  return MakeKeywordStream(takes, 16000, 0.5, seed);
}

Graph KwsModel(const std::string& frontend) {
  auto fe = FindFrontEnd(frontend);
  EXPECT_TRUE(fe.ok());
  auto ds = zoo::MlperfModels()[0].build(3);
  EXPECT_TRUE(ds.ok());
  auto q = zoo::QuantizeSynthetic(*ds, 3, 4);
  EXPECT_TRUE(q.ok());
  auto model = AttachFrontEnd(*q, *fe);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(*model) : Graph{};
}

}  // namespace tml::testing
