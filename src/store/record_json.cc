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

json DeviceJson(const DeviceRecord& d) {
  const json caps = Parsed(d.capabilities);
  return {{"id", d.id},
          {"agent", d.agent},
          {"online", d.online},
          {"groups", d.groups},
          {"first_seen_ms", d.first_seen_ms},
          {"last_seen_ms", d.last_seen_ms},
          {"capabilities", caps.is_object() ? caps : json::object()}};
}

json DeploymentJson(const DeploymentRecord& d) {
  return {{"id", d.id},           {"device", d.device},         {"model", d.model},
          {"package", d.package}, {"version", d.version},       {"status", d.status},
          {"message", d.message}, {"created_ms", d.created_ms}, {"finished_ms", d.finished_ms}};
}

json TelemetryMinuteJson(const TelemetryMinute& m) {
  const double n = static_cast<double>(m.inferences);
  return {{"device", m.device},
          {"minute_ms", m.minute_ms},
          {"model_version", m.model_version},
          {"inferences", m.inferences},
          {"confidence_mean", m.inferences ? m.confidence_sum / n : 0.0},
          {"ticks_mean", m.inferences ? m.ticks_sum / m.inferences : 0},
          {"ticks_max", m.ticks_max},
          {"errors", m.errors},
          {"resets", m.resets},
          {"classes", m.classes},
          {"confidences", m.confidences}};
}

json TelemetryRecordJson(const TelemetryRecord& r) {
  return {{"id", r.id},
          {"kind", r.kind},
          {"model_version", r.model_version},
          {"top_class", r.top_class},
          {"confidence", r.confidence},
          {"ticks", r.ticks},
          {"sent_ms", r.sent_ms},
          {"stored_ms", r.stored_ms}};
}

json AlertJson(const AlertRecord& a) {
  const json data = Parsed(a.data);
  return {{"id", a.id},
          {"kind", a.kind},
          {"subject", a.subject},
          {"message", a.message},
          {"data", data.is_discarded() ? json() : data},
          {"created_ms", a.created_ms}};
}

}  // namespace tml
