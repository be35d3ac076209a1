#include "store/record_json.h"

namespace tml {

using json = nlohmann::json;

namespace {

json Parsed(const std::string& text) {
  return json::parse(text, nullptr, false);
}

}  // namespace

json RunJson(const RunRecord& r) {
  return {{"id", r.id},
          {"kind", r.kind},
          {"status", r.status},
          {"config", Parsed(r.config)},
          {"dataset_version_id", r.dataset_version},
          {"metrics", Parsed(r.metrics)},
          {"output", r.output},
          {"started_ms", r.started_ms},
          {"duration_ms", r.duration_ms},
          {"tool_version", r.tool_version}};
}

json ArtifactJson(const ArtifactRecord& a) {
  // The path is what jobs take as a model or firmware parameter.
  return {{"id", a.id},
          {"kind", a.kind},
          {"label", a.label},
          {"path", a.path},
          {"metadata", Parsed(a.metadata)},
          {"parents", a.parents},
          {"created_ms", a.created_ms}};
}

json DatasetJson(const DatasetRecord& d) {
  return {{"name", d.name}, {"latest_version", d.latest_version}, {"created_ms", d.created_ms}};
}

}  // namespace tml
