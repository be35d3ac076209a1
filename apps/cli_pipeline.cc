#include "apps/cli_pipeline.h"

#include <chrono>
#include <iostream>

#include "apps/cli_common.h"
#include "pipeline/runner.h"

namespace tml::cli {
namespace {

struct RunArgs {
  std::string file, workspace;
};

int Run(const RunArgs& a) {
  auto p = LoadPipeline(a.file);
  if (!p.ok()) return Fail(p.status());
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  const auto t0 = std::chrono::steady_clock::now();
  RunOptions o;
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  std::cerr << "pipeline " << p->name << ": " << p->steps.size() << " steps, workspace " << ws->root
            << "\n";
  auto steps = RunPipeline(*p, *ws, o);
  if (!steps.ok()) return Fail(steps.status());
  int cached = 0;
  for (const StepOutcome& s : *steps) cached += s.cached;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << fmt::format("{}: {} steps, {} ran, {} cached ({:.1f} s)\n", p->name, steps->size(),
                           steps->size() - static_cast<size_t>(cached), cached, secs);
  for (const StepOutcome& s : *steps)
    for (const auto& [k, v] : s.outputs) std::cout << fmt::format("  {}.{} = {}\n", s.step, k, v);
  return 0;
}

}  // namespace

CLI::App* AddRunCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<RunArgs>();
  auto* c = app.add_subcommand(
      "run",
      "Run a pipeline file (see examples/fashion-mnist.yaml): every step is checked first; a step\n"
      "whose inputs, parameters and tool version are unchanged since it last ran is taken from\n"
      "the cache");
  c->add_option("PIPELINE", a->file, "Pipeline file (YAML)")->required()->check(CLI::ExistingFile);
  c->add_option("--workspace", a->workspace, "Workspace directory");
  c->callback([a, exit_code] { *exit_code = Run(*a); });
  return c;
}

}  // namespace tml::cli
