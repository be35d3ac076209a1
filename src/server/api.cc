#include "server/api.h"

#include <fmt/format.h>

#include <fstream>
#include <regex>

#include "server/schemas.h"

namespace tml {

using json = nlohmann::json;

ApiResponse Json(json j, int status) {
  ApiResponse r;
  r.status = status;
  r.json = std::move(j);
  return r;
}

ApiResponse FileBody(const std::string& path, const std::string& content_type) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return ApiError(500, "cannot read " + path);
  ApiResponse res;
  res.raw.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  res.content_type = content_type;
  return res;
}

ApiResponse ApiError(int status, const std::string& message) {
  return Json({{"error", message}, {"status", status}}, status);
}

int HttpStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kCancelled:
      return 409;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

ApiResponse FromStatus(const Status& st) {
  return ApiError(HttpStatus(st.code()), st.message());
}

Result<int64_t> ParseId(const std::string& text) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v > 0) return static_cast<int64_t>(v);
  } catch (const std::exception&) {
  }
  return Status::Errorf("id '{}': a positive number", text);
}

std::string SchemaError(const json& schema, const json& v, const std::string& where) {
  if (!schema.is_object()) return "";
  if (v.is_null() && schema.value("nullable", false)) return "";
  const std::string type = schema.value("type", "");
  const auto wrong = [&](const std::string& what) { return where + ": must be " + what; };
  if (type == "object") {
    if (!v.is_object()) return wrong("an object");
    const json props = schema.value("properties", json::object());
    for (const auto& r : schema.value("required", json::array()))
      if (!v.contains(r.get<std::string>()))
        return where + "." + r.get<std::string>() + ": missing";
    for (const auto& [k, item] : v.items()) {
      if (props.contains(k)) {
        const std::string e = SchemaError(props[k], item, where + "." + k);
        if (!e.empty()) return e;
      } else if (schema.contains("additionalProperties")) {
        const json& extra = schema["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) return where + "." + k + ": unknown field";
        const std::string e = SchemaError(extra, item, where + "." + k);
        if (!e.empty()) return e;
      }
    }
  } else if (type == "array") {
    if (!v.is_array()) return wrong("an array");
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>())
      return where + fmt::format(": at most {} items", schema["maxItems"].get<size_t>());
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string e =
          SchemaError(schema.value("items", json()), v[i], fmt::format("{}[{}]", where, i));
      if (!e.empty()) return e;
    }
  } else if (type == "string") {
    if (!v.is_string()) return wrong("a string");
    const std::string s = v.get<std::string>();
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<size_t>())
      return where + fmt::format(": at least {} characters", schema["minLength"].get<size_t>());
    if (schema.contains("maxLength") && s.size() > schema["maxLength"].get<size_t>())
      return where + fmt::format(": at most {} characters", schema["maxLength"].get<size_t>());
    if (schema.contains("pattern") &&
        !std::regex_match(s, std::regex(schema["pattern"].get<std::string>())))
      return where + ": must match " + schema["pattern"].get<std::string>();
  } else if (type == "integer" || type == "number") {
    if (type == "integer" ? !v.is_number_integer() : !v.is_number())
      return wrong(type == "integer" ? "an integer" : "a number");
    const double d = v.get<double>();
    if (schema.contains("minimum") && d < schema["minimum"].get<double>())
      return where + fmt::format(": at least {}", schema["minimum"].dump());
    if (schema.contains("maximum") && d > schema["maximum"].get<double>())
      return where + fmt::format(": at most {}", schema["maximum"].dump());
  } else if (type == "boolean") {
    if (!v.is_boolean()) return wrong("true or false");
  }
  if (schema.contains("enum")) {
    for (const auto& e : schema["enum"])
      if (e == v) return "";
    return where + ": must be one of " + schema["enum"].dump();
  }
  return "";
}

json OpenApiDocument(const std::vector<Route>& routes, const std::string& version) {
  const json error_schema = {
      {"type", "object"},
      {"required", {"error", "status"}},
      {"properties", {{"error", {{"type", "string"}}}, {"status", {{"type", "integer"}}}}}};
  json paths = json::object();
  static const std::regex kParam(R"(\{([a-z_]+)\})");
  for (const Route& r : routes) {
    json op = {{"summary", r.summary}, {"tags", {r.tag}}, {"parameters", json::array()}};
    op["operationId"] = r.method + " " + r.path;
    for (auto it = std::sregex_iterator(r.path.begin(), r.path.end(), kParam);
         it != std::sregex_iterator(); ++it)
      op["parameters"].push_back({{"name", (*it)[1].str()},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", {{"type", "string"}}}});
    for (const QueryParam& q : r.query)
      op["parameters"].push_back({{"name", q.name},
                                  {"in", "query"},
                                  {"required", q.required},
                                  {"description", q.description},
                                  {"schema", q.schema}});
    if (!r.body.is_null())
      op["requestBody"] = {{"required", true}, {"content", {{r.consumes, {{"schema", r.body}}}}}};
    op["responses"][std::to_string(r.success)] = {
        {"description", "success"},
        {"content",
         {{r.produces, r.response.is_null() ? json::object() : json{{"schema", r.response}}}}}};
    op["responses"]["4XX"] = {{"description", "bad request, unauthorized, not found, too large"},
                              {"content", {{"application/json", {{"schema", error_schema}}}}}};
    if (!r.auth) op["security"] = json::array();
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    paths[r.path][method] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "TinyMLaaS control plane"},
            {"version", version},
            {"description",
             "Datasets, training runs, models, quantization, compiled artifacts, targets, "
             "pipelines and sweeps, lineage, the job queue that runs long work, the fleet: "
             "devices, rollouts, telemetry and drift, and the node chains models are split "
             "over."}}},
          {"components",
           {{"securitySchemes", {{"token", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas", {{"Error", error_schema}}}}},
          {"security", {{{"token", json::array()}}}},
          {"paths", paths}};
}

std::vector<Route> ApiRoutes() {
  std::vector<Route> r;
  Route health{"GET", "/api/health", "Liveness and version", "server"};
  health.auth = false;
  health.handler = [](ApiContext& c, const ApiRequest&) {
    return Json({{"ok", true}, {"version", c.version}});
  };
  health.response = schema::Health();
  r.push_back(health);
  AddDataRoutes(r);
  AddJobRoutes(r);
  AddLineageRoutes(r);
  AddChartRoutes(r);
  AddSessionRoutes(r);
  AddFleetRoutes(r);
  AddSplitRoutes(r);
  Route doc{"GET", "/api/openapi.json", "This API's OpenAPI 3 document", "server"};
  doc.auth = false;
  r.push_back(doc);  // its handler needs the table: set by the server
  return r;
}

}  // namespace tml
