#include "app/stream.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "codegen/codegen.h"
#include "core/c_writer.h"
#include "core/scratch_dir.h"
#include "data/loader.h"
#include "frontend/frontend.h"
#include "interp/interpreter.h"
#include "targets/mcu.h"
#include "tml_dsp.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

// The model behind the front end, the front end's tables, the detector's classes.
struct StreamPlan {
  FeatureTables features;
  Graph body;
  std::vector<uint8_t> keyword;
  float out_scale = 0;
  int out_zero_point = 0;
};

Result<StreamPlan> MakePlan(const StreamRequest& q) {
  StreamPlan s;
  auto d = DetachFrontEnd(q.model);
  if (!d.ok())
    return Status::Errorf("stream: the model needs an attached front end ({})",
                          d.status().message());
  TML_ASSIGN_OR_RETURN(s.features, FeatureTables::Make(d->frontend));
  s.body = std::move(d->body);
  TML_RETURN_IF_ERROR(s.body.Validate());
  if (s.body.outputs.size() != 1) return Status::Error("stream: the model needs one output");
  const Tensor& y = s.body.tensor(s.body.outputs[0]);
  if (y.dtype != DType::kInt8 || y.quant.scale.size() != 1)
    return Status::Errorf("stream: the model's output '{}' must be int8 (quantize it first)",
                          y.name);
  if (static_cast<size_t>(y.numel()) != q.classes.size())
    return Status::Errorf("stream: the model has {} outputs, {} classes were given", y.numel(),
                          q.classes.size());
  s.out_scale = y.quant.scale[0];
  s.out_zero_point = static_cast<int>(y.quant.zero_point[0]);
  for (const auto& c : q.classes) s.keyword.push_back(IsKeywordClass(c) ? 1 : 0);
  const StreamOptions& o = q.options;
  if (o.hop < 1 || o.smooth < 1 || o.refractory < 0 || !(o.threshold > 0 && o.threshold <= 1))
    return Status::Error("stream: hop and smooth must be at least 1, threshold in (0, 1]");
  return s;
}

int PerFrame(const tml_mfcc_config& c) {
  return c.num_mfcc > 0 ? c.num_mfcc : c.num_mel;
}

// The C blocks' feature stream of either variant (tml_mfcc_stream, tml_mfccq_stream).
class FeatureStream {
 public:
  explicit FeatureStream(const FeatureTables& t) : fixed_(t.frontend().fixed_point) {
    const tml_mfcc_config& c = t.config();
    const int window = t.frontend().frames(), per = PerFrame(c);
    scratch_.resize(t.scratch_floats());
    ring_.resize(static_cast<size_t>(window * per));
    if (fixed_) {
      qplan_ = t.QPlan();
      pcm_.resize(static_cast<size_t>(c.frame_length));
      work_.resize(static_cast<size_t>(window) * static_cast<size_t>(t.frontend().features()));
      tml_mfccq_stream_init(&q_, &qplan_, pcm_.data(), reinterpret_cast<int32_t*>(ring_.data()),
                            window);
    } else {
      plan_ = t.Plan();
      samples_.resize(static_cast<size_t>(c.frame_length));
      tml_mfcc_stream_init(&f_, &plan_, samples_.data(), ring_.data(), window);
    }
  }
  // n samples from audio (floats) or pcm (int16) at pos: the frames made.
  int Push(const std::vector<float>& audio, const std::vector<int16_t>& pcm, size_t pos, long n) {
    if (fixed_)
      return tml_mfccq_stream_push(&q_, pcm.data() + pos, n,
                                   reinterpret_cast<int32_t*>(scratch_.data()));
    return tml_mfcc_stream_push(&f_, audio.data() + pos, n, scratch_.data());
  }
  bool Window(float* out) {
    return fixed_ ? tml_mfccq_stream_window(&q_, work_.data(), out) != 0
                  : tml_mfcc_stream_window(&f_, out) != 0;
  }
  int frames() const { return fixed_ ? q_.frames : f_.frames; }

 private:
  bool fixed_;
  tml_mfcc_plan plan_{};
  tml_mfccq_plan qplan_{};
  tml_mfcc_stream f_{};
  tml_mfccq_stream q_{};
  std::vector<float> samples_, scratch_, ring_;  // ring_, scratch_: int32 words when fixed
  std::vector<int16_t> pcm_;
  std::vector<int32_t> work_;
};

// The host: the same C blocks, the interpreter for the model, the same order of work as
// the firmware (chunks of one stride).
Result<StreamRun> RunOnHost(const StreamRequest& q, const StreamPlan& s,
                            const std::vector<float>& audio) {
  TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(s.body));
  const tml_mfcc_config& c = s.features.config();
  const int classes = static_cast<int>(q.classes.size());
  std::vector<float> history(static_cast<size_t>(q.options.smooth * classes)),
      post(static_cast<size_t>(classes));
  const std::vector<int16_t> pcm = s.features.frontend().fixed_point
                                       ? ToPcm16(audio.data(), audio.size())
                                       : std::vector<int16_t>{};
  FeatureStream st(s.features);
  tml_kws_detector d;
  tml_kws_detector_init(&d, classes, q.options.smooth, q.options.refractory, q.options.threshold,
                        s.keyword.data(), history.data());
  StreamRun run;
  int since = 0;
  for (size_t pos = 0; pos < audio.size(); pos += static_cast<size_t>(c.frame_step)) {
    const long n = static_cast<long>(std::min<size_t>(c.frame_step, audio.size() - pos));
    const int made = st.Push(audio, pcm, pos, n);
    since += made;
    if (made == 0 || since < q.options.hop) continue;
    if (!st.Window(static_cast<float*>(interp->input(0)))) continue;
    since = 0;
    interp->Invoke();
    const auto* out = static_cast<const int8_t*>(interp->output(0));
    for (int j = 0; j < classes; ++j)
      post[static_cast<size_t>(j)] = static_cast<float>(out[j] - s.out_zero_point) * s.out_scale;
    float score = 0;
    const int hit = tml_kws_detect(&d, post.data(), &score);
    ++run.inferences;
    if (hit >= 0) run.events.push_back({st.frames(), hit, score});
  }
  run.frames = st.frames();
  return run;
}

std::string ConfigHeader(const StreamRequest& q, const StreamPlan& s) {
  CWriter w;
  w.Line("/* Generated by tinymlaas stream: the front end and detector of the stream. */");
  w.Line("#include \"tml_dsp.h\"");
  const tml_mfcc_config& c = s.features.config();
  const int per = PerFrame(c);
  const auto def = [&](const char* name, const std::string& v) {
    w.Line(fmt::format("#define {} {}", name, v));
  };
  def("TML_STREAM_FRAME_LENGTH", CInt(c.frame_length));
  def("TML_STREAM_STEP", CInt(c.frame_step));
  def("TML_STREAM_WINDOW", CInt(s.features.frontend().frames()));
  def("TML_STREAM_PER", CInt(per));
  def("TML_STREAM_ROW", CInt(s.features.frontend().features()));
  def("TML_STREAM_FIXED", s.features.frontend().fixed_point ? "1" : "0");
  def("TML_STREAM_SCRATCH", CInt(static_cast<int64_t>(s.features.scratch_floats())));
  def("TML_STREAM_HOP", CInt(q.options.hop));
  def("TML_STREAM_SMOOTH", CInt(q.options.smooth));
  def("TML_STREAM_REFRACTORY", CInt(q.options.refractory));
  def("TML_STREAM_THRESHOLD", CFloat(q.options.threshold));
  def("TML_STREAM_CLASSES", CInt(static_cast<int64_t>(q.classes.size())));
  def("TML_STREAM_OUT_SCALE", CFloat(s.out_scale));
  def("TML_STREAM_OUT_ZERO_POINT", CInt(s.out_zero_point));
  w.Line(fmt::format(
      "static const tml_mfcc_config tml_stream_config = {{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, "
      "{}, {}}};",
      c.sample_rate, c.frame_length, c.frame_step, c.fft_length, c.window, c.power, c.num_mel,
      CFloat(c.lower_hz), CFloat(c.upper_hz), CFloat(c.log_offset), c.num_mfcc, c.deltas));
  std::string t;
  if (s.features.frontend().fixed_point) {
    t = "static const int32_t tml_stream_tables[] = {";
    const std::vector<int32_t>& tables = s.features.qtables();
    for (size_t k = 0; k < tables.size(); ++k) t += (k ? ", " : "") + CInt(tables[k]);
  } else {
    t = "static const float tml_stream_tables[] = {";
    const std::vector<float>& tables = s.features.tables();
    for (size_t k = 0; k < tables.size(); ++k) t += (k ? ", " : "") + CFloat(tables[k]);
  }
  w.Line(t + "};");
  std::string i = "static const int32_t tml_stream_index[] = {";
  const std::vector<int32_t>& index = s.features.index();
  for (size_t k = 0; k < index.size(); ++k) i += (k ? ", " : "") + CInt(index[k]);
  w.Line(i + "};");
  std::string m = "static const uint8_t tml_stream_keyword[] = {";
  for (size_t k = 0; k < s.keyword.size(); ++k) m += (k ? ", " : "") + CInt(s.keyword[k]);
  w.Line(m + "};");
  return w.str();
}

Result<StreamRun> RunOnBoard(const StreamRequest& q, const StreamPlan& s,
                             const std::vector<float>& audio) {
  TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget(q.target));
  if (!p.emulated()) return Status::Errorf("stream: target '{}' is not emulated here", q.target);
  ScratchDir scratch(q.work_dir, "stream");
  const std::string dir = scratch.path();
  fs::create_directories(dir);
  TargetBuild b;
  b.target = p.name;
  b.dir = dir;
  b.qemu_machine = p.qemu_machine;
  TML_ASSIGN_OR_RETURN(b.code, GenerateC(s.body, dir, b.options));
  {
    std::ofstream f(dir + "/stream_config.h");
    f << ConfigHeader(q, s);
    if (!f) return Status::Errorf("{}/stream_config.h: write failed", dir);
  }
  const bool fixed = s.features.frontend().fixed_point;
  for (const char* file : {"dsp.c", "dsp_fixed.c"}) {
    if (!fixed && std::string(file) == "dsp_fixed.c") continue;
    bool has = false;
    for (const auto& src : b.code.sources) has |= fs::path(src).filename() == file;
    if (!has) b.code.sources.push_back(RuntimeDir() + "/kernels/" + file);
  }
  b.executable = dir + "/stream.elf";
  const std::string fw = FirmwareDir();
  TML_RETURN_IF_ERROR(LinkFirmwareWith(b, p,
                                       {"-I" + fw + "/common", "-I" + RuntimeDir() + "/include",
                                        fw + "/common/stream_main.c", BoardDir(p) + "/timer.c"},
                                       false, b.executable));
  const std::string in = dir + "/audio.f32", out = dir + "/events.bin";
  {
    std::ofstream f(in, std::ios::binary);
    if (fixed) {
      const std::vector<int16_t> pcm = ToPcm16(audio.data(), audio.size());
      f.write(reinterpret_cast<const char*>(pcm.data()),
              static_cast<std::streamsize>(pcm.size() * sizeof(int16_t)));
    } else {
      f.write(reinterpret_cast<const char*>(audio.data()),
              static_cast<std::streamsize>(audio.size() * sizeof(float)));
    }
    if (!f) return Status::Errorf("{}: write failed", in);
  }
  TML_RETURN_IF_ERROR(RunQemuCommand(b, in + " " + out, /*icount=*/true).status());
  std::ifstream f(out, std::ios::binary);
  std::vector<int32_t> w;
  for (int32_t v; f.read(reinterpret_cast<char*>(&v), 4);) w.push_back(v);
  StreamRun run;
  size_t k = 0;
  while (k + 3 <= w.size() && w[k] != -1) {
    float score;
    std::memcpy(&score, &w[k + 2], 4);
    run.events.push_back({w[k], w[k + 1], score});
    k += 3;
  }
  if (k + 7 != w.size() || w[k] != -1)
    return Status::Errorf("stream: {} on {} wrote a malformed event file", b.executable, p.name);
  run.frames = w[k + 1];
  run.inferences = w[k + 2];
  const auto ticks = [&](size_t at) {
    return static_cast<int64_t>(static_cast<uint32_t>(w[at])) |
           (static_cast<int64_t>(static_cast<uint32_t>(w[at + 1])) << 32);
  };
  // 25 MHz timer, 64 ns per instruction under -icount shift=6.
  run.feature_instructions = ticks(k + 3) * 40 / 64;
  run.model_instructions = ticks(k + 5) * 40 / 64;
  return run;
}

}  // namespace

bool IsKeywordClass(const std::string& c) {
  return c != "silence" && c != "unknown" && c != "_silence_" && c != "_unknown_";
}

Result<StreamRun> RunStream(const StreamRequest& q, const std::vector<float>& audio) {
  TML_ASSIGN_OR_RETURN(StreamPlan s, MakePlan(q));
  if (q.target == "host") return RunOnHost(q, s, audio);
  return RunOnBoard(q, s, audio);
}

KeywordStream MakeKeywordStream(const std::vector<NewSample>& takes, int rate, double gap_s,
                                uint64_t seed) {
  KeywordStream k;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.002f);
  const size_t gap = static_cast<size_t>(gap_s * rate);
  for (const NewSample& t : takes) {
    if (t.label == "silence") continue;
    const auto* pcm = reinterpret_cast<const int16_t*>(t.bytes.data());
    const size_t n = t.bytes.size() / 2;
    // The word's extent in the clip: first to last sample above 10 % of its peak.
    int peak = 1;
    for (size_t i = 0; i < n; ++i) peak = std::max(peak, std::abs(static_cast<int>(pcm[i])));
    size_t lo = n, hi = 0;
    for (size_t i = 0; i < n; ++i)
      if (std::abs(static_cast<int>(pcm[i])) * 10 > peak) {
        lo = std::min(lo, i);
        hi = i;
      }
    const double at = static_cast<double>(k.audio.size()) / rate;
    if (lo < n)
      k.truth.push_back(
          {t.label, at + static_cast<double>(lo) / rate, at + static_cast<double>(hi) / rate});
    for (size_t i = 0; i < n; ++i) k.audio.push_back(pcm[i] / 32768.0f);
    for (size_t i = 0; i < gap; ++i) k.audio.push_back(noise(rng));
  }
  return k;
}

Result<DatasetStream> StreamFromDataset(Workspace& ws, const std::string& ref, int64_t words,
                                        int rate, double gap_s, uint64_t seed) {
  TML_ASSIGN_OR_RETURN(LoadedSplit split, LoadSplitRef(ws, ref, Split::kTest));
  const LabeledData d = Spread(split.data, words > 0 ? words : split.data.count());
  int64_t per = 1;
  for (int64_t x : d.shape) per *= x;
  if (d.shape.size() != 1)
    return Status::Errorf("stream: {} holds samples of shape [{}], not audio clips", ref,
                          fmt::join(d.shape, ", "));
  std::vector<NewSample> takes;
  for (int64_t k = 0; k < d.count(); ++k) {
    NewSample t;
    t.label = split.classes[static_cast<size_t>(d.y[static_cast<size_t>(k)])];
    std::vector<int16_t> pcm(static_cast<size_t>(per));
    for (int64_t i = 0; i < per; ++i)
      pcm[static_cast<size_t>(i)] = static_cast<int16_t>(std::lround(
          std::clamp(d.x[static_cast<size_t>(k * per + i)] * 32768.0f, -32768.0f, 32767.0f)));
    t.bytes.assign(reinterpret_cast<const char*>(pcm.data()), pcm.size() * 2);
    takes.push_back(std::move(t));
  }
  return DatasetStream{MakeKeywordStream(takes, rate, gap_s, seed), split.classes};
}

StreamScore ScoreStream(const StreamRun& run, const std::vector<TruthWord>& truth,
                        const std::vector<std::string>& classes, int rate, int frame_step,
                        int frame_length, double window_s) {
  StreamScore s;
  std::vector<bool> taken(truth.size(), false);
  for (const TruthWord& t : truth) s.keywords += IsKeywordClass(t.label);
  for (const StreamEvent& e : run.events) {
    const double t = static_cast<double>((e.frame - 1) * frame_step + frame_length) / rate;
    const std::string& label =
        e.cls >= 0 && static_cast<size_t>(e.cls) < classes.size() ? classes[e.cls] : "";
    bool hit = false;
    for (size_t k = 0; k < truth.size() && !hit; ++k) {
      const double centre = (truth[k].start_s + truth[k].end_s) / 2;
      if (!taken[k] && truth[k].label == label && centre >= t - window_s && centre <= t) {
        taken[k] = true;
        hit = true;
      }
    }
    if (hit)
      ++s.hits;
    else
      ++s.false_alarms;
  }
  s.misses = s.keywords - s.hits;
  const double seconds = static_cast<double>((run.frames - 1) * frame_step + frame_length) / rate;
  s.hours = seconds / 3600.0;
  return s;
}

}  // namespace tml
