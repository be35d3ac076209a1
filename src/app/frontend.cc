#include "app/frontend.h"

#include <filesystem>

#include "formats/export.h"
#include "formats/import.h"

namespace tml {

namespace {

bool IsModelFile(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".onnx" || ext == ".tflite";
}

}  // namespace

Result<AttachOutcome> AttachFrontEndToModel(const AttachRequest& q) {
  if (q.out.empty()) return Status::Error("frontend attach: an output file is required");
  if (std::filesystem::path(q.out).extension() != ".onnx")
    return Status::Errorf("frontend attach: the output '{}' must be an .onnx file", q.out);
  TML_ASSIGN_OR_RETURN(FrontEnd fe, FindFrontEnd(q.frontend));
  TML_ASSIGN_OR_RETURN(Graph model, LoadModel(q.model));
  auto attached = AttachFrontEnd(model, fe);
  if (!attached.ok()) return attached.status().Wrap(q.model);
  TML_RETURN_IF_ERROR(SaveOnnx(*attached, q.out));
  return AttachOutcome{std::move(*attached), std::move(fe)};
}

Result<FrontEnd> ResolveFrontEnd(const std::string& what) {
  if (!IsModelFile(what)) return FindFrontEnd(what);
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(what));
  auto fe = AttachedFrontEnd(g);
  if (!fe.ok()) return Status::Errorf("{}: {}", what, fe.status().message());
  return fe;
}

nlohmann::json FrontEndJson(const FrontEnd& fe) {
  return {{"name", fe.name},
          {"kind", fe.mfcc ? "mfcc" : "log-mel"},
          {"sample_rate", fe.sample_rate},
          {"frame_length", fe.frame_length},
          {"frame_step", fe.frame_step},
          {"fft_length", fe.fft_length},
          {"window", fe.window},
          {"spectrum", fe.power ? "power" : "magnitude"},
          {"mel_bins", fe.mel_bins},
          {"lower_hz", fe.lower_hz},
          {"upper_hz", fe.upper_hz},
          {"log_offset", fe.log_offset},
          {"mfcc", fe.mfcc ? fe.num_mfcc : 0},
          {"deltas", fe.deltas},
          {"arithmetic", fe.fixed_point ? "fixed" : "float"},
          {"samples", fe.samples},
          {"frames", fe.frames()},
          {"features", fe.features()},
          {"source_file", fe.source_file}};
}

}  // namespace tml
