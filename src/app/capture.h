// Data capture as a component, behind `tinymlaas capture`: devices run their sensor and
// upload the inputs they saw (all, or those below a confidence threshold) with their
// id and model version; the samples land as a new version of a named dataset,
// unlabeled or labeled by the model (the annotation's author "model:ARTIFACT" and its
// confidence), and the version's lineage names the devices and the model. The loop back
// to phase 1: a pipeline takes the captured version, a person labels it, it retrains.
//
// A captured input is the model's input encoding (int8, quantized); it is stored as the
// dataset stores samples: dequantized with the input's scale and zero point, then as
// uint8 (x * 255) when the dataset's samples are uint8, else float32.
//
//   CaptureRequest q;  q.group = "hall";  q.dataset = "fashion";  q.count = 50;
//   q.below = 0.6;  q.label_by_model = true;
//   TML_ASSIGN_OR_RETURN(CaptureOutcome r, Capture(ws, q, progress));
#pragma once

#include <string>
#include <vector>

#include "core/progress.h"
#include "data/dataset_store.h"
#include "fleet/control_plane.h"

namespace tml {

struct CaptureRequest {
  std::vector<std::string> devices;
  std::string group;  // or every online device of a group
  std::string dataset;
  int64_t count = 20;  // sensor samples each device runs
  double below = 1e9;  // capture those with a confidence below this (default: all)
  bool label_by_model = false;
  ControlOptions broker;
  int timeout_ms = 120000;  // per device
};

struct CaptureOutcome {
  ImportReport report;                                      // the new version
  std::string version_artifact;                             // dataset:NAME@V
  std::vector<std::pair<std::string, int64_t>> per_device;  // device, samples captured
};

Result<CaptureOutcome> Capture(Workspace& ws, const CaptureRequest& q, Progress& progress);

}  // namespace tml
