#include "split/cuts.h"

#include <algorithm>

namespace tml {

namespace {

// Per node, the nodes producing its non-constant inputs (graph inputs have none).
std::vector<std::vector<int>> ProducerNodes(const Graph& g) {
  const std::vector<int> producer = g.Producers();
  std::vector<std::vector<int>> out(g.nodes.size());
  for (size_t n = 0; n < g.nodes.size(); ++n)
    for (int t : g.nodes[n].inputs)
      if (t >= 0 && !g.tensor(t).is_const && producer[static_cast<size_t>(t)] >= 0)
        out[n].push_back(producer[static_cast<size_t>(t)]);
  return out;
}

}  // namespace

int FinalStage(const Placement& p) {
  return p.empty() ? 0 : *std::max_element(p.begin(), p.end());
}

bool ValidPlacement(const Graph& g, const Placement& p, int stages, std::string* why) {
  const auto fail = [&](std::string m) {
    if (why) *why = std::move(m);
    return false;
  };
  if (p.size() != g.nodes.size())
    return fail(fmt::format("{} placements for {} nodes", p.size(), g.nodes.size()));
  const auto producers = ProducerNodes(g);
  for (size_t n = 0; n < p.size(); ++n) {
    if (p[n] < 0 || p[n] >= stages)
      return fail(
          fmt::format("node {} placed on chain node {} of {}", g.nodes[n].name, p[n], stages));
    for (int q : producers[n])
      if (p[static_cast<size_t>(q)] > p[n])
        return fail(fmt::format("node {} on chain node {} needs the output of {} on chain node {}",
                                g.nodes[n].name, p[n], g.nodes[static_cast<size_t>(q)].name,
                                p[static_cast<size_t>(q)]));
  }
  return true;
}

Result<CutSearch> EnumeratePlacements(const Graph& g, int stages, size_t cap) {
  if (stages < 2 || stages > 3)
    return Status::Errorf("split: a chain has 2 or 3 nodes, not {}", stages);
  const size_t n = g.nodes.size();
  if (n == 0) return Status::Errorf("split: model {} has no layers", g.name);
  const auto producers = ProducerNodes(g);
  for (size_t v = 0; v < n; ++v)
    for (int q : producers[v])
      if (static_cast<size_t>(q) >= v)
        return Status::Errorf("split: model {} is not in execution order at node {}", g.name,
                              g.nodes[v].name);
  CutSearch out;
  // Depth first over the nodes in execution order: a node goes on its producers' highest
  // chain node or above. Each valid placement is reached once, on one path.
  Placement p(n, 0);
  bool over = false;
  const auto visit = [&](auto&& self, size_t v) -> void {
    if (over) return;
    if (v == n) {
      if (out.placements.size() >= cap) {
        over = true;
        return;
      }
      out.placements.push_back(p);
      return;
    }
    int low = 0;
    for (int q : producers[v]) low = std::max(low, p[static_cast<size_t>(q)]);
    for (int s = low; s < stages && !over; ++s) {
      p[v] = s;
      self(self, v + 1);
    }
  };
  visit(visit, 0);
  if (!over) return out;
  // Too many: the placements whose parts are contiguous runs of the execution order
  // (always valid, since producers come first).
  out.placements.clear();
  out.exact = false;
  for (size_t a = 0; a <= n; ++a) {
    for (size_t b = a; b <= n; ++b) {
      if (stages == 2 && b != n) continue;  // two parts: [0, a) and [a, n)
      Placement q(n, 0);
      for (size_t v = 0; v < n; ++v) q[v] = v < a ? 0 : (v < b ? 1 : 2);
      out.placements.push_back(std::move(q));
    }
  }
  return out;
}

std::vector<std::vector<int>> LinkTensors(const Graph& g, const Placement& p, int stages) {
  std::vector<std::vector<int>> links(static_cast<size_t>(std::max(stages - 1, 0)));
  const std::vector<int> producer = g.Producers();
  const auto consumers = g.Consumers();
  const int final_stage = FinalStage(p);
  std::vector<bool> is_output(g.tensors.size(), false);
  for (int t : g.outputs) is_output[static_cast<size_t>(t)] = true;
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    if (g.tensors[t].is_const) continue;  // each node holds its own weights
    const int from = producer[t] >= 0 ? p[static_cast<size_t>(producer[t])] : 0;
    int to = is_output[t] ? final_stage : -1;
    for (int c : consumers[t]) to = std::max(to, p[static_cast<size_t>(c)]);
    for (int l = from; l < to; ++l) links[static_cast<size_t>(l)].push_back(static_cast<int>(t));
  }
  return links;
}

}  // namespace tml
