#include "apps/cli_split.h"

#include <iostream>
#include <memory>

#include "app/split.h"
#include "app/split_run.h"
#include "apps/cli_broker.h"
#include "apps/cli_common.h"

namespace tml::cli {

namespace {

template <typename Args>
int RunCascadeCommand(Args& a, Progress& progress) {
  if (a.c.data.empty()) return Fail(Status::Error("split --cascade: --data DATASET is required"));
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  a.c.small = a.cascade[0];
  a.c.big = a.cascade[1];
  a.c.chain = a.q.chain;
  a.c.options.work_dir = a.q.work_dir;
  auto r = Cascade(*ws, a.c, progress);
  if (!r.ok()) return Fail(r.status());
  if (a.json)
    std::cout << CascadeJson(*r).dump(2) << "\n";
  else
    std::cout << fmt::format("cascade {} -> {} on chain {}, {} samples of {}\n", a.c.small, a.c.big,
                             a.c.chain, r->samples, a.c.data)
              << CascadeTable(*r)
              << (r->equal_to_host ? "the board's answers equal the reference interpreter's\n"
                                   : "WARNING: the board's answers differ from the reference "
                                     "interpreter's\n");
  return r->equal_to_host ? 0 : 2;
}

template <typename Args>
int RunOnFleetCommand(Args& a, Progress& progress) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  auto broker = a.broker.Broker();
  if (!broker.ok()) return Fail(broker.status());
  a.run.model = a.q.model;
  a.run.chain = a.q.chain;
  a.run.objective = a.q.objective;
  a.run.work_dir = a.q.work_dir;
  a.run.devices = a.run_on;
  for (std::string& d : a.run.devices)
    if (d == "-") d.clear();
  a.run.broker = *broker;
  a.run.samples = a.c.samples > 0 ? static_cast<int>(a.c.samples) : 5;
  auto r = RunSplitOnFleet(*ws, a.run, progress);
  if (!r.ok()) return Fail(r.status());
  if (a.json)
    std::cout << SplitRunJson(*r).dump(2) << "\n";
  else
    std::cout << SplitRunText(*r);
  return r->bit_exact ? 0 : 2;
}

}  // namespace

CLI::App* AddSplitCommand(CLI::App& app, int* exit_code) {
  struct Args {
    SplitRequest q;
    CascadeRequest c;
    std::vector<std::string> cascade;
    std::string workspace;
    SplitRunRequest run;
    std::vector<std::string> run_on;
    BrokerArgs broker;
    bool json = false;
    size_t top = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "split",
      "Cut a model across a node chain (MCU -> gateway -> cloud): measure each layer on each "
      "node, cost every valid cut (per-node time, link time, energy, budgets), write one "
      "sub-model per node for the best");
  auto* model =
      cmd->add_option("MODEL", a->q.model, "Model file (TFLite or ONNX; int8 for MCU nodes)")
          ->check(CLI::ExistingFile);
  auto* cascade =
      cmd->add_option("--cascade", a->cascade,
                      "SMALL BIG: hierarchical inference instead of a cut: SMALL on the first node "
                      "answers when its top score reaches the threshold, else the sample goes to "
                      "BIG on the last node; swept over thresholds on --data")
          ->expected(2)
          ->check(CLI::ExistingFile)
          ->excludes(model);
  cmd->add_option(
      "--data", a->c.data,
      "With --cascade: DATASET[@VERSION][@SPLIT] the sweep runs on (default split: test)");
  cmd->add_option("--samples", a->c.samples,
                  "With --cascade: this many samples spread over the split (0: all); with "
                  "--run-on: this many seeded random inputs (0: 5)")
      ->capture_default_str();
  cmd->add_option("--thresholds", a->c.options.thresholds,
                  "With --cascade: the thresholds swept (above 1: always offload)")
      ->delimiter(',');
  auto* run_on =
      cmd->add_option("--run-on", a->run_on,
                      "Run the cut over the fleet path: per chain node the device that runs its "
                      "part, comma-separated, - for this process (m4-1,gw1-host,-): each part "
                      "is deployed, then each sample goes device to device over MQTT")
          ->delimiter(',')
          ->excludes(cascade);
  cmd->add_option("--layers", a->run.layers,
                  "With --run-on: layers per node, contiguous in execution order (2,1,5); "
                  "default: the best cut whose device parts carry one tensor each way")
      ->delimiter(',');
  cmd->add_option("--key", a->run.signing_key,
                  "With --run-on: the signing key for the parts' packages (default: the "
                  "workspace's keys/signing.key)");
  AddBrokerOptions(cmd, &a->broker);
  cmd->add_option("--workspace", a->workspace,
                  "Workspace: --data for --cascade, the registry and deployments for --run-on "
                  "(default $TINYMLAAS_HOME or ./.tinymlaas)");
  cmd->add_option("--chain", a->q.chain,
                  "Chain YAML (nodes, budgets and links, docs/split.md), or the name of a shipped "
                  "one (examples/chains: mcu-gateway-cloud)")
      ->required();
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
  cmd->callback([a, exit_code, cascade, run_on] {
    TerminalProgress progress;
    progress.StopOn(&StopOnSignal());
    if (*cascade) {
      *exit_code = RunCascadeCommand(*a, progress);
      return;
    }
    if (a->q.model.empty()) {
      *exit_code = Fail(Status::Error("split: give MODEL, or --cascade SMALL BIG"));
      return;
    }
    if (*run_on) {
      *exit_code = RunOnFleetCommand(*a, progress);
      return;
    }
    auto r = SplitModel(a->q, progress);
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
          r->exact ? ", every valid one"
                   : fmt::format(", too many to list: the contiguous ones and {} minimum cut(s)",
                                 r->min_cuts));
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
