#include "split/partition.h"

#include <cstring>
#include <map>

#include "interp/interpreter.h"

namespace tml {

Result<Partition> MakePartition(const Graph& g, const Placement& p, int stages) {
  std::string why;
  if (!ValidPlacement(g, p, stages, &why)) return Status::Errorf("split: {}", why);
  Partition part;
  part.placement = p;
  part.stages = stages;
  part.model_inputs = g.inputs;
  part.model_outputs = g.outputs;
  const std::vector<int> producer = g.Producers();
  const auto consumers = g.Consumers();
  std::vector<bool> is_output(g.tensors.size(), false);
  for (int t : g.outputs) is_output[static_cast<size_t>(t)] = true;
  for (int s = 0; s < stages; ++s) {
    StageGraph sg;
    sg.stage = s;
    sg.graph.name = fmt::format("{}.part{}", g.name, s + 1);
    std::map<int, int> local;  // whole-model tensor -> this part's
    const auto use = [&](int t) {
      if (t < 0) return -1;
      auto it = local.find(t);
      if (it != local.end()) return it->second;
      return local[t] = sg.graph.AddTensor(g.tensor(t));
    };
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      if (p[n] != s) continue;
      const Node& node = g.nodes[n];
      std::vector<int> in, out;
      for (int t : node.inputs) {
        // Received (or the model's input): an input of this part, in first-use order.
        if (t >= 0 && !g.tensor(t).is_const &&
            (producer[static_cast<size_t>(t)] < 0 || p[static_cast<size_t>(producer[t])] != s) &&
            !local.count(t)) {
          sg.graph.inputs.push_back(use(t));
          sg.inputs_from.push_back(t);
        }
        in.push_back(use(t));
      }
      for (int t : node.outputs) out.push_back(use(t));
      Node& copy = sg.graph.AddNode(node.op, node.name, in, out);
      copy.attrs = node.attrs;
    }
    if (sg.graph.nodes.empty()) continue;  // relays only
    // Sent on: what a later node needs, and the model's outputs from the final part.
    for (const auto& [t, lt] : local) {
      if (g.tensor(t).is_const || producer[static_cast<size_t>(t)] < 0 ||
          p[static_cast<size_t>(producer[t])] != s)
        continue;
      bool later = is_output[static_cast<size_t>(t)];
      for (int c : consumers[static_cast<size_t>(t)]) later |= p[static_cast<size_t>(c)] > s;
      if (!later) continue;
      sg.graph.outputs.push_back(lt);
      sg.outputs_to.push_back(t);
    }
    TML_RETURN_IF_ERROR(sg.graph.Validate().Wrap(sg.graph.name));
    part.parts.push_back(std::move(sg));
  }
  return part;
}

Result<std::vector<std::vector<uint8_t>>> RunWholeModel(const Graph& g,
                                                        const std::vector<uint8_t>& inputs) {
  TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(g));
  size_t at = 0;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (at + interp->input_bytes(i) > inputs.size())
      return Status::Errorf("split: {} input bytes, the model takes more", inputs.size());
    std::memcpy(interp->input(i), inputs.data() + at, interp->input_bytes(i));
    at += interp->input_bytes(i);
  }
  interp->Invoke();
  std::vector<std::vector<uint8_t>> out;
  for (size_t o = 0; o < g.outputs.size(); ++o) {
    const auto* d = static_cast<const uint8_t*>(interp->output(o));
    out.emplace_back(d, d + interp->output_bytes(o));
  }
  return out;
}

Result<std::vector<std::vector<uint8_t>>> RunPartition(const Partition& part,
                                                       const std::vector<uint8_t>& inputs) {
  std::map<int, std::vector<uint8_t>> have;  // whole-model tensor -> its bytes
  // The model's inputs, split by their sizes (taken from the part that reads them).
  std::map<int, size_t> input_bytes;
  for (const StageGraph& sg : part.parts)
    for (size_t i = 0; i < sg.inputs_from.size(); ++i)
      input_bytes[sg.inputs_from[i]] = sg.graph.tensor(sg.graph.inputs[i]).nbytes();
  size_t at = 0;
  for (int t : part.model_inputs) {
    if (!input_bytes.count(t)) continue;  // unused by every part
    const size_t n = input_bytes[t];
    if (at + n > inputs.size())
      return Status::Errorf("split: {} input bytes, the model takes more", inputs.size());
    have[t].assign(inputs.begin() + static_cast<long>(at),
                   inputs.begin() + static_cast<long>(at + n));
    at += n;
  }
  if (at != inputs.size())
    return Status::Errorf("split: {} input bytes, the model takes {}", inputs.size(), at);
  for (const StageGraph& sg : part.parts) {
    TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(sg.graph));
    for (size_t i = 0; i < sg.inputs_from.size(); ++i) {
      const auto it = have.find(sg.inputs_from[i]);
      if (it == have.end() || it->second.size() != interp->input_bytes(i))
        return Status::Errorf("split: {} lacks its input {}", sg.graph.name,
                              sg.graph.tensor(sg.graph.inputs[i]).name);
      std::memcpy(interp->input(i), it->second.data(), it->second.size());
    }
    interp->Invoke();
    for (size_t o = 0; o < sg.outputs_to.size(); ++o) {
      const auto* d = static_cast<const uint8_t*>(interp->output(o));
      have[sg.outputs_to[o]].assign(d, d + interp->output_bytes(o));
    }
  }
  std::vector<std::vector<uint8_t>> out;
  for (int t : part.model_outputs) {
    const auto it = have.find(t);
    if (it == have.end()) return Status::Errorf("split: no part produced output {}", t);
    out.push_back(it->second);
  }
  return out;
}

}  // namespace tml
