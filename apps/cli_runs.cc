#include "apps/cli_runs.h"

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "apps/cli_common.h"
#include "data/dataset_store.h"
#include "store/record_json.h"

namespace tml::cli {
namespace {

struct RunsArgs {
  std::string workspace, kind;
  int64_t id = 0;
  std::vector<int64_t> ids;
  bool json = false, all = false;
};

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
    if (c.is_object() && c.contains("spec_file") && c.contains("dataset")) {
      what = fmt::format("{} on {}", c["spec_file"].get<std::string>(),
                         c["dataset"].get<std::string>());
      if (c.contains("dataset_version")) what += fmt::format("@{}", c.value("dataset_version", 0));
    } else if (c.is_object() && c.contains("file")) {
      what = c.value("file", "");
    }
    std::string acc;
    if (m.is_object() && m.contains("val_acc") && m["val_acc"].is_number())
      acc = fmt::format("val acc {:.2f} %", 100 * m["val_acc"].get<double>());
    if (m.is_object() && m.contains("steps") && m["steps"].is_number())
      acc = fmt::format("{} steps, {} cached", m.value("steps", 0), m.value("cached", 0));
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

// Scalars of a JSON tree as "a.b.c" -> text; lists of objects (per-epoch metrics,
// sweep rows) by their length, lists of scalars inline.
void Flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else if (j.is_array() && !j.empty() && j[0].is_structured()) {
    out[prefix] = fmt::format("[{} items]", j.size());
  } else if (j.is_number_float()) {
    out[prefix] = fmt::format("{:.6g}", j.get<double>());
  } else if (j.is_string()) {
    out[prefix] = j.get<std::string>();
  } else if (!j.is_null()) {
    out[prefix] = j.dump();
  }
}

int Compare(const RunsArgs& a) {
  if (a.ids.size() < 2) return Fail(Status::Error("give two or more run ids"));
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  std::vector<std::map<std::string, std::string>> cols;
  std::set<std::string> keys;
  for (int64_t id : a.ids) {
    auto r = ws->db->GetRun(id);
    if (!r.ok()) return Fail(r.status());
    std::map<std::string, std::string> f;
    f["kind"] = r->kind;
    f["status"] = r->status;
    f["seconds"] = fmt::format("{:.1f}", static_cast<double>(r->duration_ms) / 1000);
    f["tool_version"] = r->tool_version;
    Flatten(nlohmann::json::parse(r->config, nullptr, false), "config", f);
    Flatten(nlohmann::json::parse(r->metrics, nullptr, false), "metrics", f);
    f.erase("config.spec");  // the whole spec text; `runs show --json` has it
    for (const auto& [k, _] : f) keys.insert(k);
    cols.push_back(std::move(f));
  }
  if (a.json) {
    nlohmann::json j = {{"runs", a.ids}, {"values", nlohmann::json::object()}};
    for (const std::string& k : keys)
      for (const auto& c : cols) j["values"][k].push_back(c.count(k) ? c.at(k) : "");
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  size_t width = 8;
  for (const std::string& k : keys) width = std::max(width, k.size());
  std::string head = fmt::format("  {:<{}}", "run", width);
  for (int64_t id : a.ids) head += fmt::format(" {:>16}", id);
  std::cout << head << "\n";
  int differ = 0;
  for (const std::string& k : keys) {
    std::string line;
    bool same = true;
    for (const auto& c : cols) {
      const std::string v = c.count(k) ? c.at(k) : "-";
      same = same && v == (cols[0].count(k) ? cols[0].at(k) : "-");
      line += fmt::format(" {:>16}", v.size() > 16 ? "…" + v.substr(v.size() - 15) : v);
    }
    if (same && !a.all) continue;
    differ += !same;
    std::cout << (same ? "  " : "* ") << fmt::format("{:<{}}", k, width) << line << "\n";
  }
  std::cout << fmt::format("{} of {} fields differ (*){}\n", differ, keys.size(),
                           a.all ? "" : "; --all shows the equal ones too");
  return 0;
}

}  // namespace

CLI::App* AddRunsCommands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<RunsArgs>();
  auto* runs = app.add_subcommand(
      "runs", "Run records (training runs, pipeline runs): what went in, what came out");
  runs->require_subcommand(1);
  auto* list = runs->add_subcommand("list", "Every run, newest last");
  list->add_option("--kind", a->kind, "Only runs of this kind (train, pipeline)");
  list->add_flag("--json", a->json, "Machine-readable output");
  list->add_option("--workspace", a->workspace, "Workspace directory");
  list->callback([a, exit_code] { *exit_code = List(*a); });
  auto* show = runs->add_subcommand("show", "One run: config, per-epoch metrics, output");
  show->add_option("ID", a->id, "Run id")->required();
  show->add_flag("--json", a->json, "Machine-readable output (the whole record)");
  show->add_option("--workspace", a->workspace, "Workspace directory");
  show->callback([a, exit_code] { *exit_code = Show(*a); });
  auto* compare = runs->add_subcommand(
      "compare", "Runs side by side: parameters and metrics, the fields that differ marked *");
  compare->add_option("IDS", a->ids, "Two or more run ids")->required()->expected(2, 1 << 20);
  compare->add_flag("--all", a->all, "Show the fields that are equal too");
  compare->add_flag("--json", a->json, "Machine-readable output (every field, every run)");
  compare->add_option("--workspace", a->workspace, "Workspace directory");
  compare->callback([a, exit_code] { *exit_code = Compare(*a); });
  return runs;
}

}  // namespace tml::cli
