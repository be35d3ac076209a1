#include "data/dataset_json.h"

namespace tml {

using json = nlohmann::json;

json VersionJson(const VersionRecord& v) {
  return {{"id", v.id},           {"number", v.number},   {"parent_id", v.parent_id},
          {"note", v.note},       {"classes", v.classes}, {"members", v.members},
          {"created_ms", v.created_ms}};
}

json DatasetStatsJson(const DatasetStats& s) {
  json classes = json::array();
  for (const std::string& label : s.version.classes) {
    auto it = s.per_class.find(label);
    const std::array<int64_t, 3> n = it == s.per_class.end() ? std::array<int64_t, 3>{} : it->second;
    classes.push_back({{"label", label}, {"train", n[0]}, {"val", n[1]}, {"test", n[2]}});
  }
  json shapes = json::array();
  for (const auto& [shape, n] : s.shapes) shapes.push_back({{"shape", shape}, {"count", n}});
  return {{"dataset", s.version.dataset},
          {"version", VersionJson(s.version)},
          {"members", s.version.members},
          {"splits", {{"train", s.per_split[0]}, {"val", s.per_split[1]}, {"test", s.per_split[2]}}},
          {"classes", classes},
          {"shapes", shapes},
          {"unlabeled", s.unlabeled}};
}

}  // namespace tml
