// Accessors for the TFLite flatbuffer schema (schema.fbs, "TFL3"), written by
// hand from the published field layout: field k of a table lives at vtable
// offset 4 + 2k. Each table verifies itself with libflatbuffers' Verifier, so
// a malformed or truncated file is rejected before any field is read.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>

namespace tml::tfl {

using flatbuffers::Offset;
using flatbuffers::String;
using flatbuffers::Table;
using flatbuffers::Vector;
using flatbuffers::Verifier;
using flatbuffers::voffset_t;

constexpr voffset_t Field(int k) {
  return static_cast<voffset_t>(4 + 2 * k);
}

// Builtin operator codes used by the importer (schema enum BuiltinOperator).
enum Builtin : int32_t {
  kAdd = 0,
  kAveragePool2D = 1,
  kConcatenation = 2,
  kConv2D = 3,
  kDepthwiseConv2D = 4,
  kDequantize = 6,
  kFullyConnected = 9,
  kLogistic = 14,
  kMaxPool2D = 17,
  kMul = 18,
  kRelu = 19,
  kReluN1To1 = 20,
  kRelu6 = 21,
  kReshape = 22,
  kSoftmax = 25,
  kTanh = 28,
  kCustom = 32,
  kPad = 34,
  kTranspose = 39,
  kMean = 40,
  kSub = 41,
  kDiv = 42,
  kSqueeze = 43,
  kStridedSlice = 45,
  kPadV2 = 60,
  kExpandDims = 70,
  kShape = 77,
  kPack = 83,
  kLeakyRelu = 98,
  kQuantize = 114,
};

const char* BuiltinName(int32_t code);

// Options tables: generic scalar access by field index; layouts for verification
// are in tflite_schema.cc, keyed by the BuiltinOptions union type.
struct Options : Table {
  int32_t I32(int k, int32_t def = 0) const { return GetField<int32_t>(Field(k), def); }
  int8_t I8(int k, int8_t def = 0) const { return GetField<int8_t>(Field(k), def); }
  float F32(int k, float def = 0.0f) const { return GetField<float>(Field(k), def); }
  const Vector<int32_t>* Ints(int k) const { return GetPointer<const Vector<int32_t>*>(Field(k)); }
};
bool VerifyOptions(Verifier& v, const uint8_t* table, uint8_t union_type);

struct QuantizationParameters : Table {
  const Vector<float>* scale() const { return GetPointer<const Vector<float>*>(Field(2)); }
  const Vector<int64_t>* zero_point() const { return GetPointer<const Vector<int64_t>*>(Field(3)); }
  int32_t quantized_dimension() const { return GetField<int32_t>(Field(6), 0); }
  bool Verify(Verifier& v) const;
};

struct Tensor : Table {
  const Vector<int32_t>* shape() const { return GetPointer<const Vector<int32_t>*>(Field(0)); }
  int8_t type() const { return GetField<int8_t>(Field(1), 0); }
  uint32_t buffer() const { return GetField<uint32_t>(Field(2), 0); }
  const String* name() const { return GetPointer<const String*>(Field(3)); }
  const QuantizationParameters* quantization() const {
    return GetPointer<const QuantizationParameters*>(Field(4));
  }
  bool has_sparsity() const { return GetOptionalFieldOffset(Field(6)) != 0; }
  bool Verify(Verifier& v) const;
};

struct Operator : Table {
  uint32_t opcode_index() const { return GetField<uint32_t>(Field(0), 0); }
  const Vector<int32_t>* inputs() const { return GetPointer<const Vector<int32_t>*>(Field(1)); }
  const Vector<int32_t>* outputs() const { return GetPointer<const Vector<int32_t>*>(Field(2)); }
  uint8_t options_type() const { return GetField<uint8_t>(Field(3), 0); }
  const Options* options() const { return GetPointer<const Options*>(Field(4)); }
  bool Verify(Verifier& v) const;
};

struct SubGraph : Table {
  const Vector<Offset<Tensor>>* tensors() const {
    return GetPointer<const Vector<Offset<Tensor>>*>(Field(0));
  }
  const Vector<int32_t>* inputs() const { return GetPointer<const Vector<int32_t>*>(Field(1)); }
  const Vector<int32_t>* outputs() const { return GetPointer<const Vector<int32_t>*>(Field(2)); }
  const Vector<Offset<Operator>>* operators() const {
    return GetPointer<const Vector<Offset<Operator>>*>(Field(3));
  }
  const String* name() const { return GetPointer<const String*>(Field(4)); }
  bool Verify(Verifier& v) const;
};

struct Buffer : Table {
  const Vector<uint8_t>* data() const { return GetPointer<const Vector<uint8_t>*>(Field(0)); }
  uint64_t offset() const { return GetField<uint64_t>(Field(1), 0); }
  bool Verify(Verifier& v) const;
};

struct OperatorCode : Table {
  int8_t deprecated_builtin_code() const { return GetField<int8_t>(Field(0), 0); }
  const String* custom_code() const { return GetPointer<const String*>(Field(1)); }
  int32_t builtin_code() const { return GetField<int32_t>(Field(3), 0); }
  // The larger of the two code fields is the real one (schema 3a rule).
  int32_t code() const {
    return builtin_code() > deprecated_builtin_code() ? builtin_code() : deprecated_builtin_code();
  }
  bool Verify(Verifier& v) const;
};

struct Model : Table {
  uint32_t version() const { return GetField<uint32_t>(Field(0), 0); }
  const Vector<Offset<OperatorCode>>* operator_codes() const {
    return GetPointer<const Vector<Offset<OperatorCode>>*>(Field(1));
  }
  const Vector<Offset<SubGraph>>* subgraphs() const {
    return GetPointer<const Vector<Offset<SubGraph>>*>(Field(2));
  }
  const String* description() const { return GetPointer<const String*>(Field(3)); }
  const Vector<Offset<Buffer>>* buffers() const {
    return GetPointer<const Vector<Offset<Buffer>>*>(Field(4));
  }
  bool Verify(Verifier& v) const;
};

}  // namespace tml::tfl
