#include "apps/cli_data.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/import.h"
#include "app/sensor_file.h"
#include "apps/cli_common.h"
#include "data/dataset_json.h"
#include "data/dataset_store.h"
#include "data/importers.h"

namespace tml::cli {
namespace {

struct DataOptions {
  std::string workspace, name, note, split, classes, folder, labels, size = "28x28";
  int channels = 1, rate = 16000;
  double seconds = 1.0;
  std::vector<std::string> idx;
  SplitFractions fractions;
  bool keep_test = false, json = false;
  std::string model, output;  // data sensor
  int64_t samples = 0;
  SynthSpeechOptions synth;  // data synth-speech
  std::string words, set, unknown_words;
};

// Runs an import request and prints the version it made.
int RunImport(const DataOptions& o, const ImportRequest& q) {
  auto ws = OpenWorkspace(o.workspace);
  if (!ws.ok()) return Fail(ws.status());
  TerminalProgress progress;
  auto r = ImportDataset(*ws, q, progress);
  if (!r.ok()) return Fail(r.status());
  const ImportReport& rep = r->report;
  std::cout << fmt::format(
      "{}@{}: {} samples added, {} duplicates skipped; {} members, {} classes "
      "({:.1f} s)\n",
      o.name, rep.version.number, rep.added, rep.duplicates, rep.version.members,
      rep.version.classes.size(), r->seconds);
  return 0;
}

int SynthSpeechCommand(DataOptions& o) {
  if (o.words.empty() == o.set.empty())
    return Fail(Status::Error("synth-speech: give --words W1,W2,... or --set mlperf-ten|digits"));
  if (!o.set.empty()) {
    auto words = KeywordSet(o.set);
    if (!words.ok()) return Fail(words.status());
    o.synth.words = *words;
  } else {
    o.synth.words = SplitList(o.words);
  }
  if (!o.unknown_words.empty()) o.synth.unknown_words = SplitList(o.unknown_words);
  ImportRequest q;
  q.dataset = o.name;
  q.synth = o.synth;
  q.note = o.note;
  q.author = "synth-speech";
  return RunImport(o, q);
}

int Import(const DataOptions& o) {
  ImportRequest q;
  q.dataset = o.name;
  q.idx = o.idx;
  q.folder = o.folder;
  q.labels = o.labels;
  q.format.channels = o.channels;
  q.format.rate = o.rate;
  q.format.seconds = o.seconds;
  if (std::sscanf(o.size.c_str(), "%dx%d", &q.format.height, &q.format.width) != 2)
    return Fail(Status::Errorf("--size '{}': expected HEIGHTxWIDTH, e.g. 28x28", o.size));
  q.split = o.split;
  q.fractions = o.fractions;
  if (!o.classes.empty()) q.classes = SplitList(o.classes);
  q.note = o.note;
  return RunImport(o, q);
}

struct Opened {
  DatasetRef ref;
  Workspace ws;
};

Result<Opened> OpenRef(const DataOptions& o) {
  Opened r;
  TML_ASSIGN_OR_RETURN(r.ref, ParseDatasetRef(o.name));
  TML_ASSIGN_OR_RETURN(r.ws, OpenWorkspace(o.workspace));
  return r;
}

int List(const DataOptions& o) {
  auto ws = OpenWorkspace(o.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto all = ws->db->ListDatasets();
  if (!all.ok()) return Fail(all.status());
  nlohmann::json j = nlohmann::json::array();
  if (!o.json && all->empty()) std::cout << "no datasets in " << ws->root << "\n";
  for (const DatasetRecord& d : *all) {
    auto v = ws->db->GetVersion(d.name, 0);
    const int64_t members = v.ok() ? v->members : 0;
    const size_t classes = v.ok() ? v->classes.size() : 0;
    if (o.json)
      j.push_back({{"name", d.name},
                   {"latest_version", d.latest_version},
                   {"members", members},
                   {"classes", classes}});
    else
      std::cout << fmt::format("{:<24} v{:<4} {:>8} samples {:>4} classes\n", d.name,
                               d.latest_version, members, classes);
  }
  if (o.json) std::cout << j.dump(2) << "\n";
  return 0;
}

int Show(const DataOptions& o) {
  auto opened = OpenRef(o);
  if (!opened.ok()) return Fail(opened.status());
  auto& [ref, ws] = *opened;
  auto versions = ws.db->ListVersions(ref.name);
  if (!versions.ok()) return Fail(versions.status());
  if (versions->empty()) return Fail(Status::NotFound("no dataset '{}' in {}", ref.name, ws.root));
  nlohmann::json j = nlohmann::json::array();
  for (const VersionRecord& v : *versions) {
    if (ref.version && v.number != ref.version) continue;
    if (o.json) {
      j.push_back(VersionJson(v));
      continue;
    }
    std::cout << fmt::format("{}@{}: {} samples, {} classes; {}\n", ref.name, v.number, v.members,
                             v.classes.size(), v.note);
  }
  if (o.json) std::cout << j.dump(2) << "\n";
  return 0;
}

int Stats(const DataOptions& o) {
  auto opened = OpenRef(o);
  if (!opened.ok()) return Fail(opened.status());
  auto& [ref, ws] = *opened;
  auto st = ComputeStats(ws, ref.name, ref.version);
  if (!st.ok()) return Fail(st.status());
  if (o.json) {
    std::cout << DatasetStatsJson(*st).dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{}@{}: {} samples ({} train, {} val, {} test), {} unlabeled\n",
                           ref.name, st->version.number, st->version.members, st->per_split[0],
                           st->per_split[1], st->per_split[2], st->unlabeled);
  std::cout << "shapes:\n";
  for (const auto& [s, n] : st->shapes) std::cout << fmt::format("  {:<24} {:>8}\n", s, n);
  std::cout << fmt::format("{:<20} {:>8} {:>8} {:>8} {:>8}  share\n", "class", "train", "val",
                           "test", "total");
  const double all = std::max<int64_t>(1, st->version.members - st->unlabeled);
  for (const std::string& c : st->version.classes) {
    const auto& n = st->per_class[c];
    const int64_t total = n[0] + n[1] + n[2];
    std::cout << fmt::format("{:<20} {:>8} {:>8} {:>8} {:>8}  {:5.1f} % {}\n", c, n[0], n[1], n[2],
                             total, 100.0 * total / all,
                             std::string(static_cast<size_t>(40.0 * total / all + 0.5), '#'));
  }
  return 0;
}

int Resplit(const DataOptions& o) {
  auto opened = OpenRef(o);
  if (!opened.ok()) return Fail(opened.status());
  auto& [ref, ws] = *opened;
  auto v = tml::Resplit(ws, ref.name, ref.version, o.fractions, o.keep_test);
  if (!v.ok()) return Fail(v.status());
  auto st = ComputeStats(ws, ref.name, v->number);
  if (!st.ok()) return Fail(st.status());
  std::cout << fmt::format("{}@{}: {} train, {} val, {} test ({})\n", ref.name, v->number,
                           st->per_split[0], st->per_split[1], st->per_split[2], v->note);
  return 0;
}

int Sensor(const DataOptions& o) {
  auto ws = OpenWorkspace(o.workspace);
  if (!ws.ok()) return Fail(ws.status());
  SensorFileRequest q;
  q.model = o.model;
  q.data = o.name;
  q.samples = o.samples;
  q.output = o.output;
  auto r = WriteSensorFile(*ws, q);
  if (!r.ok()) return Fail(r.status());
  std::cout << fmt::format(
      "{}: {} samples of {} bytes from {} as {} takes them "
      "(tinymlaas emulate --sensor {})\n",
      o.output, r->samples, r->sample_bytes, o.name, o.model, o.output);
  return 0;
}

void AddWorkspace(CLI::App* c, DataOptions* o) {
  c->add_option("--workspace", o->workspace,
                "Workspace directory (default: $TINYMLAAS_HOME, else ./.tinymlaas)");
}

void AddFractions(CLI::App* c, DataOptions* o) {
  c->add_option("--train", o->fractions.train, "Fraction of each class for training")
      ->capture_default_str();
  c->add_option("--val", o->fractions.val, "Fraction for validation")->capture_default_str();
  c->add_option("--test", o->fractions.test, "Fraction for testing")->capture_default_str();
  c->add_option("--seed", o->fractions.seed, "Seed of the split order")->capture_default_str();
}

}  // namespace

CLI::App* AddDataCommands(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<DataOptions>();
  auto* data = app.add_subcommand(
      "data",
      "Datasets in the workspace: content-addressed samples, labels, immutable versions,\n"
      "train/val/test splits. DATASET may name a version: NAME@3");
  data->require_subcommand(1);

  auto* imp = data->add_subcommand(
      "import",
      "Import samples into a new version of NAME (the latest version's samples plus the new\n"
      "ones; samples already present are skipped). All or nothing.");
  imp->add_option("NAME", o->name, "Dataset name")->required();
  imp->add_option("--idx", o->idx, "IDX image file and IDX label file (gzipped or not)")
      ->expected(2)
      ->check(CLI::ExistingFile);
  imp->add_option("--folder", o->folder,
                  "Folder with one subfolder per class holding PNG, JPEG or WAV files");
  imp->add_option("--labels", o->labels,
                  "Label file: CSV rows 'file,label' or JSON [{\"file\":..,\"label\":..}] /\n"
                  "{\"file\": \"label\"}; files relative to the label file");
  imp->add_option("--size", o->size, "Images: resize to HEIGHTxWIDTH")->capture_default_str();
  imp->add_option("--channels", o->channels, "Images: 1 (grey) or 3 (RGB)")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 3}));
  imp->add_option("--rate", o->rate, "WAV: resample to this rate (Hz)")->capture_default_str();
  imp->add_option("--seconds", o->seconds, "WAV: crop or pad (centred) to this length")
      ->capture_default_str();
  imp->add_option("--classes", o->classes, "Class names for label values 0, 1, ... (comma list)");
  imp->add_option("--split", o->split,
                  "Put every imported sample in this split (train, val, test), or 'auto':\n"
                  "stratified by --train/--val/--test")
      ->capture_default_str();
  imp->add_option("--note", o->note, "Note stored with the version");
  AddFractions(imp, o.get());
  AddWorkspace(imp, o.get());
  imp->callback([o, exit_code] { *exit_code = Import(*o); });

  auto* syn = data->add_subcommand(
      "synth-speech",
      "A keyword dataset from speech synthesis (espeak-ng): every word in many voices (an\n"
      "English accent with a voice variant) at varied speed and pitch, shifted in time, mixed\n"
      "with noise at a random SNR, some through a synthetic room; plus 'unknown' (other words)\n"
      "and 'silence' (noise). Speakers are split, so val and test voices never occur in train");
  syn->add_option("NAME", o->name, "Dataset name")->required();
  syn->add_option("--words", o->words, "Keywords, comma-separated (yes,no,...)");
  syn->add_option("--set", o->set,
                  "A keyword set instead: mlperf-ten (yes no up down left right on off stop go) "
                  "or digits (zero .. nine)");
  syn->add_option("--unknown-words", o->unknown_words,
                  "Words of the 'unknown' class (default: a built-in list of 30)");
  syn->add_option("--speakers", o->synth.speakers, "Voices drawn from espeak-ng's")
      ->capture_default_str();
  syn->add_option("--takes", o->synth.takes, "Takes per word and speaker")->capture_default_str();
  syn->add_option("--val", o->synth.val, "Share of the speakers for validation")
      ->capture_default_str();
  syn->add_option("--test", o->synth.test, "Share of the speakers for testing")
      ->capture_default_str();
  syn->add_option("--noise-dir", o->synth.noise_dir,
                  "Folder of WAV noise clips mixed in half of the time (else generated "
                  "white, pink or brown noise)");
  syn->add_option("--snr", o->synth.snr_min_db, "Lowest signal-to-noise ratio (dB)")
      ->capture_default_str();
  syn->add_option("--reverb", o->synth.reverb, "Share of takes through the synthetic room")
      ->capture_default_str();
  syn->add_option("--rate", o->synth.rate, "Sample rate (Hz)")->capture_default_str();
  syn->add_option("--seconds", o->synth.seconds, "Clip length")->capture_default_str();
  syn->add_option("--seed", o->synth.seed, "Seed of the voices and every draw")
      ->capture_default_str();
  syn->add_option("--note", o->note, "Note stored with the version");
  AddWorkspace(syn, o.get());
  syn->callback([o, exit_code] { *exit_code = SynthSpeechCommand(*o); });

  auto* list = data->add_subcommand("list", "Datasets with their latest version");
  list->add_flag("--json", o->json, "Machine-readable output");
  AddWorkspace(list, o.get());
  list->callback([o, exit_code] { *exit_code = List(*o); });

  auto* show = data->add_subcommand("show", "Versions of a dataset (or one: NAME@V)");
  show->add_option("DATASET", o->name, "NAME or NAME@VERSION")->required();
  show->add_flag("--json", o->json, "Machine-readable output");
  AddWorkspace(show, o.get());
  show->callback([o, exit_code] { *exit_code = Show(*o); });

  auto* stats =
      data->add_subcommand("stats", "Counts per split and class (class balance), sample shapes");
  stats->add_option("DATASET", o->name, "NAME or NAME@VERSION (default: latest)")->required();
  stats->add_flag("--json", o->json, "Machine-readable output");
  AddWorkspace(stats, o.get());
  stats->callback([o, exit_code] { *exit_code = Stats(*o); });

  auto* split = data->add_subcommand(
      "split",
      "A new version with the splits assigned again: stratified per class, deterministic\n"
      "(order by SHA-256 of seed and sample id)");
  split->add_option("DATASET", o->name, "NAME or NAME@VERSION (default: latest)")->required();
  AddFractions(split, o.get());
  split->add_flag("--keep-test", o->keep_test,
                  "Leave test samples in test; divide the rest by --train : --val");
  AddWorkspace(split, o.get());
  split->callback([o, exit_code] { *exit_code = Resplit(*o); });

  auto* sensor = data->add_subcommand(
      "sensor",
      "Write a split's samples as a model takes them (int8 quantized by its input's scale\n"
      "and zero point), back to back: the file an emulated device's sensor replays");
  sensor->add_option("DATASET", o->name, "NAME[@VERSION][@SPLIT] (default split: test)")
      ->required();
  sensor->add_option("--model", o->model, "The model the device runs")
      ->required()
      ->check(CLI::ExistingFile);
  sensor->add_option("-o,--output", o->output, "Sensor file to write")->required();
  sensor->add_option("--samples", o->samples, "This many samples spread over the split (0: all)")
      ->capture_default_str();
  AddWorkspace(sensor, o.get());
  sensor->callback([o, exit_code] { *exit_code = Sensor(*o); });
  return data;
}

}  // namespace tml::cli
