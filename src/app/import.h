// The dataset import operation as one component, behind `data import`, `data
// synth-speech` and the pipeline's dataset step: read samples from IDX files, a folder
// per class or a label file (or synthesize keywords), and store them as a new version of
// a named dataset.
//
//   ImportRequest q;  q.dataset = "fashion";  q.idx = {"imgs.gz", "labels.gz"};
//   TML_ASSIGN_OR_RETURN(ImportOutcome r, ImportDataset(ws, q, progress));
//   // r.report.version.number, r.report.added, r.report.duplicates
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/dataset_store.h"
#include "data/importers.h"
#include "data/synth_speech.h"

namespace tml {

struct ImportRequest {
  std::string dataset;                      // the dataset's name
  std::vector<std::string> idx;             // [IMAGES, LABELS] IDX files, or
  std::string folder;                       // one folder per class, or
  std::string labels;                       // a file of "path label" lines, or
  std::optional<SynthSpeechOptions> synth;  // keywords spoken by espeak-ng (splits by speaker)
  SampleFormat format;                      // what images and audio are converted to
  std::string split;                 // train, val or test for every sample; "" or auto: assign
  SplitFractions fractions;          // how auto assigns
  std::vector<std::string> classes;  // class order (IDX: names of labels 0, 1, ...)
  std::string note;                  // the version's note ("" = "import SOURCE")
  std::string author = "import";
  // Nothing new (every sample already in the dataset) is not an error: the outcome
  // names the latest version and added is 0.
  bool nothing_new_ok = false;
};

struct ImportOutcome {
  ImportReport report;  // the version written (or the latest, when nothing was new)
  int64_t skipped = 0;  // files that are not PNG, JPEG or WAV
  double seconds = 0;
};

Result<ImportOutcome> ImportDataset(Workspace& ws, const ImportRequest& request,
                                    Progress& progress);

}  // namespace tml
