// FullyConnected: y[b, o] = sum_k x[b, k] * w[o, k] + bias[o]. The input is
// flattened to [numel / K, K] as TFLite does. Attributes: act_min/max.
#include <fmt/format.h>

#include "ops/lower_util.h"

namespace tml {
namespace {

Status InferFc(Graph& g, const Node& n) {
  const Tensor& x = In(g, n, 0);
  const Tensor& w = In(g, n, 1);
  if (w.shape.size() != 2)
    return Status::Errorf("{}: weights must be 2-D [out, in], got {}", NodeWhere(n),
                          ShapeStr(w.shape));
  const int64_t k = w.shape[1];
  if (k <= 0 || x.numel() % k != 0)
    return Status::Errorf("{}: input {} cannot be flattened to rows of {}", NodeWhere(n),
                          ShapeStr(x.shape), k);
  if (const Tensor* b = g.input(n, 2); b && b->numel() != w.shape[0])
    return Status::Errorf("{}: bias '{}' has {} elements for {} outputs", NodeWhere(n), b->name,
                          b->numel(), w.shape[0]);
  Tensor& y = Out(g, n);
  y.shape = {x.numel() / k, w.shape[0]};
  y.dtype = x.dtype;
  return Status::Ok();
}

int64_t FcMacs(const Graph& g, const Node& n) {
  return g.tensor(n.outputs[0]).numel() * In(g, n, 1).shape[1];
}

class FcOp : public LoweredOp {
 public:
  tml_fc_params p{};
  Requant rq;
  bool int8 = false;
  std::vector<int32_t> corr;  // non-empty: generated code uses the optimized kernel

  void Run(const KernelIO& io) const override {
    tml_fc_params q = p;
    q.q.multiplier = rq.mult.data();
    q.q.shift = rq.shift.data();
    if (int8)
      tml_fully_connected_s8(
          &q, static_cast<const int8_t*>(io.in[0]), static_cast<const int8_t*>(io.in[1]),
          static_cast<const int32_t*>(io.in[2]), static_cast<int8_t*>(io.out[0]));
    else
      tml_fully_connected_f32(&q, static_cast<const float*>(io.in[0]),
                              static_cast<const float*>(io.in[1]),
                              static_cast<const float*>(io.in[2]), static_cast<float*>(io.out[0]));
  }
  KernelCall Call(bool reference_kernels) const override {
    KernelCall k;
    tml_fc_params q = p;
    q.q = int8 ? CallRequant(k, rq, reference_kernels) : tml_requant{};
    k.params = q;
    if (!corr.empty() && !reference_kernels) {
      k.kernel = TML_K_FC_S8_FAST;
      k.args = {CallArg::In(0), CallArg::In(1), CallArg::Const(k.Array("corr", corr)),
                CallArg::Out()};
      return k;
    }
    k.kernel = int8 ? TML_K_FC_S8 : TML_K_FC_F32;
    k.args = {CallArg::In(0), CallArg::In(1), CallArg::In(2), CallArg::Out()};
    return k;
  }
  std::vector<std::string> Sources() const override {
    // Both: the call depends on reference_kernels.
    if (!corr.empty()) return {"conv_fast.c", "fully_connected.c"};
    return {"fully_connected.c"};
  }
};

Result<std::unique_ptr<LoweredOp>> LowerFc(const Graph& g, const Node& n) {
  auto op = std::make_unique<FcOp>();
  const Tensor& w = In(g, n, 1);
  const Tensor& y = g.tensor(n.outputs[0]);
  op->p.in_features = static_cast<int32_t>(w.shape[1]);
  op->p.out_features = static_cast<int32_t>(w.shape[0]);
  op->p.batch = static_cast<int32_t>(y.shape[0]);
  const ActRange act = NodeAct(n);
  op->p.act_min = act.lo;
  op->p.act_max = act.hi;
  TML_RETURN_IF_ERROR(PrepareWeighted(g, n, op->p.out_features, true, &op->int8, &op->rq));
  op->p.q = op->rq.q;
  if (op->int8 && w.is_const) {
    op->corr = AccumulatorCorrections(w, g.input(n, 2), op->p.q);
    if (op->p.q.filter_offset == 0)
      EnableFastRequant(&op->rq, AccumulatorBound(op->corr, op->p.in_features), op->p.out_features);
  }
  return std::unique_ptr<LoweredOp>(std::move(op));
}

}  // namespace

void RegisterFullyConnectedOps(std::vector<OpSchema>& r) {
  r.push_back({OpType::kFullyConnected, 2, 3, InferFc, LowerFc, FcMacs, Inplace::kNone,
               QuantRule::kWeighted, true});
  r.back().fused_activation = true;
}

}  // namespace tml
