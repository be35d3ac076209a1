#include "graph/planner.h"

#include <algorithm>
#include <numeric>

#include "ops/op.h"

namespace tml {

namespace {
int64_t AlignUp(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

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

  std::vector<char> is_graph_io(nt, 0);
  for (int t : g.inputs) is_graph_io[static_cast<size_t>(t)] = 1;
  for (int t : g.outputs) is_graph_io[static_cast<size_t>(t)] = 1;

  std::vector<Buffer> buffers;
  auto new_buffer = [&](int t) {
    const size_t i = static_cast<size_t>(t);
    plan.buffer[i] = static_cast<int>(buffers.size());
    buffers.push_back({static_cast<int64_t>(g.tensor(t).nbytes()), first[i], last[i], -1});
  };
  for (int t : g.inputs) new_buffer(t);
  for (int s = 0; s < end; ++s) {
    const Node& n = g.nodes[static_cast<size_t>(s)];
    const Inplace mode = Schema(n.op).inplace;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const int t = n.outputs[k];
      if (plan.buffer[static_cast<size_t>(t)] >= 0) continue;
      int shared = -1;
      const int in0 = n.inputs.empty() ? -1 : n.inputs[0];
      if (k == 0 && in0 >= 0 && !g.tensor(in0).is_const && plan.buffer[static_cast<size_t>(in0)] >= 0) {
        const int b = plan.buffer[static_cast<size_t>(in0)];
        const bool same_size = g.tensor(in0).nbytes() == g.tensor(t).nbytes();
        if (mode == Inplace::kAlias && same_size) shared = b;
        // Overwrite the input only if nothing reads it later and it is no graph output.
        if (mode == Inplace::kElementwise && same_size && buffers[static_cast<size_t>(b)].last == s &&
            !is_graph_io[static_cast<size_t>(in0)] &&
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

  // Greedy by size: each buffer takes the lowest offset that does not collide
  // with an already placed buffer whose lifetime overlaps.
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buffers[a].size != buffers[b].size) return buffers[a].size > buffers[b].size;
    return buffers[a].first < buffers[b].first;
  });
  std::vector<size_t> placed;
  for (size_t bi : order) {
    Buffer& b = buffers[bi];
    const int64_t size = AlignUp(std::max<int64_t>(b.size, 1), alignment);
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t pi : placed) {
      const Buffer& o = buffers[pi];
      if (o.first <= b.last && b.first <= o.last)
        busy.push_back({o.offset, o.offset + AlignUp(std::max<int64_t>(o.size, 1), alignment)});
    }
    std::sort(busy.begin(), busy.end());
    int64_t candidate = 0;
    for (auto [lo, hi] : busy) {
      if (candidate + size <= lo) break;
      candidate = std::max(candidate, hi);
    }
    b.offset = candidate;
    placed.push_back(bi);
    plan.arena_bytes = std::max(plan.arena_bytes, candidate + size);
  }
  for (size_t t = 0; t < nt; ++t)
    if (plan.buffer[t] >= 0) plan.offset[t] = buffers[static_cast<size_t>(plan.buffer[t])].offset;

  for (int s = 0; s <= end; ++s) {
    int64_t live = 0;
    for (const Buffer& b : buffers)
      if (b.first <= s && s <= b.last) live += AlignUp(std::max<int64_t>(b.size, 1), alignment);
    plan.lower_bound_bytes = std::max(plan.lower_bound_bytes, live);
  }
  return plan;
}

}  // namespace tml
