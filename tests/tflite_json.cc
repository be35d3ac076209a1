#include "tflite_json.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/process.h"
#include "fixtures.h"
#include "formats/import.h"
#include "op_cases.h"

namespace tml::testing {

std::string JsonModel::Json() const {
  std::vector<std::string> codes;
  for (const auto& op : ops)
    if (std::find(codes.begin(), codes.end(), op.code) == codes.end()) codes.push_back(op.code);
  std::string j = "{\n  version: 3,\n  operator_codes: [";
  for (size_t i = 0; i < codes.size(); ++i)
    j += fmt::format("{}{{ builtin_code: \"{}\" }}", i ? ", " : "", codes[i]);
  j += "],\n  subgraphs: [{\n    tensors: [\n";
  std::vector<const std::vector<uint8_t>*> buffers;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const JsonTensor& t = tensors[i];
    int buffer = 0;
    if (!t.data.empty()) {
      buffers.push_back(&t.data);
      buffer = static_cast<int>(buffers.size());
    }
    std::string q;
    if (!t.scale.empty())
      q = fmt::format(
          ", quantization: {{ scale: [{}], zero_point: [{}], quantized_dimension: {} }}",
          fmt::join(t.scale, ", "), fmt::join(t.zero_point, ", "), t.quantized_dimension);
    if (t.is_variable) q += ", is_variable: true";
    j +=
        fmt::format("      {{ name: \"{}\", type: \"{}\", shape: [{}], buffer: {}{} }}{}\n", t.name,
                    t.type, fmt::join(t.shape, ", "), buffer, q, i + 1 < tensors.size() ? "," : "");
  }
  j += fmt::format("    ],\n    inputs: [{}],\n    outputs: [{}],\n    operators: [\n",
                   fmt::join(inputs, ", "), fmt::join(outputs, ", "));
  for (size_t i = 0; i < ops.size(); ++i) {
    const JsonOp& op = ops[i];
    const size_t code =
        static_cast<size_t>(std::find(codes.begin(), codes.end(), op.code) - codes.begin());
    std::string opts;
    if (!op.options_type.empty())
      opts = fmt::format(", builtin_options_type: \"{}\", builtin_options: {{ {} }}",
                         op.options_type, op.options);
    j += fmt::format("      {{ opcode_index: {}, inputs: [{}], outputs: [{}]{} }}{}\n", code,
                     fmt::join(op.inputs, ", "), fmt::join(op.outputs, ", "), opts,
                     i + 1 < ops.size() ? "," : "");
  }
  j += "    ]\n  }],\n  buffers: [ {}";
  for (const auto* b : buffers) j += fmt::format(", {{ data: [{}] }}", fmt::join(*b, ","));
  j += " ]\n}\n";
  return j;
}

Result<std::vector<uint8_t>> BuildWithFlatc(const JsonModel& m, const std::string& name) {
  const std::string dir = WorkDir("flatc_" + name);
  std::filesystem::create_directories(dir);
  const std::string json = dir + "/" + name + ".json";
  std::ofstream(json) << m.Json();
  TML_ASSIGN_OR_RETURN(ProcessResult r,
                       RunProcess({TML_FLATC, "-b", "-o", dir, TML_TFLITE_SCHEMA, json}, 60));
  if (r.exit_code != 0) return Status::Errorf("flatc on {}: {}", json, r.output);
  return ReadFile(dir + "/" + name + ".tflite");
}

JsonModel KerasStyleCnn() {
  JsonModel m;
  const int x = m.Tensor({"input", "INT8", {1, 10, 10, 1}, {}, {0.05f}, {-3}});
  // Depthwise 3x3 with a channel multiplier of 4 on the single input channel.
  const int dw_w = m.Tensor({"dw/weights",
                             "INT8",
                             {1, 3, 3, 4},
                             Bytes(RandomI8(36, 1)),
                             {0.02f, 0.03f, 0.025f, 0.015f},
                             {0, 0, 0, 0},
                             3});
  const int dw_b = m.Tensor({"dw/bias",
                             "INT32",
                             {4},
                             Bytes(RandomI32(4, 300, 2)),
                             {0.001f, 0.0015f, 0.00125f, 0.00075f},
                             {0, 0, 0, 0},
                             3});
  const int dw = m.Tensor({"dw", "INT8", {1, 10, 10, 4}, {}, {0.06f}, {-128}});
  const int c_w = m.Tensor({"conv/weights",
                            "INT8",
                            {6, 3, 3, 4},
                            Bytes(RandomI8(216, 3)),
                            {0.01f, 0.012f, 0.014f, 0.011f, 0.013f, 0.009f},
                            {0, 0, 0, 0, 0, 0},
                            0});
  const int c_b = m.Tensor({"conv/bias",
                            "INT32",
                            {6},
                            Bytes(RandomI32(6, 500, 4)),
                            {0.0006f, 0.00072f, 0.00084f, 0.00066f, 0.00078f, 0.00054f},
                            {0, 0, 0, 0, 0, 0},
                            0});
  const int conv = m.Tensor({"conv", "INT8", {1, 5, 5, 6}, {}, {0.09f}, {-128}});
  const int shape = m.Tensor({"flatten/Shape", "INT32", {4}});
  const int begin = m.Tensor({"flatten/begin", "INT32", {1}, Bytes(std::vector<int32_t>{0})});
  const int end = m.Tensor({"flatten/end", "INT32", {1}, Bytes(std::vector<int32_t>{1})});
  const int strides = m.Tensor({"flatten/strides", "INT32", {1}, Bytes(std::vector<int32_t>{1})});
  const int batch = m.Tensor({"flatten/strided_slice", "INT32", {}});
  const int minus1 = m.Tensor({"flatten/minus1", "INT32", {}, Bytes(std::vector<int32_t>{-1})});
  const int packed = m.Tensor({"flatten/Reshape/shape", "INT32", {2}});
  const int flat = m.Tensor({"flatten/Reshape", "INT8", {1, 150}, {}, {0.09f}, {-128}});
  const int fc_w =
      m.Tensor({"dense/weights", "INT8", {10, 150}, Bytes(RandomI8(1500, 5)), {0.004f}, {0}});
  const int fc_b =
      m.Tensor({"dense/bias", "INT32", {10}, Bytes(RandomI32(10, 2000, 6)), {0.09f * 0.004f}, {0}});
  const int logits = m.Tensor({"dense", "INT8", {1, 10}, {}, {0.2f}, {3}});
  const int probs = m.Tensor({"softmax", "INT8", {1, 10}, {}, {1.0f / 256}, {-128}});
  m.Op({"DEPTHWISE_CONV_2D",
        "DepthwiseConv2DOptions",
        "padding: \"SAME\", stride_w: 1, stride_h: 1, depth_multiplier: 4, "
        "fused_activation_function: \"RELU\"",
        {x, dw_w, dw_b},
        {dw}});
  m.Op({"CONV_2D",
        "Conv2DOptions",
        "padding: \"SAME\", stride_w: 2, stride_h: 2, fused_activation_function: \"RELU6\"",
        {dw, c_w, c_b},
        {conv}});
  m.Op({"SHAPE", "ShapeOptions", "out_type: \"INT32\"", {conv}, {shape}});
  m.Op({"STRIDED_SLICE",
        "StridedSliceOptions",
        "shrink_axis_mask: 1",
        {shape, begin, end, strides},
        {batch}});
  m.Op({"PACK", "PackOptions", "values_count: 2, axis: 0", {batch, minus1}, {packed}});
  m.Op({"RESHAPE", "", "", {conv, packed}, {flat}});
  m.Op({"FULLY_CONNECTED",
        "FullyConnectedOptions",
        "fused_activation_function: \"NONE\"",
        {flat, fc_w, fc_b},
        {logits}});
  m.Op({"SOFTMAX", "SoftmaxOptions", "beta: 1.0", {logits}, {probs}});
  m.inputs = {x};
  m.outputs = {probs};
  return m;
}

}  // namespace tml::testing
