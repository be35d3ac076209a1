#include "split/min_cut.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <set>

namespace tml {

namespace {

// Maximum flow by Dinic's algorithm on integer capacities; after Run, Reachable() is the
// source side of a minimum cut.
class FlowGraph {
 public:
  static constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;

  explicit FlowGraph(int vertices) : adj_(static_cast<size_t>(vertices)) {}
  int AddVertex() {
    adj_.emplace_back();
    return static_cast<int>(adj_.size()) - 1;
  }
  void AddEdge(int from, int to, int64_t cap) {
    if (cap <= 0 || from == to) return;
    adj_[static_cast<size_t>(from)].push_back(edges_.size());
    edges_.push_back({to, cap});
    adj_[static_cast<size_t>(to)].push_back(edges_.size());
    edges_.push_back({from, 0});
  }
  void Run(int s, int t) {
    while (Levels(s, t)) {
      next_.assign(adj_.size(), 0);
      while (Push(s, t, kInf) > 0) {
      }
    }
  }
  std::vector<bool> Reachable(int s) const {
    std::vector<bool> seen(adj_.size(), false);
    std::vector<int> stack = {s};
    seen[static_cast<size_t>(s)] = true;
    while (!stack.empty()) {
      const int v = stack.back();
      stack.pop_back();
      for (size_t e : adj_[static_cast<size_t>(v)]) {
        const int w = edges_[e].to;
        if (edges_[e].cap > 0 && !seen[static_cast<size_t>(w)]) {
          seen[static_cast<size_t>(w)] = true;
          stack.push_back(w);
        }
      }
    }
    return seen;
  }

 private:
  struct Edge {
    int to;
    int64_t cap;  // residual
  };
  bool Levels(int s, int t) {
    level_.assign(adj_.size(), -1);
    std::queue<int> q;
    level_[static_cast<size_t>(s)] = 0;
    q.push(s);
    while (!q.empty()) {
      const int v = q.front();
      q.pop();
      for (size_t e : adj_[static_cast<size_t>(v)]) {
        const int w = edges_[e].to;
        if (edges_[e].cap > 0 && level_[static_cast<size_t>(w)] < 0) {
          level_[static_cast<size_t>(w)] = level_[static_cast<size_t>(v)] + 1;
          q.push(w);
        }
      }
    }
    return level_[static_cast<size_t>(t)] >= 0;
  }
  int64_t Push(int v, int t, int64_t limit) {
    if (v == t) return limit;
    auto& i = next_[static_cast<size_t>(v)];
    for (; i < adj_[static_cast<size_t>(v)].size(); ++i) {
      const size_t e = adj_[static_cast<size_t>(v)][i];
      const int w = edges_[e].to;
      if (edges_[e].cap <= 0 ||
          level_[static_cast<size_t>(w)] != level_[static_cast<size_t>(v)] + 1)
        continue;
      const int64_t got = Push(w, t, std::min(limit, edges_[e].cap));
      if (got > 0) {
        edges_[e].cap -= got;
        edges_[e ^ 1].cap += got;
        return got;
      }
    }
    return 0;
  }

  std::vector<std::vector<size_t>> adj_;
  std::vector<Edge> edges_;
  std::vector<int> level_;
  std::vector<size_t> next_;
};

double LayerCost(const LayerCosts& lc, SplitObjective o, int stage, size_t n) {
  const NodeLayerCosts& c = lc.nodes[static_cast<size_t>(stage)];
  switch (o) {
    case SplitObjective::kLatency:
      return c.seconds[n];
    case SplitObjective::kEnergy:
      return c.joules[n];
    case SplitObjective::kDeviceEnergy:
      return stage == 0 ? c.joules[n] : 0.0;
  }
  return 0.0;
}

double ByteCost(const Chain& c, SplitObjective o, size_t link) {
  const LinkProfile& l = c.links[link];
  switch (o) {
    case SplitObjective::kLatency:
      return l.bandwidth_bps > 0 ? 8.0 / l.bandwidth_bps : 0.0;
    case SplitObjective::kEnergy:
      return l.energy_nj_per_byte * 1e-9;
    case SplitObjective::kDeviceEnergy:
      return link == 0 ? l.energy_nj_per_byte * 1e-9 : 0.0;
  }
  return 0.0;
}

}  // namespace

Result<Placement> MinCutPlacement(const Graph& g, const Chain& c, const LayerCosts& lc,
                                  SplitObjective o, int top,
                                  const std::vector<std::vector<double>>& penalty) {
  const int stages = static_cast<int>(c.nodes.size());
  const size_t n = g.nodes.size();
  if (top < 1 || top >= stages)
    return Status::Errorf("split: top node {} is not in 1..{}", top, stages - 1);
  if (lc.nodes.size() != c.nodes.size() || c.links.size() + 1 != c.nodes.size())
    return Status::Error("split: layer costs are not for this chain");
  for (const NodeLayerCosts& nc : lc.nodes)
    if (nc.seconds.size() != n || nc.joules.size() != n)
      return Status::Error("split: layer costs are not for this model");
  const auto cost = [&](int s, size_t v) {
    double x = LayerCost(lc, o, s, v);
    if (!penalty.empty()) x += penalty[static_cast<size_t>(s)][v];
    return std::max(x, 0.0);
  };
  // Costs become integers: scaled so that everything together stays far below kInf.
  const std::vector<int> producer = g.Producers();
  const auto consumers = g.Consumers();
  std::vector<bool> is_output(g.tensors.size(), false);
  for (int t : g.outputs) is_output[static_cast<size_t>(t)] = true;
  double total = 0;
  for (size_t v = 0; v < n; ++v) {
    double most = 0;
    for (int s = 0; s <= top; ++s) most = std::max(most, cost(s, v));
    total += most;
  }
  double per_byte = 0;
  for (int l = 0; l < top; ++l) per_byte += ByteCost(c, o, static_cast<size_t>(l));
  for (const Tensor& t : g.tensors)
    if (!t.is_const) total += per_byte * static_cast<double>(t.nbytes());
  const double scale = total > 0 ? 1e15 / total : 1.0;
  const auto units = [&](double x) { return static_cast<int64_t>(std::llround(x * scale)); };

  // Vertex (v, k) for k < top is on the sink side when layer v runs above chain node k.
  const int src = 0, sink = 1;
  FlowGraph f(2 + static_cast<int>(n) * top);
  const auto var = [&](size_t v, int k) { return 2 + static_cast<int>(v) * top + k; };
  for (size_t v = 0; v < n; ++v) {
    f.AddEdge(var(v, 0), sink, units(cost(0, v)));
    for (int s = 1; s < top; ++s) f.AddEdge(var(v, s), var(v, s - 1), units(cost(s, v)));
    f.AddEdge(src, var(v, top - 1), units(cost(top, v)));
    for (int k = 1; k < top; ++k) f.AddEdge(var(v, k - 1), var(v, k), FlowGraph::kInf);
  }
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    if (g.tensors[t].is_const) continue;
    const int p = producer[t];
    for (int k = 0; k < top; ++k) {
      // Data flows up: a consumer runs on its producer's node or above.
      if (p >= 0)
        for (int q : consumers[t])
          f.AddEdge(var(static_cast<size_t>(q), k), var(static_cast<size_t>(p), k),
                    FlowGraph::kInf);
      if (consumers[t].empty() && !is_output[t]) continue;
      // The tensor crosses link k when its producer is at or below k and a consumer (or
      // the delivery of a graph output, at `top`) above it.
      const int64_t w = units(ByteCost(c, o, static_cast<size_t>(k)) *
                              static_cast<double>(g.tensors[t].nbytes()));
      const int cross = f.AddVertex();
      for (int q : consumers[t]) f.AddEdge(cross, var(static_cast<size_t>(q), k), FlowGraph::kInf);
      if (is_output[t]) f.AddEdge(cross, sink, FlowGraph::kInf);
      f.AddEdge(p >= 0 ? var(static_cast<size_t>(p), k) : src, cross, w);
    }
  }
  f.Run(src, sink);
  const std::vector<bool> source_side = f.Reachable(src);
  Placement out(n, 0);
  for (size_t v = 0; v < n; ++v)
    for (int k = 0; k < top; ++k)
      if (!source_side[static_cast<size_t>(var(v, k))]) out[v] = k + 1;
  std::string why;
  if (!ValidPlacement(g, out, stages, &why))
    return Status::Errorf("split: the minimum cut gave an invalid placement: {}", why);
  return out;
}

Result<std::vector<Placement>> MinCutPlacements(const Graph& g, const Chain& c,
                                                const LayerCosts& lc, SplitObjective o) {
  const int stages = static_cast<int>(c.nodes.size());
  const size_t n = g.nodes.size();
  // Per layer, the bytes a budget penalty weighs: its weights (flash), its outputs (RAM).
  std::vector<double> weight_bytes(n, 0), output_bytes(n, 0);
  for (size_t v = 0; v < n; ++v) {
    for (int t : g.nodes[v].inputs)
      if (t >= 0 && g.tensor(t).is_const)
        weight_bytes[v] += static_cast<double>(g.tensor(t).nbytes());
    for (int t : g.nodes[v].outputs)
      if (t >= 0) output_bytes[v] += static_cast<double>(g.tensor(t).nbytes());
  }
  std::vector<Placement> out;
  std::set<Placement> seen;
  for (int top = 1; top < stages; ++top) {
    std::vector<std::vector<double>> penalty;
    std::vector<double> ram_rate(static_cast<size_t>(stages), 0), flash_rate = ram_rate;
    for (int round = 0; round < 32; ++round) {
      TML_ASSIGN_OR_RETURN(Placement p, MinCutPlacement(g, c, lc, o, top, penalty));
      if (seen.insert(p).second) out.push_back(p);
      TML_ASSIGN_OR_RETURN(CutCost cut, CostOfCut(g, c, lc, p));
      if (cut.fits) break;
      // Each node over a budget: its per-byte penalty starts at a quarter of the
      // objective over the bytes it needs, and doubles.
      const double value = std::max(ObjectiveValue(cut, o), 1e-12);
      penalty.assign(static_cast<size_t>(stages), std::vector<double>(n, 0.0));
      for (size_t s = 0; s < static_cast<size_t>(stages); ++s) {
        const ChainNode& node = c.nodes[s];
        const auto bump = [&](double& rate, int64_t need, int64_t budget) {
          if (budget <= 0 || need <= budget) return;
          rate = rate > 0 ? 2 * rate : 0.25 * value / static_cast<double>(need);
        };
        bump(ram_rate[s], cut.node_ram_bytes[s], node.ram_bytes);
        bump(flash_rate[s], cut.node_flash_bytes[s], node.flash_bytes);
        for (size_t v = 0; v < n; ++v)
          penalty[s][v] = ram_rate[s] * output_bytes[v] + flash_rate[s] * weight_bytes[v];
      }
    }
  }
  return out;
}

}  // namespace tml
