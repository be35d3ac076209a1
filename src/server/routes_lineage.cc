// Runs, artifacts with their lineage, target boards, model specs.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "pipeline/lineage.h"
#include "server/api.h"
#include "server/schemas.h"
#include "store/record_json.h"
#include "targets/target_profile.h"
#include "train/spec_library.h"

namespace tml {
namespace {

using json = nlohmann::json;

json SpecJson(const SpecEntry& e) {
  return {{"name", e.spec.name},       {"file", e.file},           {"input", e.spec.input},
          {"classes", e.spec.classes}, {"macs", SpecMacs(e.spec)}, {"uploaded", e.uploaded}};
}

}  // namespace

void AddLineageRoutes(std::vector<Route>& r) {
  Route runs{"GET", "/api/runs", "Run records (training runs, pipeline runs)", "runs"};
  runs.query = {{"kind", "train or pipeline", {{"type", "string"}}}};
  runs.handler = [](ApiContext& c, const ApiRequest& q) {
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto list = ws->db->ListRuns(q.query.count("kind") ? q.query.at("kind") : "");
    if (!list.ok()) return FromStatus(list.status());
    json out = json::array();
    for (const RunRecord& x : *list) out.push_back(RunJson(x));
    return Json(out);
  };
  runs.response = schema::Array(schema::Run());
  r.push_back(runs);

  Route run{"GET", "/api/runs/{id}", "One run: config, per-epoch metrics, output", "runs"};
  run.handler = [](ApiContext& c, const ApiRequest& q) {
    auto parsed = ParseId(q.path.at("id"));
    if (!parsed.ok()) return ApiError(400, parsed.status().message());
    const int64_t id = *parsed;
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto x = ws->db->GetRun(id);
    if (!x.ok()) return FromStatus(x.status());
    return Json(RunJson(*x));
  };
  run.response = schema::Run();
  r.push_back(run);

  Route report{"GET", "/api/runs/{id}/report", "A pipeline run's HTML report", "runs"};
  report.produces = "text/html";
  report.handler = [](ApiContext& c, const ApiRequest& q) {
    auto parsed = ParseId(q.path.at("id"));
    if (!parsed.ok()) return ApiError(400, parsed.status().message());
    const int64_t id = *parsed;
    RunRecord x;
    {
      WorkspacePool::Lease ws = c.pool.Acquire();
      auto got = ws->db->GetRun(id);
      if (!got.ok()) return FromStatus(got.status());
      x = *got;
    }
    // Only files the runner wrote under WORKSPACE/reports/.
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(c.root + "/reports", ec);
    const fs::path file = fs::weakly_canonical(x.output, ec);
    if (x.kind != "pipeline" || x.output.empty() || ec ||
        file.string().rfind(dir.string() + "/", 0) != 0 || !fs::is_regular_file(file))
      return ApiError(404, fmt::format("run {} has no report", id));
    return FileBody(file.string(), "text/html; charset=utf-8");
  };
  r.push_back(report);

  Route artifacts{"GET", "/api/artifacts",
                  "Artifacts (models, firmware, evaluations, ...), optionally by id prefix or kind",
                  "artifacts"};
  artifacts.query = {{"prefix", "id prefix, with or without the kind", {{"type", "string"}}},
                     {"kind", "e.g. int8 model, firmware, evaluation", {{"type", "string"}}}};
  artifacts.handler = [](ApiContext& c, const ApiRequest& q) {
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto found = ws->db->FindArtifacts(q.query.count("prefix") ? q.query.at("prefix") : "");
    if (!found.ok()) return FromStatus(found.status());
    json out = json::array();
    for (const ArtifactRecord& a : *found)
      if (!q.query.count("kind") || q.query.at("kind") == a.kind) out.push_back(ArtifactJson(a));
    return Json(out);
  };
  artifacts.response = schema::Array(schema::Artifact());
  r.push_back(artifacts);

  Route artifact{"GET", "/api/artifacts/{id}", "One artifact (an id or a unique prefix)",
                 "artifacts"};
  artifact.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string& id = q.path.at("id");
    if (id.find('/') != std::string::npos || id.size() > 200)
      return ApiError(400, "id: an artifact id");
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto a = ResolveArtifact(*ws->db, id, false);
    if (!a.ok()) return FromStatus(a.status());
    return Json(ArtifactJson(*a));
  };
  artifact.response = schema::Artifact();
  r.push_back(artifact);

  Route lineage{"GET", "/api/artifacts/{id}/lineage",
                "What the artifact was made from and what was made from it (nodes, edges)",
                "artifacts"};
  lineage.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string& id = q.path.at("id");
    if (id.find('/') != std::string::npos || id.size() > 200)
      return ApiError(400, "id: an artifact id");  // never a file path here
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto g = Lineage(*ws->db, id, false);
    if (!g.ok()) return FromStatus(g.status());
    json j = LineageJson(*g);
    j["text"] = LineageText(*g);
    return Json(j);
  };
  lineage.response = schema::Lineage();
  r.push_back(lineage);

  Route targets{"GET", "/api/targets", "Target boards: core, budgets, clock, emulated or not",
                "targets"};
  targets.handler = [](ApiContext&, const ApiRequest&) {
    auto all = LoadTargets();
    if (!all.ok()) return FromStatus(all.status());
    json out = json::array();
    for (const TargetProfile& t : *all)
      out.push_back({{"name", t.name},
                     {"core", t.core},
                     {"board", t.board},
                     {"mcu", t.mcu},
                     {"clock_hz", t.clock_hz},
                     {"ram_bytes", t.ram_bytes},
                     {"flash_bytes", t.flash_bytes},
                     {"isa", t.isa},
                     {"emulated", t.emulated()}});
    return Json(out);
  };
  targets.response = schema::Array(schema::Target());
  r.push_back(targets);

  Route specs{"GET", "/api/specs",
              "Model specs to train: the zoo (examples/models) and uploaded ones", "specs"};
  specs.handler = [](ApiContext& c, const ApiRequest&) {
    json out = json::array();
    for (const SpecEntry& e : ListModelSpecs(c.root)) out.push_back(SpecJson(e));
    return Json(out);
  };
  specs.response = schema::Array(schema::Spec());
  r.push_back(specs);

  Route upload{"POST", "/api/specs",
               "Upload a model spec (YAML text): checked layer by layer, then offered to train",
               "specs"};
  upload.body = {{"type", "object"},
                 {"required", {"yaml"}},
                 {"additionalProperties", false},
                 {"properties", {{"yaml", {{"type", "string"}, {"maxLength", 65536}}}}}};
  upload.success = 201;
  upload.handler = [](ApiContext& c, const ApiRequest& q) {
    auto e = AddModelSpec(c.root, q.body["yaml"].get<std::string>());
    if (!e.ok()) return FromStatus(e.status());
    return Json(SpecJson(*e), 201);
  };
  upload.response = schema::Spec();
  r.push_back(upload);
}

}  // namespace tml
