// Feature front ends (docs/frontends.md): how raw samples become a model's input,
// described in YAML and attached to the model as graph ops (an Mfcc node, a Reshape and,
// for int8 models, a Quantize with the model's input scale and zero point). The attached
// model then travels as one: generated C, model packages and the Arduino library all run
// the front end, so a device is fed raw samples and computes the host's features.
//
//   TML_ASSIGN_OR_RETURN(FrontEnd fe, FindFrontEnd("mlperf-kws"));
//   TML_ASSIGN_OR_RETURN(Graph audio_model, AttachFrontEnd(kws_model, fe));
//   // audio_model's input: float [1, 16000] samples in -1..1
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "tml_dsp.h"

namespace tml {

struct FrontEnd {
  std::string name = "custom";  // a shipped file's stem, or the file's own name field
  bool mfcc = true;             // false: log-mel energies are the features
  int sample_rate = 16000;
  int frame_length = 480, frame_step = 320;  // samples
  int fft_length = 512;
  std::string window = "hann";  // hann | hamming | none
  bool power = false;           // power spectrum; false: magnitude
  int mel_bins = 40;
  float lower_hz = 20.0f, upper_hz = 4000.0f;
  float log_offset = 1e-6f;
  int num_mfcc = 10;
  int deltas = 0;            // > 0: each frame's features followed by their deltas (this width)
  bool fixed_point = false;  // arithmetic: fixed: int16 samples, integer DSP (dsp_fixed.c)
  int64_t samples = 16000;   // samples per inference (the clip)
  std::string source_file;

  int frames() const;    // feature frames per clip
  int features() const;  // per frame (deltas included)
  // The Mfcc node's attributes (src/ops/dsp.cc).
  Attrs OpAttrs() const;
};

// $TINYMLAAS_FRONTENDS_DIR, then the project's examples/frontends.
std::vector<std::string> FrontEndDirs();
// A front end from a YAML mapping (a file's root, or a pipeline step's field); where
// names the file in errors. Every setting is checked here (the Mfcc op's own checks).
Result<FrontEnd> FrontEndFromYaml(const YAML::Node& y, const std::string& where);
Result<FrontEnd> LoadFrontEnd(const std::string& path);
// A shipped front end by name ("mlperf-kws") or a file.
Result<FrontEnd> FindFrontEnd(const std::string& name_or_path);
Result<std::vector<FrontEnd>> ShippedFrontEnds();

// The audio input's type: float samples in -1..1, or int16 (q / 32768) for fixed point.
DType AudioDType(const FrontEnd& fe);
// Samples in -1..1 as int16 (round half away from zero, clamped): a fixed-point front end's.
std::vector<int16_t> ToPcm16(const float* audio, size_t n);
// audio [1, samples] -> features float [1, frames, features].
Result<Graph> FrontEndGraph(const FrontEnd& fe);
// The model fed by the front end: its one input replaced by [1, samples] audio.
// The front end's frames x features must equal the model input's element count; an int8
// (or uint8) input is quantized with its own scale and zero point.
Result<Graph> AttachFrontEnd(const Graph& model, const FrontEnd& fe);
// The front end that feeds a model, when its input is an attached one (an Mfcc node
// reading the graph input); the recovered settings carry name "attached".
Result<FrontEnd> AttachedFrontEnd(const Graph& model);

// The model behind an attached front end: the same tensors (so per-tensor data such as
// calibration ranges still lines up), without the Mfcc and Reshape nodes, its input the
// tensor the front end fed (float), or, for an int8 model, the float tensor the front end's
// Quantize read. Fails when no front end is attached.
struct Detached {
  Graph body;
  FrontEnd frontend;
};
Result<Detached> DetachFrontEnd(const Graph& model);

// The front end as the C blocks' configuration with the tables and bin index its plan
// reads (tml_mfcc_init), made once and used for any number of clips or streams.
class FeatureTables {
 public:
  static Result<FeatureTables> Make(const FrontEnd& fe);
  const FrontEnd& frontend() const { return fe_; }
  const tml_mfcc_config& config() const { return c_; }
  const std::vector<float>& tables() const { return tables_; }      // float variant
  const std::vector<int32_t>& qtables() const { return qtables_; }  // fixed point
  const std::vector<int32_t>& index() const { return index_; }
  size_t scratch_floats() const { return scratch_; }
  // A plan over these tables (valid while this object lives); float variant.
  tml_mfcc_plan Plan() const;
  // ... fixed-point variant.
  tml_mfccq_plan QPlan() const;
  // The features of one clip (fe.samples floats in -1..1) into out (frames x features
  // floats): the values the Mfcc op computes (the same C code and tables; for a fixed-point
  // front end, of the samples rounded to int16).
  Status Compute(const float* audio, int64_t n, float* out, std::vector<float>& scratch) const;

 private:
  FrontEnd fe_;
  tml_mfcc_config c_{};
  std::vector<float> tables_;
  std::vector<int32_t> qtables_;
  std::vector<int32_t> index_;
  size_t scratch_ = 0;
};

// One clip's features (FeatureTables made for this call).
Result<std::vector<float>> ComputeFeatures(const FrontEnd& fe, const float* audio, int64_t n);

// One-line summary: "mfcc 16000 Hz, 480/320 samples, 512-point FFT, hann, magnitude, ..."
std::string FrontEndSummary(const FrontEnd& fe);

}  // namespace tml
