#include "apps/cli_pipeline.h"

#include <chrono>
#include <iostream>

#include "apps/cli_common.h"
#include "pipeline/lineage.h"
#include "pipeline/runner.h"

namespace tml::cli {
namespace {

struct RunArgs {
  std::string file, workspace;
  bool no_report = false, json = false, list = false;
};

int Run(const RunArgs& a) {
  auto p = LoadPipeline(a.file);
  if (!p.ok()) return Fail(p.status());
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  const auto t0 = std::chrono::steady_clock::now();
  RunOptions o;
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  o.report = !a.no_report;
  std::cerr << "pipeline " << p->name << ": " << p->steps.size() << " steps, workspace " << ws->root
            << "\n";
  auto run = RunPipeline(*p, *ws, o);
  if (!run.ok()) return Fail(run.status());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int cached = 0;
  for (const StepOutcome& s : run->steps) cached += s.cached;
  if (a.json) {
    nlohmann::json j = PipelineRunJson(*run, *p);
    j["seconds"] = secs;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const StepOutcome& s : run->steps)
    for (const auto& [k, v] : s.outputs) std::cout << fmt::format("  {}.{} = {}\n", s.step, k, v);
  if (p->sweep) std::cout << "\n" << SweepTable(run->sweep) << "\n";
  const size_t ran = run->steps.size() - static_cast<size_t>(cached);
  std::cout << fmt::format("{} (run {}): {} steps, {} ran, {} cached{} ({:.1f} s)\n", p->name,
                           run->run_id, run->steps.size(), ran, cached,
                           ran == 0 ? ": every step was cached" : "", secs);
  if (!run->report.empty()) std::cout << "report: " << run->report << "\n";
  return 0;
}

int ShowLineage(const std::string& what, const RunArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  if (a.list) {
    auto all = ws->db->FindArtifacts("");
    if (!all.ok()) return Fail(all.status());
    for (const ArtifactRecord& r : *all)
      std::cout << fmt::format("{:<44} {:<16} {}\n", r.id, r.kind, r.label);
    if (all->empty()) std::cout << "no artifacts in " << ws->root << "\n";
    return 0;
  }
  if (what.empty()) return Fail(Status::Error("give an artifact id, prefix or file (or --list)"));
  auto g = Lineage(*ws->db, what);
  if (!g.ok()) return Fail(g.status());
  std::cout << (a.json ? LineageJson(*g).dump(2) + "\n" : LineageText(*g));
  return 0;
}

}  // namespace

CLI::App* AddRunCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<RunArgs>();
  auto* c = app.add_subcommand(
      "run",
      "Run a pipeline file (see examples/fashion-mnist.yaml): every step is checked first; a step\n"
      "whose inputs, parameters and tool version are unchanged since it last ran is taken from\n"
      "the cache. Progress goes to stderr; the outputs, a sweep's results table and the path of\n"
      "the HTML report (WORKSPACE/reports/) to stdout.");
  c->add_option("PIPELINE", a->file, "Pipeline file (YAML)")->required()->check(CLI::ExistingFile);
  c->add_option("--workspace", a->workspace, "Workspace directory");
  c->add_flag("--no-report", a->no_report, "Do not write the HTML report");
  c->add_flag("--json", a->json, "Machine-readable summary on stdout");
  c->callback([a, exit_code] { *exit_code = Run(*a); });
  return c;
}

CLI::App* AddLineageCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<RunArgs>();
  auto what = std::make_shared<std::string>();
  auto* c = app.add_subcommand(
      "lineage",
      "What an artifact was made from and what was made from it: dataset version -> training\n"
      "run -> model -> quantized model -> firmware -> evaluations. ID is an artifact id\n"
      "(model:3f2a..., firmware:..., run:3, dataset:fashion@2), a unique prefix of one, or a\n"
      "model / firmware file");
  c->add_option("ID", *what, "Artifact id, prefix or file");
  c->add_flag("--list", a->list, "List every recorded artifact");
  c->add_flag("--json", a->json, "Machine-readable graph (nodes with metadata, edges)");
  c->add_option("--workspace", a->workspace, "Workspace directory");
  c->callback([a, what, exit_code] { *exit_code = ShowLineage(*what, *a); });
  return c;
}

}  // namespace tml::cli
