// The split cost model, from measured costs: per-layer instructions of the whole model on
// each MCU of the chain (QEMU with -icount, the profiler's probes), per-layer time on this
// host for host nodes (the reference interpreter, median of several runs, times the node's
// time_scale), the bytes of every tensor crossing a link, and energy from the board
// profile (active_mw / clock_hz per instruction) or the host's power_w.
//
//   TML_ASSIGN_OR_RETURN(LayerCosts lc, MeasureLayerCosts(g, chain, "out/work", progress));
//   TML_ASSIGN_OR_RETURN(CutCost c, CostOfCut(g, chain, lc, placement));
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "graph/graph.h"
#include "split/chain.h"
#include "split/cuts.h"

namespace tml {

struct NodeLayerCosts {
  std::vector<double> seconds, joules;  // per graph node
  std::vector<int64_t> instructions;    // MCU: per graph node
  // MCU: RAM and flash the runtime takes besides the arena and the weights (measured on
  // the whole model's firmware: code, stack, static data).
  int64_t fixed_ram_bytes = 0, code_bytes = 0;
  std::string how;  // "qemu -icount on cortex-m4", "this host x 4"
};

struct LayerCosts {
  std::vector<NodeLayerCosts> nodes;  // per chain node
};

Result<LayerCosts> MeasureLayerCosts(const Graph& g, const Chain& c, const std::string& work_dir,
                                     Progress& progress);

struct CutCost {
  Placement placement;
  std::vector<int> layers;                // per chain node: how many graph nodes it runs
  std::vector<std::vector<int>> tensors;  // per link: the tensors it carries
  std::vector<int64_t> link_bytes;
  std::vector<double> link_seconds, link_joules;
  std::vector<double> node_seconds, node_joules;
  std::vector<int64_t> node_ram_bytes, node_flash_bytes;
  double latency_s = 0, energy_j = 0, device_energy_j = 0;
  bool fits = true;
  std::string refused;     // why not, naming the node and the bytes
  int64_t over_bytes = 0;  // summed over every budget exceeded
};

// One inference through the chain, sequentially: nodes' compute plus each link's bytes
// over its bandwidth and its latency (a link that carries nothing costs nothing). The
// device's energy: the first node's compute and what it sends.
Result<CutCost> CostOfCut(const Graph& g, const Chain& c, const LayerCosts& lc, const Placement& p);

enum class SplitObjective { kLatency, kEnergy, kDeviceEnergy };
Result<SplitObjective> ParseObjective(const std::string& name);
double ObjectiveValue(const CutCost& c, SplitObjective o);

nlohmann::json CutCostJson(const Graph& g, const Chain& c, const CutCost& cut);

}  // namespace tml
