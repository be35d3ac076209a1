// Model splitting: cut enumeration against brute force on graphs with residual and
// parallel branches, the tensors each link carries, the partition run part by part
// against the whole model (bit for bit), budgets, minimum cuts against the exhaustive
// search, and chain files.
#include "app/split.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "core/scratch_dir.h"
#include "fixtures.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "prepare/builder.h"
#include "split/chain.h"
#include "split/cost.h"
#include "split/cuts.h"
#include "split/min_cut.h"
#include "split/partition.h"
#include "targets/verify.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

// Valid by running the chain: chain node s holds what node s - 1 held plus what it
// produced (graph inputs start on node 0), and runs its layers in order; every input of
// a layer must be held there by then. Independent of the enumerator's producer rule.
bool RunsOnChain(const Graph& g, const Placement& p, int stages) {
  std::set<int> held(g.inputs.begin(), g.inputs.end());
  for (int s = 0; s < stages; ++s) {
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      if (p[n] != s) continue;
      for (int t : g.nodes[n].inputs)
        if (t >= 0 && !g.tensor(t).is_const && !held.count(t)) return false;
      for (int t : g.nodes[n].outputs) held.insert(t);
    }
  }
  return true;
}

std::set<Placement> BruteForce(const Graph& g, int stages) {
  std::set<Placement> out;
  const size_t n = g.nodes.size();
  Placement p(n, 0);
  for (;;) {
    if (RunsOnChain(g, p, stages)) out.insert(p);
    size_t i = 0;
    while (i < n && ++p[i] == stages) p[i++] = 0;
    if (i == n) break;
  }
  return out;
}

// conv -> [conv -> conv] + skip -> conv -> [conv -> conv] + skip -> dense: two residual blocks.
Graph Residual() {
  GraphBuilder b("residual", 3);
  int x = b.Input("x", DType::kFloat32, {1, 6, 6, 2});
  x = b.Conv2D(x, 4, 3, 1, true, Act::kRelu);
  for (int k = 0; k < 2; ++k) {
    int y = b.Conv2D(x, 4, 3, 1, true, Act::kRelu);
    y = b.Conv2D(y, 4, 3, 1, true);
    x = b.Add(x, y, Act::kRelu);
  }
  b.Output(b.Dense(b.Flatten(x), 3));
  auto g = b.Finish();
  EXPECT_TRUE(g.ok()) << g.status().message();
  return std::move(*g);
}

// Two parallel branches of different depth from the input, joined; and a second output
// taken from the middle of one branch.
Graph TwoBranchesTwoOutputs() {
  GraphBuilder b("branches", 5);
  int x = b.Input("x", DType::kFloat32, {1, 4, 4, 2});
  int a = b.Conv2D(x, 2, 1, 1, true, Act::kRelu);
  int c = b.Conv2D(x, 2, 3, 1, true, Act::kRelu);
  c = b.Conv2D(c, 2, 3, 1, true);
  int j = b.Add(a, c);
  b.Output(b.Dense(b.Flatten(j), 2));
  b.Output(b.Flatten(c));
  auto g = b.Finish();
  EXPECT_TRUE(g.ok()) << g.status().message();
  return std::move(*g);
}

TEST(SplitCuts, EveryValidCutAndNoOtherAgainstBruteForce) {
  for (const Graph& g : {Residual(), TwoBranchesTwoOutputs()}) {
    ASSERT_LE(g.nodes.size(), 12u) << g.name;
    for (int stages : {2, 3}) {
      auto s = EnumeratePlacements(g, stages);
      ASSERT_TRUE(s.ok()) << s.status().message();
      EXPECT_TRUE(s->exact);
      const std::set<Placement> got(s->placements.begin(), s->placements.end());
      EXPECT_EQ(got.size(), s->placements.size()) << g.name << ": a cut listed twice";
      const std::set<Placement> want = BruteForce(g, stages);
      EXPECT_EQ(got, want) << g.name << " on " << stages << " nodes";
      for (const Placement& p : s->placements) EXPECT_TRUE(ValidPlacement(g, p, stages));
      // Fewer than all assignments: branches make some invalid.
      EXPECT_LT(want.size(), static_cast<size_t>(std::pow(stages, g.nodes.size())));
    }
  }
}

TEST(SplitCuts, BeyondTheCapContiguousCutsOnly) {
  const Graph g = Residual();
  auto s = EnumeratePlacements(g, 3, /*cap=*/10);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->exact);
  const size_t n = g.nodes.size();
  EXPECT_EQ(s->placements.size(), (n + 1) * (n + 2) / 2);
  for (const Placement& p : s->placements) {
    EXPECT_TRUE(ValidPlacement(g, p, 3));
    EXPECT_TRUE(std::is_sorted(p.begin(), p.end()));
  }
  EXPECT_FALSE(EnumeratePlacements(g, 4).ok());
}

TEST(SplitCuts, ACutInsideAResidualBlockCarriesTheSkipToo) {
  const Graph g = Residual();
  // The first conv and the first block's first conv on the MCU, the rest upstream.
  Placement p(g.nodes.size(), 1);
  p[0] = p[1] = 0;
  ASSERT_TRUE(ValidPlacement(g, p, 2));
  const auto links = LinkTensors(g, p, 2);
  ASSERT_EQ(links.size(), 1u);
  std::set<int> want = {g.nodes[0].outputs[0], g.nodes[1].outputs[0]};  // skip and branch
  EXPECT_EQ(std::set<int>(links[0].begin(), links[0].end()), want);
  // Nothing on the MCU: the model's input crosses; everything on it: nothing does.
  EXPECT_EQ(LinkTensors(g, Placement(g.nodes.size(), 1), 2)[0], std::vector<int>{g.inputs[0]});
  EXPECT_TRUE(LinkTensors(g, Placement(g.nodes.size(), 0), 2)[0].empty());
  // Skipping the middle node: the tensor is relayed over both links.
  const auto relayed = LinkTensors(g, Placement(g.nodes.size(), 2), 3);
  EXPECT_EQ(relayed[0], std::vector<int>{g.inputs[0]});
  EXPECT_EQ(relayed[1], std::vector<int>{g.inputs[0]});
  std::string why;
  Placement bad(g.nodes.size(), 0);
  bad[0] = 1;
  EXPECT_FALSE(ValidPlacement(g, bad, 2, &why));
  EXPECT_NE(why.find(g.nodes[1].name), std::string::npos) << why;
}

TEST(SplitCuts, OutputsFromAnEarlierNodeTravelToTheLast) {
  const Graph g = TwoBranchesTwoOutputs();
  // Everything on node 0 except the final dense (and its flatten) on node 2.
  Placement p(g.nodes.size(), 0);
  const int dense_out = g.outputs[0], side_out = g.outputs[1];
  const auto producers = g.Producers();
  p[static_cast<size_t>(producers[static_cast<size_t>(dense_out)])] = 2;
  ASSERT_TRUE(ValidPlacement(g, p, 3)) << "dense must only need node-0 tensors";
  const auto links = LinkTensors(g, p, 3);
  for (const auto& l : links)
    EXPECT_NE(std::find(l.begin(), l.end(), side_out), l.end()) << "the side output stays behind";
}

// The parts run in turn compute the whole model's bytes, for every cut of an int8 model.
TEST(SplitPartition, EveryCutOfAnInt8ResNetIsBitExactOnTheHost) {
  auto f = zoo::ResNet8(1);
  ASSERT_TRUE(f.ok());
  auto g = zoo::QuantizeSynthetic(*f, 1);
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto s = EnumeratePlacements(*g, 3);
  ASSERT_TRUE(s.ok());
  ASSERT_GT(s->placements.size(), 100u);
  const std::vector<uint8_t> in = RandomInputs(*g, 1, 5);
  auto whole = Interpreter::Create(*g);
  ASSERT_TRUE(whole.ok());
  std::memcpy((*whole)->input(0), in.data(), in.size());
  (*whole)->Invoke();
  const auto* y = static_cast<const uint8_t*>((*whole)->output(0));
  const std::vector<uint8_t> want(y, y + (*whole)->output_bytes(0));
  for (size_t i = 0; i < s->placements.size(); i += 7) {  // every 7th: about 30 cuts
    auto part = MakePartition(*g, s->placements[i], 3);
    ASSERT_TRUE(part.ok()) << part.status().message();
    auto got = RunPartition(*part, in);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0], want) << "cut " << i;
    // Each part's inputs are what the links deliver to it.
    for (const StageGraph& sg : part->parts)
      for (int t : sg.inputs_from) EXPECT_FALSE(g->tensor(t).is_const);
  }
  EXPECT_FALSE(RunPartition(*MakePartition(*g, s->placements[0], 3), {1, 2, 3}).ok());
}

Chain HostChain(int64_t first_ram) {
  Chain c;
  c.name = "test";
  for (const char* n : {"a", "b"}) {
    ChainNode node;
    node.name = n;
    c.nodes.push_back(node);
  }
  c.nodes[0].ram_bytes = first_ram;
  LinkProfile l;
  l.name = "custom";
  l.bandwidth_bps = 8000;  // 1000 bytes/s
  l.latency_ms = 10;
  l.energy_nj_per_byte = 1000;
  c.links.push_back(l);
  return c;
}

TEST(SplitCost, LinkTimeEnergyAndBudgetsNameTheNodeAndTheBytes) {
  const Graph g = Residual();
  const size_t n = g.nodes.size();
  LayerCosts lc;
  for (int k = 0; k < 2; ++k) {
    NodeLayerCosts nc;
    nc.seconds.assign(n, k == 0 ? 0.010 : 0.001);
    nc.joules.assign(n, k == 0 ? 0.002 : 0.0);
    lc.nodes.push_back(nc);
  }
  const Chain c = HostChain(0);
  Placement up(n, 1);
  auto cut = CostOfCut(g, c, lc, up);
  ASSERT_TRUE(cut.ok()) << cut.status().message();
  const int64_t in_bytes = 6 * 6 * 2 * 4;
  EXPECT_EQ(cut->link_bytes[0], in_bytes);
  EXPECT_NEAR(cut->link_seconds[0], in_bytes / 1000.0 + 0.010, 1e-9);
  EXPECT_NEAR(cut->latency_s, cut->link_seconds[0] + 0.001 * static_cast<double>(n), 1e-9);
  EXPECT_NEAR(cut->device_energy_j, in_bytes * 1e-6, 1e-12);  // only sending
  EXPECT_EQ(cut->layers, (std::vector<int>{0, static_cast<int>(n)}));
  auto local = CostOfCut(g, c, lc, Placement(n, 0));
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->link_bytes[0], 0);
  EXPECT_EQ(local->link_seconds[0], 0.0);  // nothing to send, no latency
  EXPECT_NEAR(local->device_energy_j, 0.002 * static_cast<double>(n), 1e-12);
  EXPECT_TRUE(local->fits);
  EXPECT_GT(local->node_ram_bytes[0], 0);

  // A 100-byte RAM budget on node a: any cut that runs a layer there is refused.
  const Chain tight = HostChain(100);
  auto refused = CostOfCut(g, tight, lc, Placement(n, 0));
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->fits);
  EXPECT_NE(refused->refused.find("a needs " + std::to_string(local->node_ram_bytes[0]) +
                                  " bytes of RAM, its budget is 100"),
            std::string::npos)
      << refused->refused;
  EXPECT_EQ(refused->over_bytes, local->node_ram_bytes[0] - 100);
  auto fits = CostOfCut(g, tight, lc, up);
  ASSERT_TRUE(fits.ok());
  EXPECT_TRUE(fits->fits);
}

// Three nodes with random per-layer costs (node 0 slow, each next one faster, with
// noise) and links of different speeds and energies.
struct RandomChain {
  Chain chain;
  LayerCosts costs;
};

RandomChain MakeRandomChain(const Graph& g, int stages, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.2, 1.8);
  RandomChain r;
  r.chain.name = "random";
  for (int s = 0; s < stages; ++s) {
    ChainNode node;
    node.name = fmt::format("n{}", s);
    r.chain.nodes.push_back(node);
    NodeLayerCosts nc;
    for (size_t v = 0; v < g.nodes.size(); ++v) {
      nc.seconds.push_back(1e-3 * u(rng) / (1 + 4 * s));
      nc.joules.push_back(1e-4 * u(rng) * (s == 0 ? 1 : 3));
    }
    r.costs.nodes.push_back(nc);
  }
  for (int l = 0; l + 1 < stages; ++l) {
    LinkProfile link;
    link.name = fmt::format("l{}", l);
    link.bandwidth_bps = 1e5 * u(rng) * (1 + 10 * l);
    link.latency_ms = 2 * u(rng);
    link.energy_nj_per_byte = 50 * u(rng);
    r.chain.links.push_back(link);
  }
  return r;
}

double BestOf(const Graph& g, const RandomChain& rc, const std::vector<Placement>& ps,
              SplitObjective o) {
  double best = std::numeric_limits<double>::infinity();
  for (const Placement& p : ps) {
    auto c = CostOfCut(g, rc.chain, rc.costs, p);
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (c.ok() && c->fits) best = std::min(best, ObjectiveValue(*c, o));
  }
  return best;
}

// The minimum cuts find the exhaustive search's best, for every objective, on random
// costs over residual and branching graphs.
TEST(SplitMinCut, FindsTheExhaustiveBestOnRandomCosts) {
  int cases = 0, not_contiguous = 0;
  for (const Graph& g : {Residual(), TwoBranchesTwoOutputs()}) {
    for (int stages : {2, 3}) {
      auto all = EnumeratePlacements(g, stages);
      ASSERT_TRUE(all.ok());
      for (uint32_t seed = 1; seed <= 6; ++seed) {
        const RandomChain rc = MakeRandomChain(g, stages, seed);
        for (SplitObjective o :
             {SplitObjective::kLatency, SplitObjective::kEnergy, SplitObjective::kDeviceEnergy}) {
          auto mc = MinCutPlacements(g, rc.chain, rc.costs, o);
          ASSERT_TRUE(mc.ok()) << mc.status().message();
          std::vector<Placement> cand = *mc;
          cand.push_back(Placement(g.nodes.size(), 0));  // nothing sent: SplitModel's too
          const double want = BestOf(g, rc, all->placements, o), got = BestOf(g, rc, cand, o);
          EXPECT_NEAR(got, want, 1e-9 * want) << g.name << " " << stages << " seed " << seed;
          for (const Placement& p : *mc) {
            EXPECT_TRUE(ValidPlacement(g, p, stages));
            not_contiguous += !std::is_sorted(p.begin(), p.end());
          }
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 72);
  EXPECT_GT(not_contiguous, 0) << "branches: some optimum runs a branch upstream early";
}

// Beyond the enumeration cap: a deep residual model (40 blocks) on three nodes, where the
// minimum cut is at least as good as every contiguous cut, and a flash budget on the
// first node that the unconstrained optimum breaks is met by a penalized one.
TEST(SplitMinCut, BeyondTheCapAndUnderABudget) {
  GraphBuilder b("deep", 9);
  int x = b.Input("x", DType::kFloat32, {1, 16, 16, 2});  // 2 KB; each block's tensors 256 B
  x = b.Conv2D(x, 4, 3, 4, true, Act::kRelu);
  for (int k = 0; k < 40; ++k) {
    int y = b.Conv2D(x, 4, 3, 1, true, Act::kRelu);
    x = b.Add(x, b.Conv2D(y, 4, 1, 1, true), Act::kRelu);
  }
  b.Output(b.Dense(b.Flatten(x), 3));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto contiguous = EnumeratePlacements(*g, 3, /*cap=*/1000);
  ASSERT_TRUE(contiguous.ok());
  ASSERT_FALSE(contiguous->exact);
  RandomChain rc = MakeRandomChain(*g, 3, 42);
  auto mc = MinCutPlacements(*g, rc.chain, rc.costs, SplitObjective::kLatency);
  ASSERT_TRUE(mc.ok()) << mc.status().message();
  const double best_contiguous = BestOf(*g, rc, contiguous->placements, SplitObjective::kLatency);
  EXPECT_LE(BestOf(*g, rc, *mc, SplitObjective::kLatency), best_contiguous * (1 + 1e-12));

  // Node 0 fast and its link slow: the optimum keeps all but the last layers there. Then
  // a flash budget of a quarter of that: sending the input (2 KB) is the worst way out.
  for (size_t v = 0; v < g->nodes.size(); ++v) rc.costs.nodes[0].seconds[v] = 1e-6;
  rc.chain.links[0].bandwidth_bps = 1e3;
  auto free_best = MinCutPlacement(*g, rc.chain, rc.costs, SplitObjective::kLatency, 2);
  ASSERT_TRUE(free_best.ok());
  auto free_cost = CostOfCut(*g, rc.chain, rc.costs, *free_best);
  ASSERT_TRUE(free_cost.ok());
  ASSERT_GT(free_cost->node_flash_bytes[0], 0);
  rc.chain.nodes[0].flash_bytes = free_cost->node_flash_bytes[0] / 4;
  auto budgeted = MinCutPlacements(*g, rc.chain, rc.costs, SplitObjective::kLatency);
  ASSERT_TRUE(budgeted.ok()) << budgeted.status().message();
  auto upstream = CostOfCut(*g, rc.chain, rc.costs, Placement(g->nodes.size(), 1));
  ASSERT_TRUE(upstream.ok());
  bool fits = false;
  for (const Placement& p : *budgeted) {
    auto c = CostOfCut(*g, rc.chain, rc.costs, p);
    ASSERT_TRUE(c.ok());
    if (c->fits && c->layers[0] > 0 && c->latency_s < upstream->latency_s) fits = true;
  }
  EXPECT_TRUE(fits) << "a penalized minimum cut keeps layers on node 0 within its flash";
  EXPECT_FALSE(MinCutPlacement(*g, rc.chain, rc.costs, SplitObjective::kLatency, 3).ok());
}

// SplitModel past its enumeration cap: contiguous cuts plus minimum cuts, of which the
// best is chosen, at least as good as every contiguous cut and run bit-exact.
TEST(SplitMinCut, SplitModelBeyondItsCapUsesThem) {
  ScratchDir dir("", "split-mincut");
  std::filesystem::create_directories(dir.path());
  const std::string model = dir.path() + "/branches.onnx", chain = dir.path() + "/chain.yaml";
  const Status saved = SaveOnnx(Residual(), model);
  ASSERT_TRUE(saved.ok()) << saved.message();
  std::ofstream(chain) << "nodes:\n  - {name: a, host: {time_scale: 20}}\n"
                          "  - {name: b, host: {time_scale: 1}}\n"
                          "  - {name: c, host: {time_scale: 0.2}}\n"
                          "links:\n  - {profile: ble-1m}\n  - {profile: ethernet}\n";
  SplitRequest q;
  q.model = model;
  q.chain = chain;
  q.exhaustive_cap = 10;
  Progress quiet;
  auto r = SplitModel(q, quiet);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->exact);
  EXPECT_GT(r->min_cuts, 0u);
  EXPECT_TRUE(r->host_bit_exact);
  double best_contiguous = 1e30;
  for (const CutCost& c : r->cuts)
    if (std::is_sorted(c.placement.begin(), c.placement.end()))
      best_contiguous = std::min(best_contiguous, c.latency_s);
  EXPECT_LE(r->cuts[static_cast<size_t>(r->best)].latency_s, best_contiguous);
  EXPECT_EQ(SplitJson(q, *r)["search"], "contiguous cuts and minimum cuts");
}

class SplitChainFiles : public ::testing::Test {
 protected:
  Result<Chain> Parse(const std::string& text) { return ParseChain(text, "chain.yaml"); }
};

TEST_F(SplitChainFiles, ShippedProfilesAndTheExampleLoad) {
  auto links = LoadLinkProfiles();
  ASSERT_TRUE(links.ok()) << links.status().message();
  std::set<std::string> names;
  for (const LinkProfile& l : *links) {
    names.insert(l.name);
    EXPECT_GT(l.bandwidth_bps, 0) << l.name;
  }
  for (const char* want : {"uart-115200", "ble-1m", "ble-2m", "wifi", "ethernet", "lora-sf7"})
    EXPECT_TRUE(names.count(want)) << want;
  auto c = LoadChain(std::string(TML_SOURCE_DIR) + "/examples/chains/mcu-gateway-cloud.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->nodes.size(), 3u);
  EXPECT_TRUE(c->nodes[0].mcu());
  EXPECT_EQ(c->nodes[0].ram_bytes, 262144);  // the board's
  EXPECT_EQ(c->links[1].name, "ethernet");
  EXPECT_EQ(c->links[1].latency_ms, 20);  // overridden
  EXPECT_GT(c->nodes[0].profile.active_mw, 0);
}

TEST_F(SplitChainFiles, BadChainsNameTheFileTheLineAndTheField) {
  const std::string two_hosts =
      "nodes:\n  - {name: a, host: {}}\n  - {name: b, host: {time_scale: 2}}\n";
  EXPECT_TRUE(Parse(two_hosts + "links:\n  - {profile: wifi}\n").ok());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {two_hosts + "links:\n  - {profile: carrier-pigeon}\n",
       "unknown link profile 'carrier-pigeon'"},
      {two_hosts + "links:\n  - {profile: wifi}\n  - {profile: wifi}\n", "must list 1 link"},
      {two_hosts + "links:\n  - {bandwidth_bps: 0}\n", "bandwidth_bps must be given and positive"},
      {two_hosts + "links:\n  - {profile: wifi, latency_ms: -1}\n",
       "latency_ms must not be negative"},
      {two_hosts + "links:\n  - {profile: wifi, speed: 3}\n",
       "line 5: link 1 (a -> b): unknown key 'speed'"},
      {"nodes:\n  - {name: a, host: {}}\n  - {name: a, host: {}}\nlinks: [{profile: wifi}]\n",
       "two nodes are named 'a'"},
      {"nodes:\n  - {name: a, target: cortex-m4, host: {}}\n  - {name: b, host: {}}\nlinks: "
       "[{profile: "
       "wifi}]\n",
       "either 'target'"},
      {"nodes:\n  - {name: a, target: esp32-s3}\n  - {name: b, host: {}}\nlinks: [{profile: "
       "wifi}]\n",
       "not emulated"},
      {"nodes:\n  - {name: a, target: cortex-m99}\n  - {name: b, host: {}}\nlinks: [{profile: "
       "wifi}]\n",
       "unknown target 'cortex-m99'"},
      {"nodes:\n  - {name: a, host: {time_scale: 0}}\n  - {name: b, host: {}}\nlinks: [{profile: "
       "wifi}]\n",
       "time_scale must be positive"},
      {"nodes:\n  - {name: a, host: {}}\nlinks: []\n", "2 or 3 nodes"},
      {"nodes: [\n", "chain.yaml: line"},
      {"nodes:\n  - {name: a, host: {}, ram_bytes: lots}\n  - {name: b, host: {}}\nlinks: "
       "[{profile: wifi}]\n",
       "ram_bytes must be a number"},
  };
  for (const auto& [text, want] : cases) {
    auto c = Parse(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << c.status().message() << "\nwanted: " << want;
    EXPECT_NE(c.status().message().find("chain.yaml"), std::string::npos) << c.status().message();
  }
  EXPECT_FALSE(ParseObjective("speed").ok());
}

// Mutated chain files: an error naming the file or a chain that holds together, never a
// crash (yaml-cpp's exceptions included).
TEST_F(SplitChainFiles, MutatedChainsAreRefusedOrWhole) {
  auto bytes = ReadFile(std::string(TML_SOURCE_DIR) + "/examples/chains/mcu-gateway-cloud.yaml");
  ASSERT_TRUE(bytes.ok());
  std::mt19937_64 rng(17);
  int refused = 0;
  for (int i = 0; i < 1500; ++i) {
    std::vector<uint8_t> m = *bytes;
    testing::MutateBytes(m, rng, 1 + i % 6);
    auto c = Parse(std::string(m.begin(), m.end()));
    if (!c.ok()) {
      ++refused;
      EXPECT_NE(c.status().message().find("chain.yaml"), std::string::npos) << c.status().message();
      continue;
    }
    EXPECT_EQ(c->links.size() + 1, c->nodes.size());
    for (const LinkProfile& l : c->links) EXPECT_GT(l.bandwidth_bps, 0);
  }
  EXPECT_GT(refused, 300);
}

}  // namespace
}  // namespace tml
