#include "data/synth_speech.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>

#include "core/process.h"
#include "core/scratch_dir.h"
#include "core/sha256.h"
#include "data/wav.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

// English accents of espeak-ng (its gmw voices); each is spoken with voice variants.
const char* const kAccents[] = {"en-us",      "en-gb",          "en-gb-scotland", "en-gb-x-gbclan",
                                "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",         "en-us-nyc"};

// Variants that do not sound like a person (robots, effects).
bool Unnatural(const std::string& v) {
  static const std::set<std::string> skip = {"Demonic", "UniRobot", "Tweaky", "anikaRobot",
                                             "croak"};
  return skip.count(v) || v.rfind("robosoft", 0) == 0;
}

const std::vector<std::string>& DefaultUnknownWords() {
  static const std::vector<std::string> w = {
      "bed",   "bird",  "cat",   "dog",    "happy",   "house",    "marvin", "sheila",
      "tree",  "wow",   "learn", "follow", "forward", "backward", "visual", "water",
      "paper", "apple", "table", "green",  "music",   "light",    "window", "number",
      "seven", "three", "zero",  "nine",   "yellow",  "later"};
  return w;
}

// A seeded generator for one take: the same take gets the same draws in any order.
std::mt19937_64 TakeRng(uint64_t seed, const std::string& what) {
  const std::string h = Sha256Hex(fmt::format("{}/{}", seed, what));
  return std::mt19937_64(std::stoull(h.substr(0, 16), nullptr, 16));
}

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

// Noise of a colour, n samples, unit RMS. Pink: white through a bank of first-order
// low-pass sections an octave apart (-3 dB per octave); brown: integrated white.
std::vector<float> ColouredNoise(const std::string& colour, size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<float> out(n);
  if (colour == "white") {
    for (auto& v : out) v = static_cast<float>(g(rng));
  } else if (colour == "pink") {
    double state[7] = {0}, pole[7], gain[7];
    for (int k = 0; k < 7; ++k) {  // once, not per sample
      pole[k] = std::exp(-2.0 * M_PI * 20.0 * std::pow(2.0, 1.6 * k) / 16000.0);
      gain[k] = (1 - pole[k]) * std::pow(2.0, 0.8 * k);
    }
    for (auto& v : out) {
      const double w = g(rng);
      double sum = 0;
      for (int k = 0; k < 7; ++k) {
        state[k] = pole[k] * state[k] + gain[k] * w;
        sum += state[k];
      }
      v = static_cast<float>(sum + 0.1 * w);
    }
  } else {  // brown
    double s = 0;
    for (auto& v : out) {
      s = 0.998 * s + g(rng);
      v = static_cast<float>(s);
    }
  }
  double power = 0;
  for (float v : out) power += static_cast<double>(v) * v;
  const double rms = std::sqrt(power / static_cast<double>(std::max<size_t>(n, 1)));
  if (rms > 0)
    for (auto& v : out) v = static_cast<float>(v / rms);
  return out;
}

// A synthetic room: the direct sound, then a tail of sparse echoes whose level decays by
// 60 dB over rt60 seconds.
std::vector<float> Reverberate(const std::vector<float>& x, int rate, std::mt19937_64& rng) {
  const double rt60 = Uniform(rng, 0.2, 0.7);
  const int taps = 160, span = static_cast<int>(rate * std::min(0.3, rt60));
  std::vector<std::pair<int, float>> ir = {{0, 1.0f}};
  std::normal_distribution<double> g(0.0, 1.0);
  for (int k = 0; k < taps; ++k) {
    const int d = 1 + static_cast<int>(std::uniform_int_distribution<int>(
                          static_cast<int>(rate * 0.003), std::max(span, rate / 100))(rng));
    const double decay = std::pow(10.0, -3.0 * d / (rt60 * rate));
    ir.push_back({d, static_cast<float>(0.25 * g(rng) * decay)});
  }
  std::vector<float> y(x.size(), 0.0f);
  for (const auto& [d, a] : ir)
    for (size_t i = static_cast<size_t>(d); i < x.size(); ++i) y[i] += a * x[i - d];
  return y;
}

struct NoiseClips {
  std::vector<std::vector<float>> clips;  // at the dataset's rate, unit RMS
};

Result<NoiseClips> LoadNoise(const std::string& dir, int rate) {
  NoiseClips n;
  if (dir.empty()) return n;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status::Errorf("synth-speech: noise folder '{}' does not exist", dir);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".wav") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) return Status::Errorf("synth-speech: no .wav files in '{}'", dir);
  for (const auto& f : files) {
    TML_ASSIGN_OR_RETURN(Audio a, ReadWav(f));
    std::vector<float> x = Resample(ToMono(a), a.rate, rate);
    double p = 0;
    for (float v : x) p += static_cast<double>(v) * v;
    if (x.empty() || p <= 0) continue;
    const double rms = std::sqrt(p / static_cast<double>(x.size()));
    for (auto& v : x) v = static_cast<float>(v / rms);
    n.clips.push_back(std::move(x));
  }
  if (n.clips.empty()) return Status::Errorf("synth-speech: the clips in '{}' are silent", dir);
  return n;
}

// n samples of background, unit RMS: a random stretch of a clip (looped) or generated.
std::vector<float> Background(const NoiseClips& noise, size_t n, std::mt19937_64& rng) {
  static const char* const colours[] = {"white", "pink", "brown"};
  if (!noise.clips.empty() && Uniform(rng, 0, 1) < 0.5) {
    const auto& c = noise.clips[rng() % noise.clips.size()];
    std::vector<float> out(n);
    const size_t start = rng() % c.size();
    for (size_t i = 0; i < n; ++i) out[i] = c[(start + i) % c.size()];
    return out;
  }
  return ColouredNoise(colours[rng() % 3], n, rng);
}

// One spoken take: espeak-ng into a WAV file, then mono float at the dataset's rate.
Result<std::vector<float>> Speak(const std::string& voice, const std::string& word, int speed,
                                 int pitch, int rate, const std::string& wav) {
  TML_ASSIGN_OR_RETURN(ProcessResult r,
                       RunProcess({"espeak-ng", "-v", voice, "-s", std::to_string(speed), "-p",
                                   std::to_string(pitch), "-w", wav, word},
                                  60));
  if (r.exit_code != 0)
    return Status::Errorf("synth-speech: espeak-ng -v {} '{}' failed ({}): {}", voice, word,
                          r.exit_code, r.output);
  TML_ASSIGN_OR_RETURN(Audio a, ReadWav(wav));
  return Resample(ToMono(a), a.rate, rate);
}

// The spoken part (first to last sample above 2 % of the peak), scaled to peak `gain`
// of full scale, placed with its centre `shift` samples from the clip's centre, then
// noise at `snr_db` below its power (the clip's length is n).
std::vector<float> Compose(const std::vector<float>& speech, size_t n, double gain, int64_t shift,
                           const std::vector<float>& noise, double snr_db) {
  float peak = 0;
  for (float v : speech) peak = std::max(peak, std::fabs(v));
  std::vector<float> clip(n, 0.0f);
  double power = 0;
  size_t spoken = 0;
  if (peak > 0) {
    size_t lo = 0, hi = speech.size();
    while (lo < hi && std::fabs(speech[lo]) < 0.02f * peak) ++lo;
    while (hi > lo && std::fabs(speech[hi - 1]) < 0.02f * peak) --hi;
    if (hi - lo > n) {  // longer than the clip: keep its middle
      lo += (hi - lo - n) / 2;
      hi = lo + n;
    }
    const int64_t len = static_cast<int64_t>(hi - lo);
    int64_t start = (static_cast<int64_t>(n) - len) / 2 + shift;
    start = std::clamp<int64_t>(start, 0, static_cast<int64_t>(n) - len);
    const double scale = gain * 32767.0 / peak;
    for (int64_t i = 0; i < len; ++i) {
      const float v = static_cast<float>(speech[lo + static_cast<size_t>(i)] * scale);
      clip[static_cast<size_t>(start + i)] = v;
      power += static_cast<double>(v) * v;
    }
    spoken = static_cast<size_t>(len);
  }
  const double signal_rms =
      spoken ? std::sqrt(power / static_cast<double>(spoken)) : 32767.0 * 0.01;
  const double noise_rms = signal_rms * std::pow(10.0, -snr_db / 20.0);
  for (size_t i = 0; i < n; ++i) clip[i] += static_cast<float>(noise[i] * noise_rms);
  return clip;
}

NewSample ToSample(const std::vector<float>& clip, const std::string& label, Split split,
                   const std::string& source) {
  NewSample s;
  std::vector<int16_t> pcm = FitLength(clip, static_cast<int64_t>(clip.size()));
  s.bytes.assign(reinterpret_cast<const char*>(pcm.data()), pcm.size() * 2);
  s.kind = "audio";
  s.shape = {static_cast<int64_t>(pcm.size())};
  s.dtype = "int16";
  s.label = label;
  s.split = split;
  s.source = source;
  return s;
}

}  // namespace

Result<std::vector<std::string>> KeywordSet(const std::string& name) {
  if (name == "mlperf-ten")
    // In the order of the published MLPerf model's outputs (then silence, unknown).
    return std::vector<std::string>{"down", "go",    "left", "no", "off",
                                    "on",   "right", "stop", "up", "yes"};
  if (name == "digits")
    return std::vector<std::string>{"zero", "one", "two",   "three", "four",
                                    "five", "six", "seven", "eight", "nine"};
  return Status::Errorf("no keyword set '{}' (known: mlperf-ten, digits)", name);
}

Result<std::vector<std::string>> SynthVoices() {
  auto r = RunProcess({"espeak-ng", "--voices=variant"}, 30);
  if (!r.ok() || r->exit_code != 0)
    return Status::Unavailable(
        "synth-speech: espeak-ng is not installed (Debian package espeak-ng; make deps)");
  std::vector<std::string> variants = {""};
  std::istringstream in(r->output);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string pty, lang, age, name, file;
    if (!(f >> pty >> lang >> age >> name >> file) || file.rfind("!v/", 0) != 0) continue;
    const std::string v = file.substr(3);
    if (!Unnatural(v)) variants.push_back(v);
  }
  std::vector<std::string> voices;
  for (const char* a : kAccents)
    for (const auto& v : variants) voices.push_back(v.empty() ? a : std::string(a) + "+" + v);
  std::sort(voices.begin(), voices.end());
  return voices;
}

Status CheckSynthSpeechOptions(const SynthSpeechOptions& o) {
  if (o.words.empty()) return Status::Error("synth-speech: no words (--words or --set)");
  std::set<std::string> seen;
  for (const auto& w : o.words) {
    if (w.empty() || w.size() > 40 ||
        !std::all_of(w.begin(), w.end(), [](char c) { return std::isalpha(c) || c == '\''; }))
      return Status::Errorf("synth-speech: '{}' is not a word (letters only)", w);
    if (w == "unknown" || w == "silence")
      return Status::Errorf("synth-speech: '{}' is a class of its own, not a keyword", w);
    if (!seen.insert(w).second) return Status::Errorf("synth-speech: '{}' given twice", w);
  }
  if (o.speakers < 3)
    return Status::Error("synth-speech: at least 3 speakers (one each for train, val, test)");
  if (o.takes < 1 || o.takes > 100) return Status::Error("synth-speech: takes must be 1..100");
  if (!(o.val > 0) || !(o.test > 0) || o.val + o.test >= 1)
    return Status::Error("synth-speech: val and test shares must be positive and sum below 1");
  if (o.rate < 4000 || o.rate > 48000)
    return Status::Error("synth-speech: rate must be 4000..48000");
  if (!(o.seconds >= 0.25 && o.seconds <= 10))
    return Status::Error("synth-speech: seconds must be 0.25..10");
  if (o.speed_min < 80 || o.speed_max > 450 || o.speed_min > o.speed_max)
    return Status::Error("synth-speech: speed must lie within 80..450 words per minute");
  if (o.pitch_min < 0 || o.pitch_max > 99 || o.pitch_min > o.pitch_max)
    return Status::Error("synth-speech: pitch must lie within 0..99");
  if (!(o.gain_min > 0) || o.gain_max > 1 || o.gain_min > o.gain_max)
    return Status::Error("synth-speech: gain must lie within 0..1");
  if (o.snr_min_db > o.snr_max_db) return Status::Error("synth-speech: snr min above max");
  if (!(o.reverb >= 0 && o.reverb <= 1))
    return Status::Error("synth-speech: reverb is a share 0..1");
  if (!(o.unknown_share >= 0) || !(o.silence_share >= 0))
    return Status::Error("synth-speech: unknown and silence shares must not be negative");
  return Status::Ok();
}

std::string SynthSpeaker(const std::string& source) {
  const std::string prefix = "espeak-ng:";
  if (source.rfind(prefix, 0) != 0) return "";
  const size_t end = source.find(':', prefix.size());
  return source.substr(0, end);
}

Result<SynthSpeech> SynthesizeSpeech(const SynthSpeechOptions& o, Progress& progress) {
  TML_RETURN_IF_ERROR(CheckSynthSpeechOptions(o));
  TML_ASSIGN_OR_RETURN(std::vector<std::string> voices, SynthVoices());
  if (static_cast<int>(voices.size()) < o.speakers)
    return Status::Errorf("synth-speech: {} speakers asked for, espeak-ng has {} voices",
                          o.speakers, voices.size());
  TML_ASSIGN_OR_RETURN(NoiseClips noise, LoadNoise(o.noise_dir, o.rate));
  // Speakers drawn by the seed, then split: the first test share to test, then val.
  std::mt19937_64 pick(o.seed);
  std::shuffle(voices.begin(), voices.end(), pick);
  voices.resize(static_cast<size_t>(o.speakers));
  const int n_test = std::max(1, static_cast<int>(std::lround(o.speakers * o.test)));
  const int n_val = std::max(1, static_cast<int>(std::lround(o.speakers * o.val)));
  SynthSpeech out;
  out.classes = o.words;
  out.classes.push_back("silence");
  out.classes.push_back("unknown");
  std::map<std::string, Split> split_of;
  for (int k = 0; k < o.speakers; ++k) {
    const Split s = k < n_test ? Split::kTest : k < n_test + n_val ? Split::kVal : Split::kTrain;
    split_of[voices[static_cast<size_t>(k)]] = s;
    out.speakers[s].push_back("espeak-ng:" + voices[static_cast<size_t>(k)]);
  }
  const std::vector<std::string>& unknown =
      o.unknown_words.empty() ? DefaultUnknownWords() : o.unknown_words;
  std::set<std::string> keywords(o.words.begin(), o.words.end());
  std::vector<std::string> others;
  for (const auto& w : unknown)
    if (!keywords.count(w)) others.push_back(w);
  if (others.empty() && o.unknown_share > 0)
    return Status::Error("synth-speech: every unknown word is also a keyword");

  const size_t n = static_cast<size_t>(std::llround(o.rate * o.seconds));
  ScratchDir tmp("", "synth-speech");
  std::error_code ec;
  fs::create_directories(tmp.path(), ec);
  if (ec) return Status::Errorf("synth-speech: cannot create {}: {}", tmp.path(), ec.message());
  const std::string wav = tmp.path() + "/take.wav";
  // Per speaker: every word's takes, then unknown takes in proportion, then silence.
  const int per_word = o.takes;
  const int unknown_takes = static_cast<int>(std::lround(per_word * o.unknown_share));
  const int silence_takes = static_cast<int>(std::lround(per_word * o.silence_share));
  const int64_t total =
      static_cast<int64_t>(o.speakers) *
      (static_cast<int64_t>(o.words.size()) * per_word + unknown_takes + silence_takes);
  int64_t done = 0;
  progress.Log(
      fmt::format("synth-speech: {} words x {} speakers x {} takes, {} unknown and {} "
                  "silence takes per speaker",
                  o.words.size(), o.speakers, per_word, unknown_takes, silence_takes));
  for (const std::string& voice : voices) {
    const Split split = split_of[voice];
    auto take = [&](const std::string& word, const std::string& label, int k) -> Status {
      if (progress.Cancelled()) return Status::Cancelled("synth-speech cancelled");
      const std::string what = fmt::format("{}:{}#{}", voice, word, k);
      std::mt19937_64 rng = TakeRng(o.seed, what);
      const int speed = static_cast<int>(std::lround(Uniform(rng, o.speed_min, o.speed_max)));
      const int pitch =
          static_cast<int>(std::uniform_int_distribution<int>(o.pitch_min, o.pitch_max)(rng));
      TML_ASSIGN_OR_RETURN(std::vector<float> speech,
                           Speak(voice, word, speed, pitch, o.rate, wav));
      const bool room = Uniform(rng, 0, 1) < o.reverb;
      if (room) speech = Reverberate(speech, o.rate, rng);
      const double gain = Uniform(rng, o.gain_min, o.gain_max);
      const double max_shift = o.max_shift_s * o.rate;
      const int64_t shift = std::llround(Uniform(rng, -max_shift, max_shift));
      const double snr = Uniform(rng, o.snr_min_db, o.snr_max_db);
      const std::vector<float> clip =
          Compose(speech, n, gain, shift, Background(noise, n, rng), snr);
      out.samples.push_back(ToSample(
          clip, label, split,
          fmt::format("espeak-ng:{}:{}#{} speed={} pitch={} gain={:.2f} shift={} snr={:.1f}{}",
                      voice, word, k, speed, pitch, gain, shift, snr, room ? " room" : "")));
      progress.Advance(++done, total, voice);
      return Status::Ok();
    };
    for (const std::string& w : o.words)
      for (int k = 0; k < per_word; ++k) TML_RETURN_IF_ERROR(take(w, w, k));
    for (int k = 0; k < unknown_takes; ++k) {
      std::mt19937_64 rng = TakeRng(o.seed, voice + ":unknown#" + std::to_string(k));
      TML_RETURN_IF_ERROR(take(others[rng() % others.size()], "unknown", k));
    }
    for (int k = 0; k < silence_takes; ++k) {
      std::mt19937_64 rng = TakeRng(o.seed, voice + ":silence#" + std::to_string(k));
      const double level = Uniform(rng, 0.0005, 0.02) * 32767.0;
      std::vector<float> clip = Background(noise, n, rng);
      for (auto& v : clip) v = static_cast<float>(v * level);
      out.samples.push_back(
          ToSample(clip, "silence", split,
                   fmt::format("espeak-ng:{}:silence#{} level={:.0f}", voice, k, level)));
      progress.Advance(++done, total, voice);
    }
  }
  return out;
}

}  // namespace tml
