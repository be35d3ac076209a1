#include "data/boxes.h"

#include <fmt/format.h>

#include <algorithm>

namespace tml {

using nlohmann::json;

Result<std::vector<Box>> BoxesFromJson(const json& j, int64_t width, int64_t height) {
  if (!j.is_array()) return Status::Error("boxes: a list of {label, box: [x0, y0, x1, y1]}");
  if (j.size() > kMaxBoxes) return Status::Errorf("boxes: at most {} per sample", kMaxBoxes);
  std::vector<Box> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& b = j[i];
    const std::string where = fmt::format("boxes[{}]", i);
    if (!b.is_object() || !b.contains("label") || !b["label"].is_string() || !b.contains("box") ||
        !b["box"].is_array() || b["box"].size() != 4)
      return Status::Errorf("{}: {{label, box: [x0, y0, x1, y1]}} expected", where);
    Box x;
    x.label = b["label"].get<std::string>();
    if (x.label.empty() || x.label.size() > 64 || x.label.find('\n') != std::string::npos)
      return Status::Errorf("{}: label: 1-64 characters, one line", where);
    int64_t v[4];
    for (int k = 0; k < 4; ++k) {
      if (!b["box"][k].is_number_integer())
        return Status::Errorf("{}: box: whole pixel coordinates", where);
      v[k] = b["box"][k].get<int64_t>();
    }
    x.x0 = v[0], x.y0 = v[1], x.x1 = v[2], x.y1 = v[3];
    if (x.x0 < 0 || x.y0 < 0 || x.x0 >= x.x1 || x.y0 >= x.y1 || x.x1 > width || x.y1 > height)
      return Status::Errorf("{}: box [{}, {}, {}, {}] is not inside the {}x{} image", where, x.x0,
                            x.y0, x.x1, x.y1, width, height);
    out.push_back(std::move(x));
  }
  return out;
}

json BoxesJson(const std::vector<Box>& boxes) {
  json out = json::array();
  for (const Box& b : boxes) out.push_back({{"label", b.label}, {"box", {b.x0, b.y0, b.x1, b.y1}}});
  return out;
}

std::vector<Box> StoredBoxes(const std::string& geometry) {
  if (geometry.empty()) return {};
  auto parsed = BoxesFromJson(json::parse(geometry, nullptr, false), INT64_MAX, INT64_MAX);
  return parsed.ok() ? *parsed : std::vector<Box>{};
}

Result<VersionRecord> SetBoxes(Workspace& ws, const std::string& dataset, const std::string& sample,
                               const std::vector<Box>& boxes, const std::string& author) {
  TML_ASSIGN_OR_RETURN(SampleRecord rec, ws.db->GetSample(sample));
  if (rec.kind != "image" || rec.shape.size() != 3)
    return Status::Errorf("sample {} is {}, not an image: it takes no boxes", sample, rec.kind);
  TML_RETURN_IF_ERROR(BoxesFromJson(BoxesJson(boxes), rec.shape[1], rec.shape[0]).status());
  const std::string geometry = boxes.empty() ? "" : BoxesJson(boxes).dump();
  return Reannotate(
      ws, dataset, sample, [&](const Member& m, AnnotationRecord* a) -> Result<std::string> {
        if (m.boxes == geometry)
          return Status::AlreadyExists("sample {} has these boxes already", sample);
        a->kind = boxes.empty() ? "label" : "boxes";
        a->label = m.label;
        a->geometry = geometry;
        a->author = author;
        return fmt::format("boxes of {}: {} by {}", sample.substr(0, 12), boxes.size(), author);
      });
}

}  // namespace tml
