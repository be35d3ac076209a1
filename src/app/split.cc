#include "app/split.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/atomic_file.h"
#include "core/scratch_dir.h"
#include "data/loader.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "split/min_cut.h"
#include "split/partition.h"
#include "targets/verify.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

std::string Bytes(int64_t b) {
  if (b >= 10 * 1024 * 1024) return fmt::format("{:.1f} MB", static_cast<double>(b) / 1048576.0);
  if (b >= 10 * 1024) return fmt::format("{:.1f} KB", static_cast<double>(b) / 1024.0);
  return fmt::format("{} B", b);
}

}  // namespace

Result<SplitOutcome> SplitModel(const SplitRequest& q, Progress& progress) {
  TML_ASSIGN_OR_RETURN(SplitObjective objective, ParseObjective(q.objective));
  TML_ASSIGN_OR_RETURN(Chain chain, FindChain(q.chain));
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(q.model));
  if (g.inputs.empty() || g.outputs.empty())
    return Status::Errorf("split: {} has no inputs or no outputs", q.model);
  SplitOutcome r;
  r.model = q.model;
  r.chain = chain;
  for (const Node& n : g.nodes) r.layer_names.push_back(n.name);
  const int stages = static_cast<int>(chain.nodes.size());
  ScratchDir work(q.work_dir, "split");
  TML_ASSIGN_OR_RETURN(r.costs, MeasureLayerCosts(g, chain, work.path(), progress));
  TML_ASSIGN_OR_RETURN(CutSearch search, EnumeratePlacements(g, stages, q.exhaustive_cap));
  r.exact = search.exact;
  progress.Log(fmt::format("split: {} {} cut(s) of {} layers over {} nodes",
                           search.placements.size(), search.exact ? "valid" : "contiguous",
                           g.nodes.size(), stages));
  if (!search.exact) {
    // Too many to list: the minimum cuts of the cost model join the contiguous ones.
    TML_ASSIGN_OR_RETURN(std::vector<Placement> best,
                         MinCutPlacements(g, chain, r.costs, objective));
    const std::set<Placement> have(search.placements.begin(), search.placements.end());
    size_t added = 0;
    for (Placement& p : best)
      if (!have.count(p)) {
        search.placements.push_back(std::move(p));
        ++added;
      }
    r.min_cuts = best.size();
    progress.Log(fmt::format("split: {} minimum cut(s) of the cost model, {} not contiguous",
                             best.size(), added));
  }
  int64_t done = 0;
  for (const Placement& p : search.placements) {
    TML_ASSIGN_OR_RETURN(CutCost c, CostOfCut(g, chain, r.costs, p));
    r.cuts.push_back(std::move(c));
    if (++done % 64 == 0)
      progress.Advance(done, static_cast<int64_t>(search.placements.size()), "cuts");
    if (progress.Cancelled()) return Status::Cancelled("split: stopped");
  }
  const auto fitting =
      std::count_if(r.cuts.begin(), r.cuts.end(), [](const CutCost& c) { return c.fits; });
  progress.Log(fmt::format("split: {} cut(s) costed, {} within every node's budgets", r.cuts.size(),
                           fitting));
  std::stable_sort(r.cuts.begin(), r.cuts.end(), [&](const CutCost& a, const CutCost& b) {
    if (a.fits != b.fits) return a.fits;
    if (!a.fits) return a.over_bytes < b.over_bytes;
    const double va = ObjectiveValue(a, objective), vb = ObjectiveValue(b, objective);
    if (va != vb) return va < vb;
    return a.latency_s < b.latency_s;  // ties (device energy when nothing runs there): faster
  });
  r.cuts_json = nlohmann::json::array();
  for (const CutCost& c : r.cuts) r.cuts_json.push_back(CutCostJson(g, chain, c));
  if (r.cuts.empty() || !r.cuts.front().fits)
    return Status::Errorf("split: no cut of {} fits the budgets of chain {}; the closest: {}",
                          g.name, chain.name, r.cuts.empty() ? "none" : r.cuts.front().refused);
  r.best = 0;
  r.best_json = r.cuts_json[0];
  TML_ASSIGN_OR_RETURN(Partition part, MakePartition(g, r.cuts[0].placement, stages));
  // The parts in turn against the whole model, on random inputs.
  const std::vector<uint8_t> in = RandomInputs(g, std::max(q.check_samples, 1), 11);
  size_t per = 0;
  for (int t : g.inputs) per += g.tensor(t).nbytes();
  r.host_bit_exact = true;
  for (int k = 0; k < std::max(q.check_samples, 1); ++k) {
    const std::vector<uint8_t> one(in.begin() + static_cast<long>(k * per),
                                   in.begin() + static_cast<long>((k + 1) * per));
    TML_ASSIGN_OR_RETURN(auto whole, RunWholeModel(g, one));
    TML_ASSIGN_OR_RETURN(auto split, RunPartition(part, one));
    r.host_bit_exact &= whole == split;
  }
  if (!q.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(q.out_dir, ec);
    if (ec) return Status::Errorf("split: {}: {}", q.out_dir, ec.message());
    for (const StageGraph& sg : part.parts) {
      const std::string file =
          (fs::path(q.out_dir) / (chain.nodes[static_cast<size_t>(sg.stage)].name + ".onnx"))
              .string();
      TML_RETURN_IF_ERROR(SaveOnnx(sg.graph, file).Wrap("split"));
      r.part_files.push_back(file);
    }
    const std::string text = SplitJson(q, r).dump(2) + "\n";
    TML_RETURN_IF_ERROR(WriteFileAtomically((fs::path(q.out_dir) / "partition.json").string(),
                                            text.data(), text.size()));
  }
  r.graph = std::move(g);
  return r;
}

Result<CascadeResult> Cascade(Workspace& ws, const CascadeRequest& q, Progress& progress) {
  TML_ASSIGN_OR_RETURN(Chain chain, FindChain(q.chain));
  TML_ASSIGN_OR_RETURN(Graph small, LoadModel(q.small));
  TML_ASSIGN_OR_RETURN(Graph big, LoadModel(q.big));
  TML_ASSIGN_OR_RETURN(LoadedSplit split, LoadSplitRef(ws, q.data, Split::kTest));
  const LabeledData d = q.samples > 0 ? Spread(split.data, q.samples) : split.data;
  ScratchDir work(q.options.work_dir, "cascade");
  CascadeOptions o = q.options;
  o.work_dir = work.path();
  return RunCascade(small, big, chain, d, static_cast<int>(split.classes.size()), o, progress);
}

nlohmann::json SplitJson(const SplitRequest& q, const SplitOutcome& r) {
  nlohmann::json nodes = nlohmann::json::array(), links = nlohmann::json::array();
  for (size_t i = 0; i < r.chain.nodes.size(); ++i) {
    const ChainNode& n = r.chain.nodes[i];
    nodes.push_back({{"name", n.name},
                     {"target", n.mcu() ? n.target : "host"},
                     {"ram_bytes", n.ram_bytes},
                     {"flash_bytes", n.flash_bytes},
                     {"costs", i < r.costs.nodes.size() ? r.costs.nodes[i].how : ""}});
  }
  for (const LinkProfile& l : r.chain.links)
    links.push_back({{"profile", l.name},
                     {"bandwidth_bps", l.bandwidth_bps},
                     {"latency_ms", l.latency_ms},
                     {"energy_nj_per_byte", l.energy_nj_per_byte}});
  return {{"model", r.model},
          {"chain", {{"name", r.chain.name}, {"nodes", nodes}, {"links", links}}},
          {"objective", q.objective},
          {"exact", r.exact},
          {"search", r.exact ? "every valid cut" : "contiguous cuts and minimum cuts"},
          {"layers", r.layer_names},
          {"cuts", r.cuts_json},
          {"best", r.best_json},
          {"parts", r.part_files},
          {"host_bit_exact", r.host_bit_exact}};
}

std::string SplitTable(const SplitOutcome& r, size_t max_rows) {
  const Chain& c = r.chain;
  std::string head = fmt::format("{:>4}  ", "cut");
  for (const ChainNode& n : c.nodes) head += fmt::format("{:>12}", n.name + " ms");
  for (size_t l = 0; l < c.links.size(); ++l) head += fmt::format("{:>18}", c.links[l].name);
  head += fmt::format("{:>12}{:>12}{:>12}  {}\n", "total ms", "energy mJ", "device mJ",
                      "layers per node / budget");
  std::string s = head;
  const size_t rows = max_rows ? std::min(max_rows, r.cuts.size()) : r.cuts.size();
  for (size_t i = 0; i < rows; ++i) {
    const CutCost& cut = r.cuts[i];
    std::string row = fmt::format("{:>3}{} ", i + 1, static_cast<int>(i) == r.best ? "*" : " ");
    for (size_t n = 0; n < c.nodes.size(); ++n)
      row += fmt::format("{:>12.3f}", 1e3 * cut.node_seconds[n]);
    for (size_t l = 0; l < cut.link_bytes.size(); ++l)
      row += fmt::format("{:>18}", cut.link_bytes[l]
                                       ? fmt::format("{} {:.2f}ms", Bytes(cut.link_bytes[l]),
                                                     1e3 * cut.link_seconds[l])
                                       : "-");
    row += fmt::format("{:>12.3f}{:>12.4f}{:>12.4f}  ", 1e3 * cut.latency_s, 1e3 * cut.energy_j,
                       1e3 * cut.device_energy_j);
    std::string layers;
    for (int n : cut.layers) layers += (layers.empty() ? "" : "/") + std::to_string(n);
    row += layers + (cut.fits ? "" : "  refused: " + cut.refused);
    s += row + "\n";
  }
  if (rows < r.cuts.size())
    s += fmt::format("... {} more cut(s) (--json lists all)\n", r.cuts.size() - rows);
  return s;
}

}  // namespace tml
