// ONNX importer (libonnx protobuf types). ONNX images are NCHW; the IR is NHWC.
// Each ONNX value is tracked with its layout: layout-sensitive ops (Conv, pools)
// take NHWC, others either remap their axis or get the ONNX layout back
// through a Transpose. Transposes that cancel are removed by a later pass.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "formats/import.h"
#include "formats/onnx_util.h"
#include "ops/op.h"
#include "ops/slice.h"

namespace tml {

namespace {

class OnnxImporter {
 public:
  // One import rule per ONNX operator: the registry ops it can produce and its handler.
  struct Rule {
    std::string onnx;
    std::vector<OpType> produces;
    Status (*import)(OnnxImporter& i, const onnx::NodeProto& n);
  };
  static const std::vector<Rule>& Rules();

  OnnxImporter(const onnx::ModelProto& m, std::string name,
               const std::map<std::string, Tensor>* frozen)
      : m_(m), frozen_(frozen) {
    g_.name = std::move(name);
  }
  Result<Graph> Run();

 private:
  struct Value {
    int t = -1;
    bool nhwc = false;
  };
  Status CheckSupported();
  Status ImportNode(const onnx::NodeProto& n);
  Result<Value> Get(const onnx::NodeProto& n, size_t k);
  bool Has(const onnx::NodeProto& n, size_t k) const {
    return static_cast<int>(k) < n.input_size() && !n.input(static_cast<int>(k)).empty();
  }
  int Nhwc(const Value& v, const std::string& name);
  // A transposed copy of t (cached); a failure lands in layout_error_.
  int Relayout(int t, const std::vector<int64_t>& perm, const std::string& name,
               std::map<int, int>& cache);
  int Onnx(const Value& v, const std::string& name);
  Shape OnnxShape(const Value& v) const;
  Result<std::vector<int64_t>> ConstInts(const onnx::NodeProto& n, size_t k, const char* what);
  Result<int> AddOp(OpType op, const std::string& name, std::vector<int> in, Attrs a,
                    DType out = DType::kFloat32, QuantParams q = {});
  void Define(const onnx::NodeProto& n, size_t k, int t, bool nhwc) {
    values_[n.output(static_cast<int>(k))] = {t, nhwc};
  }
  std::string Where(const onnx::NodeProto& n) const {
    return fmt::format("node '{}' ({})", n.name().empty() ? n.output(0) : n.name(), n.op_type());
  }
  Result<int> ConstFloat(const std::string& name, Shape shape, const std::vector<float>& v) {
    return g_.AddConst(name, DType::kFloat32, std::move(shape), v.data());
  }

  static const Rule* FindRule(const std::string& op);

  Status ImportConstant(const onnx::NodeProto& n);
  Status ImportTranspose(const onnx::NodeProto& n);
  Status ImportIdentity(const onnx::NodeProto& n);
  Status ImportClip(const onnx::NodeProto& n);
  Status ImportUnary(const onnx::NodeProto& n, OpType op);
  Status ImportMfcc(const onnx::NodeProto& n);
  // A node's rule name: the op type, prefixed "domain::" outside the default domain.
  static std::string RuleKey(const onnx::NodeProto& n) {
    const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
    return default_domain ? n.op_type() : n.domain() + "::" + n.op_type();
  }
  Status ImportConv(const onnx::NodeProto& n);
  Status ImportPool(const onnx::NodeProto& n);
  Status ImportGemm(const onnx::NodeProto& n);
  Status ImportMatMul(const onnx::NodeProto& n, bool qlinear);
  Status ImportBinary(const onnx::NodeProto& n, OpType op);
  Status ImportSoftmax(const onnx::NodeProto& n, OpType op);
  Status ImportReshapeLike(const onnx::NodeProto& n);
  Status ImportConcat(const onnx::NodeProto& n);
  Status ImportSlice(const onnx::NodeProto& n);
  Status ImportPad(const onnx::NodeProto& n);
  Status ImportReduceMean(const onnx::NodeProto& n);
  Status ImportBatchNorm(const onnx::NodeProto& n);
  Status ImportQuantizeLinear(const onnx::NodeProto& n, bool quantize);
  Status ImportQLinearConv(const onnx::NodeProto& n);
  Status SetSpatialAttrs(const onnx::NodeProto& n, Attrs& a, const Shape& x_nchw, int64_t kh,
                         int64_t kw);
  Result<QuantParams> QuantFrom(const onnx::NodeProto& n, size_t scale_k, size_t zp_k, DType* dtype,
                                int axis);

  const onnx::ModelProto& m_;
  const std::map<std::string, Tensor>* frozen_;
  Graph g_;
  int64_t opset_ = 13;
  std::map<std::string, Value> values_;
  std::map<int, int> nhwc_cache_, onnx_cache_;
  Status layout_error_;
  int counter_ = 0;
};

Status OnnxImporter::CheckSupported() {
  std::map<std::string, std::vector<std::string>> unsupported;
  for (const auto& n : m_.graph().node()) {
    const std::string key = RuleKey(n);
    if (FindRule(key)) continue;
    unsupported[key].push_back(fmt::format("'{}'", n.name().empty() ? n.output(0) : n.name()));
  }
  if (unsupported.empty()) return Status::Ok();
  std::string msg = fmt::format("model uses {} unsupported operator type{}:", unsupported.size(),
                                unsupported.size() == 1 ? "" : "s");
  for (auto& [op, users] : unsupported) {
    msg +=
        fmt::format("\n  {} used by {} node{}: ", op, users.size(), users.size() == 1 ? "" : "s");
    for (size_t k = 0; k < users.size() && k < 8; ++k) msg += (k ? ", " : "") + users[k];
    if (users.size() > 8) msg += fmt::format(", ... ({} more)", users.size() - 8);
  }
  return Status::Error(msg);
}

Result<OnnxImporter::Value> OnnxImporter::Get(const onnx::NodeProto& n, size_t k) {
  if (!Has(n, k)) return Status::Errorf("{}: input {} is missing", Where(n), k);
  auto it = values_.find(n.input(static_cast<int>(k)));
  if (it == values_.end())
    return Status::Errorf("{}: input '{}' is not defined before use", Where(n),
                          n.input(static_cast<int>(k)));
  return it->second;
}

Result<int> OnnxImporter::AddOp(OpType op, const std::string& name, std::vector<int> in, Attrs a,
                                DType out, QuantParams q) {
  Tensor y = Tensor::Make(name, out, {});
  y.quant = std::move(q);
  const int yi = g_.AddTensor(std::move(y));
  Node& node = g_.AddNode(op, name, std::move(in), {yi});
  node.attrs = std::move(a);
  TML_RETURN_IF_ERROR(InferNode(g_, g_.nodes.back()));
  if (op != OpType::kDequantize && op != OpType::kQuantize) {
    // Keep quantized output types requested by the caller.
    if (IsQuantizedDType(out)) g_.tensor(yi).dtype = out;
  } else if (op == OpType::kQuantize) {
    g_.tensor(yi).dtype = out;
  }
  return yi;
}

int OnnxImporter::Relayout(int t, const std::vector<int64_t>& perm, const std::string& name,
                           std::map<int, int>& cache) {
  if (auto it = cache.find(t); it != cache.end()) return it->second;
  Attrs a;
  a.Set("perm", perm);
  const Tensor& x = g_.tensor(t);
  auto r = AddOp(OpType::kTranspose, name, {t}, a, x.dtype, x.quant);
  if (!r.ok()) {
    if (layout_error_.ok()) layout_error_ = r.status();  // reported after the node
    return t;
  }
  cache[t] = *r;
  return *r;
}

int OnnxImporter::Nhwc(const Value& v, const std::string& name) {
  return v.nhwc ? v.t : Relayout(v.t, kToNhwc, name + "/to_nhwc", nhwc_cache_);
}

int OnnxImporter::Onnx(const Value& v, const std::string& name) {
  return v.nhwc ? Relayout(v.t, kToNchw, name + "/to_nchw", onnx_cache_) : v.t;
}

Shape OnnxImporter::OnnxShape(const Value& v) const {
  const Shape& s = g_.tensor(v.t).shape;
  if (!v.nhwc) return s;
  return {s[0], s[3], s[1], s[2]};
}

Result<std::vector<int64_t>> OnnxImporter::ConstInts(const onnx::NodeProto& n, size_t k,
                                                     const char* what) {
  TML_ASSIGN_OR_RETURN(Value v, Get(n, k));
  const Tensor& t = g_.tensor(v.t);
  if (!t.is_const)
    return Status::Errorf("{}: {} '{}' must be a constant (shapes are static on a microcontroller)",
                          Where(n), what, t.name);
  std::vector<int64_t> r;
  for (int64_t i = 0; i < t.numel(); ++i) r.push_back(t.ValueAsInt(i));
  return r;
}

// Fills stride / dilation / explicit pads (NHWC attribute names) from ONNX attributes.
Status OnnxImporter::SetSpatialAttrs(const onnx::NodeProto& n, Attrs& a, const Shape& x, int64_t kh,
                                     int64_t kw) {
  auto strides = OnnxAttrInts(n, "strides");
  auto dil = OnnxAttrInts(n, "dilations");
  auto pads = OnnxAttrInts(n, "pads");
  if (strides.empty()) strides = {1, 1};
  if (dil.empty()) dil = {1, 1};
  if (pads.empty()) pads = {0, 0, 0, 0};
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    return Status::Errorf("{}: only 2-D spatial attributes are supported", Where(n));
  const std::string auto_pad = OnnxAttrStr(n, "auto_pad", "NOTSET");
  const bool ceil_mode = OnnxAttrInt(n, "ceil_mode", 0) != 0;
  const int64_t k[2] = {kh, kw};
  for (int d = 0; d < 2; ++d) {
    const int64_t in = x[static_cast<size_t>(2 + d)];
    const int64_t eff = (k[d] - 1) * dil[static_cast<size_t>(d)] + 1;
    const int64_t s = strides[static_cast<size_t>(d)];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>((out - 1) * s + eff - in, 0);
      const int64_t small = total / 2;
      pads[static_cast<size_t>(d)] = auto_pad == "SAME_UPPER" ? small : total - small;
      pads[static_cast<size_t>(d + 2)] = total - pads[static_cast<size_t>(d)];
    } else if (auto_pad == "VALID") {
      pads[static_cast<size_t>(d)] = pads[static_cast<size_t>(d + 2)] = 0;
    } else if (auto_pad != "NOTSET") {
      return Status::Errorf("{}: unknown auto_pad '{}'", Where(n), auto_pad);
    }
    if (ceil_mode) {
      const int64_t span =
          in + pads[static_cast<size_t>(d)] + pads[static_cast<size_t>(d + 2)] - eff;
      int64_t out = (span + s - 1) / s + 1;
      // The last window must start inside the input or the leading padding.
      if ((out - 1) * s >= in + pads[static_cast<size_t>(d)]) --out;
      const int64_t need = (out - 1) * s + eff - (in + pads[static_cast<size_t>(d)]);
      pads[static_cast<size_t>(d + 2)] = std::max(pads[static_cast<size_t>(d + 2)], need);
    }
  }
  a.Set("stride_h", strides[0]);
  a.Set("stride_w", strides[1]);
  a.Set("dilation_h", dil[0]);
  a.Set("dilation_w", dil[1]);
  a.Set("pad_top", pads[0]);
  a.Set("pad_left", pads[1]);
  a.Set("pad_bottom", pads[2]);
  a.Set("pad_right", pads[3]);
  return Status::Ok();
}

Status OnnxImporter::ImportConv(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  TML_ASSIGN_OR_RETURN(Value w, Get(n, 1));
  const Shape xs = OnnxShape(x);
  const Shape ws = g_.tensor(w.t).shape;
  if (xs.size() != 4 || ws.size() != 4)
    return Status::Errorf("{}: only 2-D convolution (4-D tensors) is supported", Where(n));
  const int64_t group = OnnxAttrInt(n, "group", 1);
  const bool depthwise = group > 1;
  if (depthwise && (group != xs[1] || ws[1] != 1))
    return Status::Errorf(
        "{}: grouped convolution with {} groups is not supported (only depthwise)", Where(n),
        group);
  Attrs a;
  TML_RETURN_IF_ERROR(SetSpatialAttrs(n, a, xs, ws[2], ws[3]));
  // OIHW -> OHWI for conv, (C*M)1HW -> 1HW(C*M) for depthwise.
  Attrs perm;
  perm.Set("perm", depthwise ? std::vector<int64_t>{1, 2, 3, 0} : kToNhwc);
  const Tensor& wt = g_.tensor(w.t);
  TML_ASSIGN_OR_RETURN(
      int wk, AddOp(OpType::kTranspose, n.input(1) + "/ohwi", {w.t}, perm, wt.dtype, wt.quant));
  if (!g_.tensor(wk).quant.empty()) g_.tensor(wk).quant.axis = depthwise ? 3 : 0;
  int b = -1;
  if (Has(n, 2)) {
    TML_ASSIGN_OR_RETURN(Value bv, Get(n, 2));
    b = bv.t;
  }
  const int xi = Nhwc(x, n.input(0));
  TML_ASSIGN_OR_RETURN(int y, AddOp(depthwise ? OpType::kDepthwiseConv2D : OpType::kConv2D,
                                    n.output(0), {xi, wk, b}, a, g_.tensor(xi).dtype));
  Define(n, 0, y, true);
  return Status::Ok();
}

Status OnnxImporter::ImportPool(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const Shape xs = OnnxShape(x);
  if (xs.size() != 4)
    return Status::Errorf("{}: only 2-D pooling (4-D tensors) is supported", Where(n));
  if (n.output_size() > 1 && !n.output(1).empty())
    return Status::Errorf("{}: the Indices output is not supported", Where(n));
  const bool global = n.op_type().rfind("Global", 0) == 0;
  const bool max = n.op_type().find("Max") != std::string::npos;
  const int xi = Nhwc(x, n.input(0));
  const Tensor& xt = g_.tensor(xi);
  if (global && !max) {
    Attrs a;
    a.Set("axes", std::vector<int64_t>{1, 2});
    a.Set("keep_dims", 1);
    TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kMean, n.output(0), {xi}, a, xt.dtype, xt.quant));
    Define(n, 0, y, true);
    return Status::Ok();
  }
  auto k = global ? std::vector<int64_t>{xs[2], xs[3]} : OnnxAttrInts(n, "kernel_shape");
  if (k.size() != 2) return Status::Errorf("{}: kernel_shape must have 2 values", Where(n));
  Attrs a;
  a.Set("kernel_h", k[0]);
  a.Set("kernel_w", k[1]);
  if (!global) TML_RETURN_IF_ERROR(SetSpatialAttrs(n, a, xs, k[0], k[1]));
  if (!max) a.Set("count_include_pad", OnnxAttrInt(n, "count_include_pad", 0));
  TML_ASSIGN_OR_RETURN(int y, AddOp(max ? OpType::kMaxPool2D : OpType::kAveragePool2D, n.output(0),
                                    {xi}, a, xt.dtype, xt.quant));
  Define(n, 0, y, true);
  return Status::Ok();
}

Status OnnxImporter::ImportGemm(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value av, Get(n, 0));
  TML_ASSIGN_OR_RETURN(Value bv, Get(n, 1));
  int a = Onnx(av, n.input(0));
  int b = bv.t;
  const float alpha = OnnxAttrFloat(n, "alpha", 1.0f), beta = OnnxAttrFloat(n, "beta", 1.0f);
  if (g_.tensor(a).shape.size() != 2 || g_.tensor(b).shape.size() != 2)
    return Status::Errorf("{}: A and B must be 2-D", Where(n));
  Attrs t;
  t.Set("perm", std::vector<int64_t>{1, 0});
  if (OnnxAttrInt(n, "transA", 0)) {
    TML_ASSIGN_OR_RETURN(a, AddOp(OpType::kTranspose, n.output(0) + "/At", {a}, t));
  }
  if (!OnnxAttrInt(n, "transB", 0)) {
    TML_ASSIGN_OR_RETURN(b, AddOp(OpType::kTranspose, n.output(0) + "/Bt", {b}, t));
  }
  if (alpha != 1.0f) {
    TML_ASSIGN_OR_RETURN(int s, ConstFloat(n.output(0) + "/alpha", {}, {alpha}));
    TML_ASSIGN_OR_RETURN(b, AddOp(OpType::kMul, n.output(0) + "/alphaB", {b, s}, {}));
  }
  const int64_t out_n = g_.tensor(b).shape[0];
  int bias = -1;
  int extra = -1;  // C that is not a plain [N] bias vector
  if (Has(n, 2)) {
    TML_ASSIGN_OR_RETURN(Value cv, Get(n, 2));
    int c = cv.t;
    if (beta != 1.0f) {
      TML_ASSIGN_OR_RETURN(int s, ConstFloat(n.output(0) + "/beta", {}, {beta}));
      TML_ASSIGN_OR_RETURN(c, AddOp(OpType::kMul, n.output(0) + "/betaC", {c, s}, {}));
    }
    const Shape& cs = g_.tensor(c).shape;
    if (cs.size() == 1 && cs[0] == out_n)
      bias = c;
    else
      extra = c;
  }
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kFullyConnected,
                                    n.output(0) + (extra >= 0 ? "/fc" : ""), {a, b, bias}, {}));
  if (extra >= 0) {
    TML_ASSIGN_OR_RETURN(y, AddOp(OpType::kAdd, n.output(0), {y, extra}, {}));
  }
  Define(n, 0, y, false);
  return Status::Ok();
}

Status OnnxImporter::ImportMatMul(const onnx::NodeProto& n, bool qlinear) {
  // MatMul(A, B) with a constant 2-D B: FullyConnected over the flattened rows of A.
  const size_t b_k = qlinear ? 3 : 1;
  TML_ASSIGN_OR_RETURN(Value av, Get(n, 0));
  TML_ASSIGN_OR_RETURN(Value bv, Get(n, b_k));
  int a = Onnx(av, n.input(0));
  const Tensor& bt = g_.tensor(bv.t);
  Shape as = g_.tensor(a).shape;
  if (bt.shape.size() != 2 || !bt.is_const)
    return Status::Errorf("{}: B must be a constant 2-D matrix (got {}{})", Where(n),
                          ShapeStr(bt.shape), bt.is_const ? "" : ", not constant");
  if (as.empty()) return Status::Errorf("{}: A must have rank >= 1", Where(n));
  DType out_t = DType::kFloat32;
  QuantParams out_q;
  if (qlinear) {
    DType a_t, b_t;
    TML_ASSIGN_OR_RETURN(g_.tensor(a).quant, QuantFrom(n, 1, 2, &a_t, -1));
    QuantParams bq;
    TML_ASSIGN_OR_RETURN(bq, QuantFrom(n, 4, 5, &b_t, 1));
    g_.tensor(bv.t).quant = bq;
    TML_ASSIGN_OR_RETURN(out_q, QuantFrom(n, 6, 7, &out_t, -1));
    if (a_t != DType::kInt8 || b_t != DType::kInt8 || out_t != DType::kInt8 ||
        g_.tensor(a).dtype != DType::kInt8)
      return Status::Errorf("{}: only int8 QLinearMatMul is supported", Where(n));
  }
  Attrs t;
  t.Set("perm", std::vector<int64_t>{1, 0});
  const Shape b_shape = g_.tensor(bv.t).shape;
  QuantParams wq = g_.tensor(bv.t).quant;
  if (wq.per_channel()) wq.axis = 0;
  const int64_t k = b_shape[0], cols = b_shape[1];
  if (as.back() != k)
    return Status::Errorf("{}: A {} and B {} do not multiply", Where(n), ShapeStr(as),
                          ShapeStr(b_shape));
  TML_ASSIGN_OR_RETURN(int w, AddOp(OpType::kTranspose, n.input(static_cast<int>(b_k)) + "/t",
                                    {bv.t}, t, g_.tensor(bv.t).dtype, wq));
  TML_ASSIGN_OR_RETURN(
      int y, AddOp(OpType::kFullyConnected, n.output(0) + "/fc", {a, w, -1}, {}, out_t, out_q));
  Shape ys(as.begin(), as.end() - 1);
  ys.push_back(cols);
  if (as.size() == 1) ys = {cols};
  Attrs r;
  r.Set("shape", ys);
  TML_ASSIGN_OR_RETURN(y, AddOp(OpType::kReshape, n.output(0), {y}, r, out_t, out_q));
  Define(n, 0, y, false);
  return Status::Ok();
}

Status OnnxImporter::ImportBinary(const onnx::NodeProto& n, OpType op) {
  TML_ASSIGN_OR_RETURN(Value a, Get(n, 0));
  TML_ASSIGN_OR_RETURN(Value b, Get(n, 1));
  int ai, bi;
  bool nhwc = false;
  auto to_nhwc_broadcast = [&](const Value& v, const std::string& name) -> Result<int> {
    if (v.nhwc) return v.t;
    Shape s = g_.tensor(v.t).shape;
    if (s.size() > 4)
      return Status::Errorf("{}: cannot broadcast rank {} against NCHW", Where(n), s.size());
    int t = v.t;
    if (s.size() < 4) {
      Shape s4(4 - s.size(), 1);
      s4.insert(s4.end(), s.begin(), s.end());
      Attrs r;
      r.Set("shape", s4);
      const Tensor& x = g_.tensor(t);
      TML_ASSIGN_OR_RETURN(t, AddOp(OpType::kReshape, name + "/rank4", {t}, r, x.dtype, x.quant));
    }
    return Nhwc(Value{t, false}, name);
  };
  if (a.nhwc == b.nhwc) {
    ai = a.t;
    bi = b.t;
    nhwc = a.nhwc;
  } else {
    nhwc = true;
    TML_ASSIGN_OR_RETURN(ai, to_nhwc_broadcast(a, n.input(0)));
    TML_ASSIGN_OR_RETURN(bi, to_nhwc_broadcast(b, n.input(1)));
  }
  const Tensor& at = g_.tensor(ai);
  TML_ASSIGN_OR_RETURN(int y, AddOp(op, n.output(0), {ai, bi}, {}, at.dtype));
  Define(n, 0, y, nhwc);
  return Status::Ok();
}

Status OnnxImporter::ImportSoftmax(const onnx::NodeProto& n, OpType op) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const int64_t rank = static_cast<int64_t>(OnnxShape(x).size());
  int64_t axis = OnnxAttrInt(n, "axis", opset_ >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return Status::Errorf("{}: axis out of range", Where(n));
  const int xi = Onnx(x, n.input(0));
  const Tensor xt = Tensor::Make(g_.tensor(xi).name, g_.tensor(xi).dtype, g_.tensor(xi).shape);
  if (opset_ < 13) {
    // Softmax-1/11: the input is coerced to 2-D at `axis`.
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= xt.shape[static_cast<size_t>(d)];
    Attrs r;
    r.Set("shape", std::vector<int64_t>{outer, -1});
    TML_ASSIGN_OR_RETURN(int f, AddOp(OpType::kReshape, n.output(0) + "/2d", {xi}, r, xt.dtype));
    TML_ASSIGN_OR_RETURN(int s, AddOp(op, n.output(0) + "/softmax", {f}, {}, xt.dtype));
    Attrs back;
    back.Set("shape", xt.shape);
    TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kReshape, n.output(0), {s}, back, xt.dtype));
    Define(n, 0, y, false);
    return Status::Ok();
  }
  if (axis == rank - 1) {
    TML_ASSIGN_OR_RETURN(int y, AddOp(op, n.output(0), {xi}, {}, xt.dtype));
    Define(n, 0, y, false);
    return Status::Ok();
  }
  // Move the axis last, apply, move it back.
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis) perm.push_back(d);
  perm.push_back(axis);
  std::vector<int64_t> inv(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) inv[static_cast<size_t>(perm[static_cast<size_t>(d)])] = d;
  Attrs p1, p2;
  p1.Set("perm", perm);
  p2.Set("perm", inv);
  TML_ASSIGN_OR_RETURN(int t1,
                       AddOp(OpType::kTranspose, n.output(0) + "/axis_last", {xi}, p1, xt.dtype));
  TML_ASSIGN_OR_RETURN(int s, AddOp(op, n.output(0) + "/softmax", {t1}, {}, xt.dtype));
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kTranspose, n.output(0), {s}, p2, xt.dtype));
  Define(n, 0, y, false);
  return Status::Ok();
}

Status OnnxImporter::ImportReshapeLike(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const int xi = Onnx(x, n.input(0));
  const Tensor& xt = g_.tensor(xi);
  const Shape in = xt.shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  Shape out;
  const std::string& op = n.op_type();
  if (op == "Reshape") {
    TML_ASSIGN_OR_RETURN(out, ConstInts(n, 1, "shape"));
    const bool allowzero = OnnxAttrInt(n, "allowzero", 0) != 0;
    for (size_t d = 0; d < out.size(); ++d)
      if (out[d] == 0 && !allowzero) {
        if (d >= in.size())
          return Status::Errorf("{}: shape copies missing dimension {}", Where(n), d);
        out[d] = in[d];
      }
  } else if (op == "Flatten") {
    int64_t axis = OnnxAttrInt(n, "axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) return Status::Errorf("{}: axis out of range", Where(n));
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= in[static_cast<size_t>(d)];
    out = {outer, outer ? xt.numel() / outer : 0};
  } else {  // Squeeze / Unsqueeze
    std::vector<int64_t> axes;
    if (Has(n, 1)) {
      TML_ASSIGN_OR_RETURN(axes, ConstInts(n, 1, "axes"));
    } else {
      axes = OnnxAttrInts(n, "axes");
    }
    if (op == "Squeeze") {
      for (auto& a : axes)
        if (a < 0) a += rank;
      for (int64_t d = 0; d < rank; ++d) {
        const bool listed = std::count(axes.begin(), axes.end(), d) > 0;
        if ((axes.empty() && in[static_cast<size_t>(d)] == 1) || listed) {
          if (in[static_cast<size_t>(d)] != 1)
            return Status::Errorf("{}: cannot squeeze dimension {} of size {}", Where(n), d,
                                  in[static_cast<size_t>(d)]);
          continue;
        }
        out.push_back(in[static_cast<size_t>(d)]);
      }
    } else {
      const int64_t out_rank = rank + static_cast<int64_t>(axes.size());
      for (auto& a : axes)
        if (a < 0) a += out_rank;
      size_t src = 0;
      for (int64_t d = 0; d < out_rank; ++d) {
        if (std::count(axes.begin(), axes.end(), d))
          out.push_back(1);
        else if (src < in.size())
          out.push_back(in[src++]);
      }
    }
  }
  Attrs a;
  a.Set("shape", out);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kReshape, n.output(0), {xi}, a, xt.dtype, xt.quant));
  Define(n, 0, y, false);
  return Status::Ok();
}

Status OnnxImporter::ImportConcat(const onnx::NodeProto& n) {
  std::vector<Value> vs;
  bool all_nhwc = true;
  for (int k = 0; k < n.input_size(); ++k) {
    TML_ASSIGN_OR_RETURN(Value v, Get(n, static_cast<size_t>(k)));
    all_nhwc &= v.nhwc;
    vs.push_back(v);
  }
  const int64_t rank = static_cast<int64_t>(OnnxShape(vs[0]).size());
  int64_t axis = OnnxAttrInt(n, "axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return Status::Errorf("{}: axis out of range", Where(n));
  std::vector<int> in;
  for (size_t k = 0; k < vs.size(); ++k)
    in.push_back(all_nhwc ? vs[k].t : Onnx(vs[k], n.input(static_cast<int>(k))));
  if (all_nhwc) axis = std::find(kToNhwc.begin(), kToNhwc.end(), axis) - kToNhwc.begin();
  Attrs a;
  a.Set("axis", axis);
  const Tensor& x0 = g_.tensor(in[0]);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kConcat, n.output(0), in, a, x0.dtype, x0.quant));
  Define(n, 0, y, all_nhwc);
  return Status::Ok();
}

// Slice (opset 10+: starts, ends, axes, steps as inputs) in the ONNX layout.
Status OnnxImporter::ImportSlice(const onnx::NodeProto& n) {
  if (opset_ < 10) return Status::Errorf("{}: Slice before opset 10 is not supported", Where(n));
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const int xi = Onnx(x, n.input(0));
  const Shape& shape = g_.tensor(xi).shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  TML_ASSIGN_OR_RETURN(auto starts, ConstInts(n, 1, "starts"));
  TML_ASSIGN_OR_RETURN(auto ends, ConstInts(n, 2, "ends"));
  std::vector<int64_t> axes, steps(starts.size(), 1);
  if (Has(n, 3)) {
    TML_ASSIGN_OR_RETURN(axes, ConstInts(n, 3, "axes"));
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (Has(n, 4)) {
    TML_ASSIGN_OR_RETURN(steps, ConstInts(n, 4, "steps"));
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return Status::Errorf("{}: starts, ends, axes and steps differ in length", Where(n));
  std::vector<int64_t> st(shape.size(), 0), sp(shape.size(), 1), sz(shape.begin(), shape.end());
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t ax = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (ax < 0 || ax >= rank) return Status::Errorf("{}: axis {} out of range", Where(n), axes[i]);
    if (steps[i] == 0) return Status::Errorf("{}: step 0 on axis {}", Where(n), axes[i]);
    const SliceAxis a =
        ResolveSliceAxis(shape[static_cast<size_t>(ax)], starts[i], ends[i], steps[i]);
    st[static_cast<size_t>(ax)] = a.start;
    sp[static_cast<size_t>(ax)] = steps[i];
    sz[static_cast<size_t>(ax)] = a.size;
  }
  Attrs a;
  a.Set("starts", st);
  a.Set("steps", sp);
  a.Set("sizes", sz);
  const Tensor& xt = g_.tensor(xi);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kSlice, n.output(0), {xi}, a, xt.dtype, xt.quant));
  Define(n, 0, y, false);
  return Status::Ok();
}

Status OnnxImporter::ImportPad(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const std::string mode = OnnxAttrStr(n, "mode", "constant");
  if (mode != "constant")
    return Status::Errorf("{}: pad mode '{}' is not supported", Where(n), mode);
  const int64_t rank = static_cast<int64_t>(OnnxShape(x).size());
  std::vector<int64_t> pads;
  float value = 0.0f;
  if (opset_ >= 11) {
    TML_ASSIGN_OR_RETURN(pads, ConstInts(n, 1, "pads"));
    if (Has(n, 2)) {
      TML_ASSIGN_OR_RETURN(Value v, Get(n, 2));
      const Tensor& vt = g_.tensor(v.t);
      if (!vt.is_const || vt.numel() != 1)
        return Status::Errorf("{}: constant_value must be a constant scalar", Where(n));
      value = static_cast<float>(vt.ValueAsDouble(0));
    }
    if (Has(n, 3)) {
      TML_ASSIGN_OR_RETURN(auto axes, ConstInts(n, 3, "axes"));
      std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
      for (size_t i = 0; i < axes.size(); ++i) {
        int64_t ax = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (ax < 0 || ax >= rank || pads.size() != 2 * axes.size())
          return Status::Errorf("{}: axes / pads mismatch", Where(n));
        full[static_cast<size_t>(ax)] = pads[i];
        full[static_cast<size_t>(ax + rank)] = pads[i + axes.size()];
      }
      pads = full;
    }
  } else {
    pads = OnnxAttrInts(n, "pads");
    value = OnnxAttrFloat(n, "value", 0.0f);
  }
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    return Status::Errorf("{}: {} pads for rank {}", Where(n), pads.size(), rank);
  int xi = x.t;
  if (x.nhwc) {  // permute pads into NHWC order
    std::vector<int64_t> p(pads.size());
    for (int64_t d = 0; d < 4; ++d) {
      p[static_cast<size_t>(d)] = pads[static_cast<size_t>(kToNhwc[static_cast<size_t>(d)])];
      p[static_cast<size_t>(d + 4)] =
          pads[static_cast<size_t>(kToNhwc[static_cast<size_t>(d)] + 4)];
    }
    pads = p;
  }
  Attrs a;
  a.Set("pads", pads);
  a.Set("value", value);
  const Tensor& xt = g_.tensor(xi);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kPad, n.output(0), {xi}, a, xt.dtype, xt.quant));
  Define(n, 0, y, x.nhwc);
  return Status::Ok();
}

Status OnnxImporter::ImportReduceMean(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const int64_t rank = static_cast<int64_t>(OnnxShape(x).size());
  std::vector<int64_t> axes;
  if (opset_ >= 18 && Has(n, 1)) {
    TML_ASSIGN_OR_RETURN(axes, ConstInts(n, 1, "axes"));
  } else {
    axes = OnnxAttrInts(n, "axes");
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  for (auto& a : axes)
    if (a < 0) a += rank;
  std::sort(axes.begin(), axes.end());
  int xi;
  bool nhwc = false;
  if (x.nhwc && axes == std::vector<int64_t>{2, 3}) {
    xi = x.t;
    axes = {1, 2};
    nhwc = true;
  } else {
    xi = Onnx(x, n.input(0));
  }
  const bool keep = OnnxAttrInt(n, "keepdims", 1) != 0;
  Attrs a;
  a.Set("axes", axes);
  a.Set("keep_dims", keep ? 1 : 0);
  const Tensor& xt = g_.tensor(xi);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kMean, n.output(0), {xi}, a, xt.dtype, xt.quant));
  Define(n, 0, y, nhwc && keep);
  if (nhwc && !keep) Define(n, 0, y, false);
  return Status::Ok();
}

Status OnnxImporter::ImportBatchNorm(const onnx::NodeProto& n) {
  // y = x * s + t with s = scale / sqrt(var + eps), t = bias - mean * s, per channel.
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  std::vector<const Tensor*> p;
  for (size_t k = 1; k <= 4; ++k) {
    TML_ASSIGN_OR_RETURN(Value v, Get(n, k));
    const Tensor& t = g_.tensor(v.t);
    if (!t.is_const || t.dtype != DType::kFloat32)
      return Status::Errorf(
          "{}: batch-norm parameters must be float constants (training mode is not supported)",
          Where(n));
    p.push_back(&t);
  }
  const int64_t c = p[0]->numel();
  const float eps = OnnxAttrFloat(n, "epsilon", 1e-5f);
  std::vector<float> s(static_cast<size_t>(c)), t(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    if (p[1]->numel() != c || p[2]->numel() != c || p[3]->numel() != c)
      return Status::Errorf("{}: parameter sizes differ", Where(n));
    const float si = p[0]->as<float>()[i] / std::sqrt(p[3]->as<float>()[i] + eps);
    s[static_cast<size_t>(i)] = si;
    t[static_cast<size_t>(i)] = p[1]->as<float>()[i] - p[2]->as<float>()[i] * si;
  }
  const Shape xs = OnnxShape(x);
  Shape ps = {c};
  if (!x.nhwc)
    for (size_t d = 2; d < xs.size(); ++d) ps.push_back(1);
  TML_ASSIGN_OR_RETURN(int sc, ConstFloat(n.output(0) + "/bn_scale", ps, s));
  TML_ASSIGN_OR_RETURN(int sh, ConstFloat(n.output(0) + "/bn_shift", ps, t));
  TML_ASSIGN_OR_RETURN(int m, AddOp(OpType::kMul, n.output(0) + "/bn_mul", {x.t, sc}, {}));
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kAdd, n.output(0), {m, sh}, {}));
  Define(n, 0, y, x.nhwc);
  return Status::Ok();
}

Result<QuantParams> OnnxImporter::QuantFrom(const onnx::NodeProto& n, size_t scale_k, size_t zp_k,
                                            DType* dtype, int axis) {
  TML_ASSIGN_OR_RETURN(Value sv, Get(n, scale_k));
  const Tensor& s = g_.tensor(sv.t);
  if (!s.is_const || s.dtype != DType::kFloat32)
    return Status::Errorf("{}: scale must be a float constant", Where(n));
  QuantParams q;
  for (int64_t i = 0; i < s.numel(); ++i) q.scale.push_back(s.as<float>()[i]);
  *dtype = DType::kUInt8;  // ONNX default when no zero point is given
  if (Has(n, zp_k)) {
    TML_ASSIGN_OR_RETURN(Value zv, Get(n, zp_k));
    const Tensor& z = g_.tensor(zv.t);
    if (!z.is_const) return Status::Errorf("{}: zero point must be a constant", Where(n));
    if (z.numel() != s.numel())
      return Status::Errorf("{}: scale and zero point sizes differ", Where(n));
    *dtype = z.dtype;
    for (int64_t i = 0; i < z.numel(); ++i) q.zero_point.push_back(z.ValueAsInt(i));
  } else {
    q.zero_point.assign(q.scale.size(), 0);
  }
  const bool int32_dequantize =
      *dtype == DType::kInt32 && n.op_type() == "DequantizeLinear";  // biases
  if (!IsQuantizedDType(*dtype) && !int32_dequantize)
    return Status::Errorf("{}: {} quantization is not supported (int8 / uint8 only)", Where(n),
                          DTypeName(*dtype));
  if (OnnxAttrInt(n, "block_size", 0) != 0)
    return Status::Errorf("{}: blocked quantization is not supported", Where(n));
  q.axis = axis;
  return q;
}

Status OnnxImporter::ImportQuantizeLinear(const onnx::NodeProto& n, bool quantize) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const int64_t rank = static_cast<int64_t>(OnnxShape(x).size());
  int64_t axis = OnnxAttrInt(n, "axis", 1);
  if (axis < 0) axis += rank;
  DType qt;
  TML_ASSIGN_OR_RETURN(QuantParams q, QuantFrom(n, 1, 2, &qt, static_cast<int>(axis)));
  if (q.per_channel() && x.nhwc)
    q.axis = static_cast<int>(std::find(kToNhwc.begin(), kToNhwc.end(), axis) - kToNhwc.begin());
  if (quantize) {
    Attrs a;
    a.Set("round_half_even", 1);
    TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kQuantize, n.output(0), {x.t}, a, qt, q));
    Define(n, 0, y, x.nhwc);
  } else {
    Tensor& xt = g_.tensor(x.t);
    if (xt.dtype != qt)
      return Status::Errorf("{}: input is {}, zero point is {}", Where(n), DTypeName(xt.dtype),
                            DTypeName(qt));
    if (!xt.quant.empty() && !(xt.quant == q))
      return Status::Errorf("{}: input '{}' already carries different quantization", Where(n),
                            xt.name);
    xt.quant = q;
    TML_ASSIGN_OR_RETURN(int y,
                         AddOp(OpType::kDequantize, n.output(0), {x.t}, {}, DType::kFloat32));
    Define(n, 0, y, x.nhwc);
  }
  return Status::Ok();
}

Status OnnxImporter::ImportQLinearConv(const onnx::NodeProto& n) {
  // x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  TML_ASSIGN_OR_RETURN(Value w, Get(n, 3));
  DType xt, wt, yt;
  TML_ASSIGN_OR_RETURN(QuantParams xq, QuantFrom(n, 1, 2, &xt, -1));
  TML_ASSIGN_OR_RETURN(QuantParams wq, QuantFrom(n, 4, 5, &wt, 0));
  TML_ASSIGN_OR_RETURN(QuantParams yq, QuantFrom(n, 6, 7, &yt, -1));
  if (xt != DType::kInt8 || wt != DType::kInt8 || yt != DType::kInt8)
    return Status::Errorf("{}: only int8 QLinearConv is supported (uint8 given)", Where(n));
  g_.tensor(x.t).quant = xq;
  g_.tensor(w.t).quant = wq;
  const Shape xs = OnnxShape(x);
  const Shape ws = g_.tensor(w.t).shape;
  if (xs.size() != 4 || ws.size() != 4)
    return Status::Errorf("{}: only 2-D convolution is supported", Where(n));
  const int64_t group = OnnxAttrInt(n, "group", 1);
  const bool depthwise = group > 1;
  if (depthwise && (group != xs[1] || ws[1] != 1))
    return Status::Errorf("{}: grouped convolution is not supported (only depthwise)", Where(n));
  Attrs a;
  TML_RETURN_IF_ERROR(SetSpatialAttrs(n, a, xs, ws[2], ws[3]));
  Attrs perm;
  perm.Set("perm", depthwise ? std::vector<int64_t>{1, 2, 3, 0} : kToNhwc);
  QuantParams wq2 = wq;
  wq2.axis = depthwise ? 3 : 0;
  TML_ASSIGN_OR_RETURN(
      int wk, AddOp(OpType::kTranspose, n.input(3) + "/ohwi", {w.t}, perm, DType::kInt8, wq2));
  int b = -1;
  if (Has(n, 8)) {
    TML_ASSIGN_OR_RETURN(Value bv, Get(n, 8));
    b = bv.t;
  }
  const int xi = Nhwc(x, n.input(0));
  TML_ASSIGN_OR_RETURN(int y, AddOp(depthwise ? OpType::kDepthwiseConv2D : OpType::kConv2D,
                                    n.output(0), {xi, wk, b}, a, DType::kInt8, yq));
  Define(n, 0, y, true);
  return Status::Ok();
}

Status OnnxImporter::ImportConstant(const onnx::NodeProto& n) {
  for (const auto& at : n.attribute())
    if (at.name() == "value") {
      TML_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(at.t(), n.output(0)));
      t.is_const = true;
      values_[n.output(0)] = {g_.AddTensor(std::move(t)), false};
      return Status::Ok();
    }
  return Status::Errorf("{}: only tensor-valued constants are supported", Where(n));
}

Status OnnxImporter::ImportTranspose(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const int xi = Onnx(x, n.input(0));
  Attrs a;
  if (auto perm = OnnxAttrInts(n, "perm"); !perm.empty()) a.Set("perm", perm);
  const Tensor& xt = g_.tensor(xi);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kTranspose, n.output(0), {xi}, a, xt.dtype, xt.quant));
  Define(n, 0, y, false);
  return Status::Ok();
}

// Identity and Dropout (inference: the identity).
Status OnnxImporter::ImportIdentity(const onnx::NodeProto& n) {
  if (n.output_size() > 1 && !n.output(1).empty())
    return Status::Errorf("{}: the mask output is not supported", Where(n));
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const Tensor& xt = g_.tensor(x.t);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kIdentity, n.output(0), {x.t}, {}, xt.dtype, xt.quant));
  Define(n, 0, y, x.nhwc);
  return Status::Ok();
}

// Relu and Clip (bounds as attributes before opset 11, constant inputs since).
Status OnnxImporter::ImportClip(const onnx::NodeProto& n) {
  float lo = kNoMin, hi = kNoMax;
  if (n.op_type() == "Relu") {
    lo = 0.0f;
  } else if (opset_ >= 11) {
    for (size_t k = 1; k <= 2; ++k) {
      if (!Has(n, k)) continue;
      TML_ASSIGN_OR_RETURN(Value v, Get(n, k));
      const Tensor& b = g_.tensor(v.t);
      if (!b.is_const || b.numel() != 1)
        return Status::Errorf("{}: min / max must be constant scalars", Where(n));
      (k == 1 ? lo : hi) = static_cast<float>(b.ValueAsDouble(0));
    }
  } else {
    lo = OnnxAttrFloat(n, "min", kNoMin);
    hi = OnnxAttrFloat(n, "max", kNoMax);
  }
  Attrs a;
  a.Set("min", lo);
  if (n.op_type() != "Relu") a.Set("max", hi);
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  const Tensor& xt = g_.tensor(x.t);
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kClip, n.output(0), {x.t}, a, xt.dtype, xt.quant));
  Define(n, 0, y, x.nhwc);
  return Status::Ok();
}

// The project's own front end (domain ai.tinymlaas, written by onnx_export.cc): the
// attributes are tml_mfcc_params' fields; the op checks them when shapes are inferred.
Status OnnxImporter::ImportMfcc(const onnx::NodeProto& n) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  Attrs a;
  for (const auto& at : n.attribute()) {
    if (at.type() == onnx::AttributeProto::INT)
      a.Set(at.name(), static_cast<int64_t>(at.i()));
    else if (at.type() == onnx::AttributeProto::FLOAT)
      a.Set(at.name(), at.f());
    else
      return Status::Errorf("{}: attribute '{}' must be an int or a float", Where(n), at.name());
  }
  TML_ASSIGN_OR_RETURN(int y, AddOp(OpType::kMfcc, n.output(0), {x.t}, a, DType::kFloat32, {}));
  Define(n, 0, y, false);
  return Status::Ok();
}

// Element-wise ops keep the layout.
Status OnnxImporter::ImportUnary(const onnx::NodeProto& n, OpType op) {
  TML_ASSIGN_OR_RETURN(Value x, Get(n, 0));
  Attrs a;
  if (op == OpType::kLeakyRelu) a.Set("alpha", OnnxAttrFloat(n, "alpha", 0.01f));
  const Tensor& xt = g_.tensor(x.t);
  TML_ASSIGN_OR_RETURN(int y, AddOp(op, n.output(0), {x.t}, a, xt.dtype, xt.quant));
  Define(n, 0, y, x.nhwc);
  return Status::Ok();
}

const std::vector<OnnxImporter::Rule>& OnnxImporter::Rules() {
  using N = const onnx::NodeProto&;
  using I = OnnxImporter&;
  static const std::vector<Rule> rules = {
      {"Constant", {}, [](I i, N n) { return i.ImportConstant(n); }},
      {"Conv",
       {OpType::kConv2D, OpType::kDepthwiseConv2D},
       [](I i, N n) { return i.ImportConv(n); }},
      {"QLinearConv",
       {OpType::kConv2D, OpType::kDepthwiseConv2D},
       [](I i, N n) { return i.ImportQLinearConv(n); }},
      {"MaxPool", {OpType::kMaxPool2D}, [](I i, N n) { return i.ImportPool(n); }},
      {"AveragePool", {OpType::kAveragePool2D}, [](I i, N n) { return i.ImportPool(n); }},
      {"GlobalAveragePool", {OpType::kAveragePool2D}, [](I i, N n) { return i.ImportPool(n); }},
      {"GlobalMaxPool", {OpType::kMaxPool2D}, [](I i, N n) { return i.ImportPool(n); }},
      {"Gemm", {OpType::kFullyConnected}, [](I i, N n) { return i.ImportGemm(n); }},
      {"MatMul", {OpType::kFullyConnected}, [](I i, N n) { return i.ImportMatMul(n, false); }},
      {"QLinearMatMul",
       {OpType::kFullyConnected},
       [](I i, N n) { return i.ImportMatMul(n, true); }},
      {"Add", {OpType::kAdd}, [](I i, N n) { return i.ImportBinary(n, OpType::kAdd); }},
      {"Sub", {OpType::kSub}, [](I i, N n) { return i.ImportBinary(n, OpType::kSub); }},
      {"Mul", {OpType::kMul}, [](I i, N n) { return i.ImportBinary(n, OpType::kMul); }},
      {"Div", {OpType::kDiv}, [](I i, N n) { return i.ImportBinary(n, OpType::kDiv); }},
      {"Softmax",
       {OpType::kSoftmax},
       [](I i, N n) { return i.ImportSoftmax(n, OpType::kSoftmax); }},
      {"LogSoftmax",
       {OpType::kLogSoftmax},
       [](I i, N n) { return i.ImportSoftmax(n, OpType::kLogSoftmax); }},
      {"Reshape", {OpType::kReshape}, [](I i, N n) { return i.ImportReshapeLike(n); }},
      {"Flatten", {OpType::kReshape}, [](I i, N n) { return i.ImportReshapeLike(n); }},
      {"Squeeze", {OpType::kReshape}, [](I i, N n) { return i.ImportReshapeLike(n); }},
      {"Unsqueeze", {OpType::kReshape}, [](I i, N n) { return i.ImportReshapeLike(n); }},
      {"Concat", {OpType::kConcat}, [](I i, N n) { return i.ImportConcat(n); }},
      {"Pad", {OpType::kPad}, [](I i, N n) { return i.ImportPad(n); }},
      {"Slice", {OpType::kSlice}, [](I i, N n) { return i.ImportSlice(n); }},
      {"ReduceMean", {OpType::kMean}, [](I i, N n) { return i.ImportReduceMean(n); }},
      {"BatchNormalization",
       {OpType::kMul, OpType::kAdd},
       [](I i, N n) { return i.ImportBatchNorm(n); }},
      {"QuantizeLinear",
       {OpType::kQuantize},
       [](I i, N n) { return i.ImportQuantizeLinear(n, true); }},
      {"DequantizeLinear",
       {OpType::kDequantize},
       [](I i, N n) { return i.ImportQuantizeLinear(n, false); }},
      {"Transpose", {OpType::kTranspose}, [](I i, N n) { return i.ImportTranspose(n); }},
      {"Identity", {OpType::kIdentity}, [](I i, N n) { return i.ImportIdentity(n); }},
      {"Dropout", {OpType::kIdentity}, [](I i, N n) { return i.ImportIdentity(n); }},
      {"Relu", {OpType::kClip}, [](I i, N n) { return i.ImportClip(n); }},
      {"Clip", {OpType::kClip}, [](I i, N n) { return i.ImportClip(n); }},
      {"LeakyRelu",
       {OpType::kLeakyRelu},
       [](I i, N n) { return i.ImportUnary(n, OpType::kLeakyRelu); }},
      {"Sigmoid",
       {OpType::kLogistic},
       [](I i, N n) { return i.ImportUnary(n, OpType::kLogistic); }},
      {"Tanh", {OpType::kTanh}, [](I i, N n) { return i.ImportUnary(n, OpType::kTanh); }},
      {std::string(kTmlDomain) + "::Mfcc",
       {OpType::kMfcc},
       [](I i, N n) { return i.ImportMfcc(n); }},
  };
  return rules;
}

const OnnxImporter::Rule* OnnxImporter::FindRule(const std::string& op) {
  for (const Rule& r : Rules())
    if (r.onnx == op) return &r;
  return nullptr;
}

Status OnnxImporter::ImportNode(const onnx::NodeProto& n) {
  if (n.output_size() < 1) return Status::Errorf("{}: has no outputs", Where(n));
  const Rule* rule = FindRule(RuleKey(n));
  if (!rule) return Status::Errorf("{}: unsupported operator", Where(n));
  return rule->import(*this, n);
}

Result<Graph> OnnxImporter::Run() {
  for (const auto& op : m_.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
  const onnx::GraphProto& gp = m_.graph();
  g_.name = gp.name().empty() ? g_.name : g_.name;
  TML_RETURN_IF_ERROR(CheckSupported());
  std::set<std::string> initializer_names;
  for (const auto& init : gp.initializer()) {
    TML_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init, init.name()));
    t.is_const = true;
    initializer_names.insert(init.name());
    values_[init.name()] = {g_.AddTensor(std::move(t)), false};
  }
  for (const auto& in : gp.input()) {
    if (initializer_names.count(in.name())) continue;
    if (frozen_) {
      if (auto it = frozen_->find(in.name()); it != frozen_->end()) {
        Tensor t = it->second;
        t.is_const = true;
        values_[in.name()] = {g_.AddTensor(std::move(t)), false};
        continue;
      }
    }
    TML_ASSIGN_OR_RETURN(Tensor t, TensorFromValueInfo(in));
    const int idx = g_.AddTensor(std::move(t));
    g_.inputs.push_back(idx);
    values_[in.name()] = {idx, false};
  }
  for (const auto& node : gp.node()) {
    Status s = ImportNode(node);
    if (s.ok()) s = layout_error_;
    if (!s.ok()) return s;
  }
  for (const auto& out : gp.output()) {
    auto it = values_.find(out.name());
    if (it == values_.end())
      return Status::Errorf("graph output '{}' is never computed", out.name());
    int t = Onnx(it->second, out.name());
    if (g_.tensor(t).is_const || std::count(g_.inputs.begin(), g_.inputs.end(), t)) {
      const Tensor& x = g_.tensor(t);
      TML_ASSIGN_OR_RETURN(
          t, AddOp(OpType::kIdentity, out.name() + "/out", {t}, {}, x.dtype, x.quant));
    }
    g_.outputs.push_back(t);
  }
  return std::move(g_);
}

}  // namespace

Result<Graph> ImportOnnxModel(const onnx::ModelProto& m, const std::string& name,
                              const std::map<std::string, Tensor>* frozen) {
  OnnxImporter imp(m, name, frozen);
  auto r = imp.Run();
  if (!r.ok()) return r.status().Wrap(name);
  return r;
}

std::vector<FormatOp> OnnxImportOps() {
  std::vector<FormatOp> ops;
  for (const auto& r : OnnxImporter::Rules()) ops.push_back({r.onnx, r.produces});
  return ops;
}

Result<Graph> ImportOnnxBuffer(const uint8_t* data, size_t size, const std::string& name) {
  onnx::ModelProto m;
  if (size == 0 || size > static_cast<size_t>(INT32_MAX) ||
      !m.ParseFromArray(data, static_cast<int>(size)))
    return Status::Errorf("{}: not a valid ONNX model (protobuf parse failed)", name);
  if (!m.has_graph()) return Status::Errorf("{}: ONNX model has no graph", name);
  return ImportOnnxModel(m, name, nullptr);
}

}  // namespace tml
