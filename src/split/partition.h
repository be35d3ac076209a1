// A partition: the sub-model each chain node runs for one placement (split/cuts.h), and
// running them in turn on the host. Each sub-model is an ordinary graph: its inputs are
// the tensors it receives (the model's own input on the sensor's node), its outputs the
// tensors it sends on; names, shapes and quantization are the whole model's, so the
// bytes crossing a link are the bytes the whole model had there.
//
//   TML_ASSIGN_OR_RETURN(Partition part, MakePartition(g, placement, 3));
//   TML_ASSIGN_OR_RETURN(auto outputs, RunPartition(part, input_bytes));
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "split/cuts.h"

namespace tml {

struct StageGraph {
  int stage = 0;  // chain node
  Graph graph;
  // Per input / output of graph: the tensor of the whole model it is.
  std::vector<int> inputs_from, outputs_to;
};

struct Partition {
  Placement placement;
  int stages = 0;
  std::vector<StageGraph> parts;  // the chain nodes that run something, in order
  std::vector<int> model_inputs, model_outputs;
};

// Fails on an invalid placement (naming the node).
Result<Partition> MakePartition(const Graph& g, const Placement& p, int stages);

// The whole model's outputs for `inputs` (its inputs back to back), by the interpreter:
// what a partition's outputs must equal.
Result<std::vector<std::vector<uint8_t>>> RunWholeModel(const Graph& g,
                                                        const std::vector<uint8_t>& inputs);

// Runs the parts in chain order with the reference interpreter, carrying each tensor to
// the parts that need it; returns the whole model's outputs, in order, as bytes.
// `inputs`: the model's inputs, back to back.
Result<std::vector<std::vector<uint8_t>>> RunPartition(const Partition& part,
                                                       const std::vector<uint8_t>& inputs);

}  // namespace tml
