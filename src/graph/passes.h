// Graph passes run after import and before planning / interpretation / codegen.
//
//   TML_RETURN_IF_ERROR(PrepareGraph(graph));  // validated, shaped, folded, fused
#pragma once

#include "graph/graph.h"

namespace tml {

// Shape and type inference for every node, in order.
Status InferShapes(Graph& g);
// Evaluates nodes whose inputs are all constants (with the reference kernels)
// and replaces them by constants. Converters' shape subgraphs disappear here.
Status FoldConstants(Graph& g);
// Rewires consumers of Identity nodes to the identity's input.
void RemoveIdentities(Graph& g);
// Merges Clip (Relu, Relu6) into the producing Conv / FullyConnected / Add / ...
void FuseActivations(Graph& g);
// Hybrid models (float activations, int8 constant weights): weights become float.
void DequantizeHybridWeights(Graph& g);
// Lowers every node once so that unsupported type combinations are reported
// before any other work, all of them in one message.
Status CheckLowerable(const Graph& g);

// Validate, topologically sort, infer shapes, fold, fuse, prune, check.
Status PrepareGraph(Graph& g);

}  // namespace tml
