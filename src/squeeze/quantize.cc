#include "squeeze/quantize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "frontend/frontend.h"
#include "ops/op.h"
#include "prepare/passes.h"

namespace tml {
namespace {

int32_t RoundHalfAway(double v) {
  return static_cast<int32_t>(v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5));
}

// Per-channel symmetric int8 weights along `axis`; returns the scales.
std::vector<float> QuantizeWeights(Tensor& w, int axis) {
  const int64_t channels = w.shape[static_cast<size_t>(axis)];
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < w.shape.size(); ++d) inner *= w.shape[d];
  const float* src = w.as<float>();
  std::vector<float> absmax(static_cast<size_t>(channels), 0.0f);
  const int64_t n = w.numel();
  for (int64_t i = 0; i < n; ++i) {
    const size_t c = static_cast<size_t>((i / inner) % channels);
    absmax[c] = std::max(absmax[c], std::fabs(src[i]));
  }
  std::vector<float> scale(static_cast<size_t>(channels));
  for (size_t c = 0; c < scale.size(); ++c) scale[c] = absmax[c] > 0 ? absmax[c] / 127.0f : 1.0f;
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const size_t c = static_cast<size_t>((i / inner) % channels);
    const int32_t q = std::clamp(RoundHalfAway(static_cast<double>(src[i]) / scale[c]), -127, 127);
    bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(static_cast<int8_t>(q));
  }
  w.data = std::move(bytes);
  w.dtype = DType::kInt8;
  w.quant.scale = scale;
  w.quant.zero_point.assign(scale.size(), 0);
  w.quant.axis = axis;
  return scale;
}

void QuantizeBias(Tensor& b, float in_scale, const std::vector<float>& w_scale) {
  const float* src = b.as<float>();
  std::vector<int32_t> q(static_cast<size_t>(b.numel()));
  std::vector<float> scale(q.size());
  for (size_t c = 0; c < q.size(); ++c) {
    scale[c] = in_scale * w_scale[w_scale.size() == 1 ? 0 : c];
    const double v = std::round(static_cast<double>(src[c]) / scale[c]);
    q[c] = static_cast<int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
  }
  b.data.assign(reinterpret_cast<const uint8_t*>(q.data()),
                reinterpret_cast<const uint8_t*>(q.data() + q.size()));
  b.dtype = DType::kInt32;
  b.quant.scale = scale;
  b.quant.zero_point.assign(scale.size(), 0);
  b.quant.axis = 0;
}

QuantParams FixedQuant(float scale, int64_t zp) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  return q;
}

class Quantizer {
 public:
  Quantizer(const Graph& f, const std::vector<TensorRange>& ranges) : g_(f), ranges_(ranges) {}

  Result<Graph> Run(const QuantizeOptions& opts) {
    if (ranges_.size() != g_.tensors.size())
      return Status::Errorf("calibration ranges cover {} tensors, the graph has {}", ranges_.size(),
                            g_.tensors.size());
    // A feature front end stays float: the model behind it is quantized, then the front
    // end is attached again, quantized into the model's new input.
    std::optional<FrontEnd> front;
    if (auto d = DetachFrontEnd(g_); d.ok()) {
      g_ = std::move(d->body);
      front = std::move(d->frontend);
    }
    for (int in : g_.inputs) TML_RETURN_IF_ERROR(SetActivation(in));
    const size_t original_nodes = g_.nodes.size();
    for (size_t i = 0; i < original_nodes; ++i) TML_RETURN_IF_ERROR(QuantizeNode(i));
    if (opts.float_io) AddFloatEdges();
    TML_RETURN_IF_ERROR(g_.TopoSort());
    TML_RETURN_IF_ERROR(PrepareGraph(g_));
    if (front) return AttachFrontEnd(g_, *front);
    return std::move(g_);
  }

 private:
  Status SetActivation(int t) {
    Tensor& x = g_.tensor(t);
    if (x.dtype != DType::kFloat32)
      return Status::Errorf("tensor '{}' is {}, the quantizer expects a float model", x.name,
                            DTypeName(x.dtype));
    const TensorRange& r = ranges_[static_cast<size_t>(t)];
    if (!r.seen) return Status::Errorf("tensor '{}' has no calibration range", x.name);
    x.quant = ActivationQuant(r.lo, r.hi);
    x.dtype = DType::kInt8;
    return Status::Ok();
  }
  void SetSame(int out, int in) {
    g_.tensor(out).quant = g_.tensor(in).quant;
    g_.tensor(out).dtype = DType::kInt8;
  }
  void SetFixed(int out, float scale, int64_t zp) {
    g_.tensor(out).quant = FixedQuant(scale, zp);
    g_.tensor(out).dtype = DType::kInt8;
  }

  Status QuantizeNode(size_t i) {
    Node n = g_.nodes[i];  // copy: adding nodes may reallocate
    const std::string where = fmt::format("node '{}' ({})", n.name, OpName(n.op));
    for (int in : n.inputs)
      if (in >= 0 && g_.tensor(in).is_const && Schema(n.op).quant != QuantRule::kWeighted &&
          Schema(n.op).quant != QuantRule::kSvdf && Schema(n.op).quant != QuantRule::kLstm &&
          g_.tensor(in).dtype == DType::kFloat32)
        TML_RETURN_IF_ERROR(QuantizeConstInput(in, where));
    const int y = n.outputs[0];
    switch (Schema(n.op).quant) {
      case QuantRule::kWeighted: {
        Tensor& w = g_.tensor(n.inputs[1]);
        if (!w.is_const || w.dtype != DType::kFloat32)
          return Status::Errorf("{}: weights '{}' must be float constants", where, w.name);
        const int axis = n.op == OpType::kDepthwiseConv2D ? 3 : 0;
        const std::vector<float> ws = QuantizeWeights(w, axis);
        if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
          Tensor& b = g_.tensor(n.inputs[2]);
          if (!b.is_const || b.dtype != DType::kFloat32)
            return Status::Errorf("{}: bias '{}' must be a float constant", where, b.name);
          QuantizeBias(b, g_.tensor(n.inputs[0]).quant.scale[0], ws);
        }
        return SetActivation(y);
      }
      case QuantRule::kSameAsInput:
        SetSame(y, n.inputs[0]);
        return Status::Ok();
      case QuantRule::kFixedSigmoid:
        SetFixed(y, 1.0f / 256, -128);
        return Status::Ok();
      case QuantRule::kFixedTanh:
        SetFixed(y, 1.0f / 128, 0);
        return Status::Ok();
      case QuantRule::kConcat: {
        TML_RETURN_IF_ERROR(SetActivation(y));
        for (size_t k = 0; k < n.inputs.size(); ++k)
          if (!(g_.tensor(n.inputs[k]).quant == g_.tensor(y).quant))
            Requantize(i, k, g_.tensor(y).quant);
        return Status::Ok();
      }
      case QuantRule::kActivation:
        return SetActivation(y);
      case QuantRule::kSvdf:
        TML_RETURN_IF_ERROR(QuantizeSvdf(n, where));
        return SetActivation(y);
      case QuantRule::kLstm:
        return QuantizeLstm(n, where);
      case QuantRule::kNone:
        break;
    }
    return Status::Errorf("{}: no int8 quantization rule for this op", where);
  }

  // SVDF as TFLite's integer scheme: int8 feature weights, int16 time weights, an int16
  // state scaled to its calibrated range (symmetric), the bias in int32 at state x time.
  Status QuantizeSvdf(const Node& n, const std::string& where) {
    const auto symmetric = [&](int t, DType type, double top) -> Result<float> {
      Tensor& c = g_.tensor(t);
      if (!c.is_const || c.dtype != DType::kFloat32)
        return Status::Errorf("{}: '{}' must be a float constant", where, c.name);
      double m = 0;
      for (int64_t k = 0; k < c.numel(); ++k) m = std::max(m, std::fabs(double(c.as<float>()[k])));
      const float scale = static_cast<float>(m > 0 ? m / top : 1.0 / top);
      std::vector<uint8_t> bytes(static_cast<size_t>(c.numel()) * DTypeSize(type));
      for (int64_t k = 0; k < c.numel(); ++k) {
        const int64_t q =
            std::clamp<int64_t>(RoundHalfAway(c.as<float>()[k] / scale), -static_cast<int64_t>(top),
                                static_cast<int64_t>(top));
        const auto q16 = static_cast<int16_t>(q);
        if (type == DType::kInt8)
          bytes[static_cast<size_t>(k)] = static_cast<uint8_t>(static_cast<int8_t>(q));
        else
          std::memcpy(bytes.data() + 2 * k, &q16, 2);
      }
      c.data = std::move(bytes);
      c.dtype = type;
      c.quant = FixedQuant(scale, 0);
      return scale;
    };
    TML_RETURN_IF_ERROR(symmetric(n.inputs[1], DType::kInt8, 127).status());
    TML_ASSIGN_OR_RETURN(float wt_scale, symmetric(n.inputs[2], DType::kInt16, 32767));
    Tensor& st = g_.tensor(n.inputs[4]);
    const TensorRange& r = ranges_[static_cast<size_t>(n.inputs[4])];
    const double m = r.seen ? std::max(std::fabs(r.lo), std::fabs(r.hi)) : 0.0;
    const float st_scale = static_cast<float>(m > 0 ? m / 32767 : 1.0 / 32767);
    st.dtype = DType::kInt16;
    st.quant = FixedQuant(st_scale, 0);
    if (n.inputs[3] >= 0) {
      Tensor& b = g_.tensor(n.inputs[3]);
      if (!b.is_const || b.dtype != DType::kFloat32)
        return Status::Errorf("{}: bias '{}' must be a float constant", where, b.name);
      QuantizeBias(b, st_scale, {wt_scale});
    }
    return Status::Ok();
  }

  // LSTM as TFLite's integer scheme ("8x8_16"): int8 weights with one scale per gate, int32
  // bias at input x weight, the hidden state (and output) at the output's calibrated range,
  // an int16 cell state whose power-of-two scale covers twice its calibrated range.
  Status QuantizeLstm(const Node& n, const std::string& where) {
    const int64_t units = g_.tensor(n.inputs[2]).shape.at(1);
    std::vector<float> in_scales;
    for (size_t k : {size_t{1}, size_t{2}}) {
      Tensor& w = g_.tensor(n.inputs[k]);
      if (!w.is_const || w.dtype != DType::kFloat32)
        return Status::Errorf("{}: weights '{}' must be float constants", where, w.name);
      const Shape shape = w.shape;
      w.shape = {4, w.numel() / 4};  // one scale per gate
      const std::vector<float> gate = QuantizeWeights(w, 0);
      w.shape = shape;
      w.quant.scale.clear();
      for (float s : gate) w.quant.scale.insert(w.quant.scale.end(), static_cast<size_t>(units), s);
      w.quant.zero_point.assign(w.quant.scale.size(), 0);
      if (k == 1) in_scales = w.quant.scale;
    }
    if (n.inputs[3] >= 0) {
      Tensor& b = g_.tensor(n.inputs[3]);
      if (!b.is_const || b.dtype != DType::kFloat32)
        return Status::Errorf("{}: bias '{}' must be a float constant", where, b.name);
      QuantizeBias(b, g_.tensor(n.inputs[0]).quant.scale.at(0), in_scales);
    }
    TML_RETURN_IF_ERROR(SetActivation(n.outputs[0]));
    Tensor& h = g_.tensor(n.inputs[4]);
    h.dtype = DType::kInt8;
    h.quant = g_.tensor(n.outputs[0]).quant;
    Tensor& c = g_.tensor(n.inputs[5]);
    const TensorRange& r = ranges_[static_cast<size_t>(n.inputs[5])];
    const double m = r.seen ? std::max(std::fabs(r.lo), std::fabs(r.hi)) : 0.0;
    const int power = m > 0 ? std::clamp(static_cast<int>(std::ceil(std::log2(2 * m))), -9, 15) : 4;
    c.dtype = DType::kInt16;
    c.quant = FixedQuant(std::ldexp(1.0f, power - 15), 0);
    return Status::Ok();
  }

  // A float constant operand (e.g. of Add): per-tensor asymmetric int8.
  Status QuantizeConstInput(int t, const std::string& where) {
    Tensor& c = g_.tensor(t);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t k = 0; k < c.numel(); ++k) {
      const float v = c.as<float>()[k];
      if (!std::isfinite(v))
        return Status::Errorf("{}: constant '{}' is not finite", where, c.name);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    c.quant = ActivationQuant(lo, hi);
    std::vector<int8_t> q = QuantizeValues(c.as<float>(), static_cast<size_t>(c.numel()), c.quant);
    c.data.assign(reinterpret_cast<const uint8_t*>(q.data()),
                  reinterpret_cast<const uint8_t*>(q.data() + q.size()));
    c.dtype = DType::kInt8;
    return Status::Ok();
  }

  // Inserts an int8 -> int8 Quantize before input k of node i.
  void Requantize(size_t i, size_t k, const QuantParams& q) {
    const int src = g_.nodes[i].inputs[k];
    Tensor t = Tensor::Make(g_.tensor(src).name + "_requant", DType::kInt8, g_.tensor(src).shape);
    t.quant = q;
    const int dst = g_.AddTensor(std::move(t));
    g_.AddNode(OpType::kQuantize, g_.nodes[i].name + "_requant" + std::to_string(k), {src}, {dst});
    g_.nodes[i].inputs[k] = dst;
  }

  void AddFloatEdges() {
    for (int& in : g_.inputs) {
      const int q = in;
      Tensor f = Tensor::Make(g_.tensor(q).name, DType::kFloat32, g_.tensor(q).shape);
      g_.tensor(q).name += "_int8";
      in = g_.AddTensor(std::move(f));
      g_.AddNode(OpType::kQuantize, g_.tensor(q).name, {in}, {q});
    }
    for (int& out : g_.outputs) {
      const int q = out;
      Tensor f = Tensor::Make(g_.tensor(q).name, DType::kFloat32, g_.tensor(q).shape);
      g_.tensor(q).name += "_int8";
      out = g_.AddTensor(std::move(f));
      g_.AddNode(OpType::kDequantize, g_.tensor(q).name + "_dequant", {q}, {out});
    }
  }

  Graph g_;
  const std::vector<TensorRange>& ranges_;
};

}  // namespace

QuantParams ActivationQuant(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  float scale = (hi - lo) / 255.0f;
  if (!(scale > 0.0f) || !std::isfinite(scale)) scale = 1.0f / 255.0f;
  const int64_t zp =
      std::clamp<int64_t>(RoundHalfAway(-128.0 - static_cast<double>(lo) / scale), -128, 127);
  return FixedQuant(scale, zp);
}

std::vector<int8_t> QuantizeValues(const float* v, size_t n, const QuantParams& q) {
  std::vector<int8_t> out(n);
  const double s = q.scale[0];
  const int64_t zp = q.zero_point[0];
  for (size_t i = 0; i < n; ++i) {
    const double x = std::clamp(static_cast<double>(v[i]) / s, -1e6, 1e6);  // NaN -> saturates low
    const int64_t r = RoundHalfAway(x) + zp;
    out[i] = static_cast<int8_t>(std::clamp<int64_t>(r, -128, 127));
  }
  return out;
}

float DequantizeValue(int8_t v, const QuantParams& q) {
  return static_cast<float>(static_cast<int64_t>(v) - q.zero_point[0]) * q.scale[0];
}

Result<Graph> QuantizeGraph(const Graph& float_graph, const std::vector<TensorRange>& ranges,
                            const QuantizeOptions& opts) {
  Quantizer qz(float_graph, ranges);
  return qz.Run(opts);
}

}  // namespace tml
