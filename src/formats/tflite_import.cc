// TFLite flatbuffer importer: verifies the file, refuses unsupported operators
// (all of them in one message), evaluates converter shape subgraphs (SHAPE,
// STRIDED_SLICE, PACK) at import, and maps builtin operators onto the IR.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "formats/import.h"
#include "formats/tflite_schema.h"

namespace tml {

namespace {

using tfl::Builtin;

Result<DType> MapType(int8_t t, const std::string& tensor) {
  switch (t) {
    case 0:
      return DType::kFloat32;
    case 2:
      return DType::kInt32;
    case 3:
      return DType::kUInt8;
    case 4:
      return DType::kInt64;
    case 6:
      return DType::kBool;
    case 7:
      return DType::kInt16;
    case 9:
      return DType::kInt8;
    default:
      return Status::Errorf("tensor '{}': unsupported TFLite tensor type {}", tensor,
                            static_cast<int>(t));
  }
}

// Which union type carries each operator's options (0 = none expected).
uint8_t ExpectedOptions(int32_t code) {
  switch (code) {
    case Builtin::kConv2D:
      return 1;
    case Builtin::kDepthwiseConv2D:
      return 2;
    case Builtin::kAveragePool2D:
    case Builtin::kMaxPool2D:
      return 5;
    case Builtin::kFullyConnected:
      return 8;
    case Builtin::kSoftmax:
      return 9;
    case Builtin::kConcatenation:
      return 10;
    case Builtin::kAdd:
      return 11;
    case Builtin::kReshape:
      return 17;
    case Builtin::kMul:
      return 21;
    case Builtin::kMean:
      return 27;
    case Builtin::kSub:
      return 28;
    case Builtin::kDiv:
      return 29;
    case Builtin::kSqueeze:
      return 30;
    case Builtin::kStridedSlice:
      return 32;
    case Builtin::kPack:
      return 59;
    case Builtin::kLeakyRelu:
      return 75;
    default:
      return 0;
  }
}

bool Supported(int32_t code) {
  switch (code) {
    case Builtin::kAdd:
    case Builtin::kAveragePool2D:
    case Builtin::kConcatenation:
    case Builtin::kConv2D:
    case Builtin::kDepthwiseConv2D:
    case Builtin::kDequantize:
    case Builtin::kFullyConnected:
    case Builtin::kLogistic:
    case Builtin::kMaxPool2D:
    case Builtin::kMul:
    case Builtin::kRelu:
    case Builtin::kReluN1To1:
    case Builtin::kRelu6:
    case Builtin::kReshape:
    case Builtin::kSoftmax:
    case Builtin::kTanh:
    case Builtin::kPad:
    case Builtin::kTranspose:
    case Builtin::kMean:
    case Builtin::kSub:
    case Builtin::kDiv:
    case Builtin::kSqueeze:
    case Builtin::kStridedSlice:
    case Builtin::kPadV2:
    case Builtin::kExpandDims:
    case Builtin::kShape:
    case Builtin::kPack:
    case Builtin::kLeakyRelu:
    case Builtin::kQuantize:
      return true;
    default:
      return false;
  }
}

class TfliteImporter {
 public:
  TfliteImporter(const tfl::Model* m, std::string name) : model_(m) { g_.name = std::move(name); }
  Result<Graph> Run();

 private:
  Status CheckSupported(const tfl::SubGraph* sg);
  Status ImportTensors(const tfl::SubGraph* sg);
  Status ImportOperator(size_t index, const tfl::Operator* op);
  Status FoldShapeOp(int32_t code, const std::string& where, const std::vector<int>& in,
                     const std::vector<int>& out, const tfl::Options* o);
  Result<std::vector<int64_t>> ConstInts(int t, const std::string& where, const char* what);
  int32_t OpCode(const tfl::Operator* op) const {
    return model_->operator_codes()->Get(op->opcode_index())->code();
  }
  std::string OpLabel(size_t index, const tfl::Operator* op) const;

  const tfl::Model* model_;
  Graph g_;
};

std::string TfliteImporter::OpLabel(size_t index, const tfl::Operator* op) const {
  std::string out;
  if (op->outputs() && op->outputs()->size() > 0) {
    const int32_t t = op->outputs()->Get(0);
    if (t >= 0 && static_cast<size_t>(t) < g_.tensors.size()) out = g_.tensor(t).name;
  }
  return fmt::format("operator #{}{}", index, out.empty() ? "" : " ('" + out + "')");
}

Status TfliteImporter::CheckSupported(const tfl::SubGraph* sg) {
  std::map<std::string, std::vector<std::string>> unsupported;
  const auto* codes = model_->operator_codes();
  for (size_t i = 0; sg->operators() && i < sg->operators()->size(); ++i) {
    const tfl::Operator* op = sg->operators()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!codes || op->opcode_index() >= codes->size())
      return Status::Errorf("operator #{}: opcode index {} out of range", i, op->opcode_index());
    const tfl::OperatorCode* oc = codes->Get(op->opcode_index());
    const int32_t code = oc->code();
    if (Supported(code)) continue;
    std::string name = code == Builtin::kCustom && oc->custom_code()
                           ? fmt::format("CUSTOM '{}'", oc->custom_code()->str())
                           : fmt::format("{} ({})", tfl::BuiltinName(code), code);
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

Status TfliteImporter::ImportTensors(const tfl::SubGraph* sg) {
  const auto* buffers = model_->buffers();
  if (!sg->tensors()) return Status::Error("subgraph 0 has no tensors");
  for (size_t i = 0; i < sg->tensors()->size(); ++i) {
    const tfl::Tensor* t = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(i));
    Tensor x;
    x.name = t->name() ? t->name()->str() : fmt::format("tensor_{}", i);
    TML_ASSIGN_OR_RETURN(x.dtype, MapType(t->type(), x.name));
    if (t->has_sparsity())
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
      if (x.quant.per_channel() &&
          (x.quant.axis < 0 || static_cast<size_t>(x.quant.axis) >= x.shape.size() ||
           x.shape[static_cast<size_t>(x.quant.axis)] !=
               static_cast<int64_t>(x.quant.scale.size())))
        return Status::Errorf("tensor '{}': {} scales do not fit dimension {} of {}", x.name,
                              x.quant.scale.size(), x.quant.axis, ShapeStr(x.shape));
    }
    const uint32_t b = t->buffer();
    if (b != 0) {
      if (!buffers || b >= buffers->size())
        return Status::Errorf("tensor '{}': buffer index {} out of range", x.name, b);
      const tfl::Buffer* buf = buffers->Get(b);
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

// Activation bounds of a fused activation function code.
Status SetFusedActivation(Node& n, int8_t code, const std::string& where) {
  switch (code) {
    case 0:
      return Status::Ok();
    case 1:
      n.attrs.Set("act_min", 0.0f);
      return Status::Ok();
    case 2:
      n.attrs.Set("act_min", -1.0f);
      n.attrs.Set("act_max", 1.0f);
      return Status::Ok();
    case 3:
      n.attrs.Set("act_min", 0.0f);
      n.attrs.Set("act_max", 6.0f);
      return Status::Ok();
    default:
      return Status::Errorf("{}: fused activation {} is not supported", where,
                            static_cast<int>(code));
  }
}

// Explicit padding from TFLite's SAME / VALID rule.
void SetPadding(Node& n, int8_t padding, int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w) {
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
  if (padding == 0) {  // SAME
    pad(in_h, k_h, sh, dh, &t, &b);
    pad(in_w, k_w, sw, dw, &l, &r);
  }
  n.attrs.Set("pad_top", t);
  n.attrs.Set("pad_bottom", b);
  n.attrs.Set("pad_left", l);
  n.attrs.Set("pad_right", r);
}

Status TfliteImporter::FoldShapeOp(int32_t code, const std::string& where,
                                   const std::vector<int>& in, const std::vector<int>& out,
                                   const tfl::Options* o) {
  Tensor& y = g_.tensor(out[0]);
  std::vector<int64_t> values;
  if (code == Builtin::kShape) {
    values = g_.tensor(in[0]).shape;
  } else if (code == Builtin::kStridedSlice) {
    TML_ASSIGN_OR_RETURN(auto data, ConstInts(in[0], where, "input"));
    TML_ASSIGN_OR_RETURN(auto begin, ConstInts(in[1], where, "begin"));
    TML_ASSIGN_OR_RETURN(auto end, ConstInts(in[2], where, "end"));
    TML_ASSIGN_OR_RETURN(auto strides, ConstInts(in[3], where, "strides"));
    if (g_.tensor(in[0]).shape.size() != 1 || begin.size() != 1 || end.size() != 1 ||
        strides.size() != 1 || strides[0] == 0)
      return Status::Errorf("{}: only 1-D constant strided slices are supported", where);
    const int64_t n = static_cast<int64_t>(data.size());
    const int32_t begin_mask = o ? o->I32(0) : 0, end_mask = o ? o->I32(1) : 0;
    const int32_t shrink = o ? o->I32(4) : 0;
    int64_t s = begin[0], e = end[0];
    const int64_t st = strides[0];
    if (s < 0) s += n;
    if (e < 0) e += n;
    if (begin_mask & 1) s = st > 0 ? 0 : n - 1;
    if (end_mask & 1) e = st > 0 ? n : -1;
    if (shrink & 1) e = s + 1;
    s = std::clamp<int64_t>(s, st > 0 ? 0 : -1, st > 0 ? n : n - 1);
    e = std::clamp<int64_t>(e, st > 0 ? 0 : -1, st > 0 ? n : n - 1);
    for (int64_t i = s; st > 0 ? i < e : i > e; i += st)
      values.push_back(data[static_cast<size_t>(i)]);
  } else {  // PACK of constant scalars / vectors along axis 0
    if (o && o->I32(1) != 0)
      return Status::Errorf("{}: only PACK along axis 0 is supported", where);
    for (int t : in) {
      TML_ASSIGN_OR_RETURN(auto v, ConstInts(t, where, "input"));
      values.insert(values.end(), v.begin(), v.end());
    }
  }
  if (static_cast<int64_t>(values.size()) != y.numel() && !(y.shape.empty() && values.size() == 1))
    return Status::Errorf("{}: folded {} values but output '{}' has shape {}", where, values.size(),
                          y.name, ShapeStr(y.shape));
  y.is_const = true;
  y.data.assign(y.nbytes(), 0);
  for (size_t i = 0; i < values.size() && i * DTypeSize(y.dtype) < y.data.size(); ++i) {
    if (y.dtype == DType::kInt64)
      y.mutable_as<int64_t>()[i] = values[i];
    else if (y.dtype == DType::kInt32)
      y.mutable_as<int32_t>()[i] = static_cast<int32_t>(values[i]);
    else
      return Status::Errorf("{}: output must be int32 or int64", where);
  }
  return Status::Ok();
}

Status TfliteImporter::ImportOperator(size_t index, const tfl::Operator* op) {
  const int32_t code = OpCode(op);
  const std::string where = OpLabel(index, op) + " " + tfl::BuiltinName(code);
  std::vector<int> in, out;
  const int nt = static_cast<int>(g_.tensors.size());
  if (op->inputs())
    for (int32_t t : *op->inputs()) {
      if (t < -1 || t >= nt) return Status::Errorf("{}: input tensor {} out of range", where, t);
      in.push_back(t);
    }
  if (op->outputs())
    for (int32_t t : *op->outputs()) {
      if (t < 0 || t >= nt) return Status::Errorf("{}: output tensor {} out of range", where, t);
      out.push_back(t);
    }
  if (out.empty()) return Status::Errorf("{}: has no outputs", where);
  const uint8_t want = ExpectedOptions(code);
  const tfl::Options* o = op->options();
  if (o && op->options_type() != want)
    return Status::Errorf("{}: options of union type {} where {} was expected", where,
                          static_cast<int>(op->options_type()), static_cast<int>(want));
  auto need_inputs = [&](size_t count) -> Status {
    if (in.size() < count)
      return Status::Errorf("{}: expects {} inputs, has {}", where, count, in.size());
    for (size_t k = 0; k < count; ++k)
      if (in[k] < 0) return Status::Errorf("{}: input {} is missing", where, k);
    return Status::Ok();
  };
  const std::string name = g_.tensor(out[0]).name;
  auto add = [&](OpType t, std::vector<int> inputs) -> Node& {
    return g_.AddNode(t, name, std::move(inputs), {out[0]});
  };

  switch (code) {
    case Builtin::kShape:
    case Builtin::kStridedSlice:
    case Builtin::kPack:
      TML_RETURN_IF_ERROR(need_inputs(code == Builtin::kStridedSlice ? 4 : 1));
      return FoldShapeOp(code, where, in, out, o);
    case Builtin::kConv2D:
    case Builtin::kDepthwiseConv2D: {
      TML_RETURN_IF_ERROR(need_inputs(2));
      const bool dw = code == Builtin::kDepthwiseConv2D;
      std::vector<int> inputs = {in[0], in[1], in.size() > 2 ? in[2] : -1};
      Node& n = add(dw ? OpType::kDepthwiseConv2D : OpType::kConv2D, inputs);
      n.attrs.Set("stride_w", o ? o->I32(1, 1) : 1);
      n.attrs.Set("stride_h", o ? o->I32(2, 1) : 1);
      n.attrs.Set("dilation_w", o ? o->I32(dw ? 5 : 4, 1) : 1);
      n.attrs.Set("dilation_h", o ? o->I32(dw ? 6 : 5, 1) : 1);
      const Tensor& x = g_.tensor(in[0]);
      const Tensor& w = g_.tensor(in[1]);
      if (x.shape.size() != 4 || w.shape.size() != 4)
        return Status::Errorf("{}: input and filter must be 4-D", where);
      SetPadding(n, o ? o->I8(0) : 0, x.shape[1], x.shape[2], w.shape[1], w.shape[2]);
      return SetFusedActivation(n, o ? o->I8(dw ? 4 : 3) : 0, where);
    }
    case Builtin::kAveragePool2D:
    case Builtin::kMaxPool2D: {
      TML_RETURN_IF_ERROR(need_inputs(1));
      Node& n =
          add(code == Builtin::kMaxPool2D ? OpType::kMaxPool2D : OpType::kAveragePool2D, {in[0]});
      n.attrs.Set("stride_w", o ? o->I32(1, 1) : 1);
      n.attrs.Set("stride_h", o ? o->I32(2, 1) : 1);
      const int64_t kw = o ? o->I32(3, 1) : 1, kh = o ? o->I32(4, 1) : 1;
      n.attrs.Set("kernel_w", kw);
      n.attrs.Set("kernel_h", kh);
      const Tensor& x = g_.tensor(in[0]);
      if (x.shape.size() != 4) return Status::Errorf("{}: input must be 4-D", where);
      SetPadding(n, o ? o->I8(0) : 0, x.shape[1], x.shape[2], kh, kw);
      return SetFusedActivation(n, o ? o->I8(5) : 0, where);
    }
    case Builtin::kFullyConnected: {
      TML_RETURN_IF_ERROR(need_inputs(2));
      if (o && o->I8(1) != 0)
        return Status::Errorf("{}: shuffled weights are not supported", where);
      const bool keep_dims = o && o->I8(2) != 0;
      const Tensor& y = g_.tensor(out[0]);
      int fc_out = out[0];
      if (keep_dims && y.shape.size() != 2) {
        Tensor flat = Tensor::Make(name + "/flat", y.dtype, {});
        flat.quant = y.quant;
        fc_out = g_.AddTensor(std::move(flat));
      }
      Node& n = g_.AddNode(OpType::kFullyConnected, name,
                           {in[0], in[1], in.size() > 2 ? in[2] : -1}, {fc_out});
      TML_RETURN_IF_ERROR(SetFusedActivation(n, o ? o->I8(0) : 0, where));
      if (fc_out != out[0])
        g_.AddNode(OpType::kReshape, name + "/keep_dims", {fc_out}, {out[0]})
            .attrs.Set("shape", g_.tensor(out[0]).shape);
      return Status::Ok();
    }
    case Builtin::kAdd:
    case Builtin::kSub:
    case Builtin::kMul:
    case Builtin::kDiv: {
      TML_RETURN_IF_ERROR(need_inputs(2));
      const OpType t = code == Builtin::kAdd   ? OpType::kAdd
                       : code == Builtin::kSub ? OpType::kSub
                       : code == Builtin::kMul ? OpType::kMul
                                               : OpType::kDiv;
      Node& n = add(t, {in[0], in[1]});
      return SetFusedActivation(n, o ? o->I8(0) : 0, where);
    }
    case Builtin::kConcatenation: {
      TML_RETURN_IF_ERROR(need_inputs(1));
      Node& n = add(OpType::kConcat, in);
      n.attrs.Set("axis", o ? o->I32(0) : 0);
      if (o && o->I8(1) != 0) return Status::Errorf("{}: fused activation on concatenation", where);
      return Status::Ok();
    }
    case Builtin::kRelu:
    case Builtin::kReluN1To1:
    case Builtin::kRelu6: {
      TML_RETURN_IF_ERROR(need_inputs(1));
      Node& n = add(OpType::kClip, {in[0]});
      n.attrs.Set("min", code == Builtin::kReluN1To1 ? -1.0f : 0.0f);
      if (code != Builtin::kRelu) n.attrs.Set("max", code == Builtin::kRelu6 ? 6.0f : 1.0f);
      return Status::Ok();
    }
    case Builtin::kLogistic:
    case Builtin::kTanh:
    case Builtin::kDequantize:
    case Builtin::kQuantize: {
      TML_RETURN_IF_ERROR(need_inputs(1));
      const OpType t = code == Builtin::kLogistic   ? OpType::kLogistic
                       : code == Builtin::kTanh     ? OpType::kTanh
                       : code == Builtin::kQuantize ? OpType::kQuantize
                                                    : OpType::kDequantize;
      add(t, {in[0]});
      return Status::Ok();
    }
    case Builtin::kLeakyRelu:
      TML_RETURN_IF_ERROR(need_inputs(1));
      add(OpType::kLeakyRelu, {in[0]}).attrs.Set("alpha", o ? o->F32(0, 0.2f) : 0.2f);
      return Status::Ok();
    case Builtin::kSoftmax:
      TML_RETURN_IF_ERROR(need_inputs(1));
      add(OpType::kSoftmax, {in[0]}).attrs.Set("beta", o ? o->F32(0, 1.0f) : 1.0f);
      return Status::Ok();
    case Builtin::kReshape:
    case Builtin::kSqueeze:
    case Builtin::kExpandDims: {
      TML_RETURN_IF_ERROR(need_inputs(1));
      // The declared output shape is authoritative once shape inputs are folded.
      Shape s = g_.tensor(out[0]).shape;
      if (code == Builtin::kReshape && in.size() > 1 && in[1] >= 0 && g_.tensor(in[1]).is_const) {
        TML_ASSIGN_OR_RETURN(s, ConstInts(in[1], where, "shape"));
      } else if (code == Builtin::kReshape && o && o->Ints(0) && o->Ints(0)->size() > 0) {
        s.assign(o->Ints(0)->begin(), o->Ints(0)->end());
      }
      add(OpType::kReshape, {in[0]}).attrs.Set("shape", s);
      return Status::Ok();
    }
    case Builtin::kPad:
    case Builtin::kPadV2: {
      TML_RETURN_IF_ERROR(need_inputs(2));
      TML_ASSIGN_OR_RETURN(auto pairs, ConstInts(in[1], where, "paddings"));
      const size_t rank = g_.tensor(in[0]).shape.size();
      if (pairs.size() != 2 * rank)
        return Status::Errorf("{}: paddings have {} values for rank {}", where, pairs.size(), rank);
      std::vector<int64_t> pads(2 * rank);
      for (size_t d = 0; d < rank; ++d) {
        pads[d] = pairs[2 * d];
        pads[d + rank] = pairs[2 * d + 1];
      }
      Node& n = add(OpType::kPad, {in[0]});
      n.attrs.Set("pads", pads);
      if (code == Builtin::kPadV2 && in.size() > 2 && in[2] >= 0) {
        const Tensor& v = g_.tensor(in[2]);
        if (!v.is_const || v.numel() != 1)
          return Status::Errorf("{}: constant value must be a constant scalar", where);
        float real = static_cast<float>(v.ValueAsDouble(0));
        if (!v.quant.empty())
          real = (real - static_cast<float>(v.quant.zero_point[0])) * v.quant.scale[0];
        n.attrs.Set("value", real);
      }
      return Status::Ok();
    }
    case Builtin::kTranspose: {
      TML_RETURN_IF_ERROR(need_inputs(2));
      TML_ASSIGN_OR_RETURN(auto perm, ConstInts(in[1], where, "perm"));
      add(OpType::kTranspose, {in[0]}).attrs.Set("perm", perm);
      return Status::Ok();
    }
    case Builtin::kMean: {
      TML_RETURN_IF_ERROR(need_inputs(2));
      TML_ASSIGN_OR_RETURN(auto axes, ConstInts(in[1], where, "axes"));
      Node& n = add(OpType::kMean, {in[0]});
      n.attrs.Set("axes", axes);
      n.attrs.Set("keep_dims", static_cast<int64_t>(o && o->I8(0) != 0));
      return Status::Ok();
    }
    default:
      return Status::Errorf("{}: unsupported operator", where);
  }
}

Result<Graph> TfliteImporter::Run() {
  if (model_->version() != 3)
    return Status::Errorf("schema version {} is not supported (expected 3)", model_->version());
  if (!model_->subgraphs() || model_->subgraphs()->size() == 0)
    return Status::Error("model has no subgraphs");
  const tfl::SubGraph* sg = model_->subgraphs()->Get(0);
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
  return std::move(g_);
}

}  // namespace

Result<Graph> ImportTfliteBuffer(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 8)
    return Status::Errorf("{}: file too small to be a TFLite model ({} bytes)", name, size);
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) return Status::Errorf("{}: file larger than 2 GB", name);
  flatbuffers::Verifier::Options vo;
  vo.max_depth = 64;
  vo.max_tables = 10000000;
  flatbuffers::Verifier v(data, size, vo);
  if (!v.VerifyBuffer<tfl::Model>(nullptr))
    return Status::Errorf("{}: not a valid TFLite flatbuffer (truncated or corrupted)", name);
  const tfl::Model* m = flatbuffers::GetRoot<tfl::Model>(data);
  TfliteImporter imp(m, name);
  auto r = imp.Run();
  if (!r.ok()) return r.status().Wrap(name);
  return r;
}

}  // namespace tml
