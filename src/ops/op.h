// The op registry: one entry per op type feeds shape inference, MAC counting,
// the host interpreter, constant folding and the C code generator. A node is
// "lowered" once (all checks and all requantization constants computed at
// prepare time); the lowered op then runs on the host or describes the identical
// kernel call for generated C and model packages, which is why host and device agree
// bit for bit.
//
//   const OpSchema& s = Schema(node.op);
//   TML_RETURN_IF_ERROR(s.infer(graph, node));
//   TML_ASSIGN_OR_RETURN(auto lowered, s.lower(graph, node));
//   lowered->Run(io);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/kernel_call.h"

namespace tml {

struct KernelIO {
  std::vector<const void*> in;  // nullptr for an absent optional input
  std::vector<void*> out;
};

class LoweredOp {
 public:
  virtual ~LoweredOp() = default;
  virtual void Run(const KernelIO& io) const = 0;
  // The kernel call generated code and model packages make; reference_kernels: the
  // portable reference kernels only.
  virtual KernelCall Call(bool reference_kernels) const = 0;
  // Runtime kernel source files (under runtime/kernels/) the call needs.
  virtual std::vector<std::string> Sources() const = 0;
  // Scratch memory the emitted call needs (shared by all layers, outside the arena).
  virtual int64_t ScratchBytes(bool reference_kernels) const {
    (void)reference_kernels;
    return 0;
  }
};

// How the memory planner may place a node's first output.
enum class Inplace {
  kNone,         // needs its own buffer
  kAlias,        // is a view of input 0 (reshape): same bytes, no copy
  kElementwise,  // may overwrite input 0 when input 0 dies here and sizes match
};

// How post-training quantization (src/squeeze/quantize.cc) sets an op's int8 output.
enum class QuantRule : uint8_t {
  kNone,          // no int8 form: quantizing a graph with this op is an error
  kWeighted,      // conv / fc: per-channel weights, int32 bias, calibrated output
  kSameAsInput,   // moves or selects values: the output keeps the input's parameters
  kActivation,    // calibrated per-tensor output (add, mean, clip, ...)
  kConcat,        // calibrated output, inputs requantized to it where they differ
  kFixedSigmoid,  // TFLite's fixed output parameters 1/256, -128 (softmax, logistic)
  kFixedTanh,     // 1/128, 0
  kSvdf,          // TFLite's integer SVDF: int8 feature weights, int16 time weights and state
  kLstm,          // TFLite's integer LSTM: int8 weights per gate, int16 power-of-two cell state
};

struct OpSchema {
  OpType op = OpType::kIdentity;
  int min_inputs = 1, max_inputs = 1;
  Status (*infer)(Graph& g, const Node& n) = nullptr;
  Result<std::unique_ptr<LoweredOp>> (*lower)(const Graph& g, const Node& n) = nullptr;
  int64_t (*macs)(const Graph& g, const Node& n) = nullptr;  // nullptr: 0
  Inplace inplace = Inplace::kNone;
  QuantRule quant = QuantRule::kNone;
  // Dequantize -> op -> Quantize of a QDQ model may become the int8 op (graph passes).
  bool qdq_lowerable = false;
  // Moves or selects values without arithmetic: lowered from QDQ only when every input
  // already has the output's quantization.
  bool data_movement = false;
  // Applies an activation range (attributes act_min / act_max) to its output, so a
  // following Clip can be fused into it (prepare/passes.cc) and importers may set one.
  bool fused_activation = false;
};

const OpSchema& Schema(OpType op);
// Runs shape inference for one node after checking the input count.
Status InferNode(Graph& g, const Node& n);
int64_t NodeMacs(const Graph& g, const Node& n);
// "node 'conv1' (Conv2D): " prefix for error messages.
std::string NodeWhere(const Node& n);

// Registration helpers, one per op family file.
void RegisterConvOps(std::vector<OpSchema>& r);
void RegisterFullyConnectedOps(std::vector<OpSchema>& r);
void RegisterPoolOps(std::vector<OpSchema>& r);
void RegisterBinaryOps(std::vector<OpSchema>& r);
void RegisterUnaryOps(std::vector<OpSchema>& r);
void RegisterSoftmaxOps(std::vector<OpSchema>& r);
void RegisterMeanOps(std::vector<OpSchema>& r);
void RegisterShapeOps(std::vector<OpSchema>& r);
void RegisterQuantizeOps(std::vector<OpSchema>& r);
void RegisterSliceOps(std::vector<OpSchema>& r);
void RegisterDspOps(std::vector<OpSchema>& r);
void RegisterSvdfOps(std::vector<OpSchema>& r);
void RegisterLstmOps(std::vector<OpSchema>& r);

}  // namespace tml
