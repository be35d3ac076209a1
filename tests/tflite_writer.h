// Minimal TFLite flatbuffer writer for tests: builds models with any operator
// codes (including ones we do not support) straight from the schema layout.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tml::testing {

class TfliteWriter {
 public:
  struct TensorSpec {
    std::string name;
    int8_t type = 9;  // INT8
    std::vector<int32_t> shape;
    std::vector<float> scale;
    std::vector<int64_t> zero_point;
    std::vector<uint8_t> data;  // constant bytes, empty for activations
    bool is_variable = false;   // a variable tensor (recurrent state)
  };
  struct OpSpec {
    int32_t builtin = 0;
    std::string custom;  // for CUSTOM (32)
    std::vector<int32_t> inputs, outputs;
    uint8_t options_type = 0;
    std::vector<std::pair<int, int32_t>> int_options;  // field index -> int32 value
  };

  int AddTensor(TensorSpec t) {
    tensors_.push_back(std::move(t));
    return static_cast<int>(tensors_.size()) - 1;
  }
  void AddOp(OpSpec op) { ops_.push_back(std::move(op)); }
  std::vector<uint8_t> Finish(const std::vector<int32_t>& inputs,
                              const std::vector<int32_t>& outputs);

 private:
  std::vector<TensorSpec> tensors_;
  std::vector<OpSpec> ops_;
};

}  // namespace tml::testing
