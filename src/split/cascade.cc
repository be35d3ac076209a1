#include "split/cascade.h"

#include <numeric>

#include "interp/evaluate.h"
#include "split/cost.h"
#include "targets/device_eval.h"

namespace tml {

namespace {

// Each sample's output bytes from the model on chain node n: the emulated board's for an
// MCU (and whether they equal the interpreter's), the interpreter's for a host.
Result<EvalResult> Answers(const Graph& g, const ChainNode& n, const LabeledData& d, int classes,
                           const std::string& work_dir, bool* equal_to_host, Progress& progress) {
  EvalOptions o;
  o.keep_outputs = true;
  TML_ASSIGN_OR_RETURN(EvalResult host, EvaluateClassifier(g, d, classes, o));
  if (!n.mcu()) return host;
  progress.Log(
      fmt::format("cascade: {} on {} ({}), {} samples", g.name, n.name, n.target, d.count()));
  DeviceEvalOptions dev;
  dev.work_dir = work_dir;
  TML_ASSIGN_OR_RETURN(EvalResult on, EvaluateOnTarget(g, d, classes, n.target, dev));
  *equal_to_host = on.outputs == host.outputs;
  return on;
}

// One inference's seconds and joules on chain node `node` (alone in a chain of its own).
Status CostOn(const Graph& g, const ChainNode& node, const std::string& work_dir,
              Progress& progress, double* s, double* j) {
  Chain one;
  one.nodes = {node};
  TML_ASSIGN_OR_RETURN(LayerCosts lc, MeasureLayerCosts(g, one, work_dir, progress));
  *s = std::accumulate(lc.nodes[0].seconds.begin(), lc.nodes[0].seconds.end(), 0.0);
  *j = std::accumulate(lc.nodes[0].joules.begin(), lc.nodes[0].joules.end(), 0.0);
  return Status::Ok();
}

}  // namespace

Result<CascadeResult> RunCascade(const Graph& small, const Graph& big, const Chain& chain,
                                 const LabeledData& data, int classes, const CascadeOptions& opt,
                                 Progress& progress) {
  if (chain.nodes.size() < 2) return Status::Error("cascade: the chain needs two nodes or more");
  if (data.count() == 0) return Status::Error("cascade: no samples");
  if (opt.thresholds.empty()) return Status::Error("cascade: no thresholds");
  TML_RETURN_IF_ERROR(CheckClassifier(small, data, classes).Wrap("cascade: small model"));
  TML_RETURN_IF_ERROR(CheckClassifier(big, data, classes).Wrap("cascade: big model"));
  const ChainNode &first = chain.nodes.front(), &last = chain.nodes.back();
  CascadeResult r;
  r.samples = data.count();
  r.small_on = first.name;
  r.big_on = last.name;
  TML_ASSIGN_OR_RETURN(
      EvalResult s, Answers(small, first, data, classes, opt.work_dir, &r.equal_to_host, progress));
  bool big_equal = true;
  TML_ASSIGN_OR_RETURN(EvalResult b,
                       Answers(big, last, data, classes, opt.work_dir, &big_equal, progress));
  r.equal_to_host &= big_equal;
  r.small_accuracy = s.accuracy;
  r.big_accuracy = b.accuracy;
  TML_RETURN_IF_ERROR(CostOn(small, first, opt.work_dir, progress, &r.small_s, &r.small_j));
  TML_RETURN_IF_ERROR(CostOn(big, last, opt.work_dir, progress, &r.big_s, &r.big_j));
  r.offload_bytes = static_cast<int64_t>(small.tensor(small.inputs[0]).nbytes());
  for (const LinkProfile& l : chain.links) {
    r.link_s.push_back(8.0 * static_cast<double>(r.offload_bytes) / l.bandwidth_bps +
                       l.latency_ms * 1e-3);
    r.link_j.push_back(static_cast<double>(r.offload_bytes) * l.energy_nj_per_byte * 1e-9);
  }
  const double offload_s = std::accumulate(r.link_s.begin(), r.link_s.end(), 0.0) + r.big_s;
  const double offload_j = std::accumulate(r.link_j.begin(), r.link_j.end(), 0.0) + r.big_j;
  const Tensor &so = small.tensor(small.outputs[0]), &bo = big.tensor(big.outputs[0]);
  const size_t sn = so.nbytes(), bn = bo.nbytes();
  for (double t : opt.thresholds) {
    CascadePoint p;
    p.threshold = t;
    int64_t off = 0, right = 0;
    for (int64_t i = 0; i < r.samples; ++i) {
      const uint8_t* sb = s.outputs.data() + static_cast<size_t>(i) * sn;
      const bool up = TopConfidence(so, sb) < t;
      const int32_t pred = up ? ArgmaxClass(bo, b.outputs.data() + static_cast<size_t>(i) * bn)
                              : ArgmaxClass(so, sb);
      off += up;
      right += pred == data.y[static_cast<size_t>(i)];
    }
    const double n = static_cast<double>(r.samples), share = static_cast<double>(off) / n;
    p.offload_rate = share;
    p.accuracy = static_cast<double>(right) / n;
    p.latency_s = r.small_s + share * offload_s;
    p.energy_j = r.small_j + share * offload_j;
    p.device_energy_j = r.small_j + share * (r.link_j.empty() ? 0.0 : r.link_j[0]);
    r.points.push_back(p);
  }
  return r;
}

nlohmann::json CascadeJson(const CascadeResult& r) {
  nlohmann::json points = nlohmann::json::array();
  for (const CascadePoint& p : r.points)
    points.push_back({{"threshold", p.threshold},
                      {"offload_rate", p.offload_rate},
                      {"accuracy", p.accuracy},
                      {"latency_s", p.latency_s},
                      {"energy_j", p.energy_j},
                      {"device_energy_j", p.device_energy_j}});
  return {{"samples", r.samples},
          {"small",
           {{"node", r.small_on},
            {"accuracy", r.small_accuracy},
            {"seconds", r.small_s},
            {"joules", r.small_j}}},
          {"big",
           {{"node", r.big_on},
            {"accuracy", r.big_accuracy},
            {"seconds", r.big_s},
            {"joules", r.big_j}}},
          {"offload_bytes", r.offload_bytes},
          {"link_seconds", r.link_s},
          {"link_joules", r.link_j},
          {"equal_to_host", r.equal_to_host},
          {"points", points}};
}

std::string CascadeTable(const CascadeResult& r) {
  std::string s = fmt::format(
      "small on {}: accuracy {:.2f} %, {:.3f} ms, {:.4f} mJ per inference; big on {}: "
      "{:.2f} %, {:.3f} ms, {:.4f} mJ; an offload sends {} bytes\n",
      r.small_on, 100 * r.small_accuracy, 1e3 * r.small_s, 1e3 * r.small_j, r.big_on,
      100 * r.big_accuracy, 1e3 * r.big_s, 1e3 * r.big_j, r.offload_bytes);
  s += fmt::format("{:>10} {:>10} {:>10} {:>12} {:>12} {:>12}\n", "threshold", "offload %",
                   "accuracy %", "latency ms", "energy mJ", "device mJ");
  for (const CascadePoint& p : r.points)
    s += fmt::format("{:>10} {:>10.1f} {:>10.2f} {:>12.3f} {:>12.4f} {:>12.4f}\n",
                     p.threshold > 1 ? std::string("all") : fmt::format("{:.2f}", p.threshold),
                     100 * p.offload_rate, 100 * p.accuracy, 1e3 * p.latency_s, 1e3 * p.energy_j,
                     1e3 * p.device_energy_j);
  return s;
}

}  // namespace tml
