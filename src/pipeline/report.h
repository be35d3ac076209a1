// One self-contained HTML file per pipeline run (no scripts, no external files; the
// plots are inline SVG): the steps and what was cached, training curves, evaluations
// with confusion matrices, the per-layer quantization table, per-layer profiles on
// the target, the sweep's results and Pareto plot, and the run's lineage graph. It
// reads what the steps recorded in the artifacts table, so cached steps report too.
//
//   TML_ASSIGN_OR_RETURN(std::string html, RenderReport({spec, run_id, steps, rows}, *ws.db));
#pragma once

#include <string>
#include <vector>

#include "pipeline/outcome.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/sweep.h"
#include "store/meta_store.h"

// The plots come from core/svg_chart.h (shared with the dashboard).

namespace tml {

struct ReportInput {
  const PipelineSpec& spec;
  int64_t run_id = 0;
  const std::vector<StepOutcome>& steps;
  const std::vector<SweepRow>& sweep;
};

Result<std::string> RenderReport(const ReportInput& in, MetaStore& db);

}  // namespace tml
