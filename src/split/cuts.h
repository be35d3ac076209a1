// Cuts of a graph across a node chain. A placement gives each graph node the chain node
// that runs it (0: the sensor's); the cut is the set of tensors that cross each link.
// A placement is valid when data only flows up the chain: every input of a node is a
// constant, a graph input (at chain node 0) or a tensor produced on the same chain node
// or an earlier one. Residual branches need no special case: a skip connection whose
// ends are on different nodes is one more tensor crossing the links between them.
//
//   TML_ASSIGN_OR_RETURN(CutSearch s, EnumeratePlacements(g, 3));
//   for (const Placement& p : s.placements) LinkTensors(g, p, 3) ...
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml {

using Placement = std::vector<int>;  // per graph node (execution order): its chain node

struct CutSearch {
  std::vector<Placement> placements;
  // true: every valid placement; false: the graph had more than the cap, and these are
  // the placements that keep each chain node's part contiguous in execution order.
  bool exact = true;
};

// Every valid placement of g's nodes onto `stages` chain nodes (2 or 3), in a fixed
// order; beyond `cap` placements, the contiguous ones only (split/min_cut.h finds the best
// of the others).
Result<CutSearch> EnumeratePlacements(const Graph& g, int stages, size_t cap = 200000);

// Whether p is valid for g on `stages` chain nodes; if not, why (naming the node).
bool ValidPlacement(const Graph& g, const Placement& p, int stages, std::string* why = nullptr);

// The last chain node that runs a graph node: where the graph's outputs are delivered.
int FinalStage(const Placement& p);

// Per link (stages - 1 of them), the tensors it carries, by index in g: those produced
// below it and needed above it (graph inputs start at chain node 0; graph outputs are
// needed at FinalStage). A tensor passing a node that does not use it is relayed.
std::vector<std::vector<int>> LinkTensors(const Graph& g, const Placement& p, int stages);

}  // namespace tml
