#include "tflite_writer.h"

#include <map>

namespace tml::testing {

namespace {
constexpr flatbuffers::voffset_t F(int k) {
  return static_cast<flatbuffers::voffset_t>(4 + 2 * k);
}
}  // namespace

std::vector<uint8_t> TfliteWriter::Finish(const std::vector<int32_t>& inputs,
                                          const std::vector<int32_t>& outputs) {
  flatbuffers::FlatBufferBuilder b;
  // Buffers: 0 is the empty sentinel, then one per constant tensor.
  std::vector<flatbuffers::Offset<void>> buffers;
  auto empty_buffer = [&]() {
    const auto s = b.StartTable();
    return flatbuffers::Offset<void>(b.EndTable(s));
  };
  buffers.push_back(empty_buffer());
  std::vector<uint32_t> buffer_of(tensors_.size(), 0);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].data.empty()) continue;
    b.ForceVectorAlignment(tensors_[i].data.size(), 1, 16);
    const auto data = b.CreateVector(tensors_[i].data);
    const auto s = b.StartTable();
    b.AddOffset(F(0), data);
    buffers.push_back(flatbuffers::Offset<void>(b.EndTable(s)));
    buffer_of[i] = static_cast<uint32_t>(buffers.size() - 1);
  }
  std::vector<flatbuffers::Offset<void>> tensors;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorSpec& t = tensors_[i];
    const auto name = b.CreateString(t.name);
    const auto shape = b.CreateVector(t.shape);
    flatbuffers::Offset<void> quant;
    if (!t.scale.empty()) {
      const auto scale = b.CreateVector(t.scale);
      const auto zp = b.CreateVector(t.zero_point);
      const auto s = b.StartTable();
      b.AddOffset(F(2), scale);
      b.AddOffset(F(3), zp);
      quant = flatbuffers::Offset<void>(b.EndTable(s));
    }
    const auto s = b.StartTable();
    b.AddOffset(F(0), shape);
    b.AddElement<int8_t>(F(1), t.type, -1);
    b.AddElement<uint32_t>(F(2), buffer_of[i], 0);
    b.AddOffset(F(3), name);
    if (!t.scale.empty()) b.AddOffset(F(4), quant);
    if (t.is_variable) b.AddElement<uint8_t>(F(5), 1, 0);
    tensors.push_back(flatbuffers::Offset<void>(b.EndTable(s)));
  }
  // Operator codes, one per distinct (builtin, custom) pair.
  std::map<std::pair<int32_t, std::string>, uint32_t> code_index;
  std::vector<flatbuffers::Offset<void>> codes;
  for (const auto& op : ops_) {
    const auto key = std::make_pair(op.builtin, op.custom);
    if (code_index.count(key)) continue;
    flatbuffers::Offset<flatbuffers::String> custom;
    if (!op.custom.empty()) custom = b.CreateString(op.custom);
    const auto s = b.StartTable();
    b.AddElement<int8_t>(F(0), static_cast<int8_t>(op.builtin < 127 ? op.builtin : 127), -1);
    if (!op.custom.empty()) b.AddOffset(F(1), custom);
    b.AddElement<int32_t>(F(2), 1, -1);
    b.AddElement<int32_t>(F(3), op.builtin, -1);
    code_index[key] = static_cast<uint32_t>(codes.size());
    codes.push_back(flatbuffers::Offset<void>(b.EndTable(s)));
  }
  std::vector<flatbuffers::Offset<void>> ops;
  for (const auto& op : ops_) {
    const auto in = b.CreateVector(op.inputs);
    const auto out = b.CreateVector(op.outputs);
    flatbuffers::Offset<void> options;
    if (op.options_type) {
      const auto s = b.StartTable();
      for (const auto& [k, v] : op.int_options) b.AddElement<int32_t>(F(k), v, -1);
      options = flatbuffers::Offset<void>(b.EndTable(s));
    }
    const auto s = b.StartTable();
    b.AddElement<uint32_t>(F(0), code_index[{op.builtin, op.custom}], 0xffffffff);
    b.AddOffset(F(1), in);
    b.AddOffset(F(2), out);
    if (op.options_type) {
      b.AddElement<uint8_t>(F(3), op.options_type, 0);
      b.AddOffset(F(4), options);
    }
    ops.push_back(flatbuffers::Offset<void>(b.EndTable(s)));
  }
  const auto tensors_v = b.CreateVector(tensors);
  const auto in_v = b.CreateVector(inputs);
  const auto out_v = b.CreateVector(outputs);
  const auto ops_v = b.CreateVector(ops);
  const auto sg_name = b.CreateString("main");
  auto s = b.StartTable();
  b.AddOffset(F(0), tensors_v);
  b.AddOffset(F(1), in_v);
  b.AddOffset(F(2), out_v);
  b.AddOffset(F(3), ops_v);
  b.AddOffset(F(4), sg_name);
  const auto subgraph = flatbuffers::Offset<void>(b.EndTable(s));
  const auto codes_v = b.CreateVector(codes);
  const auto subgraphs_v = b.CreateVector(std::vector<flatbuffers::Offset<void>>{subgraph});
  const auto buffers_v = b.CreateVector(buffers);
  const auto desc = b.CreateString("written by tests");
  s = b.StartTable();
  b.AddElement<uint32_t>(F(0), 3, 0);
  b.AddOffset(F(1), codes_v);
  b.AddOffset(F(2), subgraphs_v);
  b.AddOffset(F(3), desc);
  b.AddOffset(F(4), buffers_v);
  const auto model = flatbuffers::Offset<void>(b.EndTable(s));
  b.Finish(model, "TFL3");
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace tml::testing
