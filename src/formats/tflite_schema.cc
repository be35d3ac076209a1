#include "formats/tflite_schema.h"

#include <map>
#include <string>

namespace tml::tfl {

namespace {
// Field kinds of the options tables we read: b = byte/bool, i = int32,
// f = float, v = vector of int32. Keyed by BuiltinOptions union type.
const std::map<uint8_t, std::string>& OptionLayouts() {
  static const std::map<uint8_t, std::string> layouts = {
      {1, "biibiib"},  // Conv2DOptions
      {2, "biiibii"},  // DepthwiseConv2DOptions
      {5, "biiiib"},   // Pool2DOptions
      {8, "bbbbb"},    // FullyConnectedOptions
      {9, "f"},        // SoftmaxOptions
      {10, "ib"},      // ConcatenationOptions
      {11, "bb"},      // AddOptions
      {17, "v"},       // ReshapeOptions
      {21, "b"},       // MulOptions
      {27, "b"},       // ReducerOptions
      {28, "bb"},      // SubOptions
      {29, "b"},       // DivOptions
      {30, "v"},       // SqueezeOptions
      {32, "iiiiib"},  // StridedSliceOptions
      {59, "ii"},      // PackOptions
      {75, "f"},       // LeakyReluOptions
  };
  return layouts;
}

template <typename T>
bool VerifyTables(Verifier& v, const Vector<Offset<T>>* vec) {
  return v.VerifyVector(vec) && (!vec || v.VerifyVectorOfTables(vec));
}
}  // namespace

bool VerifyOptions(Verifier& v, const uint8_t* table, uint8_t union_type) {
  auto* t = reinterpret_cast<const Options*>(table);
  if (!t->VerifyTableStart(v)) return false;
  auto it = OptionLayouts().find(union_type);
  if (it != OptionLayouts().end()) {
    const std::string& kinds = it->second;
    for (size_t k = 0; k < kinds.size(); ++k) {
      const voffset_t f = Field(static_cast<int>(k));
      bool ok = true;
      switch (kinds[k]) {
        case 'b':
          ok = t->VerifyField<int8_t>(v, f, 1);
          break;
        case 'i':
          ok = t->VerifyField<int32_t>(v, f, 4);
          break;
        case 'f':
          ok = t->VerifyField<float>(v, f, 4);
          break;
        case 'v':
          ok = t->VerifyOffset(v, f) && v.VerifyVector(t->Ints(static_cast<int>(k)));
          break;
      }
      if (!ok) return false;
    }
  }
  return v.EndTable();
}

bool QuantizationParameters::Verify(Verifier& v) const {
  return VerifyTableStart(v) && VerifyOffset(v, Field(0)) &&
         v.VerifyVector(GetPointer<const Vector<float>*>(Field(0))) && VerifyOffset(v, Field(1)) &&
         v.VerifyVector(GetPointer<const Vector<float>*>(Field(1))) && VerifyOffset(v, Field(2)) &&
         v.VerifyVector(scale()) && VerifyOffset(v, Field(3)) && v.VerifyVector(zero_point()) &&
         VerifyField<int32_t>(v, Field(6), 4) && v.EndTable();
}

bool Tensor::Verify(Verifier& v) const {
  return VerifyTableStart(v) && VerifyOffset(v, Field(0)) && v.VerifyVector(shape()) &&
         VerifyField<int8_t>(v, Field(1), 1) && VerifyField<uint32_t>(v, Field(2), 4) &&
         VerifyOffset(v, Field(3)) && v.VerifyString(name()) && VerifyOffset(v, Field(4)) &&
         v.VerifyTable(quantization()) && v.EndTable();
}

bool Operator::Verify(Verifier& v) const {
  if (!(VerifyTableStart(v) && VerifyField<uint32_t>(v, Field(0), 4) && VerifyOffset(v, Field(1)) &&
        v.VerifyVector(inputs()) && VerifyOffset(v, Field(2)) && v.VerifyVector(outputs()) &&
        VerifyField<uint8_t>(v, Field(3), 1) && VerifyOffset(v, Field(4))))
    return false;
  if (const Options* o = options();
      o && !VerifyOptions(v, reinterpret_cast<const uint8_t*>(o), options_type()))
    return false;
  return v.EndTable();
}

bool SubGraph::Verify(Verifier& v) const {
  return VerifyTableStart(v) && VerifyOffset(v, Field(0)) && VerifyTables(v, tensors()) &&
         VerifyOffset(v, Field(1)) && v.VerifyVector(inputs()) && VerifyOffset(v, Field(2)) &&
         v.VerifyVector(outputs()) && VerifyOffset(v, Field(3)) && VerifyTables(v, operators()) &&
         VerifyOffset(v, Field(4)) && v.VerifyString(name()) && v.EndTable();
}

bool Buffer::Verify(Verifier& v) const {
  return VerifyTableStart(v) && VerifyOffset(v, Field(0)) && v.VerifyVector(data()) &&
         VerifyField<uint64_t>(v, Field(1), 8) && VerifyField<uint64_t>(v, Field(2), 8) &&
         v.EndTable();
}

bool OperatorCode::Verify(Verifier& v) const {
  return VerifyTableStart(v) && VerifyField<int8_t>(v, Field(0), 1) && VerifyOffset(v, Field(1)) &&
         v.VerifyString(custom_code()) && VerifyField<int32_t>(v, Field(2), 4) &&
         VerifyField<int32_t>(v, Field(3), 4) && v.EndTable();
}

bool Model::Verify(Verifier& v) const {
  return VerifyTableStart(v) && VerifyField<uint32_t>(v, Field(0), 4) &&
         VerifyOffset(v, Field(1)) && VerifyTables(v, operator_codes()) &&
         VerifyOffset(v, Field(2)) && VerifyTables(v, subgraphs()) && VerifyOffset(v, Field(3)) &&
         v.VerifyString(description()) && VerifyOffset(v, Field(4)) && VerifyTables(v, buffers()) &&
         v.EndTable();
}

const char* BuiltinName(int32_t code) {
  static const std::map<int32_t, const char*> names = {{0, "ADD"},
                                                       {1, "AVERAGE_POOL_2D"},
                                                       {2, "CONCATENATION"},
                                                       {3, "CONV_2D"},
                                                       {4, "DEPTHWISE_CONV_2D"},
                                                       {5, "DEPTH_TO_SPACE"},
                                                       {6, "DEQUANTIZE"},
                                                       {7, "EMBEDDING_LOOKUP"},
                                                       {8, "FLOOR"},
                                                       {9, "FULLY_CONNECTED"},
                                                       {10, "HASHTABLE_LOOKUP"},
                                                       {11, "L2_NORMALIZATION"},
                                                       {12, "L2_POOL_2D"},
                                                       {13, "LOCAL_RESPONSE_NORMALIZATION"},
                                                       {14, "LOGISTIC"},
                                                       {15, "LSH_PROJECTION"},
                                                       {16, "LSTM"},
                                                       {17, "MAX_POOL_2D"},
                                                       {18, "MUL"},
                                                       {19, "RELU"},
                                                       {20, "RELU_N1_TO_1"},
                                                       {21, "RELU6"},
                                                       {22, "RESHAPE"},
                                                       {23, "RESIZE_BILINEAR"},
                                                       {24, "RNN"},
                                                       {25, "SOFTMAX"},
                                                       {26, "SPACE_TO_DEPTH"},
                                                       {27, "SVDF"},
                                                       {28, "TANH"},
                                                       {32, "CUSTOM"},
                                                       {34, "PAD"},
                                                       {36, "GATHER"},
                                                       {39, "TRANSPOSE"},
                                                       {40, "MEAN"},
                                                       {41, "SUB"},
                                                       {42, "DIV"},
                                                       {43, "SQUEEZE"},
                                                       {44, "UNIDIRECTIONAL_SEQUENCE_LSTM"},
                                                       {45, "STRIDED_SLICE"},
                                                       {47, "EXP"},
                                                       {49, "SPLIT"},
                                                       {50, "LOG_SOFTMAX"},
                                                       {53, "CAST"},
                                                       {54, "PRELU"},
                                                       {55, "MAXIMUM"},
                                                       {56, "ARG_MAX"},
                                                       {57, "MINIMUM"},
                                                       {60, "PADV2"},
                                                       {65, "SLICE"},
                                                       {67, "TRANSPOSE_CONV"},
                                                       {70, "EXPAND_DIMS"},
                                                       {74, "SUM"},
                                                       {75, "SQRT"},
                                                       {77, "SHAPE"},
                                                       {83, "PACK"},
                                                       {88, "UNPACK"},
                                                       {97, "RESIZE_NEAREST_NEIGHBOR"},
                                                       {98, "LEAKY_RELU"},
                                                       {114, "QUANTIZE"},
                                                       {117, "HARD_SWISH"},
                                                       {126, "BATCH_MATMUL"}};
  auto it = names.find(code);
  return it == names.end() ? "BUILTIN" : it->second;
}

}  // namespace tml::tfl
