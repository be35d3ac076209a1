#include "prepare/planner.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "ops/op.h"

namespace tml {

namespace {
int64_t AlignUp(int64_t v, int64_t a) {
  return (v + a - 1) / a * a;
}

struct Buffer {
  int64_t size = 0;
  int first = 0, last = 0;
  int64_t offset = -1;
};
}  // namespace

Result<MemoryPlan> PlanMemory(const Graph& g, int64_t alignment) {
  const size_t nt = g.tensors.size();
  const int end = static_cast<int>(g.nodes.size());
  MemoryPlan plan;
  plan.alignment = alignment;
  plan.offset.assign(nt, -1);
  plan.buffer.assign(nt, -1);

  // Tensor lifetimes in node steps; graph inputs live from the start, outputs to the end.
  std::vector<int> first(nt, -1), last(nt, -1);
  auto touch = [&](int t, int step) {
    if (t < 0 || g.tensor(t).is_const) return;
    const size_t i = static_cast<size_t>(t);
    if (first[i] < 0 || step < first[i]) first[i] = step;
    last[i] = std::max(last[i], step);
  };
  for (int t : g.inputs) touch(t, 0);
  for (int s = 0; s < end; ++s) {
    for (int t : g.nodes[static_cast<size_t>(s)].inputs) touch(t, s);
    for (int t : g.nodes[static_cast<size_t>(s)].outputs) touch(t, s);
  }
  for (int t : g.outputs) touch(t, end);
  // Recurrent state lives through every invocation: no other tensor may ever share it.
  std::vector<int> states;
  for (int t = 0; t < static_cast<int>(nt); ++t)
    if (g.tensor(t).is_state && first[static_cast<size_t>(t)] >= 0) {
      first[static_cast<size_t>(t)] = 0;
      last[static_cast<size_t>(t)] = end;
      states.push_back(t);
    }

  std::vector<char> is_graph_io(nt, 0);
  for (int t : g.inputs) is_graph_io[static_cast<size_t>(t)] = 1;
  for (int t : g.outputs) is_graph_io[static_cast<size_t>(t)] = 1;
  for (int t : states) is_graph_io[static_cast<size_t>(t)] = 1;

  std::vector<Buffer> buffers;
  auto new_buffer = [&](int t) {
    const size_t i = static_cast<size_t>(t);
    plan.buffer[i] = static_cast<int>(buffers.size());
    buffers.push_back({static_cast<int64_t>(g.tensor(t).nbytes()), first[i], last[i], -1});
  };
  for (int t : g.inputs) new_buffer(t);
  for (int t : states) new_buffer(t);
  for (int s = 0; s < end; ++s) {
    const Node& n = g.nodes[static_cast<size_t>(s)];
    const Inplace mode = Schema(n.op).inplace;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const int t = n.outputs[k];
      if (plan.buffer[static_cast<size_t>(t)] >= 0) continue;
      int shared = -1;
      const int in0 = n.inputs.empty() ? -1 : n.inputs[0];
      if (k == 0 && in0 >= 0 && !g.tensor(in0).is_const &&
          plan.buffer[static_cast<size_t>(in0)] >= 0) {
        const int b = plan.buffer[static_cast<size_t>(in0)];
        const bool same_size = g.tensor(in0).nbytes() == g.tensor(t).nbytes();
        if (mode == Inplace::kAlias && same_size) shared = b;
        // Overwrite the input only if nothing reads it later and it is no graph output.
        if (mode == Inplace::kElementwise && same_size &&
            buffers[static_cast<size_t>(b)].last == s && !is_graph_io[static_cast<size_t>(in0)] &&
            std::count(n.inputs.begin(), n.inputs.end(), in0) == 1)
          shared = b;
      }
      if (shared >= 0) {
        plan.buffer[static_cast<size_t>(t)] = shared;
        Buffer& b = buffers[static_cast<size_t>(shared)];
        b.last = std::max(b.last, last[static_cast<size_t>(t)]);
      } else {
        new_buffer(t);
      }
    }
  }

  // Several greedy orderings (by size, by size x lifetime, by first use, ...),
  // each with first-fit and best-fit placement, then a short seeded local
  // search over the best order; the smallest arena wins.
  std::vector<int64_t> sizes(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i)
    sizes[i] = AlignUp(std::max<int64_t>(buffers[i].size, 1), alignment);
  auto place = [&](const std::vector<size_t>& order, bool best_fit, std::vector<int64_t>& offsets) {
    offsets.assign(buffers.size(), -1);
    int64_t arena = 0;
    std::vector<size_t> placed;
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t bi : order) {
      const Buffer& b = buffers[bi];
      busy.clear();
      for (size_t pi : placed) {
        const Buffer& o = buffers[pi];
        if (o.first <= b.last && b.first <= o.last)
          busy.push_back({offsets[pi], offsets[pi] + sizes[pi]});
      }
      std::sort(busy.begin(), busy.end());
      int64_t best = -1, best_gap = INT64_MAX, cursor = 0;
      for (auto [lo, hi] : busy) {
        if (lo - cursor >= sizes[bi]) {
          if (!best_fit) {
            best = cursor;
            break;
          }
          if (lo - cursor < best_gap) {
            best_gap = lo - cursor;
            best = cursor;
          }
        }
        cursor = std::max(cursor, hi);
      }
      if (best < 0) best = cursor;
      offsets[bi] = best;
      placed.push_back(bi);
      arena = std::max(arena, best + sizes[bi]);
    }
    return arena;
  };
  std::vector<size_t> base(buffers.size());
  std::iota(base.begin(), base.end(), 0);
  auto sorted = [&](auto less) {
    std::vector<size_t> o = base;
    std::stable_sort(o.begin(), o.end(), less);
    return o;
  };
  const std::vector<std::vector<size_t>> orders = {
      sorted([&](size_t a, size_t b) { return sizes[a] > sizes[b]; }),
      sorted([&](size_t a, size_t b) {
        return sizes[a] * (buffers[a].last - buffers[a].first + 1) >
               sizes[b] * (buffers[b].last - buffers[b].first + 1);
      }),
      sorted([&](size_t a, size_t b) { return buffers[a].first < buffers[b].first; }),
      sorted([&](size_t a, size_t b) {
        return buffers[a].last - buffers[a].first > buffers[b].last - buffers[b].first;
      }),
  };
  std::vector<int64_t> offsets, best_offsets;
  std::vector<size_t> best_order;
  bool best_fit_mode = false;
  int64_t best_arena = INT64_MAX;
  for (const auto& order : orders)
    for (bool bf : {false, true}) {
      const int64_t a = place(order, bf, offsets);
      if (a < best_arena) {
        best_arena = a;
        best_offsets = offsets;
        best_order = order;
        best_fit_mode = bf;
      }
    }
  // Local search: swap two buffers in the placement order, keep improvements.
  int64_t live_peak = 0;
  for (int s = 0; s <= end; ++s) {
    int64_t live = 0;
    for (size_t i = 0; i < buffers.size(); ++i)
      if (buffers[i].first <= s && s <= buffers[i].last) live += sizes[i];
    live_peak = std::max(live_peak, live);
  }
  plan.lower_bound_bytes = live_peak;
  if (buffers.size() > 1 && buffers.size() <= 400) {
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 300 && best_arena > live_peak; ++iter) {
      std::vector<size_t> order = best_order;
      std::swap(order[rng() % order.size()], order[rng() % order.size()]);
      const int64_t a = place(order, best_fit_mode, offsets);
      if (a <= best_arena) {
        best_arena = a;
        best_offsets = offsets;
        best_order = std::move(order);
      }
    }
  }
  plan.arena_bytes = buffers.empty() ? 0 : best_arena;
  for (size_t i = 0; i < buffers.size(); ++i) {
    buffers[i].offset = best_offsets[i];
    plan.buffers.push_back({buffers[i].offset, buffers[i].size, buffers[i].first, buffers[i].last});
  }
  for (size_t t = 0; t < nt; ++t)
    if (plan.buffer[t] >= 0) plan.offset[t] = buffers[static_cast<size_t>(plan.buffer[t])].offset;

  return plan;
}

}  // namespace tml
