#include "targets/profile.h"

#include <fmt/format.h>

#include "graph/planner.h"
#include "ops/op.h"

namespace tml {

Result<ProfileReport> ProfileGraph(const Graph& g) {
  ProfileReport r;
  r.model = g.name;
  TML_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(g));
  r.arena_bytes = plan.arena_bytes;
  r.arena_lower_bound_bytes = plan.lower_bound_bytes;
  for (const Tensor& t : g.tensors)
    if (t.is_const) r.weight_bytes += static_cast<int64_t>(t.nbytes());
  for (const Node& n : g.nodes) {
    LayerProfile l;
    l.name = n.name;
    l.op = OpName(n.op);
    for (int t : n.inputs) {
      if (t < 0) continue;
      const Tensor& x = g.tensor(t);
      if (x.is_const)
        l.weight_bytes += static_cast<int64_t>(x.nbytes());
      else
        l.input_shapes.push_back(x.shape);
    }
    const Tensor& y = g.tensor(n.outputs[0]);
    l.output_shape = y.shape;
    l.dtype = DTypeName(y.dtype);
    l.activation_bytes = static_cast<int64_t>(y.nbytes());
    l.arena_offset = plan.offset[static_cast<size_t>(n.outputs[0])];
    l.macs = NodeMacs(g, n);
    r.macs += l.macs;
    r.layers.push_back(std::move(l));
  }
  return r;
}

nlohmann::json ProfileReport::ToJson() const {
  nlohmann::json layers_json = nlohmann::json::array();
  for (const auto& l : layers) {
    nlohmann::json in = nlohmann::json::array();
    for (const auto& s : l.input_shapes) in.push_back(s);
    layers_json.push_back({{"name", l.name},
                           {"op", l.op},
                           {"input_shapes", in},
                           {"output_shape", l.output_shape},
                           {"dtype", l.dtype},
                           {"macs", l.macs},
                           {"weight_bytes", l.weight_bytes},
                           {"activation_bytes", l.activation_bytes},
                           {"arena_offset", l.arena_offset}});
  }
  return {{"model", model},
          {"macs", macs},
          {"weight_bytes", weight_bytes},
          {"arena_bytes", arena_bytes},
          {"arena_lower_bound_bytes", arena_lower_bound_bytes},
          {"layers", layers_json}};
}

std::string ProfileReport::ToText() const {
  std::string s = fmt::format("{:>3}  {:<16} {:<28} {:<18} {:>12} {:>10} {:>10} {:>8}\n", "#", "op",
                              "name", "output", "MACs", "weights", "act bytes", "offset");
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    std::string name = l.name.size() > 28 ? "…" + l.name.substr(l.name.size() - 26) : l.name;
    s += fmt::format("{:>3}  {:<16} {:<28} {:<18} {:>12} {:>10} {:>10} {:>8}\n", i, l.op, name,
                     ShapeStr(l.output_shape) + " " + l.dtype, l.macs, l.weight_bytes,
                     l.activation_bytes, l.arena_offset);
  }
  s += fmt::format("\ntotal MACs            {:>12}  ({:.3f} M)\n", macs, macs / 1e6);
  s += fmt::format("weights (flash)       {:>12} bytes\n", weight_bytes);
  s += fmt::format("arena (RAM)           {:>12} bytes\n", arena_bytes);
  s += fmt::format(
      "arena lower bound     {:>12} bytes  (arena / bound = {:.3f})\n", arena_lower_bound_bytes,
      arena_lower_bound_bytes ? static_cast<double>(arena_bytes) / arena_lower_bound_bytes : 1.0);
  return s;
}

}  // namespace tml
