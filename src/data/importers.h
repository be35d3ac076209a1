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

// An image folder with one subfolder per class (its name is the label), PNG or JPEG
// files inside (other files are skipped and counted), each converted to `channels`
// (1 or 3) and resized to width x height; shape {height, width, channels}, uint8.
struct FolderImport {
  std::vector<NewSample> samples;
  std::vector<std::string> classes;  // subfolder names, natural order
  int64_t skipped = 0;               // files that are not .png / .jpg / .jpeg
};
Result<FolderImport> ReadImageFolder(const std::string& root, int width, int height, int channels,
                                     std::optional<Split> split);

}  // namespace tml
