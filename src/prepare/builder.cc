#include "prepare/builder.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/op.h"
#include "prepare/passes.h"

namespace tml {

GraphBuilder::GraphBuilder(std::string name, uint64_t seed) : rng_(seed) {
  g_.name = std::move(name);
}

std::string GraphBuilder::Name(const std::string& base) {
  return fmt::format("{}_{}", base, counter_++);
}

int GraphBuilder::Input(const std::string& name, DType dtype, Shape shape, QuantParams q) {
  Tensor t = Tensor::Make(name, dtype, std::move(shape));
  t.quant = std::move(q);
  const int i = g_.AddTensor(std::move(t));
  g_.inputs.push_back(i);
  return i;
}

int GraphBuilder::Const(const std::string& name, DType dtype, Shape shape, const void* data,
                        QuantParams q) {
  const int i = g_.AddConst(name, dtype, std::move(shape), data);
  g_.tensor(i).quant = std::move(q);
  return i;
}

int GraphBuilder::RandomConst(const std::string& name, Shape shape, float stddev) {
  std::vector<float> v(static_cast<size_t>(NumElements(shape)));
  if (!queued_.empty()) {
    if (queued_.front().size() != v.size() && status_.ok())
      status_ = Status::Errorf("{}: {} values given for shape {}", name, queued_.front().size(),
                               ShapeStr(shape));
    if (queued_.front().size() == v.size()) v = std::move(queued_.front());
    queued_.pop_front();
  } else {
    std::normal_distribution<float> d(0.0f, stddev);
    for (float& x : v) x = d(rng_);
  }
  return Const(name, DType::kFloat32, std::move(shape), v.data());
}

Status GraphBuilder::InferLast() {
  return InferNode(g_, g_.nodes.back());
}

int GraphBuilder::Op(OpType op, std::vector<int> inputs, Attrs attrs, DType out,
                     QuantParams out_q) {
  const std::string name = Name(OpName(op));
  Tensor y = Tensor::Make(name, out, {});
  y.quant = std::move(out_q);
  const int yi = g_.AddTensor(std::move(y));
  Node& n = g_.AddNode(op, name, std::move(inputs), {yi});
  n.attrs = std::move(attrs);
  if (status_.ok()) {
    Status s = InferLast();
    if (!s.ok()) status_ = s;
    // Keep the requested output type (e.g. int8 for Quantize) after inference.
    if (op != OpType::kDequantize) g_.tensor(yi).dtype = out;
  }
  return yi;
}

void GraphBuilder::SetAct(Attrs& a, Act act) {
  if (act == Act::kRelu || act == Act::kRelu6) a.Set("act_min", 0.0f);
  if (act == Act::kRelu6) a.Set("act_max", 6.0f);
}

namespace {
void SamePadding(Attrs& a, int64_t in_h, int64_t in_w, int64_t kh, int64_t kw, int64_t stride) {
  auto pad = [&](int64_t in, int64_t k, int64_t* before, int64_t* after) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + k - in, 0);
    *before = total / 2;
    *after = total - *before;
  };
  int64_t t, b, l, r;
  pad(in_h, kh, &t, &b);
  pad(in_w, kw, &l, &r);
  a.Set("pad_top", t);
  a.Set("pad_bottom", b);
  a.Set("pad_left", l);
  a.Set("pad_right", r);
}
}  // namespace

int GraphBuilder::Conv2D(int x, int out_c, int kh, int kw, int stride, bool same, Act act) {
  const Shape s = g_.tensor(x).shape;
  const float std = std::sqrt(2.0f / static_cast<float>(kh * kw * s[3]));
  const int w = RandomConst(Name("conv_w"), {out_c, kh, kw, s[3]}, std);
  const int b = RandomConst(Name("conv_b"), {out_c}, 0.05f);
  Attrs a;
  a.Set("stride_h", stride);
  a.Set("stride_w", stride);
  if (same) SamePadding(a, s[1], s[2], kh, kw, stride);
  SetAct(a, act);
  return Op(OpType::kConv2D, {x, w, b}, a);
}

int GraphBuilder::DepthwiseConv2D(int x, int k, int stride, bool same, Act act) {
  const Shape s = g_.tensor(x).shape;
  const float std = std::sqrt(2.0f / static_cast<float>(k * k));
  const int w = RandomConst(Name("dw_w"), {1, k, k, s[3]}, std);
  const int b = RandomConst(Name("dw_b"), {s[3]}, 0.05f);
  Attrs a;
  a.Set("stride_h", stride);
  a.Set("stride_w", stride);
  if (same) SamePadding(a, s[1], s[2], k, k, stride);
  SetAct(a, act);
  return Op(OpType::kDepthwiseConv2D, {x, w, b}, a);
}

int GraphBuilder::Dense(int x, int out, Act act) {
  const int64_t in = g_.tensor(x).shape.back();
  const int w = RandomConst(Name("fc_w"), {out, in}, std::sqrt(2.0f / static_cast<float>(in)));
  const int b = RandomConst(Name("fc_b"), {out}, 0.05f);
  Attrs a;
  SetAct(a, act);
  return Op(OpType::kFullyConnected, {x, w, b}, a);
}

int GraphBuilder::Svdf(int x, int units, int rank, int memory, Act act) {
  const Shape in = g_.tensor(x).shape;  // a copy: adding tensors moves them
  const int64_t filters = static_cast<int64_t>(units) * rank;
  const int wf = RandomConst(Name("svdf_wf"), {filters, in.back()},
                             std::sqrt(2.0f / static_cast<float>(in.back())));
  const int wt =
      RandomConst(Name("svdf_wt"), {filters, memory}, std::sqrt(1.0f / static_cast<float>(memory)));
  const int b = RandomConst(Name("svdf_b"), {units}, 0.05f);
  Tensor state = Tensor::Make(Name("svdf_state"), DType::kFloat32, {in[0], filters * memory});
  state.is_state = true;
  const int st = g_.AddTensor(std::move(state));
  Attrs a;
  a.Set("rank", static_cast<int64_t>(rank));
  SetAct(a, act);
  return Op(OpType::kSvdf, {x, wf, wt, b, st}, a);
}

int GraphBuilder::Lstm(int x, int units) {
  const Shape in = g_.tensor(x).shape;
  const int64_t u = units;
  const int wi = RandomConst(Name("lstm_wi"), {4 * u, in.back()},
                             std::sqrt(1.0f / static_cast<float>(in.back())));
  const int wr = RandomConst(Name("lstm_wr"), {4 * u, u}, std::sqrt(1.0f / static_cast<float>(u)));
  const int b = RandomConst(Name("lstm_b"), {4 * u}, 0.1f);
  int states[2];
  for (int k = 0; k < 2; ++k) {
    Tensor s = Tensor::Make(Name(k == 0 ? "lstm_h" : "lstm_c"), DType::kFloat32, {in[0], u});
    s.is_state = true;
    states[k] = g_.AddTensor(std::move(s));
  }
  return Op(OpType::kLstm, {x, wi, wr, b, states[0], states[1]}, Attrs{});
}

int GraphBuilder::AvgPool(int x, int kh, int kw, int stride) {
  Attrs a;
  a.Set("kernel_h", kh);
  a.Set("kernel_w", kw);
  a.Set("stride_h", stride);
  a.Set("stride_w", stride);
  return Op(OpType::kAveragePool2D, {x}, a);
}

int GraphBuilder::MaxPool(int x, int k, int stride) {
  Attrs a;
  a.Set("kernel_h", k);
  a.Set("kernel_w", k);
  a.Set("stride_h", stride);
  a.Set("stride_w", stride);
  return Op(OpType::kMaxPool2D, {x}, a);
}

int GraphBuilder::GlobalAvgPool(int x) {
  Attrs a;
  a.Set("axes", std::vector<int64_t>{1, 2});
  a.Set("keep_dims", 1);
  return Op(OpType::kMean, {x}, a);
}

int GraphBuilder::Flatten(int x) {
  const Shape& s = g_.tensor(x).shape;
  Attrs a;
  a.Set("shape", std::vector<int64_t>{s.empty() ? 1 : s[0], -1});
  return Op(OpType::kReshape, {x}, a);
}

int GraphBuilder::Softmax(int x) {
  return Op(OpType::kSoftmax, {x});
}

int GraphBuilder::Add(int a, int b, Act act) {
  Attrs at;
  SetAct(at, act);
  return Op(OpType::kAdd, {a, b}, at);
}

Result<Graph> GraphBuilder::Finish() {
  if (!status_.ok()) return status_.Wrap(g_.name);
  Graph g = g_;
  TML_RETURN_IF_ERROR(PrepareGraph(g));
  return g;
}

}  // namespace tml
