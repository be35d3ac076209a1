// Best placements beyond exhaustive enumeration: an s-t minimum cut. Every objective of
// the cost model is a sum of per-layer costs (the layer's time or energy on the node that
// runs it) and per-byte costs of the tensors crossing each link, so the best placement
// onto a chain of nodes 0..F is a minimum cut of a flow graph built from the model
// (Ishikawa's construction for ordered labels): per layer, a chain of F vertices whose
// cut position is the node that runs it; per tensor and link, one vertex that is cut when
// the tensor crosses the link; infinite edges that keep data flowing up the chain.
// Budgets (RAM, flash) are not sums over layers: where the optimum breaks one, the
// search is repeated with a per-byte penalty on that node, doubled each round, and every
// placement met on the way is returned for the caller to cost exactly.
//
//   TML_ASSIGN_OR_RETURN(auto ps, MinCutPlacements(g, chain, costs, SplitObjective::kLatency));
#pragma once

#include <vector>

#include "split/cost.h"

namespace tml {

// The placement minimizing the objective's additive part, with graph outputs delivered on
// chain node `top` and no layer above it; `penalty[s][n]`: extra cost (in the
// objective's unit) of running graph node n on chain node s (empty: none).
Result<Placement> MinCutPlacement(const Graph& g, const Chain& c, const LayerCosts& lc,
                                  SplitObjective o, int top,
                                  const std::vector<std::vector<double>>& penalty = {});

// The optimum for each top node 1..stages-1, then, while it breaks a budget, penalized
// optima; distinct, each valid.
Result<std::vector<Placement>> MinCutPlacements(const Graph& g, const Chain& c,
                                                const LayerCosts& lc, SplitObjective o);

}  // namespace tml
