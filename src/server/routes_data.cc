// Datasets: list, create, versions, stats.
#include <fmt/format.h>

#include "server/api.h"

namespace tml {
namespace {

using json = nlohmann::json;

const json kName = {{"type", "string"}, {"pattern", "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"}};

json VersionJson(const VersionRecord& v) {
  return {
      {"id", v.id},           {"number", v.number},   {"parent_id", v.parent_id},  {"note", v.note},
      {"classes", v.classes}, {"members", v.members}, {"created_ms", v.created_ms}};
}

Result<int> VersionNumber(const std::string& text) {
  if (text == "latest") return 0;
  try {
    size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  return Status::Errorf("version '{}': a positive number or 'latest'", text);
}

}  // namespace

void AddDataRoutes(std::vector<Route>& r) {
  Route list{"GET", "/api/datasets", "Every dataset with its latest version", "data"};
  list.handler = [](ApiContext& c, const ApiRequest&) {
    std::lock_guard<std::mutex> l(c.db_mu);
    auto ds = c.ws.db->ListDatasets();
    if (!ds.ok()) return FromStatus(ds.status(), 500);
    json out = json::array();
    for (const DatasetRecord& d : *ds)
      out.push_back(
          {{"name", d.name}, {"latest_version", d.latest_version}, {"created_ms", d.created_ms}});
    return Json(out);
  };
  r.push_back(list);

  Route create{"POST", "/api/datasets", "Create an empty dataset", "data"};
  create.body = {{"type", "object"},
                 {"required", {"name"}},
                 {"additionalProperties", false},
                 {"properties", {{"name", kName}}}};
  create.success = 201;
  create.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string name = q.body["name"];
    std::lock_guard<std::mutex> l(c.db_mu);
    Transaction tx(*c.ws.db);
    if (!tx.status().ok()) return FromStatus(tx.status(), 500);
    auto ds = c.ws.db->ListDatasets();
    if (!ds.ok()) return FromStatus(ds.status(), 500);
    for (const DatasetRecord& d : *ds)
      if (d.name == name) return ApiError(409, fmt::format("dataset '{}' exists", name));
    auto made = c.ws.db->EnsureDataset(name);
    if (!made.ok()) return FromStatus(made.status(), 500);
    if (Status st = tx.Commit(); !st.ok()) return FromStatus(st, 500);
    return Json({{"name", made->name}, {"latest_version", 0}, {"created_ms", made->created_ms}},
                201);
  };
  r.push_back(create);

  Route get{"GET", "/api/datasets/{name}", "A dataset's versions", "data"};
  get.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string& name = q.path.at("name");
    std::lock_guard<std::mutex> l(c.db_mu);
    auto ds = c.ws.db->ListDatasets();
    if (!ds.ok()) return FromStatus(ds.status(), 500);
    auto it = std::find_if(ds->begin(), ds->end(),
                           [&](const DatasetRecord& d) { return d.name == name; });
    if (it == ds->end()) return ApiError(404, fmt::format("no dataset '{}'", name));
    auto versions = c.ws.db->ListVersions(name);
    if (!versions.ok()) return FromStatus(versions.status());
    json v = json::array();
    for (const VersionRecord& x : *versions) v.push_back(VersionJson(x));
    return Json({{"name", it->name},
                 {"latest_version", it->latest_version},
                 {"created_ms", it->created_ms},
                 {"versions", v}});
  };
  r.push_back(get);

  Route stats{"GET", "/api/datasets/{name}/versions/{version}/stats",
              "Class balance per split, shapes, unlabeled samples of a version ('latest' works)",
              "data"};
  stats.handler = [](ApiContext& c, const ApiRequest& q) {
    auto v = VersionNumber(q.path.at("version"));
    if (!v.ok()) return ApiError(400, v.status().message());
    std::lock_guard<std::mutex> l(c.db_mu);
    auto s = ComputeStats(c.ws, q.path.at("name"), *v);
    if (!s.ok()) return FromStatus(s.status());
    json classes = json::array();
    for (const auto& [label, n] : s->per_class)
      classes.push_back({{"label", label}, {"train", n[0]}, {"val", n[1]}, {"test", n[2]}});
    json shapes = json::array();
    for (const auto& [shape, n] : s->shapes) shapes.push_back({{"shape", shape}, {"count", n}});
    return Json(
        {{"version", VersionJson(s->version)},
         {"classes", classes},
         {"splits",
          {{"train", s->per_split[0]}, {"val", s->per_split[1]}, {"test", s->per_split[2]}}},
         {"shapes", shapes},
         {"unlabeled", s->unlabeled}});
  };
  r.push_back(stats);
}

}  // namespace tml
