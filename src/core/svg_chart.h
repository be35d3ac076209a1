// The one chart implementation: self-contained SVG (presentation attributes, no CSS,
// no script) drawn in C++ for the HTML reports (src/pipeline/report.cc) and, through
// POST /api/charts, for the dashboard, which inserts the SVG into its pages. Text is
// escaped; titles wrap to fit the width; axes of whole quantities (epochs) tick on
// integers only.
//
//   std::string svg = chart::Line("loss", {{"train loss", chart::Color(0), {1, 2}, {0.9, 0.5}}},
//                                 {.x_label = "epoch", .integer_x = true});
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tml {

// Text for HTML and SVG: & < > " ' escaped.
std::string HtmlEscape(const std::string& s);

namespace chart {

// The palette: series colour k (wraps around).
const char* Color(size_t k);

struct Series {
  std::string name, color;
  std::vector<double> x, y;  // non-finite y values are skipped
};

struct LineOptions {
  std::string x_label, y_label;
  std::optional<std::pair<double, double>> y_range;  // fixed y axis (e.g. 0..1)
  bool integer_x = false;                            // ticks on whole numbers only
};

std::string Line(const std::string& title, const std::vector<Series>& series, const LineOptions& o);

// Horizontal bars with the value (and unit) at their end.
std::string Bars(const std::string& title, const std::vector<std::pair<std::string, double>>& rows,
                 const std::string& unit = "");

struct Point {
  std::string label, tooltip;
  double x = 0, y = 0;
  double size = 0;         // 0..1: radius from 5 to 14 px
  bool highlight = false;  // drawn green (e.g. on the Pareto front)
  bool hollow = false;     // outline only (e.g. does not fit)
  bool bold = false;       // thick outline (e.g. the best)
};

std::string Scatter(const std::string& title, const std::vector<Point>& points,
                    const std::string& x_label, const std::string& y_label,
                    const std::string& legend = "");

// Rows: true class, columns: predicted; "" when empty or over 40 classes.
std::string Confusion(const std::vector<std::string>& classes,
                      const std::vector<std::vector<int64_t>>& matrix);

struct ArenaBuffer {
  int64_t offset = 0, bytes = 0;
  int first = 0, last = 0;  // written by layer `first`, last read by layer `last`
};
// Each buffer a box from the layer that writes it to the last that reads it, at its offset.
std::string Arena(const std::string& title, const std::vector<ArenaBuffer>& buffers,
                  int64_t arena_bytes, const std::vector<std::string>& layers);

struct GraphNode {
  std::string id, kind, label;
  std::vector<std::string> parents;  // ids; those not among the nodes are ignored
};
// Artifacts in columns by depth (inputs left). With link_prefix every box links to
// link_prefix + url-encoded id; `focus` is drawn bold.
std::string Lineage(const std::string& title, const std::vector<GraphNode>& nodes,
                    const std::string& focus = "", const std::string& link_prefix = "");

}  // namespace chart
}  // namespace tml
