// Front ends as an operation (docs/frontends.md), behind `tinymlaas frontend` and the
// pipeline's frontend step: a model file with a front end attached, written as ONNX, and
// the front ends described as JSON for the CLI, the pipeline's artifacts and the API.
//
//   AttachRequest q;  q.model = "kws_ref_model.tflite";  q.frontend = "mlperf-kws";
//   q.out = "kws_audio.onnx";
//   TML_ASSIGN_OR_RETURN(AttachOutcome r, AttachFrontEndToModel(q));
//   // r.graph's input: float [1, 16000] samples
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "frontend/frontend.h"
#include "graph/graph.h"

namespace tml {

struct AttachRequest {
  std::string model;     // .onnx or .tflite
  std::string frontend;  // a shipped name or a YAML file
  std::string out;       // the ONNX file written
};

struct AttachOutcome {
  Graph graph;
  FrontEnd frontend;
};

Result<AttachOutcome> AttachFrontEndToModel(const AttachRequest& request);

// A front end by name or file, or the one attached to a model file (.onnx / .tflite).
Result<FrontEnd> ResolveFrontEnd(const std::string& name_file_or_model);

nlohmann::json FrontEndJson(const FrontEnd& fe);

}  // namespace tml
