// Bit-exactness check: the same inputs through the reference interpreter and
// through the generated code on a target; the first layer that differs.
//
//   VerifyOptions o; o.inputs = 100;
//   TML_ASSIGN_OR_RETURN(VerifyReport r, Verify(graph, o));
//   if (!r.bit_exact) ... r.layer, r.index, r.max_abs_diff ...
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "graph/graph.h"

namespace tml {

struct VerifyOptions {
  std::string target = "host";
  int inputs = 10;
  uint64_t seed = 1;
  std::string work_dir;  // empty: a fresh temporary directory
  // Graph the interpreter runs as the reference; default: the compiled graph
  // itself. Must have the same layers and shapes (e.g. an unoptimized twin).
  const Graph* reference = nullptr;
};

struct VerifyReport {
  bool bit_exact = true;
  int inputs = 0;
  std::string target;
  // First layer (execution order) whose output differs, when !bit_exact.
  int layer = -1;
  std::string layer_name, op;
  int sample = -1;
  int64_t index = -1;  // first differing element of that layer in that sample
  double max_abs_diff = 0;
  nlohmann::json ToJson() const;
  std::string ToText() const;
};

// Deterministic pseudo-random sample bytes for every graph input, in order.
std::vector<uint8_t> RandomInputs(const Graph& g, int samples, uint64_t seed);

Result<VerifyReport> Verify(const Graph& g, const VerifyOptions& opt);

}  // namespace tml
