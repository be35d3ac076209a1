// Signal front ends as graph ops, so that a model fed raw samples carries its feature
// extractor: Mfcc turns [1, samples] audio into [1, frames, features] float MFCCs (or
// log-mel energies) with the C99 blocks of runtime/kernels/dsp.c: float audio (-1..1)
// runs the float variant, int16 audio (q / 32768) the fixed-point one (dsp_fixed.c),
// integer arithmetic only up to the features' last conversion to float. The tables (window,
// FFT twiddles, mel weights, DCT) are computed once on the host and travel with the call
// as constants, so the device only runs the per-frame arithmetic the host ran.
//
// Attributes (as tml_mfcc_params): sample_rate, frame_length, frame_step, fft_length,
// window (0 Hann, 1 Hamming, 2 none), power (1 power spectrum, 0 magnitude), num_mel,
// num_mfcc (0: log-mel features), lower_hz, upper_hz, log_offset, deltas (> 0: every
// frame's features followed by their deltas of that regression width).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ops/lower_util.h"
#include "tml_dsp.h"

namespace tml {
namespace {

constexpr int64_t kMaxFft = 4096, kMaxMel = 256;

tml_mfcc_config MfccConfig(const Node& n) {
  tml_mfcc_config c{};
  const auto i32 = [&](const char* k, int64_t def) {
    return static_cast<int>(std::clamp<int64_t>(n.attrs.Int(k, def), -1, kMaxFft * 64));
  };
  c.sample_rate = i32("sample_rate", 16000);
  c.frame_length = i32("frame_length", 480);
  c.frame_step = i32("frame_step", 320);
  c.fft_length = i32("fft_length", 512);
  c.window = i32("window", TML_WINDOW_HANN);
  c.power = i32("power", 0);
  c.num_mel = i32("num_mel", 40);
  c.num_mfcc = i32("num_mfcc", 10);
  c.lower_hz = n.attrs.Float("lower_hz", 20.0f);
  c.upper_hz = n.attrs.Float("upper_hz", 4000.0f);
  c.log_offset = n.attrs.Float("log_offset", 1e-6f);
  c.deltas = i32("deltas", 0);
  return c;
}

// The tables and bin index tml_mfcc_init computes, or an error naming the bad setting.
struct MfccTables {
  tml_mfcc_config c{};
  bool fixed = false;            // int16 samples: the fixed-point variant
  std::vector<float> tables;     // float variant
  std::vector<int32_t> qtables;  // fixed-point variant
  std::vector<int32_t> index;
  size_t scratch_words = 0;  // per frame (floats or int32)
};

Result<MfccTables> MakeTables(const Node& n, bool fixed) {
  MfccTables t;
  t.c = MfccConfig(n);
  t.fixed = fixed;
  const tml_mfcc_config& c = t.c;
  const std::string where = NodeWhere(n);
  if (c.fft_length < 2 || c.fft_length > kMaxFft || (c.fft_length & (c.fft_length - 1)) != 0)
    return Status::Errorf("{}: fft_length {} is not a power of two in 2..{}", where, c.fft_length,
                          kMaxFft);
  if (c.frame_length < 1 || c.frame_length > c.fft_length)
    return Status::Errorf("{}: frame_length {} must be 1..fft_length ({})", where, c.frame_length,
                          c.fft_length);
  if (c.frame_step < 1) return Status::Errorf("{}: frame_step must be at least 1", where);
  if (c.window < TML_WINDOW_HANN || c.window > TML_WINDOW_NONE)
    return Status::Errorf("{}: window {} is not 0 (Hann), 1 (Hamming) or 2 (none)", where,
                          c.window);
  if (c.power != 0 && c.power != 1) return Status::Errorf("{}: power must be 0 or 1", where);
  if (c.num_mel < 1 || c.num_mel > kMaxMel)
    return Status::Errorf("{}: num_mel {} must be 1..{}", where, c.num_mel, kMaxMel);
  if (c.num_mfcc < 0 || c.num_mfcc > c.num_mel)
    return Status::Errorf("{}: num_mfcc {} must be 0..num_mel ({})", where, c.num_mfcc, c.num_mel);
  if (c.sample_rate < 1) return Status::Errorf("{}: sample_rate must be positive", where);
  if (c.deltas < 0 || c.deltas > 9) return Status::Errorf("{}: deltas must be 0..9", where);
  if (!(c.lower_hz >= 0.0f) || !(c.upper_hz > c.lower_hz) || c.upper_hz > c.sample_rate / 2.0f)
    return Status::Errorf("{}: mel range {}..{} Hz must be increasing and within 0..{} Hz", where,
                          c.lower_hz, c.upper_hz, c.sample_rate / 2.0);
  if (!(c.log_offset > 0.0f) || !std::isfinite(c.log_offset))
    return Status::Errorf("{}: log_offset must be positive", where);
  if (fixed && !(c.log_offset >= 1e-30f))
    return Status::Errorf("{}: log_offset {} is below the fixed-point variant's 1e-30", where,
                          c.log_offset);
  size_t words = 0, ints = 0;
  int rc;
  if (fixed) {
    tml_mfccq_sizes(&c, &words, &ints, &t.scratch_words);
    t.qtables.resize(words);
    t.index.resize(ints);
    tml_mfccq_plan plan;
    rc = tml_mfccq_init(&c, t.qtables.data(), t.index.data(), &plan);
  } else {
    tml_mfcc_sizes(&c, &words, &ints, &t.scratch_words);
    t.tables.resize(words);
    t.index.resize(ints);
    tml_mfcc_plan plan;
    rc = tml_mfcc_init(&c, t.tables.data(), t.index.data(), &plan);
  }
  if (rc != 0)
    return Status::Errorf(
        "{}: the mel filterbank has an empty band (too many mel bins for {} FFT "
        "bins?)",
        where, c.fft_length / 2 + 1);
  return t;
}

// Samples of the input: its last dimension, every other dimension 1.
Result<int64_t> SampleCount(const Tensor& x, const Node& n) {
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kInt16)
    return Status::Errorf("{}: input must be float32 or int16 samples, not {}", NodeWhere(n),
                          DTypeName(x.dtype));
  if (x.shape.empty()) return Status::Errorf("{}: input has no samples", NodeWhere(n));
  for (size_t d = 0; d + 1 < x.shape.size(); ++d)
    if (x.shape[d] != 1)
      return Status::Errorf("{}: input {} must be [1, samples]", NodeWhere(n), ShapeStr(x.shape));
  return x.shape.back();
}

int PerFrame(const tml_mfcc_config& c) {
  return (c.num_mfcc > 0 ? c.num_mfcc : c.num_mel) * (c.deltas > 0 ? 2 : 1);
}

Status InferMfcc(Graph& g, const Node& n) {
  TML_ASSIGN_OR_RETURN(int64_t samples, SampleCount(In(g, n, 0), n));
  TML_ASSIGN_OR_RETURN(MfccTables t, MakeTables(n, In(g, n, 0).dtype == DType::kInt16));
  const int frames = tml_mfcc_frames(&t.c, static_cast<long>(samples));
  if (frames < 1)
    return Status::Errorf("{}: {} samples are fewer than one frame ({})", NodeWhere(n), samples,
                          t.c.frame_length);
  Tensor& y = Out(g, n);
  y.shape = {1, frames, PerFrame(t.c)};
  y.dtype = DType::kFloat32;
  return Status::Ok();
}

// Multiply-adds per frame: the FFT's butterflies (4 per complex product), the mel
// weights and the DCT.
int64_t MfccMacs(const Graph& g, const Node& n) {
  const tml_mfcc_config c = MfccConfig(n);
  const Tensor& y = g.tensor(n.outputs[0]);
  if (y.shape.size() != 3 || c.fft_length < 2) return 0;
  int64_t log2 = 0;
  while ((int64_t{1} << log2) < c.fft_length) ++log2;
  const int64_t per = 2 * c.fft_length * log2 + tml_dsp_mel_weight_count(c.fft_length, c.num_mel) +
                      static_cast<int64_t>(c.num_mfcc) * c.num_mel;
  return y.shape[1] * per;
}

class MfccOp : public LoweredOp {
 public:
  MfccTables t;
  tml_mfcc_params p{};
  void Run(const KernelIO& io) const override {
    std::vector<int32_t> scratch(static_cast<size_t>(ScratchBytes(false)) / 4);
    if (t.fixed)
      tml_mfcc_q15(&p, static_cast<const int16_t*>(io.in[0]), t.qtables.data(), t.index.data(),
                   static_cast<float*>(io.out[0]), scratch.data());
    else
      tml_mfcc_f32(&p, static_cast<const float*>(io.in[0]), t.tables.data(), t.index.data(),
                   static_cast<float*>(io.out[0]), scratch.data());
  }
  KernelCall Call(bool) const override {
    KernelCall k;
    k.kernel = t.fixed ? TML_K_MFCC_Q15 : TML_K_MFCC_F32;
    k.params = p;
    const int tables = t.fixed ? k.Array("tables", t.qtables) : k.Array("tables", t.tables);
    const int index = k.Array("index", t.index);
    k.args = {CallArg::In(0), CallArg::Const(tables), CallArg::Const(index), CallArg::Out(),
              CallArg::Scratch()};
    return k;
  }
  std::vector<std::string> Sources() const override {
    if (t.fixed) return {"dsp.c", "dsp_fixed.c"};
    return {"dsp.c"};
  }
  int64_t ScratchBytes(bool) const override {
    // The fixed-point variant keeps every frame's Q24 features until the deltas are done.
    const int64_t features = t.fixed ? static_cast<int64_t>(p.frames) * PerFrame(t.c) : 0;
    return static_cast<int64_t>(t.scratch_words) * 4 + features * 4;
  }
};

Result<std::unique_ptr<LoweredOp>> LowerMfcc(const Graph& g, const Node& n) {
  auto op = std::make_unique<MfccOp>();
  TML_ASSIGN_OR_RETURN(op->t, MakeTables(n, g.tensor(n.inputs[0]).dtype == DType::kInt16));
  const tml_mfcc_config& c = op->t.c;
  const Tensor& y = g.tensor(n.outputs[0]);
  tml_mfcc_params_of(&c, static_cast<int>(y.shape.size() == 3 ? y.shape[1] : 0), &op->p);
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterDspOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kMfcc, 1, 1, InferMfcc, LowerMfcc, MfccMacs, Inplace::kNone,
               QuantRule::kNone, false});
}

}  // namespace tml
