// ONNX exporter: the IR as an opset-13 ONNX model that standard tools open.
// Graph inputs and outputs keep the IR's NHWC layout; convolutions and pools
// are wrapped in NHWC<->NCHW Transposes (the importer cancels them again).
// int8 graphs are written in QDQ form: int8 tensors between QuantizeLinear /
// DequantizeLinear pairs, int8 weights and int32 biases as initializers.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/sha256.h"
#include "formats/export.h"
#include "formats/onnx_util.h"
#include "ops/op.h"

namespace tml {

namespace {

class OnnxExporter {
 public:
  explicit OnnxExporter(const Graph& g) : g_(g) {}
  Result<onnx::ModelProto> Run();
  // The export rules, one per op family (kExports below).
  void Conv(const Node& n, std::string& out);
  void Pool(const Node& n, std::string& out);
  void FullyConnected(const Node& n, std::string& out);
  void Binary(const Node& n, std::string& out);
  void Mean(const Node& n, std::string& out);
  void Reshape(const Node& n, std::string& out);
  void Softmax(const Node& n, std::string& out);
  void Clip(const Node& n, std::string& out);
  void LeakyRelu(const Node& n, std::string& out);
  void Logistic(const Node& n, std::string& out);
  void Tanh(const Node& n, std::string& out);
  void Identity(const Node& n, std::string& out);
  void Transpose(const Node& n, std::string& out);
  void Slice(const Node& n, std::string& out);
  void Pad(const Node& n, std::string& out);
  void Concat(const Node& n, std::string& out);
  void Quantize(const Node& n, std::string& out);
  void Mfcc(const Node& n, std::string& out);

 private:
  std::string Name(int t) const { return names_[static_cast<size_t>(t)]; }
  bool Quantized(int t) const {
    const Tensor& x = g_.tensor(t);
    return (IsQuantizedDType(x.dtype) || x.dtype == DType::kInt32) && !x.quant.empty();
  }
  std::string Fresh(const std::string& base) { return fmt::format("{}__{}", base, counter_++); }
  onnx::NodeProto* Add(const std::string& op, std::vector<std::string> in,
                       std::vector<std::string> out) {
    onnx::NodeProto* n = gp_->add_node();
    n->set_op_type(op);
    n->set_name(out.empty() ? Fresh(op) : out[0]);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void AttrInts(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void AttrInt(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void AttrFloat(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  std::string Initializer(const Tensor& t) {
    Tensor c = t;
    c.name = Fresh(t.name);
    TensorToProto(c, gp_->add_initializer());
    return c.name;
  }
  std::string FloatInit(const std::string& base, Shape shape, const std::vector<float>& v) {
    Tensor t = Tensor::Make(base, DType::kFloat32, std::move(shape));
    t.data.resize(t.nbytes());
    std::memcpy(t.data.data(), v.data(), t.data.size());
    return Initializer(t);
  }
  std::string IntsInit(const std::string& base, const std::vector<int64_t>& v) {
    Tensor t = Tensor::Make(base, DType::kInt64, {static_cast<int64_t>(v.size())});
    t.data.resize(t.nbytes());
    std::memcpy(t.data.data(), v.data(), t.data.size());
    return Initializer(t);
  }
  // Scale and zero-point initializers for QuantizeLinear / DequantizeLinear.
  std::pair<std::string, std::string> QuantInits(const std::string& base, const QuantParams& q,
                                                 DType zp_type) {
    const Shape s = q.per_channel() ? Shape{static_cast<int64_t>(q.scale.size())} : Shape{};
    const std::string scale = FloatInit(base + "_scale", s, q.scale);
    Tensor z = Tensor::Make(base + "_zero_point", zp_type, s);
    z.data.resize(z.nbytes());
    for (size_t i = 0; i < q.zero_point.size(); ++i) {
      if (zp_type == DType::kInt8) z.mutable_as<int8_t>()[i] = static_cast<int8_t>(q.zero_point[i]);
      if (zp_type == DType::kUInt8)
        z.mutable_as<uint8_t>()[i] = static_cast<uint8_t>(q.zero_point[i]);
      if (zp_type == DType::kInt32)
        z.mutable_as<int32_t>()[i] = static_cast<int32_t>(q.zero_point[i]);
    }
    return {scale, Initializer(z)};
  }
  std::string Dequantize(const std::string& value, const QuantParams& q, DType type, int axis) {
    auto [s, z] = QuantInits(value, q, type);
    const std::string out = Fresh(value + "_dq");
    auto* n = Add("DequantizeLinear", {value, s, z}, {out});
    if (q.per_channel()) AttrInt(n, "axis", axis);
    return out;
  }
  // The float value of tensor t (dequantized when t is int8).
  std::string Float(int t);
  // Name a node writes for output t: a float temporary when t is quantized.
  std::string FloatOut(int t) { return Quantized(t) ? Fresh(Name(t) + "_f") : Name(t); }
  void Finish(int t, const std::string& float_value);
  std::string Weights(int t, const std::vector<int64_t>& perm, int onnx_axis);
  std::string Bias(const Node& n);
  Status Emit(const Node& n);
  std::string ToNchw(const std::string& v) {
    const std::string out = Fresh(v + "_nchw");
    AttrInts(Add("Transpose", {v}, {out}), "perm", kToNchw);
    return out;
  }
  void Activation(const Node& n, std::string& value) {
    const float lo = n.attrs.Float("act_min", kNoMin), hi = n.attrs.Float("act_max", kNoMax);
    if (std::isinf(lo) && std::isinf(hi)) return;
    const std::string out = Fresh(value + "_act");
    Add("Clip",
        {value, std::isinf(lo) ? "" : FloatInit("act_min", {}, {lo}),
         std::isinf(hi) ? "" : FloatInit("act_max", {}, {hi})},
        {out});
    value = out;
  }
  // Runs emit(v) writing `out`, or a temporary followed by the fused activation.
  template <typename F>
  void WithActivation(const Node& n, const std::string& out, F emit) {
    if (!n.attrs.Has("act_min") && !n.attrs.Has("act_max")) return emit(out);
    std::string v = Fresh(Name(n.outputs[0]) + "_pre");
    emit(v);
    Activation(n, v);
    Add("Identity", {v}, {out});
  }

  const Graph& g_;
  onnx::GraphProto* gp_ = nullptr;
  std::vector<std::string> names_;
  std::map<int, std::string> float_of_;
  std::map<int, std::string> const_name_;
  int counter_ = 0;
  bool uses_tml_domain_ = false;  // an opset import for kTmlDomain is needed
};

std::string OnnxExporter::Float(int t) {
  if (auto it = float_of_.find(t); it != float_of_.end()) return it->second;
  const Tensor& x = g_.tensor(t);
  std::string v;
  if (x.is_const) {
    if (Quantized(t))
      v = Dequantize(Initializer(x), x.quant, x.dtype, x.quant.axis);
    else
      v = Initializer(x);
  } else {
    v = Quantized(t) ? Dequantize(Name(t), x.quant, x.dtype, x.quant.axis) : Name(t);
  }
  float_of_[t] = v;
  return v;
}

void OnnxExporter::Finish(int t, const std::string& float_value) {
  if (!Quantized(t)) return;
  const Tensor& y = g_.tensor(t);
  auto [s, z] = QuantInits(Name(t), y.quant, y.dtype);
  Add("QuantizeLinear", {float_value, s, z}, {Name(t)});
}

std::string OnnxExporter::Weights(int t, const std::vector<int64_t>& perm, int onnx_axis) {
  const Tensor& w = g_.tensor(t);
  Tensor p = perm.empty() ? w : PermuteConst(w, perm);
  const std::string init = Initializer(p);
  if (!Quantized(t)) return init;
  return Dequantize(init, w.quant, w.dtype, onnx_axis);
}

std::string OnnxExporter::Bias(const Node& n) {
  if (n.inputs.size() < 3 || n.inputs[2] < 0) return "";
  const int b = n.inputs[2];
  const Tensor& bt = g_.tensor(b);
  if (bt.dtype != DType::kInt32) return Float(b);
  // int32 bias: scale = input scale x weight scale (per channel).
  const Tensor& x = g_.tensor(n.inputs[0]);
  const Tensor& w = g_.tensor(n.inputs[1]);
  QuantParams q;
  for (float ws : w.quant.scale) q.scale.push_back(x.quant.scale[0] * ws);
  q.zero_point.assign(q.scale.size(), 0);
  q.axis = 0;
  return Dequantize(Initializer(bt), q, DType::kInt32, 0);
}

// One export rule per op of the registry (the coverage test checks that every op has
// one): writes the ONNX nodes computing the op's float output into `out`.
void OnnxExporter::Conv(const Node& n, std::string& out) {
  const int y = n.outputs[0];
  const bool dw = n.op == OpType::kDepthwiseConv2D;
  const std::string x = ToNchw(Float(n.inputs[0]));
  const std::string w = Weights(n.inputs[1], dw ? std::vector<int64_t>{3, 0, 1, 2} : kToNchw, 0);
  std::vector<std::string> in = {x, w};
  if (const std::string b = Bias(n); !b.empty()) in.push_back(b);
  std::string conv = Fresh(Name(y) + "_nchw");
  auto* c = Add("Conv", in, {conv});
  const Shape& ws = g_.tensor(n.inputs[1]).shape;
  AttrInts(c, "kernel_shape", {ws[1], ws[2]});
  AttrInts(c, "strides", {n.attrs.Int("stride_h", 1), n.attrs.Int("stride_w", 1)});
  AttrInts(c, "dilations", {n.attrs.Int("dilation_h", 1), n.attrs.Int("dilation_w", 1)});
  AttrInts(c, "pads",
           {n.attrs.Int("pad_top"), n.attrs.Int("pad_left"), n.attrs.Int("pad_bottom"),
            n.attrs.Int("pad_right")});
  if (dw) AttrInt(c, "group", g_.tensor(n.inputs[0]).shape[3]);
  Activation(n, conv);
  AttrInts(Add("Transpose", {conv}, {out}), "perm", kToNhwc);
}

void OnnxExporter::Pool(const Node& n, std::string& out) {
  std::string p = Fresh(Name(n.outputs[0]) + "_nchw");
  auto* c = Add(n.op == OpType::kMaxPool2D ? "MaxPool" : "AveragePool",
                {ToNchw(Float(n.inputs[0]))}, {p});
  AttrInts(c, "kernel_shape", {n.attrs.Int("kernel_h"), n.attrs.Int("kernel_w")});
  AttrInts(c, "strides", {n.attrs.Int("stride_h", 1), n.attrs.Int("stride_w", 1)});
  AttrInts(c, "pads",
           {n.attrs.Int("pad_top"), n.attrs.Int("pad_left"), n.attrs.Int("pad_bottom"),
            n.attrs.Int("pad_right")});
  if (n.attrs.Int("dilation_h", 1) != 1 || n.attrs.Int("dilation_w", 1) != 1)
    AttrInts(c, "dilations", {n.attrs.Int("dilation_h", 1), n.attrs.Int("dilation_w", 1)});
  if (n.op == OpType::kAveragePool2D)
    AttrInt(c, "count_include_pad", n.attrs.Int("count_include_pad"));
  Activation(n, p);
  AttrInts(Add("Transpose", {p}, {out}), "perm", kToNhwc);
}

void OnnxExporter::FullyConnected(const Node& n, std::string& out) {
  const Tensor& x = g_.tensor(n.inputs[0]);
  const int64_t k = g_.tensor(n.inputs[1]).shape[1];
  std::string a;
  if (x.shape.size() == 2) {
    a = Float(n.inputs[0]);
  } else if (Quantized(n.inputs[0])) {  // flatten the int8 value, then dequantize
    const std::string flat = Fresh(Name(n.inputs[0]) + "_2d");
    Add("Reshape", {Name(n.inputs[0]), IntsInit("shape", {-1, k})}, {flat});
    a = Dequantize(flat, x.quant, x.dtype, 0);
  } else {
    a = Fresh(Name(n.inputs[0]) + "_2d");
    Add("Reshape", {Float(n.inputs[0]), IntsInit("shape", {-1, k})}, {a});
  }
  std::vector<std::string> in = {a, Weights(n.inputs[1], {}, 0)};
  if (const std::string b = Bias(n); !b.empty()) in.push_back(b);
  WithActivation(n, out, [&](const std::string& v) { AttrInt(Add("Gemm", in, {v}), "transB", 1); });
}

void OnnxExporter::Binary(const Node& n, std::string& out) {
  WithActivation(n, out, [&](const std::string& v) {
    Add(OpName(n.op), {Float(n.inputs[0]), Float(n.inputs[1])}, {v});
  });
}

void OnnxExporter::Mean(const Node& n, std::string& out) {
  auto* c = Add("ReduceMean", {Float(n.inputs[0])}, {out});
  AttrInts(c, "axes", n.attrs.Ints("axes"));
  AttrInt(c, "keepdims", n.attrs.Int("keep_dims", 1));
}

void OnnxExporter::Reshape(const Node& n, std::string& out) {
  Add("Reshape", {Float(n.inputs[0]), IntsInit("shape", g_.tensor(n.outputs[0]).shape)}, {out});
}

void OnnxExporter::Softmax(const Node& n, std::string& out) {
  std::string in = Float(n.inputs[0]);
  const float beta = n.attrs.Float("beta", 1.0f);
  if (beta != 1.0f) {
    const std::string scaled = Fresh(in + "_beta");
    Add("Mul", {in, FloatInit("beta", {}, {beta})}, {scaled});
    in = scaled;
  }
  AttrInt(Add(OpName(n.op), {in}, {out}), "axis", -1);
}

void OnnxExporter::Clip(const Node& n, std::string& out) {
  const float lo = n.attrs.Float("min", kNoMin), hi = n.attrs.Float("max", kNoMax);
  Add("Clip",
      {Float(n.inputs[0]), std::isinf(lo) ? "" : FloatInit("min", {}, {lo}),
       std::isinf(hi) ? "" : FloatInit("max", {}, {hi})},
      {out});
}

void OnnxExporter::LeakyRelu(const Node& n, std::string& out) {
  AttrFloat(Add("LeakyRelu", {Float(n.inputs[0])}, {out}), "alpha", n.attrs.Float("alpha", 0.01f));
}

void OnnxExporter::Logistic(const Node& n, std::string& out) {
  Add("Sigmoid", {Float(n.inputs[0])}, {out});
}

void OnnxExporter::Tanh(const Node& n, std::string& out) {
  Add("Tanh", {Float(n.inputs[0])}, {out});
}

// Identity, and Dequantize: its input is dequantized by Float() already.
void OnnxExporter::Identity(const Node& n, std::string& out) {
  Add("Identity", {Float(n.inputs[0])}, {out});
}

void OnnxExporter::Transpose(const Node& n, std::string& out) {
  AttrInts(Add("Transpose", {Float(n.inputs[0])}, {out}), "perm", n.attrs.Ints("perm"));
}

void OnnxExporter::Slice(const Node& n, std::string& out) {
  // ends one step past the last element read; -(dim + 1) says "before index 0".
  const Shape& in = g_.tensor(n.inputs[0]).shape;
  const auto st = n.attrs.Ints("starts"), sp = n.attrs.Ints("steps"), sz = n.attrs.Ints("sizes");
  std::vector<int64_t> ends(st.size()), axes(st.size());
  for (size_t d = 0; d < st.size(); ++d) {
    ends[d] = st[d] + sz[d] * sp[d];
    if (ends[d] < 0) ends[d] = -(in[d] + 1);
    axes[d] = static_cast<int64_t>(d);
  }
  Add("Slice",
      {Float(n.inputs[0]), IntsInit("starts", st), IntsInit("ends", ends), IntsInit("axes", axes),
       IntsInit("steps", sp)},
      {out});
}

void OnnxExporter::Pad(const Node& n, std::string& out) {
  Add("Pad",
      {Float(n.inputs[0]), IntsInit("pads", n.attrs.Ints("pads")),
       FloatInit("value", {}, {n.attrs.Float("value", 0.0f)})},
      {out});
}

void OnnxExporter::Concat(const Node& n, std::string& out) {
  std::vector<std::string> in;
  for (int t : n.inputs) in.push_back(Float(t));
  AttrInt(Add("Concat", in, {out}), "axis", n.attrs.Int("axis"));
}

// The IR tensor is quantized: its QuantizeLinear is emitted by Finish().
void OnnxExporter::Quantize(const Node& n, std::string& out) {
  out = Float(n.inputs[0]);
}

// In the project's domain (the importer reads it back), attributes as the IR has them.
void OnnxExporter::Mfcc(const Node& n, std::string& out) {
  onnx::NodeProto* p = Add("Mfcc", {Float(n.inputs[0])}, {out});
  p->set_domain(kTmlDomain);
  for (const auto& [name, v] : n.attrs.all()) {
    if (const auto* i = std::get_if<int64_t>(&v)) AttrInt(p, name, *i);
    if (const auto* f = std::get_if<float>(&v)) AttrFloat(p, name, *f);
  }
  uses_tml_domain_ = true;
}

struct ExportRule {
  OpType op;
  void (OnnxExporter::*emit)(const Node&, std::string&);
};

constexpr ExportRule kExports[] = {
    {OpType::kConv2D, &OnnxExporter::Conv},
    {OpType::kDepthwiseConv2D, &OnnxExporter::Conv},
    {OpType::kFullyConnected, &OnnxExporter::FullyConnected},
    {OpType::kAdd, &OnnxExporter::Binary},
    {OpType::kSub, &OnnxExporter::Binary},
    {OpType::kMul, &OnnxExporter::Binary},
    {OpType::kDiv, &OnnxExporter::Binary},
    {OpType::kAveragePool2D, &OnnxExporter::Pool},
    {OpType::kMaxPool2D, &OnnxExporter::Pool},
    {OpType::kMean, &OnnxExporter::Mean},
    {OpType::kReshape, &OnnxExporter::Reshape},
    {OpType::kSoftmax, &OnnxExporter::Softmax},
    {OpType::kLogSoftmax, &OnnxExporter::Softmax},
    {OpType::kClip, &OnnxExporter::Clip},
    {OpType::kLeakyRelu, &OnnxExporter::LeakyRelu},
    {OpType::kLogistic, &OnnxExporter::Logistic},
    {OpType::kTanh, &OnnxExporter::Tanh},
    {OpType::kPad, &OnnxExporter::Pad},
    {OpType::kConcat, &OnnxExporter::Concat},
    {OpType::kTranspose, &OnnxExporter::Transpose},
    {OpType::kSlice, &OnnxExporter::Slice},
    {OpType::kQuantize, &OnnxExporter::Quantize},
    {OpType::kDequantize, &OnnxExporter::Identity},
    {OpType::kIdentity, &OnnxExporter::Identity},
    {OpType::kMfcc, &OnnxExporter::Mfcc},
};

const ExportRule* FindExport(OpType op) {
  for (const ExportRule& r : kExports)
    if (r.op == op) return &r;
  return nullptr;
}

Status OnnxExporter::Emit(const Node& n) {
  const ExportRule* rule = FindExport(n.op);
  if (!rule) return Status::Errorf("{}: no ONNX export for this op", NodeWhere(n));
  const int y = n.outputs[0];
  std::string out = FloatOut(y);
  (this->*rule->emit)(n, out);
  Finish(y, out);
  return Status::Ok();
}

Result<onnx::ModelProto> OnnxExporter::Run() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("tinymlaas");
  m.set_producer_version(TML_VERSION);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  gp_ = m.mutable_graph();
  gp_->set_name(g_.name.empty() ? "model" : g_.name);
  std::set<std::string> used;
  for (const Tensor& t : g_.tensors) {
    std::string n = t.name.empty() ? "t" : t.name;
    while (used.count(n)) n += "_";
    used.insert(n);
    names_.push_back(n);
  }
  auto value_info = [&](onnx::ValueInfoProto* v, int t) {
    const Tensor& x = g_.tensor(t);
    v->set_name(Name(t));
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(DTypeToOnnx(x.dtype));
    auto* shape = tt->mutable_shape();
    for (int64_t d : x.shape) shape->add_dim()->set_dim_value(d);
  };
  for (int t : g_.inputs) value_info(gp_->add_input(), t);
  for (const Node& n : g_.nodes) TML_RETURN_IF_ERROR(Emit(n));
  for (int t : g_.outputs) value_info(gp_->add_output(), t);
  if (uses_tml_domain_) {
    auto* own = m.add_opset_import();
    own->set_domain(kTmlDomain);
    own->set_version(1);
  }
  return m;
}

}  // namespace

bool OnnxExports(OpType op) {
  return FindExport(op) != nullptr;
}

Result<std::vector<uint8_t>> ExportOnnx(const Graph& g) {
  for (const Tensor& t : g.tensors)
    if (t.is_state)
      return Status::Errorf(
          "ONNX export: '{}' is recurrent state (SVDF), which ONNX has no form for yet; keep "
          "the model as .tflite",
          t.name);
  OnnxExporter e(g);
  TML_ASSIGN_OR_RETURN(onnx::ModelProto m, e.Run());
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return Status::Error("ONNX serialization failed");
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Status SaveOnnx(const Graph& g, const std::string& path) {
  TML_ASSIGN_OR_RETURN(auto bytes, ExportOnnx(g));
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) return Status::Errorf("{}: write failed", path);
  return Status::Ok();
}

Result<std::string> SaveOnnxByContent(const Graph& g, const std::string& dir) {
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ExportOnnx(g));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path =
      dir + "/" + Sha256Hex(bytes.data(), bytes.size()).substr(0, 32) + ".onnx";
  if (std::filesystem::exists(path)) return path;
  {
    std::ofstream f(path + ".tmp", std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) return Status::Errorf("{}: write failed", path);
  }
  std::filesystem::rename(path + ".tmp", path, ec);
  if (ec) return Status::Errorf("{}: {}", path, ec.message());
  return path;
}

}  // namespace tml
