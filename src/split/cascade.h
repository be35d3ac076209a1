// Hierarchical inference over a chain: a small classifier on the first node answers when
// its top score reaches a threshold and forwards the sample to a big one on the last node
// otherwise. Swept over thresholds on labeled samples: accuracy, offload rate, latency and
// energy per inference. The small model's answers are the first node's own (on an MCU,
// the generated firmware on the emulated board, checked byte for byte against the
// reference interpreter); costs per inference come from the split cost model
// (split/cost.h).
//
//   TML_ASSIGN_OR_RETURN(CascadeResult r, RunCascade(small, big, chain, data, 10, {}, progress));
//   for (const CascadePoint& p : r.points) ... p.threshold, p.offload_rate, p.accuracy ...
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/loader.h"
#include "graph/graph.h"
#include "split/chain.h"

namespace tml {

struct CascadeOptions {
  // Offload when the small model's top score is below the threshold; above 1: always.
  std::vector<double> thresholds = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01};
  std::string work_dir;  // firmware builds ("": temporary)
};

struct CascadePoint {
  double threshold = 0, offload_rate = 0, accuracy = 0;
  double latency_s = 0, energy_j = 0, device_energy_j = 0;  // means per inference
};

struct CascadeResult {
  int64_t samples = 0;
  double small_accuracy = 0, big_accuracy = 0;
  bool equal_to_host = true;     // every MCU node's answers are the interpreter's, byte for byte
  std::string small_on, big_on;  // chain node names
  double small_s = 0, small_j = 0, big_s = 0, big_j = 0;  // per inference
  int64_t offload_bytes = 0;  // one sample as the first node holds it (the small model's input)
  std::vector<double> link_s, link_j;  // one offload, per link
  std::vector<CascadePoint> points;
};

Result<CascadeResult> RunCascade(const Graph& small, const Graph& big, const Chain& chain,
                                 const LabeledData& data, int classes, const CascadeOptions& opt,
                                 Progress& progress);

nlohmann::json CascadeJson(const CascadeResult& r);
std::string CascadeTable(const CascadeResult& r);

}  // namespace tml
