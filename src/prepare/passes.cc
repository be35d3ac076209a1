#include "prepare/passes.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/op.h"

namespace tml {

namespace {
void EraseNodes(Graph& g, const std::vector<char>& drop) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}
}  // namespace

Status InferShapes(Graph& g) {
  for (const Node& n : g.nodes) TML_RETURN_IF_ERROR(InferNode(g, n));
  return Status::Ok();
}

Status FoldConstants(Graph& g, bool keep_dequantize) {
  std::vector<Node> kept;
  for (Node& n : g.nodes) {
    bool all_const = !n.inputs.empty() && !(keep_dequantize && n.op == OpType::kDequantize);
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

void FuseTransposes(Graph& g) {
  const auto producers = g.Producers();
  // 1. Transpose(Transpose(x, p1), p2) = Transpose(x, c) with c[j] = p1[p2[j]].
  for (Node& n : g.nodes) {
    if (n.op != OpType::kTranspose) continue;
    const int p = producers[static_cast<size_t>(n.inputs[0])];
    if (p < 0 || g.nodes[static_cast<size_t>(p)].op != OpType::kTranspose) continue;
    const Node& inner = g.nodes[static_cast<size_t>(p)];
    const auto p1 = inner.attrs.Ints("perm");
    auto perm = n.attrs.Ints("perm");
    if (p1.size() != perm.size() || perm.empty()) continue;
    std::vector<int64_t> c(perm.size());
    for (size_t j = 0; j < perm.size(); ++j) c[j] = p1[static_cast<size_t>(perm[j])];
    n.inputs[0] = inner.inputs[0];
    n.attrs.Set("perm", c);
  }
  // 2. Permutations that keep the order of non-unit dimensions move no bytes.
  for (Node& n : g.nodes) {
    if (n.op != OpType::kTranspose) continue;
    const Tensor& src = g.tensor(n.inputs[0]);
    const auto perm = n.attrs.Ints("perm");
    if (perm.size() != src.shape.size()) continue;
    int64_t last = -1;
    bool order_kept = true;
    for (int64_t d : perm) {
      if (src.shape[static_cast<size_t>(d)] == 1) continue;
      if (d < last) order_kept = false;
      last = d;
    }
    if (!order_kept) continue;
    n.op = OpType::kReshape;
    n.attrs.Set("shape", g.tensor(n.outputs[0]).shape);
  }
  // 3. Reshape(Reshape(x)) = Reshape(x); a reshape to the same shape is an identity.
  const auto producers2 = g.Producers();
  for (Node& n : g.nodes) {
    if (n.op != OpType::kReshape) continue;
    const int p = producers2[static_cast<size_t>(n.inputs[0])];
    if (p >= 0 && g.nodes[static_cast<size_t>(p)].op == OpType::kReshape)
      n.inputs[0] = g.nodes[static_cast<size_t>(p)].inputs[0];
    if (g.tensor(n.inputs[0]).shape == g.tensor(n.outputs[0]).shape) n.op = OpType::kIdentity;
  }
}

void FoldAffineIntoConv(Graph& g) {
  auto producers = g.Producers();
  auto consumers = g.Consumers();
  auto is_output = [&](int t) { return std::count(g.outputs.begin(), g.outputs.end(), t) > 0; };
  std::vector<char> drop(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& m = g.nodes[i];
    if (m.op != OpType::kMul && m.op != OpType::kAdd) continue;
    if (m.attrs.Has("act_min") || m.attrs.Has("act_max")) continue;
    const int x = m.inputs[0], c = m.inputs[1];
    const Tensor& ct = g.tensor(c);
    const int p = producers[static_cast<size_t>(x)];
    if (p < 0 || !ct.is_const || ct.dtype != DType::kFloat32 ||
        consumers[static_cast<size_t>(x)].size() != 1 || is_output(x))
      continue;
    Node& conv = g.nodes[static_cast<size_t>(p)];
    if (conv.op != OpType::kConv2D && conv.op != OpType::kDepthwiseConv2D &&
        conv.op != OpType::kFullyConnected)
      continue;
    if (conv.attrs.Has("act_min") || conv.attrs.Has("act_max")) continue;
    const Tensor& y = g.tensor(x);
    if (y.dtype != DType::kFloat32 || y.shape.empty()) continue;
    const int64_t channels = y.shape.back();
    // The constant must vary along the channel (last) axis only.
    bool per_channel = ct.numel() == channels || ct.numel() == 1;
    for (size_t d = 0; d + 1 < ct.shape.size(); ++d) per_channel &= ct.shape[d] == 1;
    if (!per_channel || ct.shape.size() > y.shape.size()) continue;
    const Tensor& w = g.tensor(conv.inputs[1]);
    if (!w.is_const || w.dtype != DType::kFloat32) continue;
    auto value = [&](int64_t ch) { return ct.as<float>()[ct.numel() == 1 ? 0 : ch]; };
    // Fresh constants: the originals may be shared with other nodes.
    std::vector<float> bias(static_cast<size_t>(channels), 0.0f);
    if (conv.inputs.size() > 2 && conv.inputs[2] >= 0) {
      const Tensor& b = g.tensor(conv.inputs[2]);
      if (!b.is_const || b.dtype != DType::kFloat32) continue;
      for (int64_t ch = 0; ch < channels; ++ch) bias[static_cast<size_t>(ch)] = b.as<float>()[ch];
    }
    if (m.op == OpType::kMul) {
      Tensor nw = w;
      nw.name = w.name + "/scaled";
      const bool dw = conv.op == OpType::kDepthwiseConv2D;
      const int64_t per = nw.numel() / channels;
      for (int64_t e = 0; e < nw.numel(); ++e) {
        const int64_t ch = dw ? e % channels : e / per;
        nw.mutable_as<float>()[e] *= value(ch);
      }
      for (int64_t ch = 0; ch < channels; ++ch) bias[static_cast<size_t>(ch)] *= value(ch);
      conv.inputs[1] = g.AddTensor(std::move(nw));
    } else {
      for (int64_t ch = 0; ch < channels; ++ch) bias[static_cast<size_t>(ch)] += value(ch);
    }
    const int b =
        g.AddConst(g.tensor(x).name + "/folded_bias", DType::kFloat32, {channels}, bias.data());
    Node& conv_again = g.nodes[static_cast<size_t>(p)];
    if (conv_again.inputs.size() < 3) conv_again.inputs.resize(3, -1);
    conv_again.inputs[2] = b;
    conv_again.outputs[0] = m.outputs[0];
    producers[static_cast<size_t>(m.outputs[0])] = p;
    drop[i] = 1;
    consumers = g.Consumers();
  }
  EraseNodes(g, drop);
}

namespace {

// The int8 tensor behind a float value: Dequantize(x), or Transpose(Dequantize(const)).
int QuantizedSource(Graph& g, const std::vector<int>& producers, int t) {
  const int p = producers[static_cast<size_t>(t)];
  if (p < 0) return -1;
  const Node& n = g.nodes[static_cast<size_t>(p)];
  if (n.op == OpType::kDequantize) {
    const Tensor& x = g.tensor(n.inputs[0]);
    return x.dtype == DType::kInt8 && !x.quant.empty() ? n.inputs[0] : -1;
  }
  if (n.op != OpType::kTranspose && n.op != OpType::kReshape) return -1;
  const int pp = producers[static_cast<size_t>(n.inputs[0])];
  if (pp < 0 || g.nodes[static_cast<size_t>(pp)].op != OpType::kDequantize) return -1;
  const int c = g.nodes[static_cast<size_t>(pp)].inputs[0];
  const Tensor& ct = g.tensor(c);
  if (!ct.is_const || ct.dtype != DType::kInt8 || ct.quant.empty()) return -1;
  if (n.op == OpType::kTranspose) {
    Tensor permuted = PermuteConst(ct, n.attrs.Ints("perm"));
    permuted.name = ct.name + "/permuted";
    return g.AddTensor(std::move(permuted));
  }
  // Reshape: same bytes; the per-channel axis is the new dimension with the
  // same size and the same number of elements before it.
  Tensor reshaped = ct;
  reshaped.name = ct.name + "/reshaped";
  reshaped.shape = g.tensor(n.outputs[0]).shape;
  if (ct.quant.per_channel()) {
    int64_t before = 1;
    for (int d = 0; d < ct.quant.axis; ++d) before *= ct.shape[static_cast<size_t>(d)];
    int axis = -1;
    int64_t prefix = 1;
    for (size_t d = 0; d < reshaped.shape.size(); ++d) {
      if (prefix == before && reshaped.shape[d] == ct.shape[static_cast<size_t>(ct.quant.axis)]) {
        axis = static_cast<int>(d);
        break;
      }
      prefix *= reshaped.shape[d];
    }
    if (axis < 0) return -1;
    reshaped.quant.axis = axis;
  }
  return g.AddTensor(std::move(reshaped));
}

// int32 bias for an int8 conv / fc from a Dequantize(int32) or float constant.
int QuantizedBias(Graph& g, const std::vector<int>& producers, int b, int x, int w) {
  const Tensor& xt = g.tensor(x);
  const Tensor& wt = g.tensor(w);
  const int64_t n = g.tensor(b).numel();
  std::vector<double> values(static_cast<size_t>(n));
  const int p = producers[static_cast<size_t>(b)];
  const Tensor* src = nullptr;
  if (p >= 0 && g.nodes[static_cast<size_t>(p)].op == OpType::kDequantize) {
    src = &g.tensor(g.nodes[static_cast<size_t>(p)].inputs[0]);
    if (!src->is_const || src->quant.empty()) return -1;
  } else if (!g.tensor(b).is_const || g.tensor(b).dtype != DType::kFloat32) {
    return -1;
  }
  std::vector<int32_t> q(static_cast<size_t>(n));
  bool exact = src && src->dtype == DType::kInt32;
  for (int64_t c = 0; c < n; ++c) {
    const double s = static_cast<double>(
        xt.quant.scale[0] * wt.quant.scale[wt.quant.per_channel() ? static_cast<size_t>(c) : 0]);
    double v;
    if (src) {
      const size_t sc = src->quant.per_channel() ? static_cast<size_t>(c) : 0;
      v = (src->ValueAsDouble(c) - static_cast<double>(src->quant.zero_point[sc])) *
          src->quant.scale[sc];
      exact &= std::fabs(src->quant.scale[sc] - s) <= 1e-6 * s && src->quant.zero_point[sc] == 0;
    } else {
      v = g.tensor(b).as<float>()[c];
    }
    q[static_cast<size_t>(c)] =
        exact ? static_cast<int32_t>(src->ValueAsInt(c)) : static_cast<int32_t>(std::lround(v / s));
  }
  return g.AddConst(g.tensor(b).name + "/int32", DType::kInt32, {n}, q.data());
}

}  // namespace

void LowerQdq(Graph& g) {
  const auto producers = g.Producers();
  const auto consumers = g.Consumers();
  std::vector<char> drop(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    // Quantize(Dequantize(int8)) is an int8 -> int8 requantization.
    if (n.op == OpType::kQuantize && g.tensor(n.outputs[0]).dtype == DType::kInt8) {
      const int p = producers[static_cast<size_t>(n.inputs[0])];
      if (p >= 0 && g.nodes[static_cast<size_t>(p)].op == OpType::kDequantize &&
          consumers[static_cast<size_t>(n.inputs[0])].size() == 1) {
        const int src = g.nodes[static_cast<size_t>(p)].inputs[0];
        if (g.tensor(src).dtype == DType::kInt8 && !g.tensor(src).quant.per_channel()) {
          const Node saved = n;
          n.inputs[0] = src;
          if (!InferNode(g, n).ok() || !Schema(n.op).lower(g, n).ok()) n = saved;
        }
      }
      continue;
    }
    if (!Schema(n.op).qdq_lowerable) continue;
    const int y = n.outputs[0];
    if (g.tensor(y).dtype != DType::kFloat32 || consumers[static_cast<size_t>(y)].size() != 1 ||
        std::count(g.outputs.begin(), g.outputs.end(), y))
      continue;
    const size_t qi = static_cast<size_t>(consumers[static_cast<size_t>(y)][0]);
    const Node& q = g.nodes[qi];
    if (q.op != OpType::kQuantize || g.tensor(q.outputs[0]).dtype != DType::kInt8) continue;
    const bool has_weights = n.op == OpType::kConv2D || n.op == OpType::kDepthwiseConv2D ||
                             n.op == OpType::kFullyConnected;
    std::vector<int> in = n.inputs;
    bool ok = true;
    for (size_t k = 0; k < in.size() && ok; ++k) {
      if (in[k] < 0 || (has_weights && k == 2)) continue;
      in[k] = QuantizedSource(g, producers, n.inputs[k]);
      ok = in[k] >= 0;
    }
    if (ok && has_weights && in.size() > 2 && in[2] >= 0) {
      in[2] = QuantizedBias(g, producers, n.inputs[2], in[0], in[1]);
      ok = in[2] >= 0;
    }
    if (!ok) continue;
    if (Schema(n.op).data_movement)
      for (size_t k = 0; k < in.size(); ++k)
        if (!(g.tensor(in[k]).quant == g.tensor(q.outputs[0]).quant)) ok = false;
    if (!ok) continue;
    const Node saved = n;
    n.inputs = in;
    n.outputs[0] = q.outputs[0];
    if (!InferNode(g, n).ok() || !Schema(n.op).lower(g, n).ok()) {
      n = saved;
      continue;
    }
    drop[qi] = 1;
  }
  EraseNodes(g, drop);
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
    if (!Schema(prod.op).fused_activation) continue;
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
  EraseNodes(g, drop);
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
        for (size_t d = static_cast<size_t>(w.quant.axis) + 1; d < w.shape.size(); ++d)
          inner *= w.shape[d];
      const int64_t channels = static_cast<int64_t>(w.quant.scale.size());
      for (int64_t i = 0; i < w.numel(); ++i) {
        const size_t c = static_cast<size_t>(channels > 1 ? (i / inner) % channels : 0);
        f.mutable_as<float>()[i] =
            static_cast<float>(static_cast<double>(w.quant.scale[c]) *
                               (w.ValueAsDouble(i) - static_cast<double>(w.quant.zero_point[c])));
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
  TML_RETURN_IF_ERROR(FoldConstants(g, /*keep_dequantize=*/true));
  FuseTransposes(g);
  RemoveIdentities(g);
  g.Prune();  // transposes bypassed above must not count as consumers below
  FuseActivations(g);
  LowerQdq(g);
  TML_RETURN_IF_ERROR(FoldConstants(g));
  FoldAffineIntoConv(g);
  FuseActivations(g);
  g.Prune();
  TML_RETURN_IF_ERROR(g.Validate());
  TML_RETURN_IF_ERROR(InferShapes(g));
  return CheckLowerable(g);
}

}  // namespace tml
