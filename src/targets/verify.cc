#include "targets/verify.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/scratch_dir.h"
#include "interp/interpreter.h"
#include "targets/mcu.h"

namespace tml {

namespace fs = std::filesystem;

std::vector<uint8_t> RandomInputs(const Graph& g, int samples, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> bytes;
  for (int s = 0; s < samples; ++s)
    for (int t : g.inputs) {
      const Tensor& x = g.tensor(t);
      for (int64_t i = 0; i < x.numel(); ++i) {
        switch (x.dtype) {
          case DType::kFloat32: {
            const float v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
            uint8_t b[4];
            std::memcpy(b, &v, 4);
            bytes.insert(bytes.end(), b, b + 4);
            break;
          }
          default:
            for (size_t k = 0; k < DTypeSize(x.dtype); ++k)
              bytes.push_back(static_cast<uint8_t>(rng()));
        }
      }
    }
  return bytes;
}

namespace {

double ElementDiff(DType t, const uint8_t* a, const uint8_t* b, int64_t i) {
  switch (t) {
    case DType::kFloat32: {
      float x, y;
      std::memcpy(&x, a + i * 4, 4);
      std::memcpy(&y, b + i * 4, 4);
      if (std::isnan(x) && std::isnan(y)) return 0;
      if (std::memcmp(&x, &y, 4) == 0) return 0;
      const double d = std::fabs(static_cast<double>(x) - y);
      return d == 0 ? 1e-45 : d;  // -0 vs +0 still counts as a difference
    }
    case DType::kInt8:
      return std::abs(static_cast<int8_t>(a[i]) - static_cast<int8_t>(b[i]));
    case DType::kUInt8:
      return std::abs(a[i] - b[i]);
    case DType::kInt32: {
      int32_t x, y;
      std::memcpy(&x, a + i * 4, 4);
      std::memcpy(&y, b + i * 4, 4);
      return std::fabs(static_cast<double>(x) - y);
    }
    default: {
      const size_t s = DTypeSize(t);
      return std::memcmp(a + static_cast<size_t>(i) * s, b + static_cast<size_t>(i) * s, s) ? 1 : 0;
    }
  }
}

}  // namespace

nlohmann::json VerifyReport::ToJson() const {
  nlohmann::json j = {{"bit_exact", bit_exact}, {"inputs", inputs}, {"target", target}};
  if (!bit_exact)
    j["first_mismatch"] = {{"layer", layer}, {"name", layer_name},
                           {"op", op},       {"sample", sample},
                           {"index", index}, {"max_abs_diff", max_abs_diff}};
  return j;
}

std::string VerifyReport::ToText() const {
  if (bit_exact)
    return fmt::format("bit-exact: {} inputs, every layer identical on target {}", inputs, target);
  return fmt::format(
      "MISMATCH on target {}: first differing layer #{} '{}' ({}), sample {}, output index {}, max "
      "abs "
      "difference {}",
      target, layer, layer_name, op, sample, index, max_abs_diff);
}

Result<VerifyReport> Verify(const Graph& g, const VerifyOptions& opt) {
  if (opt.inputs <= 0) return Status::Error("--inputs must be positive");
  VerifyReport rep;
  rep.inputs = opt.inputs;
  rep.target = opt.target;
  const ScratchDir scratch(opt.work_dir, "verify");
  const std::string& dir = scratch.path();
  TML_ASSIGN_OR_RETURN(TargetBuild build, BuildForTarget(g, opt.target, dir));
  const std::vector<uint8_t> inputs = RandomInputs(g, opt.inputs, opt.seed);
  TML_ASSIGN_OR_RETURN(HostRun run, RunOnTarget(build, inputs, opt.inputs, true));

  // Reference: the interpreter, one sample at a time, with its own trace.
  const Graph& ref_graph = opt.reference ? *opt.reference : g;
  if (ref_graph.nodes.size() != g.nodes.size())
    return Status::Errorf("reference graph has {} layers, compiled graph {}",
                          ref_graph.nodes.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (ref_graph.tensor(ref_graph.nodes[i].outputs[0]).nbytes() !=
        g.tensor(g.nodes[i].outputs[0]).nbytes())
      return Status::Errorf("reference layer #{} output size differs from the compiled graph", i);
  TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(ref_graph));
  size_t trace_per_sample = 0;
  for (const Node& n : g.nodes) trace_per_sample += g.tensor(n.outputs[0]).nbytes();
  if (run.trace.size() != trace_per_sample * static_cast<size_t>(opt.inputs))
    return Status::Errorf("target trace has {} bytes, expected {}", run.trace.size(),
                          trace_per_sample * static_cast<size_t>(opt.inputs));
  size_t in_off = 0;
  for (int s = 0; s < opt.inputs; ++s) {
    for (size_t k = 0; k < g.inputs.size(); ++k) {
      std::memcpy(interp->input(k), inputs.data() + in_off, interp->input_bytes(k));
      in_off += interp->input_bytes(k);
    }
    const uint8_t* device = run.trace.data() + trace_per_sample * static_cast<size_t>(s);
    size_t off = 0;
    interp->Invoke([&](size_t layer, const void* data, size_t bytes) {
      const Tensor& y = g.tensor(g.nodes[layer].outputs[0]);
      const auto* ref = static_cast<const uint8_t*>(data);
      for (int64_t i = 0; i < y.numel(); ++i) {
        const double d = ElementDiff(y.dtype, ref, device + off, i);
        if (d == 0) continue;
        if (rep.bit_exact || static_cast<int>(layer) < rep.layer ||
            (static_cast<int>(layer) == rep.layer && s == rep.sample)) {
          if (rep.bit_exact || static_cast<int>(layer) < rep.layer) {
            rep.layer = static_cast<int>(layer);
            rep.sample = s;
            rep.index = i;
            rep.max_abs_diff = 0;
          }
          rep.bit_exact = false;
          rep.max_abs_diff = std::max(rep.max_abs_diff, d);
        }
      }
      off += bytes;
    });
  }
  if (!rep.bit_exact) {
    rep.layer_name = g.nodes[static_cast<size_t>(rep.layer)].name;
    rep.op = OpName(g.nodes[static_cast<size_t>(rep.layer)].op);
  }
  return rep;
}

}  // namespace tml
