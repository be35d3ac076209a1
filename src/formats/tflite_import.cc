// TFLite flatbuffer importer. The file is verified by the accessors flatc generates
// from src/formats/tflite.fbs before any field is read; unsupported operators are
// listed in one message; each supported builtin is one entry of kOps below (its
// options type and its handler), so adding an operator is one entry and one handler.
// Shape subgraphs (SHAPE, STRIDED_SLICE, PACK on constants) are evaluated at
// import; STRIDED_SLICE and PACK on computed tensors become Slice and Concat.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "formats/import.h"
#include "formats/tflite_generated.h"
#include "ops/op.h"
#include "ops/slice.h"

namespace tml {

namespace {

using tflite::BuiltinOperator;
using tflite::BuiltinOptions;

std::string OperatorName(int32_t code) {
  const char* n = tflite::EnumNameBuiltinOperator(static_cast<BuiltinOperator>(code));
  return n && *n ? n : fmt::format("BUILTIN_{}", code);
}

std::string OptionsName(uint8_t type) {
  const char* n = tflite::EnumNameBuiltinOptions(static_cast<BuiltinOptions>(type));
  return n && *n ? fmt::format("{} ({})", n, type) : fmt::format("options type {}", type);
}

// The code of an operator: the larger of the two code fields (schema 3a rule).
int32_t CodeOf(const tflite::OperatorCode* oc) {
  return std::max<int32_t>(oc->builtin_code(), oc->deprecated_builtin_code());
}

Result<DType> MapType(int8_t t, const std::string& tensor) {
  switch (t) {
    case tflite::TensorType_FLOAT32:
      return DType::kFloat32;
    case tflite::TensorType_INT32:
      return DType::kInt32;
    case tflite::TensorType_UINT8:
      return DType::kUInt8;
    case tflite::TensorType_INT64:
      return DType::kInt64;
    case tflite::TensorType_BOOL:
      return DType::kBool;
    case tflite::TensorType_INT16:
      return DType::kInt16;
    case tflite::TensorType_INT8:
      return DType::kInt8;
    default: {
      const char* n = tflite::EnumNameTensorType(static_cast<tflite::TensorType>(t));
      return Status::Errorf("tensor '{}': unsupported TFLite tensor type {}", tensor,
                            n && *n ? n : std::to_string(t));
    }
  }
}

// An options table with every field at its schema default, for operators written
// without one.
template <typename T>
const T* DefaultOptions() {
  static const std::vector<uint8_t> bytes = [] {
    flatbuffers::FlatBufferBuilder b;
    const auto start = b.StartTable();
    b.Finish(flatbuffers::Offset<T>(b.EndTable(start)));
    return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  }();
  return flatbuffers::GetRoot<T>(bytes.data());
}

template <typename T>
const T* OptionsOf(const tflite::Operator* op) {
  const T* o = op->builtin_options_as<T>();
  return o ? o : DefaultOptions<T>();
}

// What a handler sees of one operator.
struct OpView {
  const tflite::Operator* op;
  int32_t code;
  std::string where;    // "operator #3 ('dense') FULLY_CONNECTED"
  std::vector<int> in;  // -1 for an absent optional input
  std::vector<int> out;
};

class TfliteImporter;
using Handler = Status (TfliteImporter::*)(const OpView&);

// One entry per supported builtin: its options type (NONE when it has none) and
// how it maps onto the IR.
struct OpEntry {
  BuiltinOperator code;
  BuiltinOptions options;
  Handler import;
  // The registry ops the handler may produce, reshapes it adds included (kCount: none;
  // SHAPE folds to a constant).
  OpType op, also = OpType::kCount;
};
const OpEntry* FindOp(int32_t code);

class TfliteImporter {
 public:
  TfliteImporter(const tflite::Model* m, std::string name) : model_(m) {
    g_.name = std::move(name);
  }
  Result<Graph> Run();

  Status Conv(const OpView& v);
  Status Pool(const OpView& v);
  Status FullyConnected(const OpView& v);
  Status Svdf(const OpView& v);
  Status Lstm(const OpView& v);
  Status Binary(const OpView& v);
  Status Concatenation(const OpView& v);
  Status Relu(const OpView& v);
  Status Unary(const OpView& v);
  Status LeakyRelu(const OpView& v);
  Status Softmax(const OpView& v);
  Status Reshape(const OpView& v);
  Status Pad(const OpView& v);
  Status Transpose(const OpView& v);
  Status Mean(const OpView& v);
  Status Shape(const OpView& v);
  Status StridedSlice(const OpView& v);
  Status Pack(const OpView& v);

 private:
  Status CheckSupported(const tflite::SubGraph* sg);
  Status ImportTensors(const tflite::SubGraph* sg);
  Status ImportOperator(size_t index, const tflite::Operator* op);
  Status NeedInputs(const OpView& v, size_t count) const;
  Node& Add(const OpView& v, OpType t, std::vector<int> inputs) {
    return g_.AddNode(t, g_.tensor(v.out[0]).name, std::move(inputs), {v.out[0]});
  }
  Status SetConst(const OpView& v, const std::vector<int64_t>& values);
  Result<std::vector<int64_t>> ConstInts(int t, const std::string& where, const char* what);
  std::string OpLabel(size_t index, const tflite::Operator* op) const;

  const tflite::Model* model_;
  Graph g_;
};

std::string TfliteImporter::OpLabel(size_t index, const tflite::Operator* op) const {
  std::string out;
  if (op->outputs() && op->outputs()->size() > 0) {
    const int32_t t = op->outputs()->Get(0);
    if (t >= 0 && static_cast<size_t>(t) < g_.tensors.size()) out = g_.tensor(t).name;
  }
  return fmt::format("operator #{}{}", index, out.empty() ? "" : " ('" + out + "')");
}

Status TfliteImporter::CheckSupported(const tflite::SubGraph* sg) {
  std::map<std::string, std::vector<std::string>> unsupported;
  const auto* codes = model_->operator_codes();
  for (size_t i = 0; sg->operators() && i < sg->operators()->size(); ++i) {
    const tflite::Operator* op = sg->operators()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!codes || op->opcode_index() >= codes->size())
      return Status::Errorf("operator #{}: opcode index {} out of range", i, op->opcode_index());
    const tflite::OperatorCode* oc = codes->Get(op->opcode_index());
    const int32_t code = CodeOf(oc);
    if (FindOp(code)) continue;
    std::string name = code == tflite::BuiltinOperator_CUSTOM && oc->custom_code()
                           ? fmt::format("CUSTOM '{}'", oc->custom_code()->str())
                           : fmt::format("{} ({})", OperatorName(code), code);
    unsupported[name].push_back(OpLabel(i, op));
  }
  if (unsupported.empty()) return Status::Ok();
  std::string msg = fmt::format("model uses {} unsupported operator type{}:", unsupported.size(),
                                unsupported.size() == 1 ? "" : "s");
  for (auto& [name, users] : unsupported) {
    msg +=
        fmt::format("\n  {} used by {} node{}: ", name, users.size(), users.size() == 1 ? "" : "s");
    for (size_t k = 0; k < users.size() && k < 8; ++k) msg += (k ? ", " : "") + users[k];
    if (users.size() > 8) msg += fmt::format(", ... ({} more)", users.size() - 8);
  }
  return Status::Error(msg);
}

Status TfliteImporter::ImportTensors(const tflite::SubGraph* sg) {
  const auto* buffers = model_->buffers();
  if (!sg->tensors()) return Status::Error("subgraph 0 has no tensors");
  for (size_t i = 0; i < sg->tensors()->size(); ++i) {
    const tflite::Tensor* t = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(i));
    Tensor x;
    x.name = t->name() ? t->name()->str() : fmt::format("tensor_{}", i);
    TML_ASSIGN_OR_RETURN(x.dtype, MapType(t->type(), x.name));
    if (t->sparsity())
      return Status::Errorf("tensor '{}': sparse tensors are not supported", x.name);
    if (t->shape()) {
      if (t->shape()->size() > 8)
        return Status::Errorf("tensor '{}': rank {} is too large", x.name, t->shape()->size());
      int64_t elements = 1;
      for (int32_t d : *t->shape()) {
        if (d < 0)
          return Status::Errorf("tensor '{}': dynamic dimension {} (shapes must be static)", x.name,
                                d);
        elements *= std::max<int64_t>(d, 1);
        if (elements > (int64_t{1} << 31))
          return Status::Errorf("tensor '{}': more than 2^31 elements", x.name);
        x.shape.push_back(d);
      }
    }
    if (const auto* q = t->quantization(); q && q->scale() && q->scale()->size() > 0) {
      for (float s : *q->scale()) x.quant.scale.push_back(s);
      if (q->zero_point())
        for (int64_t z : *q->zero_point()) x.quant.zero_point.push_back(z);
      x.quant.zero_point.resize(x.quant.scale.size(), 0);
      x.quant.axis = q->quantized_dimension();
      const auto fits = [&](int64_t axis) {
        return axis >= 0 && static_cast<size_t>(axis) < x.shape.size() &&
               x.shape[static_cast<size_t>(axis)] == static_cast<int64_t>(x.quant.scale.size());
      };
      // Converter quirk: a 1-D per-channel bias may carry its weights' quantized_dimension
      // (3 for depthwise filters); TFLite's kernels read it along its only axis.
      if (x.quant.per_channel() && !fits(x.quant.axis) && x.shape.size() == 1 && fits(0))
        x.quant.axis = 0;
      if (x.quant.per_channel() && !fits(x.quant.axis))
        return Status::Errorf("tensor '{}': {} scales do not fit dimension {} of {}", x.name,
                              x.quant.scale.size(), x.quant.axis, ShapeStr(x.shape));
    }
    const uint32_t b = t->buffer();
    if (b != 0) {
      if (!buffers || b >= buffers->size())
        return Status::Errorf("tensor '{}': buffer index {} out of range", x.name, b);
      const tflite::Buffer* buf = buffers->Get(b);
      if (buf->offset() > 1)
        return Status::Errorf("tensor '{}': external (>2 GB) buffers are not supported", x.name);
      if (buf->data() && buf->data()->size() > 0) {
        if (buf->data()->size() != x.nbytes())
          return Status::Errorf("tensor '{}': buffer has {} bytes, shape {} of {} needs {}", x.name,
                                buf->data()->size(), ShapeStr(x.shape), DTypeName(x.dtype),
                                x.nbytes());
        x.is_const = true;
        x.data.assign(buf->data()->begin(), buf->data()->end());
      }
    }
    g_.AddTensor(std::move(x));
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> TfliteImporter::ConstInts(int t, const std::string& where,
                                                       const char* what) {
  if (t < 0 || !g_.tensor(t).is_const)
    return Status::Errorf("{}: {} must be a constant", where, what);
  const Tensor& x = g_.tensor(t);
  std::vector<int64_t> v;
  for (int64_t i = 0; i < x.numel(); ++i) v.push_back(x.ValueAsInt(i));
  return v;
}

Status TfliteImporter::NeedInputs(const OpView& v, size_t count) const {
  if (v.in.size() < count)
    return Status::Errorf("{}: expects {} inputs, has {}", v.where, count, v.in.size());
  for (size_t k = 0; k < count; ++k)
    if (v.in[k] < 0) return Status::Errorf("{}: input {} is missing", v.where, k);
  return Status::Ok();
}

// Makes the operator's output a constant holding integer values (a folded shape subgraph).
Status TfliteImporter::SetConst(const OpView& v, const std::vector<int64_t>& values) {
  Tensor& y = g_.tensor(v.out[0]);
  if (static_cast<int64_t>(values.size()) != y.numel() && !(y.shape.empty() && values.size() == 1))
    return Status::Errorf("{}: folded {} values but output '{}' has shape {}", v.where,
                          values.size(), y.name, ShapeStr(y.shape));
  if (y.dtype != DType::kInt64 && y.dtype != DType::kInt32)
    return Status::Errorf("{}: output must be int32 or int64", v.where);
  y.is_const = true;
  y.data.assign(y.nbytes(), 0);
  for (size_t i = 0; i < values.size() && i * DTypeSize(y.dtype) < y.data.size(); ++i) {
    if (y.dtype == DType::kInt64)
      y.mutable_as<int64_t>()[i] = values[i];
    else
      y.mutable_as<int32_t>()[i] = static_cast<int32_t>(values[i]);
  }
  return Status::Ok();
}

// Activation bounds of a fused activation function code.
Status SetFusedActivation(Node& n, tflite::ActivationFunctionType code, const std::string& where) {
  if (code != tflite::ActivationFunctionType_NONE && !Schema(n.op).fused_activation)
    return Status::Errorf("{}: {} takes no fused activation", where, OpName(n.op));
  switch (code) {
    case tflite::ActivationFunctionType_NONE:
      return Status::Ok();
    case tflite::ActivationFunctionType_RELU:
      n.attrs.Set("act_min", 0.0f);
      return Status::Ok();
    case tflite::ActivationFunctionType_RELU_N1_TO_1:
      n.attrs.Set("act_min", -1.0f);
      n.attrs.Set("act_max", 1.0f);
      return Status::Ok();
    case tflite::ActivationFunctionType_RELU6:
      n.attrs.Set("act_min", 0.0f);
      n.attrs.Set("act_max", 6.0f);
      return Status::Ok();
    default:
      return Status::Errorf("{}: fused activation {} is not supported", where,
                            static_cast<int>(code));
  }
}

// Strides (and dilations) of windowed ops; an options table written without them
// means 1, a written 0 or negative value is an error.
Status SetWindow(Node& n, const std::string& where, int32_t sw, int32_t sh, int32_t dw = 1,
                 int32_t dh = 1) {
  if (sw < 1 || sh < 1 || dw < 1 || dh < 1)
    return Status::Errorf("{}: strides {}x{} and dilations {}x{} must be at least 1", where, sh, sw,
                          dh, dw);
  n.attrs.Set("stride_w", sw);
  n.attrs.Set("stride_h", sh);
  n.attrs.Set("dilation_w", dw);
  n.attrs.Set("dilation_h", dh);
  return Status::Ok();
}

// Explicit padding from TFLite's SAME / VALID rule.
void SetPadding(Node& n, tflite::Padding padding, int64_t in_h, int64_t in_w, int64_t k_h,
                int64_t k_w) {
  const int64_t sh = n.attrs.Int("stride_h", 1), sw = n.attrs.Int("stride_w", 1);
  const int64_t dh = n.attrs.Int("dilation_h", 1), dw = n.attrs.Int("dilation_w", 1);
  auto pad = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t* before, int64_t* after) {
    const int64_t eff = (k - 1) * d + 1;
    const int64_t out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>((out - 1) * s + eff - in, 0);
    *before = total / 2;
    *after = total - *before;
  };
  int64_t t = 0, b = 0, l = 0, r = 0;
  if (padding == tflite::Padding_SAME) {
    pad(in_h, k_h, sh, dh, &t, &b);
    pad(in_w, k_w, sw, dw, &l, &r);
  }
  n.attrs.Set("pad_top", t);
  n.attrs.Set("pad_bottom", b);
  n.attrs.Set("pad_left", l);
  n.attrs.Set("pad_right", r);
}

Status TfliteImporter::Conv(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 2));
  const bool dw = v.code == tflite::BuiltinOperator_DEPTHWISE_CONV_2D;
  const Tensor& x = g_.tensor(v.in[0]);
  const Tensor& w = g_.tensor(v.in[1]);
  if (x.shape.size() != 4 || w.shape.size() != 4)
    return Status::Errorf("{}: input and filter must be 4-D", v.where);
  const int64_t in_h = x.shape[1], in_w = x.shape[2], k_h = w.shape[1], k_w = w.shape[2];
  Node& n = Add(v, dw ? OpType::kDepthwiseConv2D : OpType::kConv2D,
                {v.in[0], v.in[1], v.in.size() > 2 ? v.in[2] : -1});
  const bool given = v.op->builtin_options() != nullptr;
  if (dw) {
    const auto* o = OptionsOf<tflite::DepthwiseConv2DOptions>(v.op);
    TML_RETURN_IF_ERROR(SetWindow(n, v.where, given ? o->stride_w() : 1, given ? o->stride_h() : 1,
                                  o->dilation_w_factor(), o->dilation_h_factor()));
    SetPadding(n, o->padding(), in_h, in_w, k_h, k_w);
    return SetFusedActivation(n, o->fused_activation_function(), v.where);
  }
  const auto* o = OptionsOf<tflite::Conv2DOptions>(v.op);
  TML_RETURN_IF_ERROR(SetWindow(n, v.where, given ? o->stride_w() : 1, given ? o->stride_h() : 1,
                                o->dilation_w_factor(), o->dilation_h_factor()));
  SetPadding(n, o->padding(), in_h, in_w, k_h, k_w);
  return SetFusedActivation(n, o->fused_activation_function(), v.where);
}

Status TfliteImporter::Pool(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  const Tensor& x = g_.tensor(v.in[0]);
  if (x.shape.size() != 4) return Status::Errorf("{}: input must be 4-D", v.where);
  const int64_t in_h = x.shape[1], in_w = x.shape[2];
  const bool given = v.op->builtin_options() != nullptr;
  const auto* o = OptionsOf<tflite::Pool2DOptions>(v.op);
  Node& n = Add(
      v,
      v.code == tflite::BuiltinOperator_MAX_POOL_2D ? OpType::kMaxPool2D : OpType::kAveragePool2D,
      {v.in[0]});
  TML_RETURN_IF_ERROR(SetWindow(n, v.where, given ? o->stride_w() : 1, given ? o->stride_h() : 1));
  const int64_t kw = given ? o->filter_width() : 1, kh = given ? o->filter_height() : 1;
  if (kw < 1 || kh < 1)
    return Status::Errorf("{}: filter {}x{} must be at least 1x1", v.where, kh, kw);
  n.attrs.Set("kernel_w", kw);
  n.attrs.Set("kernel_h", kh);
  SetPadding(n, o->padding(), in_h, in_w, kh, kw);
  return SetFusedActivation(n, o->fused_activation_function(), v.where);
}

Status TfliteImporter::FullyConnected(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 2));
  const auto* o = OptionsOf<tflite::FullyConnectedOptions>(v.op);
  if (o->weights_format() != tflite::FullyConnectedOptionsWeightsFormat_DEFAULT)
    return Status::Errorf("{}: shuffled weights are not supported", v.where);
  const std::string name = g_.tensor(v.out[0]).name;
  const Tensor& y = g_.tensor(v.out[0]);
  int fc_out = v.out[0];
  if (o->keep_num_dims() && y.shape.size() != 2) {
    Tensor flat = Tensor::Make(name + "/flat", y.dtype, {});
    flat.quant = y.quant;
    fc_out = g_.AddTensor(std::move(flat));
  }
  Node& n = g_.AddNode(OpType::kFullyConnected, name,
                       {v.in[0], v.in[1], v.in.size() > 2 ? v.in[2] : -1}, {fc_out});
  TML_RETURN_IF_ERROR(SetFusedActivation(n, o->fused_activation_function(), v.where));
  if (fc_out != v.out[0])
    g_.AddNode(OpType::kReshape, name + "/keep_dims", {fc_out}, {v.out[0]})
        .attrs.Set("shape", g_.tensor(v.out[0]).shape);
  return Status::Ok();
}

// SVDF: input, weights_feature, weights_time, bias (optional), activation_state (a
// variable tensor: our state tensor, kept between invocations).
Status TfliteImporter::Svdf(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 5));
  const auto* o = OptionsOf<tflite::SVDFOptions>(v.op);
  const int state = v.in[4];
  if (state < 0) return Status::Errorf("{}: the activation state (input 5) is missing", v.where);
  Tensor& st = g_.tensor(state);
  if (st.is_const)
    return Status::Errorf("{}: the activation state '{}' is a constant, not a variable", v.where,
                          st.name);
  st.is_state = true;
  Node& n = g_.AddNode(OpType::kSvdf, g_.tensor(v.out[0]).name,
                       {v.in[0], v.in[1], v.in[2], v.in[3], state}, {v.out[0]});
  n.attrs.Set("rank", static_cast<int64_t>(o->rank()));
  if (g_.tensor(v.in[0]).dtype == DType::kInt8) return Status::Ok();  // int8: clamp only
  return SetFusedActivation(n, o->fused_activation_function(), v.where);
}

// UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's 24 inputs; the Keras form only (no CIFG, peepholes,
// projection or layer norm; tanh). The four gates' weights and biases become stacked
// constants (one scale per gate, per channel), the two variable tensors state tensors.
Status TfliteImporter::Lstm(const OpView& v) {
  if (v.in.size() < 20)
    return Status::Errorf("{}: expects 20 or 24 inputs, has {}", v.where, v.in.size());
  const auto* o = OptionsOf<tflite::UnidirectionalSequenceLSTMOptions>(v.op);
  const auto absent = [&](size_t k) { return k >= v.in.size() || v.in[k] < 0; };
  const struct {
    size_t first, last;
    const char* what;
  } unsupported[] = {{9, 11, "peephole weights (inputs 10-12)"},
                     {16, 17, "a projection (inputs 17-18)"},
                     {20, 23, "layer normalization (inputs 21-24)"}};
  for (const auto& u : unsupported)
    for (size_t k = u.first; k <= u.last; ++k)
      if (!absent(k)) return Status::Errorf("{}: LSTM with {} is not supported", v.where, u.what);
  if (absent(1) || absent(5) || absent(12))
    return Status::Errorf("{}: LSTM without an input gate (CIFG) is not supported", v.where);
  if (o->fused_activation_function() != tflite::ActivationFunctionType_TANH)
    return Status::Errorf("{}: only the tanh cell activation is supported, not {}", v.where,
                          tflite::EnumNameActivationFunctionType(o->fused_activation_function()));
  if (o->diagonal_recurrent_tensors())
    return Status::Errorf("{}: diagonal recurrent weights are not supported", v.where);
  for (size_t k : {size_t{0}, size_t{18}, size_t{19}})
    if (absent(k)) return Status::Errorf("{}: input {} is missing", v.where, k + 1);
  const std::string name = g_.tensor(v.out[0]).name;
  // Stacks four [units, cols] constants (or four biases) into one [4 units, cols] tensor.
  const auto stack = [&](size_t first, const char* what) -> Result<int> {
    const Tensor& t0 = g_.tensor(v.in[first]);
    Tensor s = Tensor::Make(name + "/" + what, t0.dtype, t0.shape);
    if (s.shape.empty()) return Status::Errorf("{}: {} '{}' is a scalar", v.where, what, t0.name);
    s.shape[0] *= 4;
    s.is_const = true;
    const bool quantized = !t0.quant.empty();
    for (size_t k = first; k < first + 4; ++k) {
      const Tensor& t = g_.tensor(v.in[k]);
      if (!t.is_const || t.dtype != t0.dtype || t.shape != t0.shape)
        return Status::Errorf("{}: {} '{}' {} must be a {} constant shaped like '{}' {}", v.where,
                              what, t.name, ShapeStr(t.shape), DTypeName(t0.dtype), t0.name,
                              ShapeStr(t0.shape));
      if (quantized != !t.quant.empty() || t.quant.per_channel())
        return Status::Errorf("{}: {} '{}' must be quantized per tensor like the others", v.where,
                              what, t.name);
      s.data.insert(s.data.end(), t.data.begin(), t.data.end());
      if (quantized)
        for (int64_t r = 0; r < t.shape[0]; ++r) {
          s.quant.scale.push_back(t.quant.scale[0]);
          s.quant.zero_point.push_back(t.quant.zero_point[0]);
        }
    }
    return g_.AddTensor(std::move(s));
  };
  TML_ASSIGN_OR_RETURN(int w_in, stack(1, "input_weights"));
  TML_ASSIGN_OR_RETURN(int w_rec, stack(5, "recurrent_weights"));
  TML_ASSIGN_OR_RETURN(int bias, stack(12, "bias"));
  // The biases carry no scale of their own in our graph (input x weight scale per gate).
  g_.tensor(bias).quant = {};
  for (size_t k : {size_t{18}, size_t{19}}) {
    Tensor& st = g_.tensor(v.in[k]);
    if (st.is_const)
      return Status::Errorf("{}: the {} state '{}' is a constant, not a variable", v.where,
                            k == 18 ? "hidden" : "cell", st.name);
    st.is_state = true;
  }
  const DType in = g_.tensor(v.in[0]).dtype;
  if (in == DType::kFloat32 && g_.tensor(w_in).dtype != DType::kFloat32)
    return Status::Errorf("{}: hybrid LSTM (float activations, {} weights) is not supported",
                          v.where, DTypeName(g_.tensor(w_in).dtype));
  Node& n =
      g_.AddNode(OpType::kLstm, name, {v.in[0], w_in, w_rec, bias, v.in[18], v.in[19]}, {v.out[0]});
  n.attrs.Set("time_major", static_cast<int64_t>(o->time_major() ? 1 : 0));
  if (o->cell_clip() > 0) n.attrs.Set("cell_clip", o->cell_clip());
  return Status::Ok();
}

Status TfliteImporter::Binary(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 2));
  tflite::ActivationFunctionType act = tflite::ActivationFunctionType_NONE;
  OpType t = OpType::kAdd;
  switch (v.code) {
    case tflite::BuiltinOperator_ADD:
      act = OptionsOf<tflite::AddOptions>(v.op)->fused_activation_function();
      break;
    case tflite::BuiltinOperator_SUB:
      t = OpType::kSub;
      act = OptionsOf<tflite::SubOptions>(v.op)->fused_activation_function();
      break;
    case tflite::BuiltinOperator_MUL:
      t = OpType::kMul;
      act = OptionsOf<tflite::MulOptions>(v.op)->fused_activation_function();
      break;
    default:
      t = OpType::kDiv;
      act = OptionsOf<tflite::DivOptions>(v.op)->fused_activation_function();
      break;
  }
  return SetFusedActivation(Add(v, t, {v.in[0], v.in[1]}), act, v.where);
}

Status TfliteImporter::Concatenation(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  const auto* o = OptionsOf<tflite::ConcatenationOptions>(v.op);
  Add(v, OpType::kConcat, v.in).attrs.Set("axis", o->axis());
  if (o->fused_activation_function() != tflite::ActivationFunctionType_NONE)
    return Status::Errorf("{}: fused activation on concatenation", v.where);
  return Status::Ok();
}

Status TfliteImporter::Relu(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  Node& n = Add(v, OpType::kClip, {v.in[0]});
  n.attrs.Set("min", v.code == tflite::BuiltinOperator_RELU_N1_TO_1 ? -1.0f : 0.0f);
  if (v.code != tflite::BuiltinOperator_RELU)
    n.attrs.Set("max", v.code == tflite::BuiltinOperator_RELU6 ? 6.0f : 1.0f);
  return Status::Ok();
}

Status TfliteImporter::Unary(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  const OpType t = v.code == tflite::BuiltinOperator_LOGISTIC   ? OpType::kLogistic
                   : v.code == tflite::BuiltinOperator_TANH     ? OpType::kTanh
                   : v.code == tflite::BuiltinOperator_QUANTIZE ? OpType::kQuantize
                                                                : OpType::kDequantize;
  Add(v, t, {v.in[0]});
  return Status::Ok();
}

Status TfliteImporter::LeakyRelu(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  Add(v, OpType::kLeakyRelu, {v.in[0]})
      .attrs.Set("alpha", OptionsOf<tflite::LeakyReluOptions>(v.op)->alpha());
  return Status::Ok();
}

Status TfliteImporter::Softmax(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  if (v.code == tflite::BuiltinOperator_LOG_SOFTMAX) {
    Add(v, OpType::kLogSoftmax, {v.in[0]});
    return Status::Ok();
  }
  // Without an options table beta is 1 (the schema's default of 0 would zero every logit).
  const auto* o = v.op->builtin_options_as_SoftmaxOptions();
  Add(v, OpType::kSoftmax, {v.in[0]}).attrs.Set("beta", o ? o->beta() : 1.0f);
  return Status::Ok();
}

Status TfliteImporter::Reshape(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  // The declared output shape is authoritative once shape inputs are folded.
  tml::Shape s = g_.tensor(v.out[0]).shape;
  if (v.code == tflite::BuiltinOperator_RESHAPE) {
    const auto* o = v.op->builtin_options_as_ReshapeOptions();
    if (v.in.size() > 1 && v.in[1] >= 0 && g_.tensor(v.in[1]).is_const) {
      TML_ASSIGN_OR_RETURN(s, ConstInts(v.in[1], v.where, "shape"));
    } else if (o && o->new_shape() && o->new_shape()->size() > 0) {
      s.assign(o->new_shape()->begin(), o->new_shape()->end());
    }
  }
  Add(v, OpType::kReshape, {v.in[0]}).attrs.Set("shape", s);
  return Status::Ok();
}

Status TfliteImporter::Pad(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 2));
  TML_ASSIGN_OR_RETURN(auto pairs, ConstInts(v.in[1], v.where, "paddings"));
  const size_t rank = g_.tensor(v.in[0]).shape.size();
  if (pairs.size() != 2 * rank)
    return Status::Errorf("{}: paddings have {} values for rank {}", v.where, pairs.size(), rank);
  std::vector<int64_t> pads(2 * rank);
  for (size_t d = 0; d < rank; ++d) {
    pads[d] = pairs[2 * d];
    pads[d + rank] = pairs[2 * d + 1];
  }
  float real = 0.0f;
  if (v.code == tflite::BuiltinOperator_PADV2 && v.in.size() > 2 && v.in[2] >= 0) {
    const Tensor& c = g_.tensor(v.in[2]);
    if (!c.is_const || c.numel() != 1)
      return Status::Errorf("{}: constant value must be a constant scalar", v.where);
    real = static_cast<float>(c.ValueAsDouble(0));
    if (!c.quant.empty())
      real = (real - static_cast<float>(c.quant.zero_point[0])) * c.quant.scale[0];
  }
  Node& n = Add(v, OpType::kPad, {v.in[0]});
  n.attrs.Set("pads", pads);
  if (v.code == tflite::BuiltinOperator_PADV2) n.attrs.Set("value", real);
  return Status::Ok();
}

Status TfliteImporter::Transpose(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 2));
  TML_ASSIGN_OR_RETURN(auto perm, ConstInts(v.in[1], v.where, "perm"));
  Add(v, OpType::kTranspose, {v.in[0]}).attrs.Set("perm", perm);
  return Status::Ok();
}

Status TfliteImporter::Mean(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 2));
  TML_ASSIGN_OR_RETURN(auto axes, ConstInts(v.in[1], v.where, "axes"));
  Node& n = Add(v, OpType::kMean, {v.in[0]});
  n.attrs.Set("axes", axes);
  n.attrs.Set("keep_dims",
              static_cast<int64_t>(OptionsOf<tflite::ReducerOptions>(v.op)->keep_dims()));
  return Status::Ok();
}

Status TfliteImporter::Shape(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  return SetConst(v, g_.tensor(v.in[0]).shape);  // shapes are static: always folded
}

Status TfliteImporter::StridedSlice(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 4));
  TML_ASSIGN_OR_RETURN(auto begin, ConstInts(v.in[1], v.where, "begin"));
  TML_ASSIGN_OR_RETURN(auto end, ConstInts(v.in[2], v.where, "end"));
  TML_ASSIGN_OR_RETURN(auto strides, ConstInts(v.in[3], v.where, "strides"));
  const auto* o = OptionsOf<tflite::StridedSliceOptions>(v.op);
  if (o->ellipsis_mask() != 0 || o->new_axis_mask() != 0)
    return Status::Errorf("{}: ellipsis_mask and new_axis_mask are not supported", v.where);
  const Tensor& x = g_.tensor(v.in[0]);
  const size_t rank = x.shape.size();
  if (begin.size() > rank || end.size() != begin.size() || strides.size() != begin.size())
    return Status::Errorf("{}: begin, end and strides have {}, {} and {} values for rank {}",
                          v.where, begin.size(), end.size(), strides.size(), rank);
  std::vector<int64_t> starts(rank, 0), steps(rank, 1), sizes(x.shape.begin(), x.shape.end());
  tml::Shape kept;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t dim = x.shape[d];
    const bool shrink = d < begin.size() && ((o->shrink_axis_mask() >> d) & 1);
    if (shrink) {
      const int64_t b = begin[d] < 0 ? begin[d] + dim : begin[d];
      if (b < 0 || b >= dim)
        return Status::Errorf("{}: index {} of dimension {} is outside 0..{}", v.where, begin[d], d,
                              dim - 1);
      starts[d] = b;
      sizes[d] = 1;
      continue;
    }
    if (d < begin.size()) {
      if (strides[d] == 0) return Status::Errorf("{}: stride of dimension {} is 0", v.where, d);
      const int64_t b = (o->begin_mask() >> d) & 1 ? kSliceFromStart : begin[d];
      const int64_t e = (o->end_mask() >> d) & 1 ? kSliceToEnd
                        : o->offset()            ? begin[d] + end[d]
                                                 : end[d];
      const SliceAxis a = ResolveSliceAxis(dim, b, e, strides[d]);
      starts[d] = a.start;
      steps[d] = strides[d];
      sizes[d] = a.size;
    }
    kept.push_back(sizes[d]);
  }
  const Tensor& y = g_.tensor(v.out[0]);
  if (NumElements(kept) != y.numel() || x.dtype != y.dtype)
    return Status::Errorf("{}: the slice has shape {} of {}, the output '{}' is {} of {}", v.where,
                          ShapeStr(kept), DTypeName(x.dtype), y.name, ShapeStr(y.shape),
                          DTypeName(y.dtype));
  if (x.is_const) {  // a shape computation: evaluate it now
    const size_t elem = DTypeSize(x.dtype);
    std::vector<int64_t> stride(rank, 1);
    for (size_t d = rank; d-- > 1;) stride[d - 1] = stride[d] * x.shape[d];
    std::vector<uint8_t> bytes;
    std::vector<int64_t> idx(rank, 0);
    for (int64_t i = 0; i < NumElements(sizes); ++i) {
      int64_t src = 0;
      for (size_t d = 0; d < rank; ++d) src += (starts[d] + idx[d] * steps[d]) * stride[d];
      const uint8_t* p = x.data.data() + static_cast<size_t>(src) * elem;
      bytes.insert(bytes.end(), p, p + elem);
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < sizes[d]) break;
        idx[d] = 0;
      }
    }
    Tensor& out = g_.tensor(v.out[0]);
    out.is_const = true;
    out.data = std::move(bytes);
    return Status::Ok();
  }
  int sliced = v.out[0];
  if (kept.size() != rank) {  // shrunk axes: slice at full rank, then drop them
    Tensor full = Tensor::Make(y.name + "/slice", y.dtype, {});
    full.quant = y.quant;
    sliced = g_.AddTensor(std::move(full));
  }
  Node& n = g_.AddNode(OpType::kSlice, g_.tensor(v.out[0]).name, {v.in[0]}, {sliced});
  n.attrs.Set("starts", starts);
  n.attrs.Set("steps", steps);
  n.attrs.Set("sizes", sizes);
  if (sliced != v.out[0])
    g_.AddNode(OpType::kReshape, g_.tensor(v.out[0]).name + "/shrink", {sliced}, {v.out[0]})
        .attrs.Set("shape", g_.tensor(v.out[0]).shape);
  return Status::Ok();
}

Status TfliteImporter::Pack(const OpView& v) {
  TML_RETURN_IF_ERROR(NeedInputs(v, 1));
  const Tensor& x0 = g_.tensor(v.in[0]);
  const int64_t rank = static_cast<int64_t>(x0.shape.size());
  int64_t axis = OptionsOf<tflite::PackOptions>(v.op)->axis();
  if (axis < 0) axis += rank + 1;
  if (axis < 0 || axis > rank)
    return Status::Errorf("{}: axis {} is out of range for inputs of rank {}", v.where, axis, rank);
  bool all_const = true;
  for (int t : v.in) all_const &= t >= 0 && g_.tensor(t).is_const;
  const Tensor& y = g_.tensor(v.out[0]);
  if (all_const && axis == 0 && (y.dtype == DType::kInt32 || y.dtype == DType::kInt64)) {
    std::vector<int64_t> values;
    for (int t : v.in) {
      TML_ASSIGN_OR_RETURN(auto part, ConstInts(t, v.where, "input"));
      values.insert(values.end(), part.begin(), part.end());
    }
    return SetConst(v, values);
  }
  // At run time: each input gains a dimension of 1 at axis, then they are concatenated.
  std::vector<int> parts;
  for (size_t k = 0; k < v.in.size(); ++k) {
    const Tensor& x = g_.tensor(v.in[k]);
    if (x.shape != x0.shape || x.dtype != x0.dtype)
      return Status::Errorf("{}: input {} is {} of {}, input 0 is {} of {}", v.where, k,
                            ShapeStr(x.shape), DTypeName(x.dtype), ShapeStr(x0.shape),
                            DTypeName(x0.dtype));
    tml::Shape s = x.shape;
    s.insert(s.begin() + axis, 1);
    Tensor e = Tensor::Make(fmt::format("{}/input{}", y.name, k), x.dtype, {});
    e.quant = x.quant;
    const int et = g_.AddTensor(std::move(e));
    g_.AddNode(OpType::kReshape, g_.tensor(et).name, {v.in[k]}, {et}).attrs.Set("shape", s);
    parts.push_back(et);
  }
  Add(v, OpType::kConcat, parts).attrs.Set("axis", axis);
  return Status::Ok();
}

constexpr OpEntry kOps[] = {
    {tflite::BuiltinOperator_ADD, tflite::BuiltinOptions_AddOptions, &TfliteImporter::Binary,
     OpType::kAdd},
    {tflite::BuiltinOperator_SUB, tflite::BuiltinOptions_SubOptions, &TfliteImporter::Binary,
     OpType::kSub},
    {tflite::BuiltinOperator_MUL, tflite::BuiltinOptions_MulOptions, &TfliteImporter::Binary,
     OpType::kMul},
    {tflite::BuiltinOperator_DIV, tflite::BuiltinOptions_DivOptions, &TfliteImporter::Binary,
     OpType::kDiv},
    {tflite::BuiltinOperator_CONV_2D, tflite::BuiltinOptions_Conv2DOptions, &TfliteImporter::Conv,
     OpType::kConv2D},
    {tflite::BuiltinOperator_DEPTHWISE_CONV_2D, tflite::BuiltinOptions_DepthwiseConv2DOptions,
     &TfliteImporter::Conv, OpType::kDepthwiseConv2D},
    {tflite::BuiltinOperator_AVERAGE_POOL_2D, tflite::BuiltinOptions_Pool2DOptions,
     &TfliteImporter::Pool, OpType::kAveragePool2D},
    {tflite::BuiltinOperator_MAX_POOL_2D, tflite::BuiltinOptions_Pool2DOptions,
     &TfliteImporter::Pool, OpType::kMaxPool2D},
    {tflite::BuiltinOperator_SVDF, tflite::BuiltinOptions_SVDFOptions, &TfliteImporter::Svdf,
     OpType::kSvdf},
    {tflite::BuiltinOperator_UNIDIRECTIONAL_SEQUENCE_LSTM,
     tflite::BuiltinOptions_UnidirectionalSequenceLSTMOptions, &TfliteImporter::Lstm,
     OpType::kLstm},
    {tflite::BuiltinOperator_FULLY_CONNECTED, tflite::BuiltinOptions_FullyConnectedOptions,
     &TfliteImporter::FullyConnected, OpType::kFullyConnected, OpType::kReshape},
    {tflite::BuiltinOperator_CONCATENATION, tflite::BuiltinOptions_ConcatenationOptions,
     &TfliteImporter::Concatenation, OpType::kConcat},
    {tflite::BuiltinOperator_RELU, tflite::BuiltinOptions_NONE, &TfliteImporter::Relu,
     OpType::kClip},
    {tflite::BuiltinOperator_RELU_N1_TO_1, tflite::BuiltinOptions_NONE, &TfliteImporter::Relu,
     OpType::kClip},
    {tflite::BuiltinOperator_RELU6, tflite::BuiltinOptions_NONE, &TfliteImporter::Relu,
     OpType::kClip},
    {tflite::BuiltinOperator_LOGISTIC, tflite::BuiltinOptions_NONE, &TfliteImporter::Unary,
     OpType::kLogistic},
    {tflite::BuiltinOperator_TANH, tflite::BuiltinOptions_NONE, &TfliteImporter::Unary,
     OpType::kTanh},
    {tflite::BuiltinOperator_QUANTIZE, tflite::BuiltinOptions_QuantizeOptions,
     &TfliteImporter::Unary, OpType::kQuantize},
    {tflite::BuiltinOperator_DEQUANTIZE, tflite::BuiltinOptions_DequantizeOptions,
     &TfliteImporter::Unary, OpType::kDequantize},
    {tflite::BuiltinOperator_LEAKY_RELU, tflite::BuiltinOptions_LeakyReluOptions,
     &TfliteImporter::LeakyRelu, OpType::kLeakyRelu},
    {tflite::BuiltinOperator_SOFTMAX, tflite::BuiltinOptions_SoftmaxOptions,
     &TfliteImporter::Softmax, OpType::kSoftmax},
    {tflite::BuiltinOperator_RESHAPE, tflite::BuiltinOptions_ReshapeOptions,
     &TfliteImporter::Reshape, OpType::kReshape},
    {tflite::BuiltinOperator_SQUEEZE, tflite::BuiltinOptions_SqueezeOptions,
     &TfliteImporter::Reshape, OpType::kReshape},
    {tflite::BuiltinOperator_EXPAND_DIMS, tflite::BuiltinOptions_ExpandDimsOptions,
     &TfliteImporter::Reshape, OpType::kReshape},
    {tflite::BuiltinOperator_PAD, tflite::BuiltinOptions_PadOptions, &TfliteImporter::Pad,
     OpType::kPad},
    {tflite::BuiltinOperator_PADV2, tflite::BuiltinOptions_PadV2Options, &TfliteImporter::Pad,
     OpType::kPad},
    {tflite::BuiltinOperator_TRANSPOSE, tflite::BuiltinOptions_TransposeOptions,
     &TfliteImporter::Transpose, OpType::kTranspose},
    {tflite::BuiltinOperator_MEAN, tflite::BuiltinOptions_ReducerOptions, &TfliteImporter::Mean,
     OpType::kMean},
    {tflite::BuiltinOperator_SHAPE, tflite::BuiltinOptions_ShapeOptions, &TfliteImporter::Shape,
     OpType::kCount},
    {tflite::BuiltinOperator_STRIDED_SLICE, tflite::BuiltinOptions_StridedSliceOptions,
     &TfliteImporter::StridedSlice, OpType::kSlice, OpType::kReshape},
    {tflite::BuiltinOperator_PACK, tflite::BuiltinOptions_PackOptions, &TfliteImporter::Pack,
     OpType::kReshape, OpType::kConcat},
    {tflite::BuiltinOperator_LOG_SOFTMAX, tflite::BuiltinOptions_LogSoftmaxOptions,
     &TfliteImporter::Softmax, OpType::kLogSoftmax},
};

const OpEntry* FindOp(int32_t code) {
  for (const OpEntry& e : kOps)
    if (e.code == code) return &e;
  return nullptr;
}

Status TfliteImporter::ImportOperator(size_t index, const tflite::Operator* op) {
  OpView v{op, CodeOf(model_->operator_codes()->Get(op->opcode_index())), "", {}, {}};
  v.where = OpLabel(index, op) + " " + OperatorName(v.code);
  const int nt = static_cast<int>(g_.tensors.size());
  if (op->inputs())
    for (int32_t t : *op->inputs()) {
      if (t < -1 || t >= nt) return Status::Errorf("{}: input tensor {} out of range", v.where, t);
      v.in.push_back(t);
    }
  if (op->outputs())
    for (int32_t t : *op->outputs()) {
      if (t < 0 || t >= nt) return Status::Errorf("{}: output tensor {} out of range", v.where, t);
      v.out.push_back(t);
    }
  if (v.out.empty()) return Status::Errorf("{}: has no outputs", v.where);
  const OpEntry* e = FindOp(v.code);
  // An options table of another operator's type is a malformed file; none at all means defaults.
  const uint8_t type = op->builtin_options_type();
  if (type != tflite::BuiltinOptions_NONE && type != e->options)
    return Status::Errorf("{}: carries {} where {} was expected", v.where, OptionsName(type),
                          e->options == tflite::BuiltinOptions_NONE ? std::string("no options")
                                                                    : OptionsName(e->options));
  return (this->*(e->import))(v);
}

Result<Graph> TfliteImporter::Run() {
  if (model_->version() != 3)
    return Status::Errorf("schema version {} is not supported (expected 3)", model_->version());
  if (!model_->subgraphs() || model_->subgraphs()->size() == 0)
    return Status::Error("model has no subgraphs");
  const tflite::SubGraph* sg = model_->subgraphs()->Get(0);
  TML_RETURN_IF_ERROR(ImportTensors(sg));
  TML_RETURN_IF_ERROR(CheckSupported(sg));
  const int nt = static_cast<int>(g_.tensors.size());
  auto io = [&](const flatbuffers::Vector<int32_t>* v, std::vector<int>& dst,
                const char* what) -> Status {
    if (!v) return Status::Errorf("subgraph has no {}", what);
    for (int32_t t : *v) {
      if (t < 0 || t >= nt) return Status::Errorf("subgraph {} index {} out of range", what, t);
      dst.push_back(t);
    }
    return Status::Ok();
  };
  TML_RETURN_IF_ERROR(io(sg->inputs(), g_.inputs, "inputs"));
  TML_RETURN_IF_ERROR(io(sg->outputs(), g_.outputs, "outputs"));
  for (int t : g_.inputs) g_.tensor(t).is_const = false;
  for (size_t i = 0; sg->operators() && i < sg->operators()->size(); ++i)
    TML_RETURN_IF_ERROR(
        ImportOperator(i, sg->operators()->Get(static_cast<flatbuffers::uoffset_t>(i))));
  // Older converters list variable tensors among the inputs: state is not fed by the caller.
  std::erase_if(g_.inputs, [&](int t) { return g_.tensor(t).is_state; });
  return std::move(g_);
}

}  // namespace

std::vector<FormatOp> TfliteImportOps() {
  std::vector<FormatOp> ops;
  for (const OpEntry& e : kOps) {
    FormatOp f{OperatorName(e.code), {}};
    for (OpType t : {e.op, e.also})
      if (t != OpType::kCount) f.produces.push_back(t);
    ops.push_back(std::move(f));
  }
  return ops;
}

std::vector<std::string> SupportedTfliteOperators() {
  std::vector<std::string> names;
  for (const OpEntry& e : kOps) names.push_back(OperatorName(e.code));
  return names;
}

Result<Graph> ImportTfliteBuffer(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 8)
    return Status::Errorf("{}: file too small to be a TFLite model ({} bytes)", name, size);
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) return Status::Errorf("{}: file larger than 2 GB", name);
  flatbuffers::Verifier::Options vo;
  vo.max_depth = 64;
  vo.max_tables = 10000000;
  flatbuffers::Verifier v(data, size, vo);
  // No file identifier check: older converters wrote none.
  if (!v.VerifyBuffer<tflite::Model>(nullptr))
    return Status::Errorf("{}: not a valid TFLite flatbuffer (truncated or corrupted)", name);
  TfliteImporter imp(tflite::GetModel(data), name);
  auto r = imp.Run();
  if (!r.ok()) return r.status().Wrap(name);
  return r;
}

}  // namespace tml
