#include <fmt/format.h>

#include "ops/op.h"

namespace tml {

namespace {
std::vector<OpSchema> BuildRegistry() {
  std::vector<OpSchema> r;
  RegisterConvOps(r);
  RegisterFullyConnectedOps(r);
  RegisterPoolOps(r);
  RegisterBinaryOps(r);
  RegisterUnaryOps(r);
  RegisterSoftmaxOps(r);
  RegisterMeanOps(r);
  RegisterShapeOps(r);
  RegisterQuantizeOps(r);
  RegisterSliceOps(r);
  RegisterDspOps(r);
  RegisterSvdfOps(r);
  RegisterLstmOps(r);
  std::vector<OpSchema> by_op(static_cast<size_t>(OpType::kCount));
  for (auto& s : r) by_op[static_cast<size_t>(s.op)] = s;
  return by_op;
}
}  // namespace

const OpSchema& Schema(OpType op) {
  static const std::vector<OpSchema> registry = BuildRegistry();
  return registry[static_cast<size_t>(op)];
}

std::string NodeWhere(const Node& n) {
  return fmt::format("node '{}' ({})", n.name, OpName(n.op));
}

Status InferNode(Graph& g, const Node& n) {
  const OpSchema& s = Schema(n.op);
  if (!s.infer) return Status::Errorf("{}: op has no implementation", NodeWhere(n));
  const int count = static_cast<int>(n.inputs.size());
  if (count < s.min_inputs || count > s.max_inputs)
    return Status::Errorf("{}: expects {} to {} inputs, got {}", NodeWhere(n), s.min_inputs,
                          s.max_inputs, count);
  for (int k = 0; k < s.min_inputs; ++k)
    if (n.inputs[static_cast<size_t>(k)] < 0)
      return Status::Errorf("{}: required input {} is missing", NodeWhere(n), k);
  if (n.outputs.empty()) return Status::Errorf("{}: has no output", NodeWhere(n));
  TML_RETURN_IF_ERROR(s.infer(g, n));
  // Shapes come from files: refuse absurd sizes before anything is allocated.
  const Tensor& y = g.tensor(n.outputs[0]);
  int64_t elements = 1;
  for (int64_t d : y.shape) {
    if (d < 0 || (d > 0 && elements > (int64_t{1} << 31) / d))
      return Status::Errorf("{}: output shape {} is too large", NodeWhere(n), ShapeStr(y.shape));
    elements *= d;
  }
  return Status::Ok();
}

int64_t NodeMacs(const Graph& g, const Node& n) {
  const OpSchema& s = Schema(n.op);
  return s.macs ? s.macs(g, n) : 0;
}

}  // namespace tml
