#include "apps/cli_split.h"

#include <iostream>
#include <memory>

#include "app/split.h"
#include "apps/cli_common.h"

namespace tml::cli {

CLI::App* AddSplitCommand(CLI::App& app, int* exit_code) {
  struct Args {
    SplitRequest q;
    bool json = false;
    size_t top = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "split",
      "Cut a model across a node chain (MCU -> gateway -> cloud): measure each layer on each "
      "node, cost every valid cut (per-node time, link time, energy, budgets), write one "
      "sub-model per node for the best");
  cmd->add_option("MODEL", a->q.model, "Model file (TFLite or ONNX; int8 for MCU nodes)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--chain", a->q.chain, "Chain YAML: nodes, budgets and links (docs/split.md)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--objective", a->q.objective,
                  "What the best cut minimizes: latency (one inference end to end), energy "
                  "(all nodes and links) or device-energy (the first node's compute and sending)")
      ->check(CLI::IsMember({"latency", "energy", "device-energy"}))
      ->capture_default_str();
  cmd->add_option("--out", a->q.out_dir,
                  "Folder for the best cut's sub-models (NODE.onnx) and partition.json")
      ->capture_default_str();
  cmd->add_option("--work-dir", a->q.work_dir, "Keep the measuring firmware builds here");
  cmd->add_option("--top", a->top, "Print only the N best cuts (0: all)")->capture_default_str();
  cmd->add_flag("--json", a->json,
                "The whole result as JSON (the table as cuts, the choice as best)");
  a->q.out_dir = "split-out";
  cmd->callback([a, exit_code] {
    TerminalProgress progress;
    progress.StopOn(&StopOnSignal());
    auto r = Split(a->q, progress);
    if (!r.ok()) {
      *exit_code = Fail(r.status());
      return;
    }
    if (a->json) {
      std::cout << SplitJson(a->q, *r).dump(2) << "\n";
    } else {
      std::cout << fmt::format(
          "{} on chain {} ({}), objective {}: {} cut(s){}\n", r->model, r->chain.name,
          r->chain.source_file, a->q.objective, r->cuts.size(),
          r->exact ? ", every valid one" : ", contiguous ones only (too many)");
      for (size_t i = 0; i < r->chain.nodes.size(); ++i)
        std::cout << fmt::format("  {}: {}\n", r->chain.nodes[i].name, r->costs.nodes[i].how);
      std::cout << SplitTable(*r, a->top);
      const CutCost& best = r->cuts[static_cast<size_t>(r->best)];
      std::cout << fmt::format("best: cut {} ({:.3f} ms, {:.4f} mJ, device {:.4f} mJ)\n",
                               r->best + 1, 1e3 * best.latency_s, 1e3 * best.energy_j,
                               1e3 * best.device_energy_j);
      for (const std::string& f : r->part_files) std::cout << "  " << f << "\n";
      std::cout
          << (r->host_bit_exact
                  ? "the parts run in turn on the host compute the whole model's bytes\n"
                  : "WARNING: the parts run in turn on the host differ from the whole model\n");
    }
    *exit_code = r->host_bit_exact ? 0 : 2;
  });
  return cmd;
}

}  // namespace tml::cli
