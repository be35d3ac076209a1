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
        Array(Object("SampleEntry", {{"sample", Str()},
                                     {"label", Str()},
                                     {"split", Str()},
                                     {"boxes", Array(Object("Box", {{"label", Str()},
                                                                    {"box", Array(Int())}}))}}))}});
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

json Chain() {
  return Object("Chain", {{"name", Str()},
                          {"title", Str()},
                          {"nodes", Array(Object("ChainNode", {{"name", Str()},
                                                               {"target", Str()},
                                                               {"ram_bytes", Int()},
                                                               {"flash_bytes", Int()}}))},
                          {"links", Array(Object("ChainLink", {{"profile", Str()},
                                                               {"bandwidth_bps", Num()},
                                                               {"latency_ms", Num()},
                                                               {"energy_nj_per_byte", Num()}}))}});
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

json Device() {
  return Object("Device", {{"id", Str()},
                           {"agent", Str()},
                           {"online", Bool()},
                           {"groups", Array(Str())},
                           {"first_seen_ms", Int()},
                           {"last_seen_ms", Int()},
                           {"capabilities", Any()},
                           {"active", Nullable(Object("ActiveModel", {{"slot", Int()},
                                                                      {"version", Int()},
                                                                      {"state", Str()},
                                                                      {"model_id", Str()}}))}});
}

json Deployment() {
  return Object("Deployment", {{"id", Int()},
                               {"device", Str()},
                               {"model", Str()},
                               {"package", Str()},
                               {"version", Int()},
                               {"status", Str()},
                               {"message", Str()},
                               {"created_ms", Int()},
                               {"finished_ms", Int()}});
}

json DeviceDetail() {
  return Object("DeviceDetail", {{"device", Device()},
                                 {"deployments", Array(Deployment())},
                                 {"active_deployment", Nullable(Int())}});
}

json DeviceTelemetry() {
  const json minute = Object("TelemetryMinute", {{"device", Str()},
                                                 {"minute_ms", Int()},
                                                 {"model_version", Int()},
                                                 {"inferences", Int()},
                                                 {"confidence_mean", Num()},
                                                 {"ticks_mean", Int()},
                                                 {"ticks_max", Int()},
                                                 {"errors", Int()},
                                                 {"resets", Int()},
                                                 {"classes", Array(Int())},
                                                 {"confidences", Array(Int())}});
  const json record = Object("TelemetryRecord", {{"id", Int()},
                                                 {"kind", Str()},
                                                 {"model_version", Int()},
                                                 {"top_class", Int()},
                                                 {"confidence", Num()},
                                                 {"ticks", Int()},
                                                 {"sent_ms", Int()},
                                                 {"stored_ms", Int()}});
  return Object("DeviceTelemetry", {{"device", Str()},
                                    {"since_ms", Int()},
                                    {"minutes", Array(minute)},
                                    {"recent", Array(record)},
                                    {"detections", Array(record)}});
}

json Rollout() {
  const json stage =
      Object("RolloutStage", {{"stage", Int()}, {"devices", Int()}, {"status", Any()}});
  const json device = Object("RolloutDevice", {{"device", Str()},
                                               {"stage", Int()},
                                               {"status", Str()},
                                               {"package", Str()},
                                               {"deployment", Int()},
                                               {"attempts", Int()},
                                               {"installed_ms", Int()},
                                               {"shadow", Any()},
                                               {"message", Str()}});
  const json status = {
      {"type", "string"},
      {"enum", {"running", "paused", "halted", "rolling_back", "rolled_back", "done"}}};
  return Object("Rollout",
                {{"id", Int()},
                 {"group", Str()},
                 {"model", Str()},
                 {"status", status},
                 {"stage", Int()},
                 {"message", Str()},
                 {"created_ms", Int()},
                 {"updated_ms", Int()},
                 {"plan", Any()},
                 {"stages", Array(stage)},
                 {"devices", Array(device)}},
                std::vector<std::string>{"id", "group", "model", "status", "stage", "message",
                                         "created_ms", "updated_ms", "plan", "stages"});
}

json Drift() {
  const json reference = Object("DriftReference", {{"source", Str()},
                                                   {"predicted", Array(Int())},
                                                   {"confidence_bins", Array(Int())},
                                                   {"confidence_mean", Num()}});
  const json subject = Object("DriftSubject", {{"subject", Str()},
                                               {"inferences", Int()},
                                               {"confidence_mean", Num()},
                                               {"psi_classes", Num()},
                                               {"psi_confidence", Num()},
                                               {"judged", Bool()},
                                               {"drift", Bool()},
                                               {"classes", Array(Int())},
                                               {"confidence_bins", Array(Int())}});
  return Object("Drift", {{"reference", reference},
                          {"threshold", Num()},
                          {"distance", Str()},
                          {"drifting", Int()},
                          {"devices", Array(subject)}});
}

json Alert() {
  return Object("Alert", {{"id", Int()},
                          {"kind", Str()},
                          {"subject", Str()},
                          {"message", Str()},
                          {"data", Any()},
                          {"created_ms", Int()}});
}

}  // namespace tml::schema
