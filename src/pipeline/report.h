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

namespace tml {

struct ReportInput {
  const PipelineSpec& spec;
  int64_t run_id = 0;
  const std::vector<StepOutcome>& steps;
  const std::vector<SweepRow>& sweep;
};

Result<std::string> RenderReport(const ReportInput& in, MetaStore& db);

// Plots as SVG elements (used by the report; exposed for tests).
struct Series {
  std::string name, color;
  std::vector<double> x, y;
};
std::string LineChartSvg(const std::string& title, const std::vector<Series>& series,
                         const std::string& x_label, const std::string& y_label);
std::string HtmlEscape(const std::string& s);

}  // namespace tml
