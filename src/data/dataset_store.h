// Datasets in a workspace: samples stored by content hash, labels as annotations,
// immutable numbered versions with a train / val / test split.
//
//   TML_ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace(""));   // $TINYMLAAS_HOME or ./.tinymlaas
//   TML_ASSIGN_OR_RETURN(ImportReport r, ImportSamples(ws, "fashion", samples, {}, "import"));
//   TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef("fashion@2@test"));
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/blob_store.h"
#include "store/meta_store.h"

namespace tml {

struct Workspace {
  std::string root;
  std::string db_spec;  // what db was opened from (OpenStore), for more connections
  std::unique_ptr<MetaStore> db;
  BlobStore blobs{""};
};

// root "" -> $TINYMLAAS_HOME, else ./.tinymlaas; created if missing. The metadata
// lives in ROOT/meta.db (SQLite) unless `db` names another store (see OpenStore:
// sqlite:PATH or postgresql://...; "" -> $TINYMLAAS_DB, else ROOT/meta.db).
std::string DefaultWorkspaceRoot();
Result<Workspace> OpenWorkspace(const std::string& root, const std::string& db = "");

// A sample to import: its bytes and what they are.
struct NewSample {
  std::string bytes;
  std::string kind = "image";  // image, audio, signal, tensor
  std::vector<int64_t> shape;  // e.g. {28, 28, 1} (HWC) or {16000} (audio)
  std::string dtype = "uint8";
  std::string source;          // file, and index inside it
  std::string label;           // "" = unlabeled
  double confidence = 1.0;     // the label's (a model's labels carry its confidence)
  std::optional<Split> split;  // unset: assigned (stratified) on import
};

// Fractions of each class that go to train / val / test; seed perturbs the order.
struct SplitFractions {
  double train = 0.8, val = 0.1, test = 0.1;
  uint64_t seed = 0;
};
Status CheckFractions(const SplitFractions& f);

// Deterministic stratified assignment of the members selected by `todo` (all when
// empty): per label, members ranked by SHA-256(seed, sample id); the first
// round(n * train) go to train, the next round(n * val) to val, the rest to test.
void AssignSplits(std::vector<Member>& members, const SplitFractions& f,
                  const std::vector<bool>& todo = {});

struct ImportReport {
  VersionRecord version;
  int64_t added = 0;       // new members in this version
  int64_t duplicates = 0;  // samples already in the dataset (or repeated in the batch)
};

// A new version of `dataset`: the latest version's members plus the new samples.
// All or nothing: blobs are written first, then every row in one transaction, so a
// failure leaves no version (unreferenced blobs are harmless). New class names are
// appended to the version's class list in class_order, then in natural order.
Result<ImportReport> ImportSamples(Workspace& ws, const std::string& dataset,
                                   const std::vector<NewSample>& samples,
                                   const SplitFractions& fractions, const std::string& note,
                                   const std::vector<std::string>& class_order = {},
                                   const std::string& author = "import",
                                   const std::function<void(int64_t, int64_t)>& progress = {});

// A new version with every member's split assigned again; keep_test leaves the test
// members where they are and splits the rest between train and val in proportion.
// A new version in which `sample` (a member of the latest version) carries `label`
// (recorded as an annotation by `author`); a new label becomes a new class.
// A new version in which `sample` (a member of the latest version) carries a new
// annotation: `change` fills it from the member and returns the version's note (or the
// error that leaves everything as it was); a new label becomes a new class. One
// transaction. Relabel and SetBoxes (data/boxes.h) are made of it.
Result<VersionRecord> Reannotate(
    Workspace& ws, const std::string& dataset, const std::string& sample,
    const std::function<Result<std::string>(const Member&, AnnotationRecord*)>& change);

Result<VersionRecord> Relabel(Workspace& ws, const std::string& dataset, const std::string& sample,
                              const std::string& label, const std::string& author);

Result<VersionRecord> Resplit(Workspace& ws, const std::string& dataset, int version,
                              const SplitFractions& fractions, bool keep_test);

// "name", "name@3", "name@test", "name@3@test".
struct DatasetRef {
  std::string name;
  int version = 0;  // 0: latest
  std::optional<Split> split;
};
Result<DatasetRef> ParseDatasetRef(const std::string& text);

struct DatasetStats {
  VersionRecord version;
  std::map<std::string, std::array<int64_t, 3>> per_class;  // label -> train, val, test
  std::array<int64_t, 3> per_split{};
  std::vector<std::pair<std::string, int64_t>> shapes;  // "[28,28,1] uint8" -> count
  int64_t unlabeled = 0;
};
Result<DatasetStats> ComputeStats(Workspace& ws, const std::string& dataset, int version);

// Natural order: numbers by value, then text.
bool NaturalLess(const std::string& a, const std::string& b);

}  // namespace tml
