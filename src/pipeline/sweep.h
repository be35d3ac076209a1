// The results of a sweep: one row per model x squeeze config x target with float
// and int8 accuracy, MACs, instructions on the target, RAM, flash and the fit
// verdict; the Pareto front (accuracy up, instructions down, RAM down) per target
// and the best model that fits.
//
//   TML_ASSIGN_OR_RETURN(auto rows, SweepResults(*spec.sweep, outcomes, *ws.db));
//   std::cout << SweepTable(rows);
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/outcome.h"
#include "pipeline/pipeline_spec.h"
#include "store/meta_store.h"

namespace tml {

struct SweepRow {
  std::string model, squeeze, target;
  double float_acc = 0, int8_acc = 0;
  double device_acc = -1;  // -1: not evaluated on the board
  int64_t macs = 0, instructions = 0, ram_bytes = 0, flash_bytes = 0;
  int64_t board_ram_bytes = 0, board_flash_bytes = 0;
  bool fits = false;
  bool pareto = false;  // no other row of its target is at least as good in all three
  bool best = false;    // the most accurate row that fits its target (fewer instructions on ties)
};

Result<std::vector<SweepRow>> SweepResults(const SweepSpec& sweep,
                                           const std::vector<StepOutcome>& outcomes, MetaStore& db);
// Sets pareto and best.
void MarkPareto(std::vector<SweepRow>& rows);
std::string SweepTable(const std::vector<SweepRow>& rows);
nlohmann::json SweepJson(const std::vector<SweepRow>& rows);

}  // namespace tml
