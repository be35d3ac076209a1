#include "apps/cli_runs.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/cli_common.h"
#include "data/dataset_store.h"

namespace tml::cli {
namespace {

struct RunsArgs {
  std::string workspace, kind;
  int64_t id = 0;
  bool json = false;
};

nlohmann::json RunJson(const RunRecord& r) {
  return {{"id", r.id},
          {"kind", r.kind},
          {"status", r.status},
          {"config", nlohmann::json::parse(r.config, nullptr, false)},
          {"dataset_version_id", r.dataset_version},
          {"metrics", nlohmann::json::parse(r.metrics, nullptr, false)},
          {"output", r.output},
          {"started_ms", r.started_ms},
          {"duration_ms", r.duration_ms},
          {"tool_version", r.tool_version}};
}

int List(const RunsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto runs = ws->db->ListRuns(a.kind);
  if (!runs.ok()) return Fail(runs.status());
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const RunRecord& r : *runs) j.push_back(RunJson(r));
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (runs->empty()) std::cout << "no runs in " << ws->root << "\n";
  for (const RunRecord& r : *runs) {
    const auto m = nlohmann::json::parse(r.metrics, nullptr, false);
    const auto c = nlohmann::json::parse(r.config, nullptr, false);
    std::string what;
    if (c.is_object() && c.contains("spec_file") && c.contains("dataset"))
      what = fmt::format("{} on {}@{}", c["spec_file"].get<std::string>(),
                         c["dataset"].get<std::string>(), c.value("dataset_version", 0));
    std::string acc;
    if (m.is_object() && m.contains("val_acc") && m["val_acc"].is_number())
      acc = fmt::format("val acc {:.2f} %", 100 * m["val_acc"].get<double>());
    std::cout << fmt::format("{:>4}  {:<8} {:<8} {:>7.1f} s  {:<18} {}\n", r.id, r.kind, r.status,
                             static_cast<double>(r.duration_ms) / 1000, acc, what);
  }
  return 0;
}

int Show(const RunsArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto r = ws->db->GetRun(a.id);
  if (!r.ok()) return Fail(r.status());
  nlohmann::json j = RunJson(*r);
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("run {}: {} ({}), {:.1f} s, tool {}\n", r->id, r->kind, r->status,
                           static_cast<double>(r->duration_ms) / 1000, r->tool_version);
  if (!r->output.empty()) std::cout << "output: " << r->output << "\n";
  const auto& m = j["metrics"];
  if (m.is_object() && m.contains("epochs")) {
    std::cout << fmt::format("{:>5} {:>10} {:>9} {:>10} {:>9} {:>9} {:>7}\n", "epoch", "loss",
                             "acc", "val loss", "val acc", "lr", "s");
    for (const auto& e : m["epochs"])
      std::cout << fmt::format(
          "{:>5} {:>10.4f} {:>8.2f}% {:>10.4f} {:>8.2f}% {:>9.2e} {:>7.1f}\n", e.value("epoch", 0),
          e.value("train_loss", 0.0), 100 * e.value("train_acc", 0.0), e.value("val_loss", 0.0),
          100 * e.value("val_acc", 0.0), e.value("lr", 0.0), e.value("seconds", 0.0));
  }
  if (j["config"].is_object()) {
    nlohmann::json cfg = j["config"];
    cfg.erase("spec");  // long; `--json` has it
    std::cout << "config: " << cfg.dump() << "\n";
  }
  return 0;
}

}  // namespace

CLI::App* AddRunsCommands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<RunsArgs>();
  auto* runs =
      app.add_subcommand("runs", "Run records: what was trained, on which data, with what result");
  runs->require_subcommand(1);
  auto* list = runs->add_subcommand("list", "Every run, newest last");
  list->add_option("--kind", a->kind, "Only runs of this kind (train)");
  list->add_flag("--json", a->json, "Machine-readable output");
  list->add_option("--workspace", a->workspace, "Workspace directory");
  list->callback([a, exit_code] { *exit_code = List(*a); });
  auto* show = runs->add_subcommand("show", "One run: config, per-epoch metrics, output");
  show->add_option("ID", a->id, "Run id")->required();
  show->add_flag("--json", a->json, "Machine-readable output (the whole record)");
  show->add_option("--workspace", a->workspace, "Workspace directory");
  show->callback([a, exit_code] { *exit_code = Show(*a); });
  return runs;
}

}  // namespace tml::cli
