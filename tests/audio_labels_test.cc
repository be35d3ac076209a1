// WAV parsing and resampling, CSV / JSON label files, audio samples in the store.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/image_io.h"
#include "data/importers.h"
#include "data/loader.h"
#include "data/wav.h"
#include "fixtures.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

Audio Tone(int rate, int channels, double hz, double seconds, double amp = 10000) {
  Audio a{rate, channels, {}};
  const int n = static_cast<int>(rate * seconds);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < channels; ++c)
      a.samples.push_back(
          static_cast<int16_t>(std::lround(amp * std::sin(2 * M_PI * hz * i / rate))));
  return a;
}

// Amplitude of frequency hz in x (one DFT bin), normalized so a sine of amplitude A gives A.
double Bin(const std::vector<float>& x, int rate, double hz) {
  double re = 0, im = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    re += x[i] * std::cos(2 * M_PI * hz * static_cast<double>(i) / rate);
    im += x[i] * std::sin(2 * M_PI * hz * static_cast<double>(i) / rate);
  }
  return 2 * std::sqrt(re * re + im * im) / static_cast<double>(x.size());
}

TEST(Wav, RoundTripsAndMixesToMono) {
  const std::string d = testing::EmptyWorkDir("wav");
  Audio st = Tone(8000, 2, 440, 0.1);
  for (size_t i = 1; i < st.samples.size(); i += 2) st.samples[i] = 0;  // right channel silent
  ASSERT_TRUE(WriteWav(d + "/a.wav", st).ok());
  auto back = ReadWav(d + "/a.wav");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->rate, 8000);
  EXPECT_EQ(back->channels, 2);
  EXPECT_EQ(back->samples, st.samples);
  const std::vector<float> mono = ToMono(*back);
  ASSERT_EQ(mono.size(), 800u);
  EXPECT_FLOAT_EQ(mono[3], st.samples[6] / 2.0f);
}

TEST(Wav, ResamplingKeepsTonesAndRemovesWhatCannotBeRepresented) {
  // 1 kHz survives 44.1 -> 16 kHz; 10 kHz (above the new 8 kHz Nyquist) is filtered out
  // instead of aliasing to 6 kHz.
  Audio a = Tone(44100, 1, 1000, 0.5);
  Audio hi = Tone(44100, 1, 10000, 0.5);
  const std::vector<float> x = Resample(ToMono(a), 44100, 16000);
  const std::vector<float> y = Resample(ToMono(hi), 44100, 16000);
  EXPECT_EQ(x.size(), 8000u);
  EXPECT_NEAR(Bin(x, 16000, 1000), 10000, 200);
  EXPECT_LT(Bin(y, 16000, 6000), 300);
  // Upsampling keeps the tone too.
  EXPECT_NEAR(Bin(Resample(ToMono(Tone(8000, 1, 500, 0.5)), 8000, 16000), 16000, 500), 10000, 200);
  const std::vector<int16_t> fit = FitLength({1, 2, 3}, 7);
  EXPECT_EQ(fit, (std::vector<int16_t>{0, 0, 1, 2, 3, 0, 0}));
  EXPECT_EQ(FitLength({1, 2, 3, 4, 5}, 3), (std::vector<int16_t>{2, 3, 4}));
}

TEST(Wav, BadFilesNameTheProblem) {
  const std::string d = testing::EmptyWorkDir("badwav");
  ASSERT_TRUE(WriteWav(d + "/ok.wav", Tone(8000, 1, 440, 0.05)).ok());
  std::ifstream in(d + "/ok.wav", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto parse = [](const std::string& b) {
    return ParseWav(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "x.wav");
  };
  EXPECT_NE(parse("hello").status().message().find("not a WAV"), std::string::npos);
  EXPECT_NE(parse(bytes.substr(0, bytes.size() - 10)).status().message().find("claims"),
            std::string::npos);
  std::string eight = bytes;
  eight[34] = 8;  // bits per sample
  EXPECT_NE(parse(eight).status().message().find("16-bit PCM"), std::string::npos);
  std::string nodata = bytes.substr(0, 36);
  EXPECT_NE(parse(nodata).status().message().find("no data chunk"), std::string::npos);
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    std::string m = bytes;
    for (int k = 0; k < 3; ++k) m[rng() % 44] = static_cast<char>(rng());  // header bytes
    auto r = parse(m);
    if (r.ok()) EXPECT_EQ(r->samples.size() % static_cast<size_t>(r->channels), 0u);
  }
}

TEST(LabelFiles, CsvAndJsonWithErrorsNamingTheLine) {
  const std::string d = testing::EmptyWorkDir("labels");
  fs::create_directories(d + "/img");
  Image im{4, 4, 1, std::vector<uint8_t>(16, 200)};
  ASSERT_TRUE(WritePng(d + "/img/a.png", im).ok());
  ASSERT_TRUE(WritePng(d + "/img/b, c.png", im).ok());
  ASSERT_TRUE(WriteWav(d + "/yes.wav", Tone(8000, 1, 440, 0.25)).ok());
  SampleFormat f;
  f.width = f.height = 4;
  f.rate = 8000;
  f.seconds = 0.5;
  {
    std::ofstream(d + "/l.csv") << "file,label\nimg/a.png,cat\n\"img/b, c.png\",dog\nyes.wav,yes\n";
  }
  auto csv = ReadLabelFile(d + "/l.csv", f, std::nullopt);
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  ASSERT_EQ(csv->samples.size(), 3u);
  EXPECT_EQ(csv->classes, (std::vector<std::string>{"cat", "dog", "yes"}));
  EXPECT_EQ(csv->samples[2].kind, "audio");
  EXPECT_EQ(csv->samples[2].shape, (std::vector<int64_t>{4000}));
  EXPECT_EQ(csv->samples[2].bytes.size(), 8000u);
  { std::ofstream(d + "/l.json") << R"([{"file": "img/a.png", "label": "cat"}])"; }
  EXPECT_TRUE(ReadLabelFile(d + "/l.json", f, std::nullopt).ok());
  { std::ofstream(d + "/m.json") << R"({"img/a.png": "cat", "yes.wav": "yes"})"; }
  auto obj = ReadLabelFile(d + "/m.json", f, std::nullopt);
  ASSERT_TRUE(obj.ok()) << obj.status().message();
  EXPECT_EQ(obj->samples.size(), 2u);
  const std::pair<std::string, std::string> bad[] = {
      {"l2.csv", "img/a.png,cat\nimg/missing.png,dog\n"},
      {"l3.csv", "img/a.png,cat,extra\n"},
      {"l4.csv", "\"img/a.png,cat\n"},
      {"l5.json", R"([{"file": "img/a.png"}])"},
      {"l6.json", "{not json"},
      {"l7.csv", "notes.txt,cat\n"},
  };
  const char* want[] = {"l2.csv:2",
                        "l3.csv:1: expected 2 fields",
                        "l4.csv:1: unclosed quote",
                        "l5.json: entry 0",
                        "not valid JSON",
                        "unsupported file type"};
  for (size_t i = 0; i < std::size(bad); ++i) {
    { std::ofstream(d + "/" + bad[i].first) << bad[i].second; }
    auto r = ReadLabelFile(d + "/" + bad[i].first, f, std::nullopt);
    ASSERT_FALSE(r.ok()) << bad[i].first;
    EXPECT_NE(r.status().message().find(want[i]), std::string::npos) << r.status().message();
  }
}

TEST(LabelFiles, AudioSamplesLoadAsFloat) {
  const std::string d = testing::EmptyWorkDir("audio_store");
  fs::create_directories(d + "/yes");
  fs::create_directories(d + "/no");
  ASSERT_TRUE(WriteWav(d + "/yes/1.wav", Tone(16000, 1, 440, 1.0, 16384)).ok());
  ASSERT_TRUE(WriteWav(d + "/no/1.wav", Tone(22050, 2, 300, 0.5)).ok());
  SampleFormat f;
  f.rate = 8000;
  auto r = ReadClassFolders(d, f, Split::kTrain);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto ws = OpenWorkspace(d + "/ws");
  ASSERT_TRUE(ws.ok());
  ASSERT_TRUE(ImportSamples(*ws, "kw", r->samples, {}, "t", r->classes).ok());
  auto s = LoadSplit(*ws, "kw", 0, Split::kTrain);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->data.shape, (std::vector<int64_t>{8000}));
  ASSERT_EQ(s->data.count(), 2);
  float peak = 0;
  for (int64_t i = 8000; i < 16000; ++i)
    peak = std::max(peak, std::abs(s->data.x[static_cast<size_t>(i)]));
  EXPECT_NEAR(peak, 0.5, 0.02);  // "yes": amplitude 16384 / 32768
}

}  // namespace
}  // namespace tml
