#include "app/import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>

namespace tml {

namespace {

std::string Source(const ImportRequest& q) {
  if (q.synth)
    return fmt::format("synth-speech ({} words, {} speakers, seed {})", q.synth->words.size(),
                       q.synth->speakers, q.synth->seed);
  return !q.idx.empty() ? q.idx[0] : q.folder + q.labels;
}

}  // namespace

Result<ImportOutcome> ImportDataset(Workspace& ws, const ImportRequest& q, Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  if (q.dataset.empty()) return Status::Error("a dataset import needs a dataset name");
  if (!q.idx.empty() + !q.folder.empty() + !q.labels.empty() + q.synth.has_value() != 1)
    return Status::Error(
        "give exactly one source: idx [IMAGES, LABELS], folder DIR, labels FILE or synth-speech");
  if (!q.idx.empty() && q.idx.size() != 2) return Status::Error("idx: give [IMAGES, LABELS]");
  std::optional<Split> split;
  if (!q.split.empty() && q.split != "auto") {
    TML_ASSIGN_OR_RETURN(split, ParseSplit(q.split));
  }
  ImportOutcome r;
  std::vector<NewSample> samples;
  std::vector<std::string> classes = q.classes;
  if (q.synth) {
    TML_ASSIGN_OR_RETURN(SynthSpeech speech, SynthesizeSpeech(*q.synth, progress));
    for (const auto& [s, voices] : speech.speakers)
      progress.Log(fmt::format("{} speakers: {}", SplitName(s), fmt::join(voices, ", ")));
    samples = std::move(speech.samples);
    if (classes.empty()) classes = speech.classes;
  } else if (!q.idx.empty()) {
    progress.Log(fmt::format("reading {} and {}", q.idx[0], q.idx[1]));
    TML_ASSIGN_OR_RETURN(samples, ReadIdxSamples(q.idx[0], q.idx[1], classes, split));
  } else {
    TML_RETURN_IF_ERROR(CheckFormat(q.format));
    const SampleFormat& f = q.format;
    progress.Log(fmt::format("reading {} (images to {}x{}x{}, audio to {} Hz, {} s)", Source(q),
                             f.height, f.width, f.channels, f.rate, f.seconds));
    TML_ASSIGN_OR_RETURN(FileImport files, q.folder.empty() ? ReadLabelFile(q.labels, f, split)
                                                            : ReadClassFolders(q.folder, f, split));
    if (files.skipped)
      progress.Log(fmt::format("skipped {} files that are not PNG, JPEG or WAV", files.skipped));
    r.skipped = files.skipped;
    samples = std::move(files.samples);
    if (classes.empty()) classes = files.classes;
  }
  progress.Log(fmt::format("storing {} samples in {}", samples.size(), ws.root));
  const std::string note = q.note.empty() ? "import " + Source(q) : q.note;
  auto stored =
      ImportSamples(ws, q.dataset, samples, q.fractions, note, classes, q.author,
                    [&](int64_t done, int64_t total) { progress.Advance(done, total, "stored"); });
  if (stored.ok()) {
    r.report = std::move(*stored);
  } else if (q.nothing_new_ok && stored.status().code() == StatusCode::kAlreadyExists) {
    TML_ASSIGN_OR_RETURN(r.report.version, ws.db->GetVersion(q.dataset, 0));
    r.report.duplicates = static_cast<int64_t>(samples.size());
  } else {
    return stored.status().Wrap(fmt::format("import into '{}'", q.dataset));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace tml
