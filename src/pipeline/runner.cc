#include "pipeline/runner.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/file_hash_cache.h"
#include "core/sha256.h"
#include "core/yaml_fields.h"
#include "frontend/frontend.h"
#include "pipeline/report.h"
#include "pipeline/steps.h"
#include "split/chain.h"

namespace tml {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Parameters naming files whose contents belong to the cache key (a class folder's
// files are listed in StepKey instead).
bool IsFileParam(const std::string& component, const std::string& k) {
  for (const ComponentSchema& c : Components())
    if (c.name == component) {
      auto it = c.params.find(k);
      return it != c.params.end() && it->second.file && k != "folder";
    }
  return false;
}

// File parameters that may instead name a shipped file (a chain, a front end).
bool IsNamedParam(const std::string& component, const std::string& k) {
  for (const ComponentSchema& c : Components())
    if (c.name == component) {
      auto it = c.params.find(k);
      return it != c.params.end() && it->second.named;
    }
  return false;
}

Result<std::string> StepKey(const StepSpec& s, const StepParams& p, FileHashCache& hashes) {
  Sha256 h;
  h.Update(std::string("tinymlaas-step-2\n") + TML_VERSION + "\n" + s.component + "\n");
  for (const auto& [k, values] : p)
    for (const std::string& v : values) {
      h.Update(k + "=" + v + "\n");
      if (IsFileParam(s.component, k)) {
        TML_ASSIGN_OR_RETURN(std::string fh, hashes.Sha256(v));
        h.Update("#" + fh + "\n");
      }
    }
  if (auto f = p.find("folder"); f != p.end() && !f->second.empty()) {
    // A class folder: names and sizes of its files.
    std::error_code ec;
    std::vector<std::string> items;
    for (const auto& e : fs::recursive_directory_iterator(f->second[0], ec))
      if (e.is_regular_file())
        items.push_back(e.path().string() + ":" + std::to_string(e.file_size()));
    std::sort(items.begin(), items.end());
    for (const std::string& i : items) h.Update(i + "\n");
  }
  return h.HexDigest();
}

// "name[@V][@SPLIT]" with the version made explicit (latest when absent), and the
// dataset version's artifact id (recorded if it was not yet).
Result<std::pair<std::string, std::string>> PinDataset(Workspace& ws, const std::string& text) {
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(text));
  TML_ASSIGN_OR_RETURN(VersionRecord v, ws.db->GetVersion(ref.name, ref.version));
  const std::string name = ref.name + "@" + std::to_string(v.number);
  const std::string id = "dataset:" + name;
  TML_RETURN_IF_ERROR(ws.db->PutArtifact({id, "dataset version", name, "", "{}", {}, 0}));
  return std::make_pair(ref.split ? name + "@" + SplitName(*ref.split) : name, id);
}

// A step taken from the cache: its outputs, if they are all still there.
std::optional<StepOutcome> FromCache(const StepRecord& r) {
  const json j = json::parse(r.outputs, nullptr, false);
  if (!j.is_object() || !j.contains("outputs") || !j.contains("artifacts")) return std::nullopt;
  StepOutcome o;
  try {
    o.outputs = j["outputs"].get<std::map<std::string, std::string>>();
    o.artifact_of = j["artifacts"].get<std::map<std::string, std::string>>();
  } catch (const json::exception&) {
    return std::nullopt;
  }
  for (const auto& [k, v] : o.outputs)
    if ((k == "model" || k == "firmware" || k == "spec" || k == "profile") && !fs::exists(v))
      return std::nullopt;
  o.cached = true;
  return o;
}

std::string Elapsed(std::chrono::steady_clock::time_point t0) {
  return fmt::format("{:.1f} s",
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

Status RunSteps(const PipelineSpec& p, Workspace& ws, const RunOptions& opts, FileHashCache& hashes,
                std::vector<StepOutcome>& done) {
  std::map<std::string, const StepOutcome*> by_name;
  done.reserve(p.steps.size());
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const StepSpec& s = p.steps[i];
    const std::string where =
        fmt::format("{}:{}: step '{}' ({})", p.file, s.line, s.name, s.component);
    const std::string progress =
        fmt::format("[{}/{}] {} ({})", i + 1, p.steps.size(), s.name, s.component);
    // Resolve ${step.output} references; note the artifacts each parameter names.
    StepParams params;
    std::map<std::string, std::vector<std::string>> inputs;
    for (const auto& [k, values] : s.with)
      for (std::string v : values) {
        const auto refs = References(v);
        for (const auto& [step, out] : refs) {
          const StepOutcome& from = *by_name.at(step);
          const std::string ref = "${" + step + "." + out + "}";
          v.replace(v.find(ref), ref.size(), from.outputs.at(out));
          if (auto a = from.artifact_of.find(out); a != from.artifact_of.end())
            inputs[k].push_back(a->second);
        }
        if (refs.empty() && (k == "data" || k == "calibration")) {
          // A dataset named directly: pin its version (so the cache key changes when a
          // new version appears) and record the version as an input.
          auto pinned = PinDataset(ws, v);
          if (!pinned.ok()) return pinned.status().Wrap(where);
          v = pinned->first;
          inputs[k].push_back(pinned->second);
        }
        if (refs.empty() && IsNamedParam(s.component, k) && IsShippedName(v)) {
          // A shipped chain or front end: its file, hashed like any input.
          auto path =
              k == "frontend" ? ShippedFilePath(v, FrontEndDirs(), "front end") : ChainPath(v);
          if (!path.ok()) return path.status().Wrap(where);
          v = *path;
        }
        if (refs.empty() && IsFileParam(s.component, k)) {  // an input file
          auto fh = hashes.Sha256(v);
          if (!fh.ok()) return fh.status().Wrap(where);
          const auto id = std::optional<std::string>("file:" + fh->substr(0, 32));
          // A model this workspace made is named by its content hash too: link to it,
          // so a component run on its own (a dashboard job) keeps the whole lineage.
          const std::string hash = id->substr(id->find(':') + 1);
          if (auto made = ws.db->GetArtifact("model:" + hash); made.ok()) {
            inputs[k].push_back(made->id);
          } else {
            const std::string kind = k == "spec"    ? "model spec"
                                     : k == "model" ? "model file"
                                                    : "file";
            TML_RETURN_IF_ERROR(ws.db->PutArtifact({*id, kind, v, v, "{}", {}, 0}));
            inputs[k].push_back(*id);
          }
        }
        params[k].push_back(v);
      }
    auto key = StepKey(s, params, hashes);
    if (!key.ok()) return key.status().Wrap(where);
    TML_ASSIGN_OR_RETURN(auto prior, ws.db->GetStep(*key));
    std::optional<StepOutcome> cached = prior ? FromCache(*prior) : std::nullopt;
    StepOutcome o = cached.value_or(StepOutcome{});
    o.step = s.name;
    o.component = s.component;
    o.key = *key;
    const auto step_event = [&](const char* state) {
      if (opts.event)
        opts.event({{"type", "step"},
                    {"index", i + 1},
                    {"of", p.steps.size()},
                    {"step", s.name},
                    {"component", s.component},
                    {"state", state}});
    };
    if (opts.cancelled && opts.cancelled()) return Status::Cancelled("cancelled").Wrap(where);
    if (cached) {
      if (opts.log) opts.log(progress + ": cached");
      step_event("cached");
    } else {
      if (opts.log) opts.log(progress + ": running");
      step_event("running");
      const auto t0 = std::chrono::steady_clock::now();
      StepContext ctx{ws, params, o.key, inputs, opts.log, opts.event, opts.cancelled};
      auto r = RunStep(s.component, ctx);
      if (!r.ok()) return r.status().Wrap(where);
      for (const ArtifactRecord& a : r->artifacts) TML_RETURN_IF_ERROR(ws.db->PutArtifact(a));
      o.outputs = r->outputs;
      o.artifact_of = r->artifact_of;
      o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const json record = {{"outputs", o.outputs}, {"artifacts", o.artifact_of}};
      TML_RETURN_IF_ERROR(ws.db->PutStep({o.key, p.name, s.name, s.component, record.dump(), 0}));
      if (opts.log) {
        std::string outs;
        for (const auto& [k, v] : o.outputs) outs += fmt::format(" {}={}", k, v);
        opts.log(fmt::format("{}: done in {};{}", progress, Elapsed(t0), outs));
      }
      step_event("done");
    }
    done.push_back(std::move(o));
    by_name[s.name] = &done.back();
  }
  return Status::Ok();
}

}  // namespace

json PipelineRunJson(const PipelineRun& r, const PipelineSpec& p) {
  json steps = json::array();
  for (const StepOutcome& s : r.steps)
    steps.push_back({{"step", s.step},
                     {"component", s.component},
                     {"cached", s.cached},
                     {"seconds", s.seconds},
                     {"outputs", s.outputs},
                     {"artifacts", s.artifact_of}});
  json j = {{"run", r.run_id}, {"report", r.report}, {"steps", steps}};
  if (p.sweep) j["sweep"] = SweepJson(r.sweep);
  return j;
}

Result<PipelineRun> RunPipeline(const PipelineSpec& p, Workspace& ws, const RunOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  RunRecord rec;
  rec.kind = "pipeline";
  rec.status = "running";
  json steps = json::array();
  for (const StepSpec& s : p.steps) steps.push_back(s.name);
  rec.config = json{{"file", p.file}, {"name", p.name}, {"steps", steps}}.dump();
  rec.tool_version = TML_VERSION;
  PipelineRun run;
  TML_ASSIGN_OR_RETURN(run.run_id, ws.db->AddRun(rec));
  rec.id = run.run_id;
  const auto finish = [&](const std::string& status, json metrics) {
    rec.status = status;
    rec.metrics = metrics.dump();
    rec.output = run.report;
    rec.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    return ws.db->UpdateRun(rec);
  };
  FileHashCache hashes(ws.root + "/cache/file-sha256.tsv");
  Status st = RunSteps(p, ws, opts, hashes, run.steps);
  if (Status saved = hashes.Save(); !saved.ok() && opts.log)
    opts.log("the file hash cache was not saved: " + saved.message());
  if (!st.ok()) {
    (void)finish("failed", {{"error", st.message()}});
    return st;
  }
  if (p.sweep) {
    TML_ASSIGN_OR_RETURN(run.sweep, SweepResults(*p.sweep, run.steps, *ws.db));
  }
  json m = {{"steps", run.steps.size()}, {"cached", 0}};
  for (const StepOutcome& s : run.steps) {
    m["cached"] = m["cached"].get<int>() + s.cached;
    if (s.outputs.count("accuracy")) m["accuracy"][s.step] = std::stod(s.outputs.at("accuracy"));
  }
  if (p.sweep) m["sweep"] = SweepJson(run.sweep);
  if (opts.report) {
    const std::string dir = ws.root + "/reports";
    std::error_code ec;
    fs::create_directories(dir, ec);
    run.report = fmt::format("{}/{}-run{}.html", dir, p.name, run.run_id);
    ReportInput in{p, run.run_id, run.steps, run.sweep};
    auto html = RenderReport(in, *ws.db);
    if (!html.ok()) return html.status().Wrap("report");
    std::ofstream f(run.report);
    f << *html;
    if (!f) return Status::Errorf("{}: write failed", run.report);
  }
  TML_RETURN_IF_ERROR(finish("done", m));
  return run;
}

}  // namespace tml
