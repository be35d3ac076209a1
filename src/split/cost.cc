#include "split/cost.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <tuple>

#include "interp/interpreter.h"
#include "prepare/planner.h"
#include "split/partition.h"
#include "targets/mcu.h"
#include "targets/verify.h"

namespace tml {

namespace {

// Per-layer seconds on this machine: the reference interpreter, each layer's median over
// several runs (at least 5, and up to about 0.3 s of them).
Result<std::vector<double>> HostLayerSeconds(const Graph& g) {
  TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(g));
  const std::vector<uint8_t> in = RandomInputs(g, 1, 7);
  size_t at = 0;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    std::memcpy(interp->input(i), in.data() + at, interp->input_bytes(i));
    at += interp->input_bytes(i);
  }
  using Clock = std::chrono::steady_clock;
  std::vector<std::vector<double>> runs(g.nodes.size());
  const auto until = Clock::now() + std::chrono::milliseconds(300);
  for (int r = 0; r < 200 && (r < 5 || Clock::now() < until); ++r) {
    auto last = Clock::now();
    interp->Invoke([&](size_t node, const void*, size_t) {
      const auto now = Clock::now();
      runs[node].push_back(std::chrono::duration<double>(now - last).count());
      last = now;
    });
  }
  std::vector<double> out;
  for (auto& v : runs) {
    std::sort(v.begin(), v.end());
    out.push_back(v.empty() ? 0.0 : v[v.size() / 2]);
  }
  return out;
}

}  // namespace

Result<LayerCosts> MeasureLayerCosts(const Graph& g, const Chain& c, const std::string& work_dir,
                                     Progress& progress) {
  LayerCosts lc;
  std::vector<double> host;  // measured once, scaled per host node
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const ChainNode& n = c.nodes[i];
    NodeLayerCosts nc;
    if (n.mcu()) {
      progress.Log(fmt::format("split: measuring {} layer by layer on {} (QEMU, -icount)", g.name,
                               n.target));
      TML_ASSIGN_OR_RETURN(
          DeviceProfile d,
          ProfileOnDevice(g, n.target, work_dir.empty() ? "" : work_dir + "/" + n.name));
      if (d.layer_instructions.size() != g.nodes.size())
        return Status::Errorf("split: {} measured {} layers of {}", n.target,
                              d.layer_instructions.size(), g.nodes.size());
      const double hz = static_cast<double>(n.profile.clock_hz > 0 ? n.profile.clock_hz : 1);
      const double j_per_instr = n.profile.active_mw * 1e-3 / hz;
      for (int64_t ins : d.layer_instructions) {
        const auto k = static_cast<double>(std::max<int64_t>(ins, 0));
        nc.instructions.push_back(std::max<int64_t>(ins, 0));
        nc.seconds.push_back(k / hz);  // one instruction per cycle
        nc.joules.push_back(k * j_per_instr);
      }
      nc.fixed_ram_bytes = std::max<int64_t>(d.ram_bytes - d.arena_bytes, 0);
      nc.code_bytes = d.code_bytes;
      nc.how = fmt::format(
          "{} instructions in QEMU (-icount) at {} MHz{}", n.target, n.profile.clock_hz / 1000000,
          n.profile.active_mw > 0 ? fmt::format(", {:.3g} nJ each", j_per_instr * 1e9)
                                  : ", no active_mw: energy 0");
    } else {
      if (host.empty()) {
        progress.Log(fmt::format("split: timing {} layer by layer on this host", g.name));
        TML_ASSIGN_OR_RETURN(host, HostLayerSeconds(g));
      }
      for (double s : host) {
        nc.seconds.push_back(s * n.time_scale);
        nc.joules.push_back(s * n.time_scale * n.power_w);
      }
      nc.how =
          fmt::format("this host's reference interpreter x {:g}, {:g} W", n.time_scale, n.power_w);
    }
    lc.nodes.push_back(std::move(nc));
  }
  return lc;
}

Result<CutCost> CostOfCut(const Graph& g, const Chain& c, const LayerCosts& lc,
                          const Placement& p) {
  const int stages = static_cast<int>(c.nodes.size());
  if (lc.nodes.size() != c.nodes.size())
    return Status::Error("split: layer costs are not for this chain");
  TML_ASSIGN_OR_RETURN(Partition part, MakePartition(g, p, stages));
  CutCost cut;
  cut.placement = p;
  cut.layers.assign(static_cast<size_t>(stages), 0);
  cut.node_seconds.assign(static_cast<size_t>(stages), 0.0);
  cut.node_joules.assign(static_cast<size_t>(stages), 0.0);
  cut.node_ram_bytes.assign(static_cast<size_t>(stages), 0);
  cut.node_flash_bytes.assign(static_cast<size_t>(stages), 0);
  for (size_t n = 0; n < p.size(); ++n) {
    const auto s = static_cast<size_t>(p[n]);
    ++cut.layers[s];
    cut.node_seconds[s] += lc.nodes[s].seconds[n];
    cut.node_joules[s] += lc.nodes[s].joules[n];
  }
  for (const StageGraph& sg : part.parts) {
    const auto s = static_cast<size_t>(sg.stage);
    TML_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(sg.graph));
    int64_t weights = 0;
    for (const Tensor& t : sg.graph.tensors)
      if (t.is_const) weights += static_cast<int64_t>(t.nbytes());
    cut.node_ram_bytes[s] = plan.arena_bytes + lc.nodes[s].fixed_ram_bytes;
    cut.node_flash_bytes[s] = weights + lc.nodes[s].code_bytes;
  }
  cut.tensors = LinkTensors(g, p, stages);
  for (size_t l = 0; l < cut.tensors.size(); ++l) {
    int64_t bytes = 0;
    for (int t : cut.tensors[l]) bytes += static_cast<int64_t>(g.tensor(t).nbytes());
    const LinkProfile& link = c.links[l];
    cut.link_bytes.push_back(bytes);
    cut.link_seconds.push_back(bytes == 0 ? 0.0
                                          : 8.0 * static_cast<double>(bytes) / link.bandwidth_bps +
                                                link.latency_ms * 1e-3);
    cut.link_joules.push_back(static_cast<double>(bytes) * link.energy_nj_per_byte * 1e-9);
  }
  for (int s = 0; s < stages; ++s) {
    cut.latency_s += cut.node_seconds[static_cast<size_t>(s)];
    cut.energy_j += cut.node_joules[static_cast<size_t>(s)];
  }
  for (size_t l = 0; l < cut.link_seconds.size(); ++l) {
    cut.latency_s += cut.link_seconds[l];
    cut.energy_j += cut.link_joules[l];
  }
  cut.device_energy_j = cut.node_joules[0] + (cut.link_joules.empty() ? 0.0 : cut.link_joules[0]);
  // Budgets: every byte over counts; the first node over is named.
  for (int s = 0; s < stages; ++s) {
    const ChainNode& n = c.nodes[static_cast<size_t>(s)];
    const int64_t ram = cut.node_ram_bytes[static_cast<size_t>(s)],
                  flash = cut.node_flash_bytes[static_cast<size_t>(s)];
    for (const auto& [what, need, budget] :
         {std::tuple<const char*, int64_t, int64_t>{"RAM", ram, n.ram_bytes},
          {"flash", flash, n.flash_bytes}}) {
      if (budget <= 0 || need <= budget) continue;
      if (cut.fits)
        cut.refused = fmt::format("{} needs {} bytes of {}, its budget is {} ({} over)", n.name,
                                  need, what, budget, need - budget);
      cut.fits = false;
      cut.over_bytes += need - budget;
    }
  }
  return cut;
}

Result<SplitObjective> ParseObjective(const std::string& name) {
  if (name == "latency") return SplitObjective::kLatency;
  if (name == "energy") return SplitObjective::kEnergy;
  if (name == "device-energy") return SplitObjective::kDeviceEnergy;
  return Status::Errorf("split: unknown objective '{}' (latency, energy, device-energy)", name);
}

double ObjectiveValue(const CutCost& c, SplitObjective o) {
  switch (o) {
    case SplitObjective::kLatency:
      return c.latency_s;
    case SplitObjective::kEnergy:
      return c.energy_j;
    case SplitObjective::kDeviceEnergy:
      return c.device_energy_j;
  }
  return c.latency_s;
}

nlohmann::json CutCostJson(const Graph& g, const Chain& c, const CutCost& cut) {
  nlohmann::json nodes = nlohmann::json::array(), links = nlohmann::json::array();
  for (size_t s = 0; s < c.nodes.size(); ++s) {
    nlohmann::json layers = nlohmann::json::array();
    for (size_t n = 0; n < cut.placement.size(); ++n)
      if (cut.placement[n] == static_cast<int>(s)) layers.push_back(g.nodes[n].name);
    nodes.push_back({{"node", c.nodes[s].name},
                     {"layers", layers},
                     {"seconds", cut.node_seconds[s]},
                     {"joules", cut.node_joules[s]},
                     {"ram_bytes", cut.node_ram_bytes[s]},
                     {"flash_bytes", cut.node_flash_bytes[s]}});
  }
  for (size_t l = 0; l < cut.tensors.size(); ++l) {
    nlohmann::json tensors = nlohmann::json::array();
    for (int t : cut.tensors[l]) tensors.push_back(g.tensor(t).name);
    links.push_back({{"from", c.nodes[l].name},
                     {"to", c.nodes[l + 1].name},
                     {"profile", c.links[l].name},
                     {"tensors", tensors},
                     {"bytes", cut.link_bytes[l]},
                     {"seconds", cut.link_seconds[l]},
                     {"joules", cut.link_joules[l]}});
  }
  nlohmann::json j = {{"nodes", nodes},
                      {"links", links},
                      {"latency_s", cut.latency_s},
                      {"energy_j", cut.energy_j},
                      {"device_energy_j", cut.device_energy_j},
                      {"fits", cut.fits}};
  if (!cut.fits) j["refused"] = cut.refused;
  return j;
}

}  // namespace tml
