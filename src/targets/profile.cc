#include "targets/profile.h"

#include <fmt/format.h>

#include "ops/op.h"
#include "prepare/planner.h"

namespace tml {

Result<ProfileReport> ProfileGraph(const Graph& g) {
  ProfileReport r;
  r.model = g.name;
  TML_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(g));
  r.arena_bytes = plan.arena_bytes;
  r.arena_lower_bound_bytes = plan.lower_bound_bytes;
  r.arena_buffers = plan.buffers;
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

Result<ProfileReport> ProfileGraphOnTarget(const Graph& g, const std::string& target) {
  TML_ASSIGN_OR_RETURN(ProfileReport r, ProfileGraph(g));
  if (target == "host") return r;
  TML_ASSIGN_OR_RETURN(r.device, ProfileOnDevice(g, target));
  return r;
}

namespace {
double PerInstruction(int64_t macs, int64_t instructions) {
  return instructions > 0 ? static_cast<double>(macs) / static_cast<double>(instructions) : 0.0;
}
}  // namespace

std::string ProfileReport::DeviceText(const DeviceProfile& d) const {
  const TargetProfile& t = d.target;
  std::string s =
      fmt::format("\non {} ({}, board {} at {} MHz), measured in QEMU {} with -icount:\n", t.name,
                  t.core, t.board, t.clock_hz / 1000000, t.qemu_machine);
  s += fmt::format("{:>3}  {:<16} {:>14} {:>10}\n", "#", "op", "instructions", "MAC/instr");
  for (size_t i = 0; i < layers.size() && i < d.layer_instructions.size(); ++i)
    s += fmt::format("{:>3}  {:<16} {:>14} {:>10.3f}\n", i, layers[i].op, d.layer_instructions[i],
                     PerInstruction(layers[i].macs, d.layer_instructions[i]));
  s += fmt::format("instructions / inference {:>12}  ({:.3f} MAC per instruction)\n",
                   d.instructions, PerInstruction(macs, d.instructions));
  if (t.clock_hz)
    s += fmt::format(
        "estimated latency        {:>12.3f} ms at {} MHz (instructions ~ cycles on a single-issue "
        "Cortex-M; no wait states modelled)\n",
        1e3 * static_cast<double>(d.instructions) / static_cast<double>(t.clock_hz),
        t.clock_hz / 1000000);
  auto verdict = [](int64_t used, int64_t budget) {
    return used <= budget ? fmt::format("fits, {} bytes ({:.1f} %) to spare", budget - used,
                                        100.0 * static_cast<double>(budget - used) /
                                            static_cast<double>(budget))
                          : fmt::format("DOES NOT FIT, {} bytes over", used - budget);
  };
  s += fmt::format("flash {:>9} bytes (weights {}, code {}) of {}: {}\n", d.flash_bytes,
                   d.weight_bytes, d.code_bytes, t.flash_bytes,
                   verdict(d.flash_bytes, t.flash_bytes));
  s += fmt::format("RAM   {:>9} bytes (arena {}, other .data/.bss {}, stack {}) of {}: {}\n",
                   d.ram_bytes, d.arena_bytes, d.static_ram_bytes - d.arena_bytes, d.stack_bytes,
                   t.ram_bytes, verdict(d.ram_bytes, t.ram_bytes));
  return s;
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
  nlohmann::json arena = nlohmann::json::array();
  for (const PlannedBuffer& b : arena_buffers)
    arena.push_back(
        {{"offset", b.offset}, {"bytes", b.bytes}, {"first", b.first}, {"last", b.last}});
  nlohmann::json j = {{"model", model},
                      {"macs", macs},
                      {"weight_bytes", weight_bytes},
                      {"arena_bytes", arena_bytes},
                      {"arena_lower_bound_bytes", arena_lower_bound_bytes},
                      {"layers", layers_json},
                      {"arena_buffers", arena}};
  if (device) {
    const DeviceProfile& d = *device;
    for (size_t i = 0; i < layers.size() && i < d.layer_instructions.size(); ++i) {
      j["layers"][i]["instructions"] = d.layer_instructions[i];
      j["layers"][i]["macs_per_instruction"] =
          PerInstruction(layers[i].macs, d.layer_instructions[i]);
    }
    j["target"] = d.target.name;
    j["board"] = d.target.board;
    j["instructions"] = d.instructions;
    j["macs_per_instruction"] = PerInstruction(macs, d.instructions);
    j["latency_ms"] = d.target.clock_hz ? 1e3 * static_cast<double>(d.instructions) /
                                              static_cast<double>(d.target.clock_hz)
                                        : 0.0;
    j["flash_bytes"] = d.flash_bytes;
    j["flash_weight_bytes"] = d.weight_bytes;
    j["flash_code_bytes"] = d.code_bytes;
    j["ram_bytes"] = d.ram_bytes;
    j["ram_static_bytes"] = d.static_ram_bytes;
    j["stack_bytes"] = d.stack_bytes;
    j["board_ram_bytes"] = d.target.ram_bytes;
    j["board_flash_bytes"] = d.target.flash_bytes;
    j["fits"] = d.ram_bytes <= d.target.ram_bytes && d.flash_bytes <= d.target.flash_bytes;
  }
  return j;
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
  if (device) s += DeviceText(*device);
  return s;
}

}  // namespace tml
