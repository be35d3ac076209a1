#include "data/loader.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace tml {

Result<LoadedSplit> LoadSplitRef(Workspace& ws, const std::string& text, Split def) {
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(text));
  TML_ASSIGN_OR_RETURN(LoadedSplit s,
                       LoadSplit(ws, ref.name, ref.version, ref.split.value_or(def)));
  if (s.data.count() == 0)
    return Status::Errorf("{}: the {} split is empty", text, SplitName(ref.split.value_or(def)));
  return s;
}

LabeledData Spread(const LabeledData& d, int64_t n) {
  if (n >= d.count()) return d;
  LabeledData out;
  out.shape = d.shape;
  const int64_t per = static_cast<int64_t>(d.x.size()) / d.count();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = i * d.count() / n;
    out.x.insert(out.x.end(), d.x.begin() + k * per, d.x.begin() + (k + 1) * per);
    out.y.push_back(d.y[static_cast<size_t>(k)]);
  }
  return out;
}

std::vector<std::vector<std::vector<float>>> AsModelInputs(const LabeledData& d) {
  std::vector<std::vector<std::vector<float>>> out;
  const int64_t per = d.count() ? static_cast<int64_t>(d.x.size()) / d.count() : 0;
  for (int64_t i = 0; i < d.count(); ++i)
    out.push_back({std::vector<float>(d.x.begin() + i * per, d.x.begin() + (i + 1) * per)});
  return out;
}

Result<LoadedSplit> LoadSplit(Workspace& ws, const std::string& dataset, int version,
                              std::optional<Split> split) {
  LoadedSplit out;
  TML_ASSIGN_OR_RETURN(out.version, ws.db->GetVersion(dataset, version));
  out.classes = out.version.classes;
  TML_ASSIGN_OR_RETURN(auto shapes, ws.db->ShapeCounts(out.version.id));
  if (shapes.size() != 1)
    return Status::Errorf("{}@{}: samples of {} different shapes; training needs one", dataset,
                          out.version.number, shapes.size());
  // "[28,28,1] uint8"
  const std::string& key = shapes[0].first;
  const size_t sp = key.rfind(' ');
  const std::string dtype = key.substr(sp + 1);
  const auto shape = nlohmann::json::parse(key.substr(0, sp), nullptr, false);
  if (!shape.is_array() || (dtype != "uint8" && dtype != "int16" && dtype != "float32"))
    return Status::Errorf("{}@{}: samples of type {} cannot be loaded as float", dataset,
                          out.version.number, key);
  int64_t per = 1;
  for (const auto& d : shape) {
    out.data.shape.push_back(d.get<int64_t>());
    per *= d.get<int64_t>();
  }
  TML_ASSIGN_OR_RETURN(std::vector<Member> members, ws.db->Members(out.version.id));
  for (const Member& m : members) {
    if (split && m.split != *split) continue;
    const auto cls = std::find(out.classes.begin(), out.classes.end(), m.label);
    if (m.label.empty() || cls == out.classes.end())
      return Status::Errorf("{}@{}: sample {} has no class label", dataset, out.version.number,
                            m.sample);
    TML_ASSIGN_OR_RETURN(std::string bytes, ws.blobs.Get(m.sample));
    const size_t want = static_cast<size_t>(per) * (dtype == "uint8"   ? 1
                                                    : dtype == "int16" ? 2
                                                                       : 4);
    if (bytes.size() != want)
      return Status::Errorf("blob {} has {} bytes, its shape needs {}", m.sample, bytes.size(),
                            want);
    if (dtype == "uint8") {
      for (unsigned char c : bytes) out.data.x.push_back(static_cast<float>(c) / 255.0f);
    } else if (dtype == "int16") {
      for (size_t k = 0; k < bytes.size(); k += 2) {
        int16_t v;
        std::memcpy(&v, bytes.data() + k, 2);
        out.data.x.push_back(static_cast<float>(v) / 32768.0f);
      }
    } else {
      const size_t at = out.data.x.size();
      out.data.x.resize(at + static_cast<size_t>(per));
      std::memcpy(out.data.x.data() + at, bytes.data(), want);
    }
    out.data.y.push_back(static_cast<int32_t>(cls - out.classes.begin()));
  }
  return out;
}

}  // namespace tml
