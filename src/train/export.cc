#include "train/export.h"

#include <cmath>

#include "prepare/builder.h"

namespace tml {

int64_t ParamInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

void AddParams(const std::vector<LayerSpec>& layers, const std::string& prefix,
               std::vector<ParamInfo>* out) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const std::string p = prefix + std::to_string(i) + "." + LayerKindName(l.kind) + ".";
    switch (l.kind) {
      case LayerKind::kConv2D:
        out->push_back({p + "w", {l.filters, l.kernel_h, l.kernel_w, l.in_shape[2]}});
        out->push_back({p + "b", {l.filters}});
        break;
      case LayerKind::kDepthwiseConv2D:
        out->push_back({p + "w", {l.kernel_h, l.kernel_w, l.in_shape[2]}});
        out->push_back({p + "b", {l.in_shape[2]}});
        break;
      case LayerKind::kDense:
        out->push_back({p + "w", {l.units, l.in_shape[0]}});
        out->push_back({p + "b", {l.units}});
        break;
      case LayerKind::kBatchNorm:
        for (const char* n : {"gamma", "beta", "mean", "var"})
          out->push_back({p + n, {l.in_shape.back()}});
        break;
      case LayerKind::kResidual:
        AddParams(l.block, p, out);
        if (l.projection) {
          out->push_back({p + "shortcut.w", {l.out_shape[2], 1, 1, l.in_shape[2]}});
          out->push_back({p + "shortcut.b", {l.out_shape[2]}});
        }
        break;
      default:
        break;
    }
  }
}

Act ToAct(Activation a) {
  return a == Activation::kRelu ? Act::kRelu : (a == Activation::kRelu6 ? Act::kRelu6 : Act::kNone);
}

int Clip(GraphBuilder& b, int x, Activation a) {
  if (a == Activation::kNone) return x;
  Attrs at;
  at.Set("min", 0.0f);
  if (a == Activation::kRelu6) at.Set("max", 6.0f);
  return b.Op(OpType::kClip, {x}, at);
}

class Exporter {
 public:
  Exporter(GraphBuilder& b, const std::vector<std::vector<float>>& v) : b_(b), v_(v) {}

  Result<int> Layers(const std::vector<LayerSpec>& layers, int x) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerSpec& l = layers[i];
      switch (l.kind) {
        case LayerKind::kConv2D:
        case LayerKind::kDepthwiseConv2D:
        case LayerKind::kDense: {
          std::vector<float> w = Next(), bias = Next();
          const bool bn = i + 1 < layers.size() && layers[i + 1].kind == LayerKind::kBatchNorm;
          if (bn) {
            Fold(l, &w, &bias);
            ++i;
          }
          Activation act = l.activation;
          if (act == Activation::kNone && i + 1 < layers.size() &&
              layers[i + 1].kind == LayerKind::kActivation) {
            act = layers[++i].activation;
          }
          b_.QueueWeights(std::move(w));
          b_.QueueWeights(std::move(bias));
          if (l.kind == LayerKind::kConv2D)
            x = b_.Conv2D(x, l.filters, l.kernel_h, l.kernel_w, l.stride, l.same, ToAct(act));
          else if (l.kind == LayerKind::kDepthwiseConv2D)
            x = b_.DepthwiseConv2D(x, l.kernel_h, l.stride, l.same, ToAct(act));
          else
            x = b_.Dense(x, l.units, ToAct(act));
          break;
        }
        case LayerKind::kMaxPool:
          x = b_.MaxPool(x, l.size, l.stride);
          break;
        case LayerKind::kAvgPool:
          x = b_.AvgPool(x, l.size, l.stride);
          break;
        case LayerKind::kGlobalAvgPool:
          x = b_.GlobalAvgPool(x);
          break;
        case LayerKind::kFlatten:
          x = b_.Flatten(x);
          break;
        case LayerKind::kActivation:
          x = Clip(b_, x, l.activation);
          break;
        case LayerKind::kDropout:
          break;  // identity at inference
        case LayerKind::kBatchNorm:
          return Status::Errorf("{}: batch_norm must follow conv2d, depthwise_conv2d or dense",
                                l.line);
        case LayerKind::kResidual: {
          TML_ASSIGN_OR_RETURN(int y, Layers(l.block, x));
          int shortcut = x;
          if (l.projection) {
            b_.QueueWeights(Next());
            b_.QueueWeights(Next());
            const int stride = static_cast<int>(l.in_shape[0] / l.out_shape[0]);
            shortcut =
                b_.Conv2D(x, static_cast<int>(l.out_shape[2]), 1, 1, stride, true, Act::kNone);
          }
          x = b_.Add(y, shortcut, ToAct(l.activation));
          break;
        }
      }
    }
    return x;
  }

  bool exhausted() const { return next_ == v_.size(); }

 private:
  std::vector<float> Next() { return next_ < v_.size() ? v_[next_++] : std::vector<float>{}; }

  // Folds the next batch norm (gamma, beta, mean, var) into w and bias: per output
  // channel scale = gamma / sqrt(var + eps), w *= scale, bias = (bias - mean) * scale + beta.
  void Fold(const LayerSpec& l, std::vector<float>* w, std::vector<float>* bias) {
    const std::vector<float> gamma = Next(), beta = Next(), mean = Next(), var = Next();
    const size_t ch = bias->size();
    if (gamma.size() != ch || beta.size() != ch || mean.size() != ch || var.size() != ch) return;
    const bool channel_last = l.kind == LayerKind::kDepthwiseConv2D;
    const size_t per = ch ? w->size() / ch : 0;
    for (size_t c = 0; c < ch; ++c) {
      const float scale = gamma[c] / std::sqrt(var[c] + kBatchNormEps);
      for (size_t k = 0; k < per; ++k) (*w)[channel_last ? k * ch + c : c * per + k] *= scale;
      (*bias)[c] = ((*bias)[c] - mean[c]) * scale + beta[c];
    }
  }

  GraphBuilder& b_;
  const std::vector<std::vector<float>>& v_;
  size_t next_ = 0;
};

}  // namespace

std::vector<ParamInfo> SpecParams(const ModelSpec& spec) {
  std::vector<ParamInfo> out;
  AddParams(spec.layers, "", &out);
  return out;
}

Result<Graph> SpecToGraph(const ModelSpec& spec, const std::vector<std::vector<float>>& values) {
  const std::vector<ParamInfo> info = SpecParams(spec);
  if (values.size() != info.size())
    return Status::Errorf("{}: {} parameter tensors given, the spec has {}", spec.name,
                          values.size(), info.size());
  for (size_t i = 0; i < info.size(); ++i)
    if (static_cast<int64_t>(values[i].size()) != info[i].numel())
      return Status::Errorf("{}: parameter {} has {} values, expected {}", spec.name, info[i].name,
                            values[i].size(), info[i].numel());
  GraphBuilder b(spec.name);
  Shape in = {1};
  in.insert(in.end(), spec.input.begin(), spec.input.end());
  int x = b.Input("input", DType::kFloat32, in);
  Exporter e(b, values);
  TML_ASSIGN_OR_RETURN(x, e.Layers(spec.layers, x));
  b.Output(b.Softmax(x));
  return b.Finish();
}

namespace {

// Weighted layers of the spec in SpecParams order: index of their weight parameter.
struct Weighted {
  const LayerSpec* layer;  // null for a projection shortcut
  OpType op;
  size_t w;  // index into SpecParams
  std::vector<int64_t> ir_shape;
};

void CollectWeighted(const std::vector<LayerSpec>& layers, size_t* next, std::vector<Weighted>* out,
                     std::vector<size_t>* bn_first) {
  for (const LayerSpec& l : layers) {
    switch (l.kind) {
      case LayerKind::kConv2D:
        out->push_back(
            {&l, OpType::kConv2D, *next, {l.filters, l.kernel_h, l.kernel_w, l.in_shape[2]}});
        *next += 2;
        break;
      case LayerKind::kDepthwiseConv2D:
        out->push_back(
            {&l, OpType::kDepthwiseConv2D, *next, {1, l.kernel_h, l.kernel_w, l.in_shape[2]}});
        *next += 2;
        break;
      case LayerKind::kDense:
        out->push_back({&l, OpType::kFullyConnected, *next, {l.units, l.in_shape[0]}});
        *next += 2;
        break;
      case LayerKind::kBatchNorm:
        bn_first->push_back(*next);
        *next += 4;
        break;
      case LayerKind::kResidual:
        CollectWeighted(l.block, next, out, bn_first);
        if (l.projection) {
          out->push_back({nullptr, OpType::kConv2D, *next, {l.out_shape[2], 1, 1, l.in_shape[2]}});
          *next += 2;
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace

Result<InitReport> InitFromGraph(const ModelSpec& spec, const Graph& g,
                                 std::vector<std::vector<float>>* init) {
  const std::vector<ParamInfo> info = SpecParams(spec);
  init->assign(info.size(), {});
  std::vector<Weighted> want;
  std::vector<size_t> bns;
  size_t next = 0;
  CollectWeighted(spec.layers, &next, &want, &bns);
  std::vector<const Node*> have;
  for (const Node& n : g.nodes)
    if (n.op == OpType::kConv2D || n.op == OpType::kDepthwiseConv2D ||
        n.op == OpType::kFullyConnected)
      have.push_back(&n);
  InitReport r;
  r.total = static_cast<int>(want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const Weighted& w = want[i];
    const std::string name =
        w.layer ? fmt::format("line {} ({})", w.layer->line, LayerKindName(w.layer->kind))
                : std::string("projection shortcut");
    if (i >= have.size()) {
      r.skipped.push_back(name + ": the model has no layer here");
      continue;
    }
    const Node& n = *have[i];
    const Tensor& wt = g.tensor(n.inputs[1]);
    if (n.op != w.op || !wt.is_const || wt.dtype != DType::kFloat32 || wt.shape != w.ir_shape) {
      r.skipped.push_back(fmt::format("{}: {} {} vs {} {}", name, OpName(w.op),
                                      ShapeStr(w.ir_shape), OpName(n.op), ShapeStr(wt.shape)));
      continue;
    }
    (*init)[w.w].assign(wt.as<float>(), wt.as<float>() + wt.numel());
    const int64_t out_c = w.op == OpType::kDepthwiseConv2D ? w.ir_shape[3] : w.ir_shape[0];
    std::vector<float> bias(static_cast<size_t>(out_c), 0.0f);
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
      const Tensor& b = g.tensor(n.inputs[2]);
      if (b.is_const && b.dtype == DType::kFloat32 && b.numel() == out_c)
        bias.assign(b.as<float>(), b.as<float>() + out_c);
    }
    (*init)[w.w + 1] = bias;
    ++r.copied;
  }
  // Batch norms start as the identity: the copied weights already include them.
  for (size_t first : bns) {
    const size_t c = static_cast<size_t>(info[first].numel());
    (*init)[first] = std::vector<float>(c, 1.0f);
    (*init)[first + 1] = std::vector<float>(c, 0.0f);
    (*init)[first + 2] = std::vector<float>(c, 0.0f);
    (*init)[first + 3] = std::vector<float>(c, 1.0f - kBatchNormEps);
  }
  if (r.copied == 0)
    return Status::Errorf("{}: no layer of the model matches the spec ({})", g.name,
                          r.skipped.empty() ? "empty" : r.skipped[0]);
  return r;
}

namespace {

std::vector<LayerSpec> StripBn(const std::vector<LayerSpec>& layers) {
  std::vector<LayerSpec> out;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kBatchNorm) continue;
    LayerSpec c = l;
    c.block = StripBn(l.block);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

ModelSpec WithoutBatchNorm(const ModelSpec& spec) {
  ModelSpec s = spec;
  s.layers = StripBn(spec.layers);
  return s;
}

}  // namespace tml
