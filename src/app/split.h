// The split operation as one component, behind the CLI's `split` (docs/split.md): a
// model and a node chain in, every valid cut with its predicted per-node time, link time
// and energy out, the best under the objective among those within every node's budgets,
// and one sub-model per node for it (ONNX, each compiles and verifies like any model).
// The chosen partition is run on the host part by part and compared with the whole model.
//
//   SplitRequest q;  q.model = "kws.tflite";  q.chain = "examples/chains/mcu-gateway-cloud.yaml";
//   q.out_dir = "out/split";
//   TML_ASSIGN_OR_RETURN(SplitOutcome r, SplitModel(q, progress));
//   // r.cuts[r.best], r.part_files, r.host_bit_exact
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/dataset_store.h"
#include "split/cascade.h"
#include "split/chain.h"
#include "split/cost.h"

namespace tml {

struct SplitRequest {
  std::string model;                  // any model file tinymlaas reads
  std::string chain;                  // chain YAML, or a shipped chain's name
  std::string objective = "latency";  // latency | energy | device-energy
  std::string out_dir;                // the best cut's sub-models and partition.json ("": none)
  std::string work_dir;               // firmware builds for measuring ("": a temporary one)
  int check_samples = 4;              // random inputs the host run of the partition is checked on
  size_t exhaustive_cap = 200000;     // more valid cuts: contiguous ones and minimum cuts
};

struct SplitOutcome {
  std::string model;
  Graph graph;  // the model as loaded
  Chain chain;
  LayerCosts costs;
  std::vector<std::string> layer_names;
  bool exact = true;          // every valid cut was considered (else contiguous ones and min_cuts)
  size_t min_cuts = 0;        // placements from minimum cuts of the cost model (split/min_cut.h)
  std::vector<CutCost> cuts;  // fitting ones first, each group by the objective
  int best = -1;              // index in cuts
  std::vector<std::string> part_files;  // per chain node that runs something
  bool host_bit_exact = false;          // the parts in turn computed the whole model's bytes
  // CutCostJson of each cut (what --json prints as `cuts`), kept with the outcome.
  nlohmann::json cuts_json, best_json;
};

Result<SplitOutcome> SplitModel(const SplitRequest& request, Progress& progress);

// `split --cascade SMALL BIG`: the small model on the chain's first node, the big one on
// its last, swept over thresholds on a dataset split (split/cascade.h).
struct CascadeRequest {
  std::string small, big, chain;
  std::string data;     // DATASET[@VERSION][@SPLIT]; the test split by default
  int64_t samples = 0;  // 0: the whole split; else this many, spread over it
  CascadeOptions options;
};

Result<CascadeResult> Cascade(Workspace& ws, const CascadeRequest& request, Progress& progress);

// The one JSON form: {model, chain, objective, exact, search, layers, cuts, best, parts,
// host_bit_exact}.
nlohmann::json SplitJson(const SplitRequest& request, const SplitOutcome& r);
// The cut table as text: one row per cut, the best marked.
std::string SplitTable(const SplitOutcome& r, size_t max_rows = 0);

}  // namespace tml
