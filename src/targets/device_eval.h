// On-device evaluation: a classifier's test split run through the same firmware path
// a deployed model uses (generated C, board support, the emulated board), so the
// accuracy is the device's. For an int8 model it must equal the host int8 accuracy.
//
//   TML_ASSIGN_OR_RETURN(EvalResult r, EvaluateOnTarget(graph, test, classes, "cortex-m4", {}));
#pragma once

#include <functional>
#include <string>

#include "interp/evaluate.h"

namespace tml {

struct DeviceEvalOptions {
  std::string work_dir;  // keep the firmware here ("" = a temporary directory)
  int64_t batch = 1000;  // samples per emulator run
  std::function<void(int64_t done, int64_t total)> progress;
  std::function<void(const std::string& firmware)> built;  // the ELF about to run
};

Result<EvalResult> EvaluateOnTarget(const Graph& g, const LabeledData& data, int classes,
                                    const std::string& target, const DeviceEvalOptions& opts);

}  // namespace tml
