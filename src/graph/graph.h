// The model IR: one Graph type shared by importers, interpreter, quantizer and
// code generator. Tensors are dense and row-major; image tensors are NHWC.
// Constant tensors own their bytes. Nodes refer to tensors by index; an input
// index of -1 means "optional input absent".
//
//   Graph g;
//   int x = g.AddTensor(Tensor::Make("x", DType::kFloat32, {1, 28, 28, 1}));
//   int y = g.AddTensor(Tensor::Make("y", DType::kFloat32, {}));
//   g.AddNode(OpType::kClip, "relu", {x}, {y}).attrs.Set("min", 0.0f);
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace tml {

enum class DType : uint8_t {
  kFloat32,
  kInt8,
  kUInt8,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kBool,
};

size_t DTypeSize(DType t);
const char* DTypeName(DType t);
const char* DTypeCName(DType t);  // "int8_t", "float", ...
inline bool IsQuantizedDType(DType t) {
  return t == DType::kInt8 || t == DType::kUInt8;
}

struct QuantParams {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int axis = 0;  // dimension the per-channel parameters run along
  bool empty() const { return scale.empty(); }
  bool per_channel() const { return scale.size() > 1; }
  bool operator==(const QuantParams& o) const {
    return scale == o.scale && zero_point == o.zero_point && axis == o.axis;
  }
};

using Shape = std::vector<int64_t>;
int64_t NumElements(const Shape& s);
std::string ShapeStr(const Shape& s);

struct Tensor;
// A transposed copy of a constant: result dim d is input dim perm[d]. The
// per-channel quantization axis moves with its dimension.
Tensor PermuteConst(const Tensor& t, const std::vector<int64_t>& perm);

struct Tensor {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;
  QuantParams quant;
  bool is_const = false;
  // A recurrent op's state (TFLite's variable tensors, SVDF's activation state): read and
  // written in place by its one op, kept in the arena between invocations, zero at start.
  bool is_state = false;
  std::vector<uint8_t> data;  // bytes of a constant, little-endian

  static Tensor Make(std::string name, DType dtype, Shape shape) {
    Tensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    return t;
  }
  int64_t numel() const { return NumElements(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * DTypeSize(dtype); }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data.data());
  }
  template <typename T>
  T* mutable_as() {
    return reinterpret_cast<T*>(data.data());
  }
  // Reads element i of an integer or float constant as double / int64.
  double ValueAsDouble(int64_t i) const;
  int64_t ValueAsInt(int64_t i) const;
};

#define TML_OP_LIST(X)                   \
  X(kConv2D, "Conv2D")                   \
  X(kDepthwiseConv2D, "DepthwiseConv2D") \
  X(kFullyConnected, "FullyConnected")   \
  X(kAdd, "Add")                         \
  X(kSub, "Sub")                         \
  X(kMul, "Mul")                         \
  X(kDiv, "Div")                         \
  X(kAveragePool2D, "AveragePool2D")     \
  X(kMaxPool2D, "MaxPool2D")             \
  X(kMean, "Mean")                       \
  X(kReshape, "Reshape")                 \
  X(kSoftmax, "Softmax")                 \
  X(kLogSoftmax, "LogSoftmax")           \
  X(kClip, "Clip")                       \
  X(kLeakyRelu, "LeakyRelu")             \
  X(kLogistic, "Logistic")               \
  X(kTanh, "Tanh")                       \
  X(kPad, "Pad")                         \
  X(kConcat, "Concat")                   \
  X(kTranspose, "Transpose")             \
  X(kSlice, "Slice")                     \
  X(kQuantize, "Quantize")               \
  X(kDequantize, "Dequantize")           \
  X(kIdentity, "Identity")               \
  X(kMfcc, "Mfcc")                       \
  X(kSvdf, "Svdf")                       \
  X(kLstm, "Lstm")

enum class OpType : uint16_t {
#define TML_ENUM(e, s) e,
  TML_OP_LIST(TML_ENUM)
#undef TML_ENUM
      kCount
};

const char* OpName(OpType op);

using AttrValue =
    std::variant<int64_t, float, std::vector<int64_t>, std::vector<float>, std::string>;

class Attrs {
 public:
  void Set(const std::string& k, int64_t v) { m_[k] = v; }
  void Set(const std::string& k, int v) { m_[k] = static_cast<int64_t>(v); }
  void Set(const std::string& k, float v) { m_[k] = v; }
  void Set(const std::string& k, std::vector<int64_t> v) { m_[k] = std::move(v); }
  void Set(const std::string& k, std::vector<float> v) { m_[k] = std::move(v); }
  void Set(const std::string& k, std::string v) { m_[k] = std::move(v); }
  bool Has(const std::string& k) const { return m_.count(k) != 0; }
  int64_t Int(const std::string& k, int64_t def = 0) const;
  float Float(const std::string& k, float def = 0.0f) const;
  std::vector<int64_t> Ints(const std::string& k) const;
  std::string Str(const std::string& k, const std::string& def = "") const;
  const std::map<std::string, AttrValue>& all() const { return m_; }

 private:
  std::map<std::string, AttrValue> m_;
};

// Fused activation bounds (float), +-inf when absent.
inline constexpr float kNoMin = -std::numeric_limits<float>::infinity();
inline constexpr float kNoMax = std::numeric_limits<float>::infinity();

struct Node {
  OpType op = OpType::kIdentity;
  std::string name;
  std::vector<int> inputs;
  std::vector<int> outputs;
  Attrs attrs;
};

struct Graph {
  std::string name;
  std::vector<Tensor> tensors;
  std::vector<Node> nodes;  // execution order
  std::vector<int> inputs;
  std::vector<int> outputs;

  int AddTensor(Tensor t) {
    tensors.push_back(std::move(t));
    return static_cast<int>(tensors.size()) - 1;
  }
  int AddConst(std::string name, DType dtype, Shape shape, const void* bytes);
  Node& AddNode(OpType op, std::string name, std::vector<int> in, std::vector<int> out);

  const Tensor& tensor(int i) const { return tensors[static_cast<size_t>(i)]; }
  Tensor& tensor(int i) { return tensors[static_cast<size_t>(i)]; }
  const Tensor* input(const Node& n, size_t k) const {
    return k < n.inputs.size() && n.inputs[k] >= 0 ? &tensor(n.inputs[k]) : nullptr;
  }

  // Index checks, single producer per tensor, every input produced before use.
  Status Validate() const;
  // Reorders nodes topologically (stable); fails on a cycle.
  Status TopoSort();
  // Drops nodes whose outputs nobody needs and tensors nobody references.
  void Prune();
  // Producer node index per tensor (-1 if none), consumers per tensor.
  std::vector<int> Producers() const;
  std::vector<std::vector<int>> Consumers() const;
};

}  // namespace tml
