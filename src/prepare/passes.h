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
// keep_dequantize leaves Dequantize(constant) in place for LowerQdq.
Status FoldConstants(Graph& g, bool keep_dequantize = false);
// Composes consecutive Transposes; identity permutations become Identity and
// permutations that move no bytes (only unit dimensions move) become Reshape.
void FuseTransposes(Graph& g);
// Folds a per-channel constant Mul / Add (e.g. a batch norm) that follows a
// float Conv2D / DepthwiseConv2D / FullyConnected into its weights and bias.
void FoldAffineIntoConv(Graph& g);
// QDQ form to integer ops: Dequantize -> op -> Quantize becomes the int8 op
// (weights and int32 biases taken from their constants) whenever the int8 op
// can be prepared; anything else stays float.
void LowerQdq(Graph& g);
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
