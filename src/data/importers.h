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

// How outside files become samples: images are converted to `channels` (1 or 3)
// and resized to width x height (shape {height, width, channels}, uint8); WAV files
// are mixed to mono, resampled to `rate` and centre-cropped or zero-padded to
// `seconds` (shape {rate * seconds}, int16).
struct SampleFormat {
  int width = 28, height = 28, channels = 1;
  int rate = 16000;
  double seconds = 1.0;
};
Status CheckFormat(const SampleFormat& f);

// One file (PNG, JPEG or WAV, by extension) as a sample.
Result<NewSample> ReadSampleFile(const std::string& path, const std::string& label,
                                 const SampleFormat& format, std::optional<Split> split);

struct FileImport {
  std::vector<NewSample> samples;
  std::vector<std::string> classes;  // natural order
  int64_t skipped = 0;               // files that are not .png / .jpg / .jpeg / .wav
};

// A folder with one subfolder per class (its name is the label) holding PNG, JPEG or
// WAV files; other files are skipped and counted.
Result<FileImport> ReadClassFolders(const std::string& root, const SampleFormat& format,
                                    std::optional<Split> split);

// A label file: CSV rows "file,label" (a first row "file,label" is a header; fields
// may be double-quoted) or JSON, either [{"file": F, "label": L}, ...] or {F: L, ...}.
// Files are relative to the label file's folder unless absolute. Errors name the
// label file and line (CSV) or entry (JSON).
Result<FileImport> ReadLabelFile(const std::string& path, const SampleFormat& format,
                                 std::optional<Split> split);

}  // namespace tml
