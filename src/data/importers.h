// Importers: outside files -> samples ready for ImportSamples (dataset_store.h).
// Errors name the file and the problem; nothing is stored by these functions.
//
//   TML_ASSIGN_OR_RETURN(auto samples, ReadIdxSamples(images, labels, {}, Split::kTrain));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/dataset_store.h"

namespace tml {

// An IDX image file ([N, H, W] or [N, H, W, C], uint8) with its IDX label file ([N],
// uint8). Labels become class_names[label] when names are given, else the number.
Result<std::vector<NewSample>> ReadIdxSamples(const std::string& images, const std::string& labels,
                                              const std::vector<std::string>& class_names,
                                              std::optional<Split> split);

}  // namespace tml
