#include "frontend/frontend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/yaml_fields.h"
#include "prepare/passes.h"
#include "tml_dsp.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

constexpr const char* kWindows[] = {"hann", "hamming", "none"};  // TML_WINDOW_* order

int WindowCode(const std::string& w) {
  for (int k = 0; k < 3; ++k)
    if (w == kWindows[k]) return k;
  return -1;
}

// A whole number at y[key] (def when absent) within lo..hi.
Result<int64_t> Whole(const YAML::Node& y, const char* key, int64_t def, int64_t lo, int64_t hi,
                      const std::string& where) {
  TML_ASSIGN_OR_RETURN(double d, YamlNumber(y, key, static_cast<double>(def), where, "front end"));
  if (d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
    return Status::Errorf("{}: line {}: front end: {} must be a whole number in {}..{}", where,
                          y[key].Mark().line + 1, key, lo, hi);
  return static_cast<int64_t>(d);
}

// Samples given directly (key) or as milliseconds (ms_key) at the sample rate.
Result<int64_t> Samples(const YAML::Node& y, const char* key, const char* ms_key, int64_t def,
                        int rate, const std::string& where) {
  if (y[key] && y[ms_key])
    return Status::Errorf("{}: front end: give {} or {}, not both", where, key, ms_key);
  if (!y[ms_key]) return Whole(y, key, def, 1, int64_t{1} << 26, where);
  TML_ASSIGN_OR_RETURN(double ms, YamlNumber(y, ms_key, 0, where, "front end"));
  const double n = ms * rate / 1000.0;
  if (!(n >= 1) || std::fabs(n - std::round(n)) > 1e-6 || n > double(int64_t{1} << 26))
    return Status::Errorf(
        "{}: line {}: front end: {} {} at {} Hz is {} samples, not a whole "
        "positive number: give {} instead",
        where, y[ms_key].Mark().line + 1, ms_key, ms, rate, n, key);
  return static_cast<int64_t>(std::llround(n));
}

Result<std::string> OneOf(const YAML::Node& y, const char* key, const std::string& def,
                          const std::set<std::string>& allowed, const std::string& where) {
  if (!y[key]) return def;
  std::string v;
  try {
    v = y[key].as<std::string>();
  } catch (const YAML::Exception&) {
  }
  if (!allowed.count(v)) {
    std::string names;
    for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
    return Status::Errorf("{}: line {}: front end: {} must be one of {}", where,
                          y[key].Mark().line + 1, key, names);
  }
  return v;
}

int NextPowerOfTwo(int n) {
  int p = 1;
  while (p < n && p < (1 << 20)) p *= 2;
  return p;
}

std::string UniqueName(const Graph& g, const std::string& base) {
  std::set<std::string> used;
  for (const Tensor& t : g.tensors) used.insert(t.name);
  std::string n = base;
  while (used.count(n)) n += "_";
  return n;
}

}  // namespace

int FrontEnd::frames() const {
  return samples < frame_length ? 0 : static_cast<int>((samples - frame_length) / frame_step + 1);
}

int FrontEnd::features() const {
  return (mfcc ? num_mfcc : mel_bins) * (deltas > 0 ? 2 : 1);
}

Attrs FrontEnd::OpAttrs() const {
  Attrs a;
  a.Set("sample_rate", sample_rate);
  a.Set("frame_length", frame_length);
  a.Set("frame_step", frame_step);
  a.Set("fft_length", fft_length);
  a.Set("window", WindowCode(window));
  a.Set("power", power ? 1 : 0);
  a.Set("num_mel", mel_bins);
  a.Set("num_mfcc", mfcc ? num_mfcc : 0);
  a.Set("lower_hz", lower_hz);
  a.Set("upper_hz", upper_hz);
  a.Set("log_offset", log_offset);
  if (deltas > 0) a.Set("deltas", deltas);
  return a;
}

std::vector<std::string> FrontEndDirs() {
  return ProfileDirs("TINYMLAAS_FRONTENDS_DIR", "examples/frontends");
}

Result<FrontEnd> FrontEndFromYaml(const YAML::Node& y, const std::string& where) {
  if (!y.IsMap()) return Status::Errorf("{}: a front end is a mapping of settings", where);
  TML_RETURN_IF_ERROR(
      UnknownKeys(y,
                  {"name", "kind", "sample_rate", "frame_length", "frame_ms", "frame_step",
                   "stride_ms", "fft_length", "window", "spectrum", "mel_bins", "lower_hz",
                   "upper_hz", "log_offset", "mfcc", "deltas", "samples", "clip_ms", "arithmetic"},
                  where, "front end"));
  FrontEnd fe;
  fe.source_file = where;
  try {
    if (y["name"]) fe.name = y["name"].as<std::string>();
  } catch (const YAML::Exception&) {
    return Status::Errorf("{}: front end: name must be a string", where);
  }
  TML_ASSIGN_OR_RETURN(std::string kind, OneOf(y, "kind", "mfcc", {"mfcc", "log-mel"}, where));
  fe.mfcc = kind == "mfcc";
  TML_ASSIGN_OR_RETURN(int64_t rate, Whole(y, "sample_rate", 16000, 1, 384000, where));
  fe.sample_rate = static_cast<int>(rate);
  TML_ASSIGN_OR_RETURN(int64_t fl,
                       Samples(y, "frame_length", "frame_ms", 480, fe.sample_rate, where));
  TML_ASSIGN_OR_RETURN(int64_t fs_,
                       Samples(y, "frame_step", "stride_ms", fl * 2 / 3, fe.sample_rate, where));
  TML_ASSIGN_OR_RETURN(int64_t clip,
                       Samples(y, "samples", "clip_ms", fe.sample_rate, fe.sample_rate, where));
  fe.frame_length = static_cast<int>(std::min<int64_t>(fl, 1 << 20));
  fe.frame_step = static_cast<int>(std::min<int64_t>(fs_, 1 << 20));
  fe.samples = clip;
  TML_ASSIGN_OR_RETURN(int64_t fft,
                       Whole(y, "fft_length", NextPowerOfTwo(fe.frame_length), 2, 1 << 20, where));
  fe.fft_length = static_cast<int>(fft);
  TML_ASSIGN_OR_RETURN(fe.window, OneOf(y, "window", "hann", {"hann", "hamming", "none"}, where));
  TML_ASSIGN_OR_RETURN(std::string spectrum,
                       OneOf(y, "spectrum", "magnitude", {"magnitude", "power"}, where));
  fe.power = spectrum == "power";
  TML_ASSIGN_OR_RETURN(int64_t mel, Whole(y, "mel_bins", 40, 1, 100000, where));
  fe.mel_bins = static_cast<int>(mel);
  TML_ASSIGN_OR_RETURN(double lo, YamlNumber(y, "lower_hz", 20.0, where, "front end"));
  TML_ASSIGN_OR_RETURN(double hi,
                       YamlNumber(y, "upper_hz", fe.sample_rate / 2.0, where, "front end"));
  TML_ASSIGN_OR_RETURN(double off, YamlNumber(y, "log_offset", 1e-6, where, "front end"));
  fe.lower_hz = static_cast<float>(lo);
  fe.upper_hz = static_cast<float>(hi);
  fe.log_offset = static_cast<float>(off);
  if (y["mfcc"] && !fe.mfcc)
    return Status::Errorf(
        "{}: front end: mfcc is a count of coefficients for kind mfcc, not "
        "log-mel",
        where);
  TML_ASSIGN_OR_RETURN(int64_t nm, Whole(y, "mfcc", std::min<int64_t>(13, mel), 1, 100000, where));
  fe.num_mfcc = static_cast<int>(nm);
  TML_ASSIGN_OR_RETURN(int64_t deltas, Whole(y, "deltas", 0, 0, 9, where));
  fe.deltas = static_cast<int>(deltas);
  TML_ASSIGN_OR_RETURN(std::string arithmetic,
                       OneOf(y, "arithmetic", "float", {"float", "fixed"}, where));
  fe.fixed_point = arithmetic == "fixed";
  // The op's own checks, so that the file is refused here rather than when attached.
  auto g = FrontEndGraph(fe);
  if (!g.ok()) return Status::Errorf("{}: front end: {}", where, g.status().message());
  return fe;
}

Result<FrontEnd> LoadFrontEnd(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::Errorf("{}: cannot read the front end file", path);
  std::stringstream ss;
  ss << f.rdbuf();
  TML_ASSIGN_OR_RETURN(YAML::Node y, ParseYaml(ss.str(), path));
  TML_ASSIGN_OR_RETURN(FrontEnd fe, FrontEndFromYaml(y, path));
  if (!y["name"]) fe.name = fs::path(path).stem().string();
  return fe;
}

Result<FrontEnd> FindFrontEnd(const std::string& name_or_path) {
  TML_ASSIGN_OR_RETURN(std::string path,
                       ShippedFilePath(name_or_path, FrontEndDirs(), "front end"));
  return LoadFrontEnd(path);
}

Result<std::vector<FrontEnd>> ShippedFrontEnds() {
  std::vector<FrontEnd> all;
  std::set<std::string> seen;
  for (const std::string& f : YamlFilesIn(FrontEndDirs())) {
    TML_ASSIGN_OR_RETURN(FrontEnd fe, LoadFrontEnd(f));
    if (seen.insert(fs::path(f).stem().string()).second) all.push_back(std::move(fe));
  }
  return all;
}

DType AudioDType(const FrontEnd& fe) {
  return fe.fixed_point ? DType::kInt16 : DType::kFloat32;
}

std::vector<int16_t> ToPcm16(const float* audio, size_t n) {
  std::vector<int16_t> pcm(n);
  for (size_t i = 0; i < n; ++i)
    pcm[i] = static_cast<int16_t>(std::clamp(std::round(audio[i] * 32768.0f), -32768.0f, 32767.0f));
  return pcm;
}

Result<Graph> FrontEndGraph(const FrontEnd& fe) {
  if (WindowCode(fe.window) < 0)
    return Status::Errorf("window '{}' is not hann, hamming or none", fe.window);
  Graph g;
  g.name = "frontend_" + fe.name;
  const int audio = g.AddTensor(Tensor::Make("audio", AudioDType(fe), {1, fe.samples}));
  const int y = g.AddTensor(Tensor::Make("features", DType::kFloat32, {}));
  g.AddNode(OpType::kMfcc, "frontend/" + std::string(fe.mfcc ? "mfcc" : "logmel"), {audio}, {y})
      .attrs = fe.OpAttrs();
  g.inputs = {audio};
  g.outputs = {y};
  TML_RETURN_IF_ERROR(PrepareGraph(g));
  return g;
}

Result<Graph> AttachFrontEnd(const Graph& model, const FrontEnd& fe) {
  if (model.inputs.size() != 1)
    return Status::Errorf("model '{}' has {} inputs: a front end feeds a model with one",
                          model.name, model.inputs.size());
  if (AttachedFrontEnd(model).ok())
    return Status::Errorf("model '{}' already has a front end attached", model.name);
  Graph g = model;
  const int x = g.inputs[0];
  const Tensor xt = g.tensor(x);
  const int64_t want = static_cast<int64_t>(fe.frames()) * fe.features();
  if (xt.numel() != want)
    return Status::Errorf(
        "front end '{}' gives {} frames x {} features = {} values, but the "
        "model input '{}' {} takes {}",
        fe.name, fe.frames(), fe.features(), want, xt.name, ShapeStr(xt.shape), xt.numel());
  const bool quantized = IsQuantizedDType(xt.dtype);
  if (!quantized && xt.dtype != DType::kFloat32)
    return Status::Errorf("model input '{}' is {}: a front end feeds float or int8 inputs", xt.name,
                          DTypeName(xt.dtype));
  if (quantized && xt.quant.scale.size() != 1)
    return Status::Errorf("model input '{}' must be quantized per tensor", xt.name);
  const int audio =
      g.AddTensor(Tensor::Make(UniqueName(g, "audio"), AudioDType(fe), {1, fe.samples}));
  const int feats = g.AddTensor(Tensor::Make(UniqueName(g, "frontend/features"), DType::kFloat32,
                                             {1, fe.frames(), fe.features()}));
  g.AddNode(OpType::kMfcc, g.tensor(feats).name, {audio}, {feats}).attrs = fe.OpAttrs();
  int shaped = x;
  if (quantized) {
    Tensor f = Tensor::Make(UniqueName(g, "frontend/input"), DType::kFloat32, xt.shape);
    shaped = g.AddTensor(std::move(f));
  }
  g.AddNode(OpType::kReshape, UniqueName(g, "frontend/reshape"), {feats}, {shaped})
      .attrs.Set("shape", std::vector<int64_t>(xt.shape.begin(), xt.shape.end()));
  if (quantized) g.AddNode(OpType::kQuantize, UniqueName(g, "frontend/quantize"), {shaped}, {x});
  g.inputs[0] = audio;
  TML_RETURN_IF_ERROR(g.TopoSort());
  TML_RETURN_IF_ERROR(PrepareGraph(g));
  return g;
}

Result<FrontEnd> AttachedFrontEnd(const Graph& g) {
  if (g.inputs.size() != 1) return Status::Error("the model has no single input");
  for (const Node& n : g.nodes) {
    if (n.op != OpType::kMfcc || n.inputs.empty() || n.inputs[0] != g.inputs[0]) continue;
    FrontEnd fe;
    fe.name = "attached";
    const Attrs& a = n.attrs;
    fe.sample_rate = static_cast<int>(a.Int("sample_rate", fe.sample_rate));
    fe.frame_length = static_cast<int>(a.Int("frame_length", fe.frame_length));
    fe.frame_step = static_cast<int>(a.Int("frame_step", fe.frame_step));
    fe.fft_length = static_cast<int>(a.Int("fft_length", fe.fft_length));
    const int64_t w = a.Int("window", 0);
    fe.window = w >= 0 && w < 3 ? kWindows[w] : "?";
    fe.power = a.Int("power", 0) != 0;
    fe.mel_bins = static_cast<int>(a.Int("num_mel", fe.mel_bins));
    fe.num_mfcc = static_cast<int>(a.Int("num_mfcc", fe.num_mfcc));
    fe.mfcc = fe.num_mfcc > 0;
    fe.lower_hz = a.Float("lower_hz", fe.lower_hz);
    fe.upper_hz = a.Float("upper_hz", fe.upper_hz);
    fe.log_offset = a.Float("log_offset", fe.log_offset);
    fe.deltas = static_cast<int>(a.Int("deltas", 0));
    fe.samples = g.tensor(g.inputs[0]).numel();
    fe.fixed_point = g.tensor(g.inputs[0]).dtype == DType::kInt16;
    return fe;
  }
  return Status::Error("the model's input feeds no front end");
}

Result<Detached> DetachFrontEnd(const Graph& model) {
  TML_ASSIGN_OR_RETURN(FrontEnd fe, AttachedFrontEnd(model));
  Graph g = model;
  const int audio = g.inputs[0];
  // Walk from the audio input through Mfcc, Reshape (and Quantize) while each node
  // is the only reader of the tensor before it.
  std::vector<int> readers(g.tensors.size(), 0);
  for (const Node& n : g.nodes)
    for (int t : n.inputs)
      if (t >= 0) ++readers[static_cast<size_t>(t)];
  std::vector<bool> drop(g.nodes.size(), false);
  int t = audio;
  for (OpType want : {OpType::kMfcc, OpType::kReshape}) {
    size_t k = 0;
    while (k < g.nodes.size() &&
           !(g.nodes[k].op == want && !g.nodes[k].inputs.empty() && g.nodes[k].inputs[0] == t))
      ++k;
    if (k == g.nodes.size() || readers[static_cast<size_t>(t)] != 1)
      return Status::Errorf("the front end of model '{}' is not Mfcc -> Reshape", model.name);
    drop[k] = true;
    t = g.nodes[k].outputs[0];
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (!drop[k]) kept.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(kept);
  g.inputs[0] = t;
  return Detached{std::move(g), std::move(fe)};
}

Result<FeatureTables> FeatureTables::Make(const FrontEnd& fe) {
  FeatureTables t;
  t.fe_ = fe;
  tml_mfcc_config& c = t.c_;
  c.sample_rate = fe.sample_rate;
  c.frame_length = fe.frame_length;
  c.frame_step = fe.frame_step;
  c.fft_length = fe.fft_length;
  c.window = WindowCode(fe.window);
  c.power = fe.power ? 1 : 0;
  c.num_mel = fe.mel_bins;
  c.num_mfcc = fe.mfcc ? fe.num_mfcc : 0;
  c.lower_hz = fe.lower_hz;
  c.upper_hz = fe.upper_hz;
  c.log_offset = fe.log_offset;
  c.deltas = fe.deltas;
  size_t words = 0, ints = 0;
  int rc = -1;
  if (c.window >= 0 && fe.fixed_point) {
    tml_mfccq_sizes(&c, &words, &ints, &t.scratch_);
    t.scratch_ += static_cast<size_t>(fe.frames()) * static_cast<size_t>(fe.features());
    t.qtables_.resize(words);
    t.index_.resize(ints);
    tml_mfccq_plan plan;
    rc = tml_mfccq_init(&c, t.qtables_.data(), t.index_.data(), &plan);
  } else if (c.window >= 0) {
    tml_mfcc_sizes(&c, &words, &ints, &t.scratch_);
    t.tables_.resize(words);
    t.index_.resize(ints);
    tml_mfcc_plan plan;
    rc = tml_mfcc_init(&c, t.tables_.data(), t.index_.data(), &plan);
  }
  if (rc != 0) return Status::Errorf("front end '{}': invalid settings", fe.name);
  return t;
}

tml_mfcc_plan FeatureTables::Plan() const {
  tml_mfcc_plan plan;
  tml_mfcc_bind(&c_, tables_.data(), index_.data(), &plan);
  return plan;
}

tml_mfccq_plan FeatureTables::QPlan() const {
  tml_mfccq_plan plan;
  tml_mfccq_bind(&c_, qtables_.data(), index_.data(), &plan);
  return plan;
}

Status FeatureTables::Compute(const float* audio, int64_t n, float* out,
                              std::vector<float>& scratch) const {
  if (n != fe_.samples)
    return Status::Errorf("front end '{}' takes {} samples, got {}", fe_.name, fe_.samples, n);
  scratch.resize(scratch_);
  if (fe_.fixed_point) {  // the op's kernel itself, on the samples as int16
    const std::vector<int16_t> pcm = ToPcm16(audio, static_cast<size_t>(n));
    tml_mfcc_params p{};
    tml_mfcc_params_of(&c_, fe_.frames(), &p);
    tml_mfcc_q15(&p, pcm.data(), qtables_.data(), index_.data(), out, scratch.data());
    return Status::Ok();
  }
  const tml_mfcc_plan plan = Plan();
  const int row = fe_.features(), per = fe_.mfcc ? fe_.num_mfcc : fe_.mel_bins;
  for (int f = 0; f < fe_.frames(); ++f)
    tml_mfcc_frame(&plan, audio + static_cast<int64_t>(f) * fe_.frame_step, scratch.data(),
                   out + static_cast<size_t>(f) * static_cast<size_t>(row));
  if (fe_.deltas > 0) tml_dsp_deltas(fe_.frames(), per, fe_.deltas, out, row, out + per, row);
  return Status::Ok();
}

Result<std::vector<float>> ComputeFeatures(const FrontEnd& fe, const float* audio, int64_t n) {
  TML_ASSIGN_OR_RETURN(FeatureTables t, FeatureTables::Make(fe));
  std::vector<float> out(static_cast<size_t>(fe.frames()) * static_cast<size_t>(fe.features()));
  std::vector<float> scratch;
  TML_RETURN_IF_ERROR(t.Compute(audio, n, out.data(), scratch));
  return out;
}

std::string FrontEndSummary(const FrontEnd& fe) {
  std::string features = fe.mfcc ? fmt::format("{} MFCCs of {} mel bins", fe.num_mfcc, fe.mel_bins)
                                 : fmt::format("{} log-mel energies", fe.mel_bins);
  return fmt::format(
      "{}: {} samples at {} Hz -> {} frames x {} ({} samples every {}, {}-point FFT, {} window, "
      "{} spectrum, {} from {} to {} Hz, log(mel + {}){}{})",
      fe.name, fe.samples, fe.sample_rate, fe.frames(), fe.features(), fe.frame_length,
      fe.frame_step, fe.fft_length, fe.window, fe.power ? "power" : "magnitude", features,
      fe.lower_hz, fe.upper_hz, fe.log_offset,
      fe.deltas > 0 ? fmt::format(", and their deltas (width {})", fe.deltas) : "",
      fe.fixed_point ? "; fixed point, int16 samples" : "");
}

}  // namespace tml
