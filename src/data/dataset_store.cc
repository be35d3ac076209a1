#include "data/dataset_store.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "core/sha256.h"

namespace tml {

namespace fs = std::filesystem;

std::string DefaultWorkspaceRoot() {
  const char* home = std::getenv("TINYMLAAS_HOME");
  return home && *home ? home : ".tinymlaas";
}

Result<Workspace> OpenWorkspace(const std::string& root, const std::string& db) {
  Workspace ws;
  ws.root = root.empty() ? DefaultWorkspaceRoot() : root;
  std::error_code ec;
  fs::create_directories(ws.root + "/blobs", ec);
  if (ec) return Status::Errorf("workspace {}: cannot create: {}", ws.root, ec.message());
  std::string spec = db;
  if (spec.empty())
    if (const char* env = std::getenv("TINYMLAAS_DB"); env && *env) spec = env;
  if (spec.empty()) spec = "sqlite:" + ws.root + "/meta.db";
  TML_ASSIGN_OR_RETURN(ws.db, OpenStore(spec));
  ws.db_spec = spec;
  ws.blobs = BlobStore(ws.root + "/blobs");
  return ws;
}

Status CheckFractions(const SplitFractions& f) {
  if (f.train < 0 || f.val < 0 || f.test < 0 || std::abs(f.train + f.val + f.test - 1.0) > 1e-6)
    return Status::Errorf("split fractions train {} val {} test {} must be >= 0 and sum to 1",
                          f.train, f.val, f.test);
  return Status::Ok();
}

bool NaturalLess(const std::string& a, const std::string& b) {
  const auto numeric = [](const std::string& s) {
    return !s.empty() && s.size() < 18 &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(uint8_t(c)); });
  };
  const bool na = numeric(a), nb = numeric(b);
  if (na && nb) return std::stoll(a) < std::stoll(b) || (std::stoll(a) == std::stoll(b) && a < b);
  if (na != nb) return na;
  return a < b;
}

void AssignSplits(std::vector<Member>& members, const SplitFractions& f,
                  const std::vector<bool>& todo) {
  std::map<std::string, std::vector<std::pair<std::string, size_t>>> by_label;
  const std::string seed = std::to_string(f.seed) + ":";
  for (size_t i = 0; i < members.size(); ++i)
    if (todo.empty() || todo[i])
      by_label[members[i].label].emplace_back(Sha256Hex(seed + members[i].sample), i);
  for (auto& [label, items] : by_label) {
    std::sort(items.begin(), items.end());
    const double n = static_cast<double>(items.size());
    const size_t n_train = static_cast<size_t>(std::llround(n * f.train));
    const size_t n_val =
        std::min(items.size() - n_train, static_cast<size_t>(std::llround(n * f.val)));
    for (size_t k = 0; k < items.size(); ++k)
      members[items[k].second].split =
          k < n_train ? Split::kTrain : (k < n_train + n_val ? Split::kVal : Split::kTest);
  }
}

Result<ImportReport> ImportSamples(Workspace& ws, const std::string& dataset,
                                   const std::vector<NewSample>& samples,
                                   const SplitFractions& fractions, const std::string& note,
                                   const std::vector<std::string>& class_order,
                                   const std::string& author,
                                   const std::function<void(int64_t, int64_t)>& progress) {
  TML_RETURN_IF_ERROR(CheckFractions(fractions));
  if (dataset.empty() || dataset.find('@') != std::string::npos)
    return Status::Errorf("dataset name '{}' must be non-empty and contain no '@'", dataset);
  // Blobs first, outside the transaction: content-addressed, so an aborted import
  // leaves only unreferenced files.
  std::vector<std::string> ids;
  ids.reserve(samples.size());
  const int64_t total = static_cast<int64_t>(samples.size());
  for (const NewSample& s : samples) {
    TML_ASSIGN_OR_RETURN(std::string id, ws.blobs.Put(s.bytes.data(), s.bytes.size()));
    ids.push_back(std::move(id));
    const int64_t done = static_cast<int64_t>(ids.size());
    if (progress && (done % 5000 == 0 || done == total)) progress(done, total);
  }
  Transaction tx(*ws.db);
  TML_RETURN_IF_ERROR(tx.status());
  TML_ASSIGN_OR_RETURN(DatasetRecord d, ws.db->EnsureDataset(dataset));
  std::vector<Member> members;
  std::vector<std::string> classes;
  int64_t parent = 0;
  if (d.latest_version > 0) {
    TML_ASSIGN_OR_RETURN(VersionRecord prev, ws.db->GetVersion(dataset, d.latest_version));
    TML_ASSIGN_OR_RETURN(members, ws.db->Members(prev.id));
    classes = prev.classes;
    parent = prev.id;
  }
  std::unordered_set<std::string> present;
  for (const Member& m : members) present.insert(m.sample);
  std::vector<bool> todo(members.size(), false);
  std::set<std::string, decltype(&NaturalLess)> new_classes(&NaturalLess);
  ImportReport report;
  for (size_t i = 0; i < samples.size(); ++i) {
    const NewSample& s = samples[i];
    if (!present.insert(ids[i]).second) {
      ++report.duplicates;
      continue;
    }
    SampleRecord rec{ids[i], s.kind, s.shape, s.dtype, s.source, 0};
    TML_RETURN_IF_ERROR(ws.db->PutSample(rec).Wrap(s.source));
    Member m;
    m.sample = ids[i];
    m.label = s.label;
    if (!s.label.empty()) {
      AnnotationRecord a;
      a.sample = ids[i];
      a.kind = "label";
      a.label = s.label;
      a.confidence = s.confidence;
      a.author = author;
      TML_ASSIGN_OR_RETURN(m.annotation, ws.db->AddAnnotation(a));
      if (std::find(classes.begin(), classes.end(), s.label) == classes.end())
        new_classes.insert(s.label);
    }
    if (s.split) m.split = *s.split;
    todo.push_back(!s.split.has_value());
    members.push_back(std::move(m));
    ++report.added;
  }
  if (report.added == 0)
    return Status::AlreadyExists("nothing to import into '{}': all {} samples are already in it",
                                 dataset, samples.size());
  for (const std::string& c : class_order)
    if (new_classes.erase(c)) classes.push_back(c);
  classes.insert(classes.end(), new_classes.begin(), new_classes.end());
  AssignSplits(members, fractions, todo);
  TML_ASSIGN_OR_RETURN(report.version, ws.db->AddVersion(dataset, parent, note, classes, members));
  TML_RETURN_IF_ERROR(tx.Commit());
  return report;
}

Result<VersionRecord> Reannotate(
    Workspace& ws, const std::string& dataset, const std::string& sample,
    const std::function<Result<std::string>(const Member&, AnnotationRecord*)>& change) {
  Transaction tx(*ws.db);
  TML_RETURN_IF_ERROR(tx.status());
  TML_ASSIGN_OR_RETURN(VersionRecord prev, ws.db->GetVersion(dataset, 0));
  TML_ASSIGN_OR_RETURN(std::vector<Member> members, ws.db->Members(prev.id));
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const Member& m) { return m.sample == sample; });
  if (it == members.end())
    return Status::NotFound("no sample {} in {}@{}", sample, dataset, prev.number);
  AnnotationRecord a;
  a.sample = sample;
  TML_ASSIGN_OR_RETURN(const std::string note, change(*it, &a));
  TML_ASSIGN_OR_RETURN(it->annotation, ws.db->AddAnnotation(a));
  it->label = a.label;
  it->boxes = a.kind == "boxes" ? a.geometry : "";
  std::vector<std::string> classes = prev.classes;
  if (!a.label.empty() && std::find(classes.begin(), classes.end(), a.label) == classes.end())
    classes.push_back(a.label);
  TML_ASSIGN_OR_RETURN(VersionRecord v,
                       ws.db->AddVersion(dataset, prev.id, note, classes, members));
  TML_RETURN_IF_ERROR(tx.Commit());
  return v;
}

Result<VersionRecord> Relabel(Workspace& ws, const std::string& dataset, const std::string& sample,
                              const std::string& label, const std::string& author) {
  if (label.empty()) return Status::Error("the new label is empty");
  return Reannotate(
      ws, dataset, sample, [&](const Member& m, AnnotationRecord* a) -> Result<std::string> {
        if (m.label == label)
          return Status::AlreadyExists("sample {} is already labeled '{}'", sample, label);
        a->kind = m.boxes.empty() ? "label" : "boxes";  // the boxes stay
        a->label = label;
        a->geometry = m.boxes;
        a->author = author;
        return fmt::format("relabel {}: {} -> '{}' by {}", sample.substr(0, 12),
                           m.label.empty() ? "unlabeled" : "'" + m.label + "'", label, author);
      });
}

Result<VersionRecord> Resplit(Workspace& ws, const std::string& dataset, int version,
                              const SplitFractions& fractions, bool keep_test) {
  TML_RETURN_IF_ERROR(CheckFractions(fractions));
  Transaction tx(*ws.db);
  TML_RETURN_IF_ERROR(tx.status());
  TML_ASSIGN_OR_RETURN(VersionRecord from, ws.db->GetVersion(dataset, version));
  TML_ASSIGN_OR_RETURN(std::vector<Member> members, ws.db->Members(from.id));
  std::vector<bool> todo(members.size(), true);
  SplitFractions f = fractions;
  if (keep_test) {
    for (size_t i = 0; i < members.size(); ++i) todo[i] = members[i].split != Split::kTest;
    const double rest = f.train + f.val;
    if (rest <= 0) return Status::Error("--keep-test needs a train or val fraction above 0");
    f = {f.train / rest, f.val / rest, 0.0, f.seed};
  }
  AssignSplits(members, f, todo);
  const std::string note = fmt::format("split of version {}: train {} val {} test {}, seed {}{}",
                                       from.number, fractions.train, fractions.val, fractions.test,
                                       fractions.seed, keep_test ? ", test kept" : "");
  TML_ASSIGN_OR_RETURN(VersionRecord v,
                       ws.db->AddVersion(dataset, from.id, note, from.classes, members));
  TML_RETURN_IF_ERROR(tx.Commit());
  return v;
}

Result<DatasetRef> ParseDatasetRef(const std::string& text) {
  DatasetRef ref;
  size_t at = text.find('@');
  ref.name = text.substr(0, at);
  if (ref.name.empty()) return Status::Errorf("'{}': dataset name missing", text);
  while (at != std::string::npos) {
    const size_t next = text.find('@', at + 1);
    const std::string part = text.substr(at + 1, next == std::string::npos ? next : next - at - 1);
    if (!part.empty() &&
        std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(uint8_t(c)); })) {
      if (part.size() > 9 || std::stoi(part) == 0)
        return Status::Errorf("'{}': bad version '{}'", text, part);
      ref.version = std::stoi(part);
    } else {
      auto s = ParseSplit(part);
      if (!s.ok())
        return Status::Errorf(
            "'{}': '{}' is neither a version number nor a split (train, val, test)", text, part);
      ref.split = s.value();
    }
    at = next;
  }
  return ref;
}

Result<DatasetStats> ComputeStats(Workspace& ws, const std::string& dataset, int version) {
  DatasetStats st;
  TML_ASSIGN_OR_RETURN(st.version, ws.db->GetVersion(dataset, version));
  TML_ASSIGN_OR_RETURN(std::vector<Member> members, ws.db->Members(st.version.id));
  for (const std::string& c : st.version.classes) st.per_class[c] = {0, 0, 0};
  for (const Member& m : members) {
    const int s = static_cast<int>(m.split);
    ++st.per_split[static_cast<size_t>(s)];
    if (m.label.empty())
      ++st.unlabeled;
    else
      ++st.per_class[m.label][static_cast<size_t>(s)];
  }
  TML_ASSIGN_OR_RETURN(st.shapes, ws.db->ShapeCounts(st.version.id));
  return st;
}

}  // namespace tml
