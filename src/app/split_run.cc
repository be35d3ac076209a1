#include "app/split_run.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>

#include "app/deploy.h"
#include "core/scratch_dir.h"
#include "fleet/agent.h"
#include "fleet/device_link.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/evaluate.h"
#include "interp/interpreter.h"
#include "split/partition.h"
#include "targets/verify.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

// A part a device runs takes one tensor and sends one: what a model package carries.
bool OneInOneOut(const StageGraph& sg) {
  return sg.inputs_from.size() == 1 && sg.outputs_to.size() == 1;
}

}  // namespace

Result<SplitRunOutcome> RunSplitOnFleet(Workspace& ws, const SplitRunRequest& q,
                                        Progress& progress) {
  TML_ASSIGN_OR_RETURN(const Chain chain, FindChain(q.chain));
  const int stages = static_cast<int>(chain.nodes.size());
  if (q.devices.size() != chain.nodes.size())
    return Status::Errorf(
        "split run: {} device(s) given for the {} nodes of chain {} (\"\" for "
        "a node this process runs)",
        q.devices.size(), chain.nodes.size(), chain.name);
  // A cut given: only its layers' costs are needed; else every cut, best first.
  SplitOutcome split;
  if (q.layers.empty()) {
    SplitRequest sq;
    sq.model = q.model;
    sq.chain = q.chain;
    sq.objective = q.objective;
    sq.work_dir = q.work_dir;
    TML_ASSIGN_OR_RETURN(split, SplitModel(sq, progress));
  } else {
    TML_ASSIGN_OR_RETURN(split.graph, LoadModel(q.model));
    ScratchDir work(q.work_dir, "split");
    TML_ASSIGN_OR_RETURN(split.costs, MeasureLayerCosts(split.graph, chain, work.path(), progress));
  }
  const Graph& g = split.graph;
  SplitRunOutcome r;
  // The cut: the one asked for, or the best whose device parts carry one tensor each way.
  std::optional<Partition> part;
  if (!q.layers.empty()) {
    if (q.layers.size() != chain.nodes.size())
      return Status::Errorf("split run: --layers gives {} counts for {} nodes", q.layers.size(),
                            chain.nodes.size());
    Placement p;
    for (int s = 0; s < stages; ++s)
      for (int k = 0; k < q.layers[static_cast<size_t>(s)]; ++k) p.push_back(s);
    if (p.size() != g.nodes.size())
      return Status::Errorf("split run: --layers adds up to {}, the model has {} layers", p.size(),
                            g.nodes.size());
    TML_ASSIGN_OR_RETURN(r.cut, CostOfCut(g, chain, split.costs, p));
    if (!r.cut.fits) return Status::Errorf("split run: that cut is refused: {}", r.cut.refused);
    TML_ASSIGN_OR_RETURN(part, MakePartition(g, p, stages));
  } else {
    for (const CutCost& c : split.cuts) {
      if (!c.fits) break;
      TML_ASSIGN_OR_RETURN(Partition candidate, MakePartition(g, c.placement, stages));
      const bool carried =
          std::all_of(candidate.parts.begin(), candidate.parts.end(), [&](const StageGraph& sg) {
            return q.devices[static_cast<size_t>(sg.stage)].empty() || OneInOneOut(sg);
          });
      if (!carried) continue;
      r.cut = c;
      part = std::move(candidate);
      break;
    }
    if (!part)
      return Status::Errorf(
          "split run: no cut within budgets sends one tensor to and from each "
          "device of chain {}",
          chain.name);
  }
  for (const StageGraph& sg : part->parts)
    if (!q.devices[static_cast<size_t>(sg.stage)].empty() && !OneInOneOut(sg))
      return Status::Errorf(
          "split run: the part for {} takes {} tensor(s) and sends {}; a device "
          "takes one and sends one",
          chain.nodes[static_cast<size_t>(sg.stage)].name, sg.inputs_from.size(),
          sg.outputs_to.size());
  // A device answers with its output in one frame of the device protocol.
  for (const StageGraph& sg : part->parts) {
    if (q.devices[static_cast<size_t>(sg.stage)].empty()) continue;
    const size_t out_bytes = sg.graph.tensor(sg.graph.outputs[0]).nbytes();
    if (out_bytes > DeviceLink::kMaxInferOutputBytes)
      return Status::Errorf(
          "split run: {}'s part sends {} bytes ({}); a device's answer holds at "
          "most {}: cut where the tensor is smaller",
          chain.nodes[static_cast<size_t>(sg.stage)].name, out_bytes,
          sg.graph.tensor(sg.graph.outputs[0]).name, DeviceLink::kMaxInferOutputBytes);
  }
  // Each device's part, deployed as any model is.
  ScratchDir work(q.work_dir, "split-run");
  std::error_code ec;
  fs::create_directories(work.path(), ec);
  if (ec) return Status::Errorf("split run: {}: {}", work.path(), ec.message());
  std::vector<std::unique_ptr<Interpreter>> local(part->parts.size());
  for (size_t i = 0; i < part->parts.size(); ++i) {
    const StageGraph& sg = part->parts[i];
    const std::string& device = q.devices[static_cast<size_t>(sg.stage)];
    const std::string& node = chain.nodes[static_cast<size_t>(sg.stage)].name;
    if (device.empty()) {
      TML_ASSIGN_OR_RETURN(local[i], Interpreter::Create(sg.graph));
      r.runs_on.push_back(node + ": this process");
      continue;
    }
    DeployRequest d;
    d.model = (fs::path(work.path()) / (node + ".onnx")).string();
    TML_RETURN_IF_ERROR(SaveOnnx(sg.graph, d.model));
    d.devices = {device};
    d.broker = q.broker;
    d.signing_key = q.signing_key;
    progress.Log(fmt::format("split run: {}'s part ({} layers) to device {}", node,
                             sg.graph.nodes.size(), device));
    TML_ASSIGN_OR_RETURN(DeployOutcome out, Deploy(ws, d, progress));
    if (out.devices.empty() || out.devices[0].status != "active")
      return Status::Errorf("split run: device {} did not take {}'s part: {}", device, node,
                            out.devices.empty() ? "no answer" : out.devices[0].message);
    r.runs_on.push_back(node + ": device " + device);
  }
  TML_ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(q.broker));
  using Clock = std::chrono::steady_clock;
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  const Tensor& out = g.tensor(g.outputs[0]);
  for (int k = 0; k < std::max(q.samples, 1); ++k) {
    if (progress.Cancelled()) return Status::Cancelled("split run: stopped");
    const std::vector<uint8_t> in = RandomInputs(g, 1, static_cast<uint64_t>(100 + k));
    std::map<int, std::vector<uint8_t>> have;
    size_t at = 0;
    for (int t : g.inputs) {
      const size_t n = g.tensor(t).nbytes();
      have[t].assign(in.begin() + static_cast<long>(at), in.begin() + static_cast<long>(at + n));
      at += n;
    }
    const auto start = Clock::now();
    std::vector<double> parts;
    for (size_t i = 0; i < part->parts.size(); ++i) {
      const StageGraph& sg = part->parts[i];
      const auto t0 = Clock::now();
      if (local[i]) {
        for (size_t j = 0; j < sg.inputs_from.size(); ++j) {
          const auto it = have.find(sg.inputs_from[j]);
          if (it == have.end() || it->second.size() != local[i]->input_bytes(j))
            return Status::Errorf("split run: {} lacks its input {}", sg.graph.name,
                                  g.tensor(sg.inputs_from[j]).name);
          std::memcpy(local[i]->input(j), it->second.data(), it->second.size());
        }
        local[i]->Invoke();
        for (size_t j = 0; j < sg.outputs_to.size(); ++j) {
          const auto* d = static_cast<const uint8_t*>(local[i]->output(j));
          have[sg.outputs_to[j]].assign(d, d + local[i]->output_bytes(j));
        }
      } else {
        const std::string& device = q.devices[static_cast<size_t>(sg.stage)];
        TML_ASSIGN_OR_RETURN(nlohmann::json a,
                             cp->Command(device, "infer", have[sg.inputs_from[0]], q.timeout_ms));
        std::vector<uint8_t> bytes;
        if (!a.contains("output") || !a["output"].is_string() ||
            !ParseHexBytes(a["output"].get<std::string>(), &bytes))
          return Status::Errorf("split run: device {} answered without output bytes: {}", device,
                                a.dump());
        const size_t want = sg.graph.tensor(sg.graph.outputs[0]).nbytes();
        if (bytes.size() != want)
          return Status::Errorf("split run: device {} sent {} bytes, its part's output has {}",
                                device, bytes.size(), want);
        have[sg.outputs_to[0]] = std::move(bytes);
      }
      parts.push_back(ms(Clock::now() - t0));
    }
    r.latency_ms.push_back(ms(Clock::now() - start));
    r.part_ms.push_back(parts);
    TML_ASSIGN_OR_RETURN(auto whole, RunWholeModel(g, in));
    for (size_t o = 0; o < g.outputs.size(); ++o) {
      const auto it = have.find(g.outputs[o]);
      if (it == have.end() || it->second != whole[o]) {
        if (r.bit_exact)
          r.first_difference = fmt::format("sample {}: output {} differs from the whole model's", k,
                                           g.tensor(g.outputs[o]).name);
        r.bit_exact = false;
      }
    }
    r.predicted.push_back(ArgmaxClass(out, have[g.outputs[0]].data()));
    ++r.samples;
    progress.Advance(k + 1, std::max(q.samples, 1), "samples");
  }
  r.split = std::move(split);
  return r;
}

nlohmann::json SplitRunJson(const SplitRunOutcome& r) {
  nlohmann::json j = {{"runs_on", r.runs_on},
                      {"samples", r.samples},
                      {"bit_exact", r.bit_exact},
                      {"latency_ms", r.latency_ms},
                      {"part_ms", r.part_ms},
                      {"predicted", r.predicted},
                      {"layers_per_node", r.cut.layers},
                      {"predicted_latency_s", r.cut.latency_s}};
  if (!r.bit_exact) j["first_difference"] = r.first_difference;
  return j;
}

std::string SplitRunText(const SplitRunOutcome& r) {
  std::string layers;
  for (int n : r.cut.layers) layers += (layers.empty() ? "" : "/") + std::to_string(n);
  std::string s = fmt::format("ran the cut {} (layers per node) over the fleet path:\n", layers);
  for (const std::string& w : r.runs_on) s += "  " + w + "\n";
  for (int k = 0; k < r.samples; ++k) {
    std::string parts;
    for (double p : r.part_ms[static_cast<size_t>(k)])
      parts += (parts.empty() ? "" : " + ") + fmt::format("{:.1f}", p);
    s += fmt::format("  sample {}: class {}, {:.1f} ms end to end ({} ms per part)\n", k + 1,
                     r.predicted[static_cast<size_t>(k)], r.latency_ms[static_cast<size_t>(k)],
                     parts);
  }
  s += fmt::format("predicted by the cost model: {:.3f} ms (compute and links, no broker)\n",
                   1e3 * r.cut.latency_s);
  s += r.bit_exact ? "bit-exact: every output equals the whole model's on the host\n"
                   : "DIFFERENT: " + r.first_difference + "\n";
  return s;
}

}  // namespace tml
