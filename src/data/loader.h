// A dataset split as float tensors for training and evaluation.
//
//   TML_ASSIGN_OR_RETURN(LoadedSplit s, LoadSplit(ws, "fashion", 3, Split::kTrain));
//   s.data.x  // count x H x W x C floats, uint8 samples scaled to [0, 1]
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/dataset_store.h"

namespace tml {

// Samples as float, each of `shape` (HWC or {features}), with class indices.
struct LabeledData {
  std::vector<int64_t> shape;
  std::vector<float> x;
  std::vector<int32_t> y;
  int64_t count() const { return static_cast<int64_t>(y.size()); }
};

struct LoadedSplit {
  LabeledData data;
  VersionRecord version;
  std::vector<std::string> classes;
};

// The members of `split` (every member when unset); unlabeled members are an
// error, as are mixed shapes. uint8 samples are scaled by 1/255, int16 by 1/32768.
Result<LoadedSplit> LoadSplit(Workspace& ws, const std::string& dataset, int version,
                              std::optional<Split> split);
// "NAME[@V][@SPLIT]" (split default `def`); an empty split is an error.
Result<LoadedSplit> LoadSplitRef(Workspace& ws, const std::string& ref, Split def);

// n samples spread evenly over d (every (count / n)-th), or d itself when n >= count.
LabeledData Spread(const LabeledData& d, int64_t n);
// Each sample as the value list of a one-input model (the calibration format).
std::vector<std::vector<std::vector<float>>> AsModelInputs(const LabeledData& d);

}  // namespace tml
