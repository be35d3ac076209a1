// Per-layer quantization report: how far each layer's int8 output is from the float
// model's (signal-to-quantization-noise ratio), on real inputs. The layer where the
// SQNR drops is where accuracy goes.
//
//   TML_ASSIGN_OR_RETURN(auto rows, LayerSqnr(float_graph, int8_graph, data, 50));
#pragma once

#include <string>
#include <vector>

#include "data/loader.h"
#include "graph/graph.h"

namespace tml {

struct LayerSqnrRow {
  std::string node, op;
  double sqnr_db = 0;  // 10 log10(sum f^2 / sum (f - dequant(q))^2); +inf when equal
};

// Runs the first `samples` samples of data through both graphs (the int8 one gets
// its input quantized) and compares every node present in both by name.
Result<std::vector<LayerSqnrRow>> LayerSqnr(const Graph& float_graph, const Graph& int8_graph,
                                            const LabeledData& data, int64_t samples);

}  // namespace tml
