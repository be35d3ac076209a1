// TFLite models for tests, written as JSON against the project's schema file
// (src/formats/tflite.fbs) and turned into flatbuffers by `flatc -b`, the way a
// converter's output is laid out: real options tables, real quantization fields.
//
//   JsonModel m;
//   int x = m.Tensor({"x", "FLOAT32", {1, 4}});
//   int y = m.Tensor({"y", "FLOAT32", {1, 4}});
//   m.Op({"RELU", "", "", {x}, {y}});
//   m.inputs = {x}; m.outputs = {y};
//   auto bytes = BuildWithFlatc(m, "relu");   // Result<std::vector<uint8_t>>
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml::testing {

struct JsonTensor {
  std::string name;
  std::string type = "FLOAT32";  // TensorType name
  std::vector<int> shape;
  std::vector<uint8_t> data;  // constant bytes; empty for activations
  std::vector<float> scale;   // quantization (empty: none)
  std::vector<int64_t> zero_point;
  int quantized_dimension = 0;
  bool is_variable = false;  // a variable tensor (recurrent state)
};

struct JsonOp {
  std::string code;          // BuiltinOperator name, "CONV_2D"
  std::string options_type;  // BuiltinOptions member, "Conv2DOptions"; "" for none
  std::string options;       // the options table's JSON fields, "stride_w: 2, padding: \"SAME\""
  std::vector<int> inputs, outputs;
};

struct JsonModel {
  std::vector<JsonTensor> tensors;
  std::vector<JsonOp> ops;
  std::vector<int> inputs, outputs;
  int Tensor(JsonTensor t) {
    tensors.push_back(std::move(t));
    return static_cast<int>(tensors.size()) - 1;
  }
  void Op(JsonOp op) { ops.push_back(std::move(op)); }
  std::string Json() const;
};

// Writes the JSON under WorkDir and runs flatc on it; the error carries flatc's message.
Result<std::vector<uint8_t>> BuildWithFlatc(const JsonModel& m, const std::string& name);

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return std::vector<uint8_t>(p, p + v.size() * sizeof(T));
}

// The Keras flatten in front of a small int8 CNN: x -> DEPTHWISE_CONV_2D (its bias
// carries quantized_dimension 3, a converter quirk) -> CONV_2D -> SHAPE -> STRIDED_SLICE
// -> PACK -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX.
JsonModel KerasStyleCnn();

}  // namespace tml::testing
