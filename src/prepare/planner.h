// Memory planner: from tensor lifetimes in execution order, one offset per
// non-constant tensor inside a single arena. It only answers "tensor i lives at
// offset o"; the interpreter, the code generator and device packages all
// consume the same plan.
//
//   TML_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(graph));
//   uint8_t* p = arena + plan.offset[tensor_index];
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace tml {

// One arena buffer: the tensors that share it live from node `first` to node
// `last` (graph inputs from 0, graph outputs to the node count).
struct PlannedBuffer {
  int64_t offset = 0, bytes = 0;
  int first = 0, last = 0;
};

struct MemoryPlan {
  std::vector<int64_t> offset;         // per tensor; -1 for constants and unused tensors
  std::vector<int> buffer;             // per tensor: shared buffer id (aliases share), -1 if none
  std::vector<PlannedBuffer> buffers;  // by buffer id
  int64_t arena_bytes = 0;
  // Largest sum of simultaneously live buffers: no plan can use less.
  int64_t lower_bound_bytes = 0;
  int64_t alignment = 16;
};

Result<MemoryPlan> PlanMemory(const Graph& g, int64_t alignment = 16);

}  // namespace tml
