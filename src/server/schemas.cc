#include "server/schemas.h"

namespace tml::schema {

json Int() {
  return {{"type", "integer"}};
}
json Num() {
  return {{"type", "number"}};
}
json Str() {
  return {{"type", "string"}};
}
json Bool() {
  return {{"type", "boolean"}};
}
json Any() {
  return json::object();
}
json Nullable(json s) {
  s["nullable"] = true;
  return s;
}
json Array(json items) {
  return {{"type", "array"}, {"items", std::move(items)}};
}

json Object(const std::string& title, std::vector<std::pair<std::string, json>> properties,
            std::optional<std::vector<std::string>> required) {
  json props = json::object();
  std::vector<std::string> all;
  for (auto& [k, v] : properties) {
    props[k] = std::move(v);
    all.push_back(k);
  }
  json o = {{"type", "object"}, {"properties", props}, {"required", required ? *required : all}};
  if (!title.empty()) o["title"] = title;
  return o;
}

json Health() {
  return Object("Health", {{"ok", Bool()}, {"version", Str()}});
}

json Session() {
  return Object("Session", {{"user", Nullable(Str())}, {"expires_in_s", Int()}, {"ended", Bool()}},
                std::vector<std::string>{});
}

json Dataset() {
  return Object("Dataset", {{"name", Str()}, {"latest_version", Int()}, {"created_ms", Int()}});
}

json Version() {
  return Object("Version", {{"id", Int()},
                            {"number", Int()},
                            {"parent_id", Int()},
                            {"note", Str()},
                            {"classes", Array(Str())},
                            {"members", Int()},
                            {"created_ms", Int()}});
}

json DatasetDetail() {
  return Object("DatasetDetail",
                {{"name", Str()}, {"created_ms", Int()}, {"versions", Array(Version())}});
}

json DatasetStats() {
  const json split3 = Object("", {{"train", Int()}, {"val", Int()}, {"test", Int()}});
  return Object(
      "DatasetStats",
      {{"dataset", Str()},
       {"version", Version()},
       {"members", Int()},
       {"splits", split3},
       {"classes",
        Array(Object("ClassCount",
                     {{"label", Str()}, {"train", Int()}, {"val", Int()}, {"test", Int()}}))},
       {"shapes", Array(Object("ShapeCount", {{"shape", Str()}, {"count", Int()}}))},
       {"unlabeled", Int()}});
}

json UploadResult() {
  return Object("UploadResult", {{"version", Version()}, {"added", Int()}, {"duplicates", Int()}});
}

json SamplePage() {
  return Object(
      "SamplePage",
      {{"version", Version()},
       {"total", Int()},
       {"samples",
        Array(Object("SampleEntry", {{"sample", Str()}, {"label", Str()}, {"split", Str()}}))}});
}

json VersionOnly() {
  return Object("VersionResult", {{"version", Version()}});
}

json Job() {
  return Object(
      "Job",
      {{"id", Int()},
       {"kind", Str()},
       {"params", Any()},
       {"status",
        {{"type", "string"}, {"enum", {"queued", "running", "done", "failed", "cancelled"}}}},
       {"progress", Num()},
       {"message", Str()},
       {"result", Any()},
       {"worker", Str()},
       {"attempts", Int()},
       {"max_attempts", Int()},
       {"created_ms", Int()},
       {"started_ms", Int()},
       {"finished_ms", Int()},
       {"cancel_requested", Bool()}});
}

json JobEvent() {
  return Object("JobEvent", {{"seq", Int()}, {"time_ms", Int()}, {"data", Any()}});
}

json Run() {
  return Object("Run", {{"id", Int()},
                        {"kind", Str()},
                        {"status", Str()},
                        {"config", Any()},
                        {"dataset_version_id", Int()},
                        {"metrics", Any()},
                        {"output", Str()},
                        {"started_ms", Int()},
                        {"duration_ms", Int()},
                        {"tool_version", Str()}});
}

json Artifact() {
  return Object("Artifact", {{"id", Str()},
                             {"kind", Str()},
                             {"label", Str()},
                             {"path", Str()},
                             {"metadata", Any()},
                             {"parents", Array(Str())},
                             {"created_ms", Int()}});
}

json Lineage() {
  return Object("Lineage",
                {{"focus", Str()},
                 {"text", Str()},
                 {"nodes", Array(Object("LineageNode", {{"id", Str()},
                                                        {"kind", Str()},
                                                        {"label", Str()},
                                                        {"path", Str()},
                                                        {"metadata", Any()},
                                                        {"created_ms", Int()}}))},
                 {"edges", Array(Object("LineageEdge", {{"parent", Str()}, {"child", Str()}}))}});
}

json Target() {
  return Object("Target", {{"name", Str()},
                           {"core", Str()},
                           {"board", Str()},
                           {"mcu", Str()},
                           {"clock_hz", Int()},
                           {"ram_bytes", Int()},
                           {"flash_bytes", Int()},
                           {"isa", Str()},
                           {"emulated", Bool()}});
}

json Spec() {
  return Object("Spec", {{"name", Str()},
                         {"file", Str()},
                         {"input", Array(Int())},
                         {"classes", Int()},
                         {"macs", Int()},
                         {"uploaded", Bool()}});
}

}  // namespace tml::schema
