// Bounding boxes on an image sample: what a person draws in the dashboard's labeler
// (detection data). Stored as an annotation of kind "boxes" whose label is the
// sample's class (kept, so classification reads it as before) and whose geometry is
// the boxes as JSON: [{"label": "person", "box": [x0, y0, x1, y1]}, ...], in pixels of
// the stored image, x0 < x1 <= width and y0 < y1 <= height.
//
//   TML_ASSIGN_OR_RETURN(auto boxes, ParseBoxes(json_text, 96, 96));
//   TML_ASSIGN_OR_RETURN(VersionRecord v, SetBoxes(ws, "faces", sample, boxes, "ana"));
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset_store.h"

namespace tml {

struct Box {
  std::string label;
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

inline constexpr size_t kMaxBoxes = 100;

// Checks the boxes against the image's size; the error names the box and what is wrong.
Result<std::vector<Box>> BoxesFromJson(const nlohmann::json& j, int64_t width, int64_t height);
nlohmann::json BoxesJson(const std::vector<Box>& boxes);
// A member's stored boxes (Member::boxes; "" = none).
std::vector<Box> StoredBoxes(const std::string& geometry);

// A new version in which `sample` (a member of the latest version, an image) carries
// these boxes (none: its boxes removed) and keeps its label.
Result<VersionRecord> SetBoxes(Workspace& ws, const std::string& dataset, const std::string& sample,
                               const std::vector<Box>& boxes, const std::string& author);

}  // namespace tml
