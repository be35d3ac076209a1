#include "graph/passes.h"

#include <algorithm>
#include <cstring>

#include "ops/op.h"

namespace tml {

Status InferShapes(Graph& g) {
  for (const Node& n : g.nodes) TML_RETURN_IF_ERROR(InferNode(g, n));
  return Status::Ok();
}

Status FoldConstants(Graph& g) {
  std::vector<Node> kept;
  for (Node& n : g.nodes) {
    bool all_const = !n.inputs.empty();
    for (int t : n.inputs)
      if (t >= 0 && !g.tensor(t).is_const) all_const = false;
    if (!all_const) {
      kept.push_back(std::move(n));
      continue;
    }
    TML_RETURN_IF_ERROR(InferNode(g, n));
    auto lowered = Schema(n.op).lower(g, n);
    if (!lowered.ok()) return lowered.status().Wrap("constant folding");
    KernelIO io;
    for (int t : n.inputs) io.in.push_back(t >= 0 ? g.tensor(t).data.data() : nullptr);
    for (int t : n.outputs) {
      Tensor& y = g.tensor(t);
      y.data.assign(y.nbytes(), 0);
      io.out.push_back(y.data.data());
    }
    (*lowered)->Run(io);
    for (int t : n.outputs) g.tensor(t).is_const = true;
  }
  g.nodes = std::move(kept);
  return Status::Ok();
}

void RemoveIdentities(Graph& g) {
  std::vector<Node> kept;
  std::vector<int> replace(g.tensors.size());
  for (size_t i = 0; i < replace.size(); ++i) replace[i] = static_cast<int>(i);
  auto is_output = [&](int t) { return std::count(g.outputs.begin(), g.outputs.end(), t) > 0; };
  for (Node& n : g.nodes) {
    for (int& t : n.inputs)
      if (t >= 0) t = replace[static_cast<size_t>(t)];
    if (n.op == OpType::kIdentity && n.inputs.size() == 1 && n.inputs[0] >= 0 &&
        !is_output(n.outputs[0])) {
      replace[static_cast<size_t>(n.outputs[0])] = n.inputs[0];
      continue;
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
}

void FuseActivations(Graph& g) {
  const auto producers = g.Producers();
  const auto consumers = g.Consumers();
  std::vector<char> drop(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& clip = g.nodes[i];
    if (clip.op != OpType::kClip) continue;
    const int x = clip.inputs[0];
    const int p = producers[static_cast<size_t>(x)];
    if (p < 0 || consumers[static_cast<size_t>(x)].size() != 1) continue;
    if (std::count(g.outputs.begin(), g.outputs.end(), x)) continue;
    Node& prod = g.nodes[static_cast<size_t>(p)];
    switch (prod.op) {
      case OpType::kConv2D:
      case OpType::kDepthwiseConv2D:
      case OpType::kFullyConnected:
      case OpType::kAdd:
      case OpType::kSub:
      case OpType::kMul:
      case OpType::kAveragePool2D:
      case OpType::kMaxPool2D:
        break;
      default:
        continue;
    }
    const Tensor& xt = g.tensor(x);
    const Tensor& yt = g.tensor(clip.outputs[0]);
    // int8: the clip must not requantize, or fusing would change the result.
    if (xt.dtype != yt.dtype || !(xt.quant == yt.quant)) continue;
    const float lo = std::max(prod.attrs.Float("act_min", kNoMin), clip.attrs.Float("min", kNoMin));
    const float hi = std::min(prod.attrs.Float("act_max", kNoMax), clip.attrs.Float("max", kNoMax));
    prod.attrs.Set("act_min", lo);
    prod.attrs.Set("act_max", hi);
    prod.outputs[0] = clip.outputs[0];
    drop[i] = 1;
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

void DequantizeHybridWeights(Graph& g) {
  for (Node& n : g.nodes) {
    const Tensor* x = g.input(n, 0);
    if (!x || x->dtype != DType::kFloat32) continue;
    for (size_t k = 1; k < n.inputs.size(); ++k) {
      const int t = n.inputs[k];
      if (t < 0) continue;
      const Tensor& w = g.tensor(t);
      if (!w.is_const || !IsQuantizedDType(w.dtype) || w.quant.empty()) continue;
      Tensor f = Tensor::Make(w.name + "/dequantized", DType::kFloat32, w.shape);
      f.is_const = true;
      f.data.resize(f.nbytes());
      int64_t inner = 1;
      if (w.quant.per_channel())
        for (size_t d = static_cast<size_t>(w.quant.axis) + 1; d < w.shape.size(); ++d) inner *= w.shape[d];
      const int64_t channels = static_cast<int64_t>(w.quant.scale.size());
      for (int64_t i = 0; i < w.numel(); ++i) {
        const size_t c = static_cast<size_t>(channels > 1 ? (i / inner) % channels : 0);
        f.mutable_as<float>()[i] = static_cast<float>(
            static_cast<double>(w.quant.scale[c]) * (w.ValueAsDouble(i) - static_cast<double>(w.quant.zero_point[c])));
      }
      n.inputs[k] = g.AddTensor(std::move(f));
    }
  }
}

Status CheckLowerable(const Graph& g) {
  std::string errors;
  for (const Node& n : g.nodes) {
    auto r = Schema(n.op).lower(g, n);
    if (!r.ok()) errors += "\n  " + r.status().message();
  }
  if (!errors.empty()) return Status::Error("graph cannot be compiled:" + errors);
  return Status::Ok();
}

Status PrepareGraph(Graph& g) {
  TML_RETURN_IF_ERROR(g.TopoSort());
  TML_RETURN_IF_ERROR(g.Validate());
  TML_RETURN_IF_ERROR(InferShapes(g));
  DequantizeHybridWeights(g);
  TML_RETURN_IF_ERROR(FoldConstants(g));
  RemoveIdentities(g);
  FuseActivations(g);
  g.Prune();
  TML_RETURN_IF_ERROR(g.Validate());
  TML_RETURN_IF_ERROR(InferShapes(g));
  return CheckLowerable(g);
}

}  // namespace tml
