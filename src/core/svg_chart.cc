#include "core/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

namespace tml {

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace chart {
namespace {

constexpr const char* kPalette[] = {"#2563eb", "#dc2626", "#16a34a", "#ea580c",
                                    "#7c3aed", "#92400e", "#db2777", "#0891b2"};
constexpr const char* kInk = "#1f2937";
constexpr const char* kMuted = "#6b7280";
constexpr const char* kFrame = "#9ca3af";
constexpr const char* kGrid = "#e5e7eb";
constexpr double kTitleCharPx = 7.4;  // 13 px bold system-ui, a generous average

// A linear axis over [lo, hi] mapped to [a, b] pixels.
struct Axis {
  double lo, hi, a, b;
  double operator()(double v) const {
    return hi == lo ? (a + b) / 2 : a + (v - lo) / (hi - lo) * (b - a);
  }
};

std::string Num(double v) {
  const double m = std::fabs(v);
  if (m >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (m >= 1e4) return fmt::format("{:.3g}k", v / 1e3);
  if (m >= 100 || v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

std::string Text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" {}>{}</text>", x, y, attrs, HtmlEscape(s));
}

// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi]; whole numbers only if asked.
std::vector<double> Ticks(double lo, double hi, int count, bool integer) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (f * mag >= raw) {
      step = f * mag;
      break;
    }
  if (integer) step = std::max(1.0, std::ceil(step));
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

// The title broken into lines that fit `width` pixels.
std::vector<std::string> TitleLines(const std::string& title, double width) {
  const size_t max_chars = std::max<size_t>(8, static_cast<size_t>(width / kTitleCharPx));
  std::vector<std::string> lines;
  std::string line;
  size_t i = 0;
  while (i < title.size()) {
    size_t j = title.find(' ', i);
    if (j == std::string::npos) j = title.size();
    std::string word = title.substr(i, j - i);
    while (word.size() > max_chars) {  // a word longer than a line: cut it
      if (!line.empty()) lines.push_back(line), line.clear();
      lines.push_back(word.substr(0, max_chars));
      word = word.substr(max_chars);
    }
    if (!line.empty() && line.size() + 1 + word.size() > max_chars)
      lines.push_back(line), line.clear();
    line += (line.empty() ? "" : " ") + word;
    i = j + 1;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

// Height taken by a wrapped title (and the gap below it).
double TitleHeight(const std::string& title, int w) {
  return 10 + 17.0 * static_cast<double>(TitleLines(title, w - 16).size());
}

std::string Svg(int w, double h, const std::string& title, const std::string& body,
                const std::string& extra_attrs = "") {
  std::string head;
  const auto lines = TitleLines(title, w - 16);
  for (size_t k = 0; k < lines.size(); ++k)
    head += Text(8, 18 + 17.0 * static_cast<double>(k), lines[k],
                 fmt::format("font-size=\"13\" font-weight=\"600\" fill=\"{}\"", kInk));
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{:.0f}\" "
      "viewBox=\"0 0 {} {:.0f}\" role=\"img\" aria-label=\"{}\" class=\"tml-chart\" "
      "font-family=\"system-ui, sans-serif\" font-size=\"11\" fill=\"{}\"{}>"
      "<title>{}</title>{}{}</svg>",
      w, h, w, h, HtmlEscape(title), kInk, extra_attrs, HtmlEscape(title), head, body);
}

// Frame, grid, ticks and axis labels of a plot area.
std::string Frame(const Axis& x, const Axis& y, const std::string& x_label,
                  const std::string& y_label, bool integer_x) {
  std::string s = fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
      "stroke=\"{}\"/>",
      x.a, y.b, x.b - x.a, y.a - y.b, kFrame);
  for (double v : Ticks(y.lo, y.hi, 4, false)) {
    if (y(v) < y.b - 0.5 || y(v) > y.a + 0.5) continue;
    s +=
        fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"/>",
                    x.a, x.b, y(v), y(v), kGrid);
    s += Text(x.a - 4, y(v) + 4, Num(v),
              fmt::format("text-anchor=\"end\" font-size=\"10\" fill=\"{}\"", kMuted));
  }
  for (double v : Ticks(x.lo, x.hi, 5, integer_x)) {
    if (x(v) < x.a - 0.5 || x(v) > x.b + 0.5) continue;
    s += Text(x(v), y.a + 14, Num(v),
              fmt::format("text-anchor=\"middle\" font-size=\"10\" fill=\"{}\"", kMuted));
  }
  s += Text((x.a + x.b) / 2, y.a + 30, x_label, "text-anchor=\"middle\"");
  s += Text(
      12, (y.a + y.b) / 2, y_label,
      fmt::format("text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1f})\"", (y.a + y.b) / 2));
  return s;
}

// Percent-encodes all but unreserved characters (RFC 3986), like encodeURIComponent.
std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string Shorten(const std::string& s, size_t n) {
  return s.size() > n ? s.substr(0, n - 1) + "\xE2\x80\xA6" : s;
}

}  // namespace

const char* Color(size_t k) {
  return kPalette[k % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string Line(const std::string& title, const std::vector<Series>& series,
                 const LineOptions& o) {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (o.integer_x && x1 - x0 < 1) x1 = x0 + 1;  // one epoch: still an axis
  if (o.y_range) {
    y0 = o.y_range->first, y1 = o.y_range->second;
  } else {
    const double pad = (y1 - y0) * 0.05 + 1e-9;
    y0 -= pad, y1 += pad;
  }
  const int w = 440;
  const double top = TitleHeight(title, w) + 16.0 * static_cast<double>(series.size() > 1);
  const double h = top + 190;
  const Axis x{x0, x1, 56, w - 14.0}, y{y0, y1, h - 42, top};
  std::string body = Frame(x, y, o.x_label, o.y_label, o.integer_x);
  double legend_x = x.a;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::string pts, dots;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      pts += fmt::format("{:.1f},{:.1f} ", x(s.x[i]), y(s.y[i]));
      dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", x(s.x[i]),
                          y(s.y[i]), HtmlEscape(s.color));
    }
    if (!pts.empty()) pts.pop_back();
    body += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
        "data-series=\"{}\"/>",
        pts, HtmlEscape(s.color), HtmlEscape(s.name));
    body += dots;
    if (series.size() > 1) {  // a legend row under the title
      body += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"3\" fill=\"{}\"/>",
                          legend_x, top - 13, HtmlEscape(s.color));
      body += Text(legend_x + 14, top - 9, s.name);
      legend_x += 24 + 6.2 * static_cast<double>(s.name.size());
    }
  }
  return Svg(w, h, title, body);
}

std::string Bars(const std::string& title, const std::vector<std::pair<std::string, double>>& rows,
                 const std::string& unit) {
  double hi = 0;
  for (const auto& [_, v] : rows) hi = std::max(hi, v);
  const int left = 150, bar = 18, w = 520;
  const double top = TitleHeight(title, w);
  const double h = top + bar * static_cast<double>(rows.size()) + 8;
  std::string body;
  for (size_t i = 0; i < rows.size(); ++i) {
    const double y = top + bar * static_cast<double>(i);
    const double len = hi > 0 ? (w - left - 70) * std::max(0.0, rows[i].second) / hi : 0;
    body += Text(left - 6, y + 13, Shorten(rows[i].first, 24), "text-anchor=\"end\"");
    body += fmt::format(
        "<rect x=\"{}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" rx=\"2\" fill=\"{}\"/>", left,
        y + 3, len, bar - 5, kPalette[0]);
    body += Text(left + len + 4, y + 13, Num(rows[i].second) + unit,
                 fmt::format("fill=\"{}\"", kMuted));
  }
  if (rows.empty()) body += Text(8, top + 4, "no data", fmt::format("fill=\"{}\"", kMuted));
  return Svg(w, h + (rows.empty() ? 10 : 0), title, body);
}

std::string Scatter(const std::string& title, const std::vector<Point>& points,
                    const std::string& x_label, const std::string& y_label,
                    const std::string& legend) {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const Point& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  if (points.empty()) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  const double px = (x1 - x0) * 0.08 + std::fabs(x1) * 0.02 + 1e-9;
  const double py = (y1 - y0) * 0.1 + std::fabs(y1) * 0.01 + 1e-9;
  const int w = 680;
  const double top = TitleHeight(title, w) + (legend.empty() ? 0 : 16);
  const double h = top + 280;
  // Room on the right for the point labels.
  const Axis x{x0 - px, x1 + px, 64, w - 160.0}, y{y0 - py, y1 + py, h - 44, top};
  std::string body = Frame(x, y, x_label, y_label, false);
  if (!legend.empty())
    body += Text(8, top - 8, legend, fmt::format("font-size=\"10\" fill=\"{}\"", kMuted));
  for (const Point& p : points) {
    const double cx = x(p.x), cy = y(p.y);
    const double r = 5 + 9 * std::clamp(p.size, 0.0, 1.0);
    const char* color = p.highlight ? kPalette[2] : kPalette[0];
    body += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\" fill-opacity=\"{}\" "
        "stroke=\"{}\" stroke-width=\"{}\"><title>{}</title></circle>",
        cx, cy, r, color, p.hollow ? "0" : "0.6", color, p.bold ? 3 : 1.5,
        HtmlEscape(p.tooltip.empty() ? p.label : p.tooltip));
    body += Text(cx + r + 3, cy + 4, p.label, "font-size=\"10\"");
  }
  return Svg(w, h, title, body);
}

std::string Confusion(const std::vector<std::string>& classes,
                      const std::vector<std::vector<int64_t>>& m) {
  const size_t n = m.size();
  if (n == 0 || n > 40) return "";
  const std::string title = "confusion matrix";
  const int cell = n > 20 ? 16 : 30, left = 110;
  const int w = std::max(240, left + cell * static_cast<int>(n) + 10);
  const double top = TitleHeight(title, w);
  const double h = top + cell * static_cast<double>(n) + 30;
  std::string body;
  for (size_t t = 0; t < n; ++t) {
    int64_t row = 0;
    for (int64_t v : m[t]) row += v;
    const std::string name = t < classes.size() ? classes[t] : std::to_string(t);
    body += Text(left - 4, top + cell * (t + 0.5) + 4, Shorten(name, 14), "text-anchor=\"end\"");
    for (size_t p = 0; p < n && p < m[t].size(); ++p) {
      const int64_t v = m[t][p];
      const double f = row ? static_cast<double>(v) / static_cast<double>(row) : 0;
      const std::string fill = t == p ? fmt::format("rgba(37,99,235,{:.2f})", 0.1 + 0.9 * f)
                                      : fmt::format("rgba(220,38,38,{:.2f})", std::min(1.0, 3 * f));
      body += fmt::format(
          "<rect x=\"{}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"/>",
          left + cell * p, top + cell * t, cell, cell, fill);
      if (cell >= 30 && v)
        body += Text(left + cell * (p + 0.5), top + cell * (t + 0.5) + 4, std::to_string(v),
                     "text-anchor=\"middle\" font-size=\"10\"");
    }
  }
  body += Text(8, h - 8, "predicted class (columns), true class (rows)",
               fmt::format("fill=\"{}\"", kMuted));
  return Svg(w, h, title, body);
}

std::string Arena(const std::string& title, const std::vector<ArenaBuffer>& buffers,
                  int64_t arena_bytes, const std::vector<std::string>& layers) {
  const int w = 640, l = 70, r = 10, b = 64;
  int steps = static_cast<int>(layers.size()) + 1;
  for (const ArenaBuffer& x : buffers) steps = std::max(steps, x.last + 1);
  const double top = TitleHeight(title, w);
  const double h = top + 220 + b;
  const double arena = static_cast<double>(std::max<int64_t>(1, arena_bytes));
  auto X = [&](double s) { return l + s / steps * (w - l - r); };
  auto Y = [&](double bytes) { return h - b - bytes / arena * (h - top - b); };
  std::string body = fmt::format(
      "<rect x=\"{}\" y=\"{:.1f}\" width=\"{}\" height=\"{:.1f}\" fill=\"none\" stroke=\"{}\"/>", l,
      top, w - l - r, h - top - b, kFrame);
  for (double v : Ticks(0, arena, 4, true))
    body += Text(l - 4, Y(v) + 4, Num(v),
                 fmt::format("text-anchor=\"end\" font-size=\"10\" fill=\"{}\"", kMuted));
  body += Text(12, (h - b + top) / 2, "arena offset (bytes)",
               fmt::format("text-anchor=\"middle\" font-size=\"10\" transform=\"rotate(-90 12 "
                           "{:.1f})\"",
                           (h - b + top) / 2));
  for (size_t i = 0; i < layers.size(); ++i) {
    const double x = (X(static_cast<double>(i)) + X(static_cast<double>(i) + 1)) / 2;
    body += Text(x, h - b + 12, fmt::format("{} {}", i, layers[i]),
                 fmt::format("font-size=\"9\" text-anchor=\"end\" transform=\"rotate(-45 {:.1f} "
                             "{:.1f})\"",
                             x, h - b + 12));
  }
  for (size_t i = 0; i < buffers.size(); ++i) {
    const ArenaBuffer& x = buffers[i];
    const std::string until =
        x.last >= static_cast<int>(layers.size()) ? "the end" : std::to_string(x.last);
    body += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
        "fill-opacity=\"0.7\" stroke=\"#333\" stroke-width=\"0.5\" class=\"arena-buffer\">"
        "<title>{} bytes at offset {}, live from layer {} to {}</title></rect>",
        X(x.first), Y(static_cast<double>(x.offset + x.bytes)), X(x.last + 1) - X(x.first),
        Y(static_cast<double>(x.offset)) - Y(static_cast<double>(x.offset + x.bytes)), Color(i % 5),
        x.bytes, x.offset, x.first, until);
  }
  return Svg(w, h, title, body);
}

std::string Lineage(const std::string& title, const std::vector<GraphNode>& nodes,
                    const std::string& focus, const std::string& link_prefix) {
  std::map<std::string, const GraphNode*> by_id;
  for (const GraphNode& n : nodes) by_id[n.id] = &n;
  std::map<std::string, int> depth;
  std::function<int(const std::string&, int)> d = [&](const std::string& id, int guard) -> int {
    if (auto it = depth.find(id); it != depth.end()) return it->second;
    int best = 0;
    if (guard < 64)
      for (const std::string& p : by_id.at(id)->parents)
        if (by_id.count(p) && p != id) best = std::max(best, d(p, guard + 1) + 1);
    return depth[id] = best;
  };
  std::map<int, std::vector<const GraphNode*>> cols;
  for (const GraphNode& n : nodes)
    if (by_id.at(n.id) == &n) cols[d(n.id, 0)].push_back(&n);
  const int bw = 190, bh = 36, gx = 40, gy = 10;
  size_t rows = 1;
  for (const auto& [_, c] : cols) rows = std::max(rows, c.size());
  const int w = std::max(320, static_cast<int>(cols.size()) * (bw + gx) + 20);
  const double top = TitleHeight(title, w);
  const double h = top + static_cast<double>(rows) * (bh + gy) + 10;
  std::map<std::string, std::pair<double, double>> at;
  for (const auto& [c, col] : cols)
    for (size_t i = 0; i < col.size(); ++i)
      at[col[i]->id] = {10.0 + c * (bw + gx), top + static_cast<double>(i) * (bh + gy)};
  std::string body =
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" "
      "markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" "
      "fill=\"#999\"/></marker></defs>";
  for (const auto& [id, n] : by_id)
    for (const std::string& p : n->parents)
      if (at.count(p) && p != id)
        body += fmt::format(
            "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\" "
            "marker-end=\"url(#arrow)\" class=\"lineage-edge\"/>",
            at[p].first + bw, at[p].second + bh / 2.0, at[id].first, at[id].second + bh / 2.0);
  for (const auto& [id, n] : by_id) {
    const auto [x, y] = at[id];
    const bool focused = id == focus;
    std::string box = fmt::format("<title>{}</title>", HtmlEscape(id + "\n" + n->label));
    box += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" rx=\"5\" fill=\"{}\" "
        "stroke=\"{}\" stroke-width=\"{}\"/>",
        x, y, bw, bh, focused ? "#fef3c7" : "#eef2f7", focused ? "#b45309" : "#7a8ca5",
        focused ? 2.5 : 1);
    box += Text(x + 6, y + 14, n->kind, fmt::format("font-size=\"10\" fill=\"{}\"", kMuted));
    box += Text(x + 6, y + 29, Shorten(n->label, 30));
    if (link_prefix.empty())
      body += "<g>" + box + "</g>";
    else
      body += fmt::format(
          "<a href=\"{}\" class=\"lineage-node\" data-id=\"{}\" aria-label=\"{}\">{}</a>",
          HtmlEscape(link_prefix + UrlEncode(id)), HtmlEscape(id),
          HtmlEscape(n->kind + ": " + n->label), box);
  }
  return Svg(w, h, title, body);
}

}  // namespace chart
}  // namespace tml
