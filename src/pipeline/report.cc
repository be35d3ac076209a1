#include "pipeline/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

namespace tml {

using json = nlohmann::json;

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

namespace {

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                               "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// A linear axis over [lo, hi] mapped to [a, b] pixels.
struct Axis {
  double lo, hi, a, b;
  double operator()(double v) const {
    return hi == lo ? (a + b) / 2 : a + (v - lo) / (hi - lo) * (b - a);
  }
};

std::string Num(double v) {
  const double m = std::fabs(v);
  if (m >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (m >= 1e4) return fmt::format("{:.0f}k", v / 1e3);
  if (m >= 100 || v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

std::string Text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" {}>{}</text>", x, y, attrs, HtmlEscape(s));
}

// Frame, ticks and labels of a plot area; returns the SVG for them.
std::string Frame(const Axis& x, const Axis& y, const std::string& x_label,
                  const std::string& y_label) {
  std::string s = fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"frame\"/>", x.a,
      y.b, x.b - x.a, y.a - y.b);
  for (int i = 0; i <= 4; ++i) {
    const double vx = x.lo + (x.hi - x.lo) * i / 4, vy = y.lo + (y.hi - y.lo) * i / 4;
    s += Text(x(vx), y.a + 14, Num(vx), "text-anchor=\"middle\"");
    s += Text(x.a - 4, y(vy) + 4, Num(vy), "text-anchor=\"end\"");
    s += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>", x.a, x.b,
        y(vy), y(vy));
  }
  s += Text((x.a + x.b) / 2, y.a + 30, x_label, "text-anchor=\"middle\"");
  s += Text(
      12, (y.a + y.b) / 2, y_label,
      fmt::format("text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1f})\"", (y.a + y.b) / 2));
  return s;
}

std::string Svg(int w, int h, const std::string& title, const std::string& body) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-label=\"{}\"><title>{}</title>{}{}</svg>",
      w, h, w, h, HtmlEscape(title), HtmlEscape(title),
      Text(w / 2.0, 16, title, "text-anchor=\"middle\" class=\"title\""), body);
}

std::string Pct(double v) {
  return fmt::format("{:.2f} %", 100 * v);
}

}  // namespace

std::string LineChartSvg(const std::string& title, const std::vector<Series>& series,
                         const std::string& x_label, const std::string& y_label) {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  const double pad = (y1 - y0) * 0.05 + 1e-9;
  const int w = 440, h = 260;
  const Axis x{x0, x1, 60, w - 10.0}, y{y0 - pad, y1 + pad, h - 45.0, 28};
  std::string body = Frame(x, y, x_label, y_label);
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::string pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      pts += fmt::format("{:.1f},{:.1f} ", x(s.x[i]), y(s.y[i]));
      body += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", x(s.x[i]),
                          y(s.y[i]), s.color);
    }
    body += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
                        pts, s.color);
    body += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>", w - 140,
                        34 + 14 * k, s.color);
    body += Text(w - 126, 43 + 14 * k, s.name);
  }
  return Svg(w, h, title, body);
}

namespace {

std::string Heatmap(const json& meta) {
  const json& conf = meta["confusion"];
  const json& classes = meta["classes"];
  const size_t n = conf.size();
  if (n == 0 || n > 40) return "";
  const int cell = n > 20 ? 16 : 30, left = 110, top = 40;
  const int w = left + cell * static_cast<int>(n) + 10, h = top + cell * static_cast<int>(n) + 30;
  std::string body;
  for (size_t t = 0; t < n; ++t) {
    int64_t row = 0;
    for (const auto& v : conf[t]) row += v.get<int64_t>();
    const std::string name = t < classes.size() ? classes[t].get<std::string>() : std::to_string(t);
    body += Text(left - 4, top + cell * (t + 0.5) + 4, name.substr(0, 14), "text-anchor=\"end\"");
    for (size_t p = 0; p < n && p < conf[t].size(); ++p) {
      const int64_t v = conf[t][p].get<int64_t>();
      const double f = row ? static_cast<double>(v) / static_cast<double>(row) : 0;
      const std::string fill = t == p ? fmt::format("rgba(31,119,180,{:.2f})", 0.1 + 0.9 * f)
                                      : fmt::format("rgba(214,39,40,{:.2f})", std::min(1.0, 3 * f));
      body += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"/>",
          left + cell * p, top + cell * t, cell, cell, fill);
      if (cell >= 30 && v)
        body += Text(left + cell * (p + 0.5), top + cell * (t + 0.5) + 4, std::to_string(v),
                     "text-anchor=\"middle\" class=\"small\"");
    }
  }
  body += Text(left + cell * n / 2.0, h - 8, "predicted class (columns), true class (rows)",
               "text-anchor=\"middle\"");
  return Svg(w, h, "confusion matrix", body);
}

// Horizontal bars, one per row: label, value.
std::string Bars(const std::string& title, const std::vector<std::pair<std::string, double>>& rows,
                 const std::string& unit) {
  if (rows.empty()) return "";
  double hi = 0;
  for (const auto& [_, v] : rows) hi = std::max(hi, v);
  const int left = 170, bar = 14, w = 560, h = 40 + bar * static_cast<int>(rows.size()) + 10;
  std::string body;
  for (size_t i = 0; i < rows.size(); ++i) {
    const double len = hi > 0 ? (w - left - 80) * std::max(0.0, rows[i].second) / hi : 0;
    body += Text(left - 4, 40 + bar * i + 11, rows[i].first.substr(0, 26),
                 "text-anchor=\"end\" class=\"small\"");
    body += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>",
                        left, 40 + bar * i + 1, len, bar - 2, kColors[0]);
    body += Text(left + len + 4, 40 + bar * i + 11, Num(rows[i].second) + unit, "class=\"small\"");
  }
  return Svg(w, h, title, body);
}

std::string ParetoSvg(const std::vector<SweepRow>& rows) {
  if (rows.empty()) return "";
  double x0 = 1e300, x1 = 0, y0 = 1, y1 = 0, r1 = 1;
  for (const SweepRow& r : rows) {
    x0 = std::min(x0, static_cast<double>(r.instructions));
    x1 = std::max(x1, static_cast<double>(r.instructions));
    y0 = std::min(y0, r.int8_acc), y1 = std::max(y1, r.int8_acc);
    r1 = std::max(r1, static_cast<double>(r.ram_bytes));
  }
  const double px = (x1 - x0) * 0.08 + 1, py = (y1 - y0) * 0.1 + 0.005;
  const int w = 720, h = 380;
  // Room on the right for the point labels.
  const Axis x{x0 - px, x1 + px, 70, w - 150.0}, y{100 * (y0 - py), 100 * (y1 + py), h - 45.0, 30};
  std::string body = Frame(x, y, "instructions per inference (fewer is better)", "int8 accuracy %");
  for (const SweepRow& r : rows) {
    const double cx = x(static_cast<double>(r.instructions)), cy = y(100 * r.int8_acc);
    const double rad = 4 + 10 * std::sqrt(static_cast<double>(r.ram_bytes) / r1);
    const std::string color = r.pareto ? kColors[2] : kColors[0];
    body += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\" fill-opacity=\"{}\" "
        "stroke=\"{}\" stroke-width=\"{}\"><title>{}</title></circle>",
        cx, cy, rad, color, r.fits ? "0.6" : "0.0", color, r.best ? 3 : 1.5,
        HtmlEscape(fmt::format("{} / {} on {}: {:.2f} %, {} instructions, {} bytes RAM{}", r.model,
                               r.squeeze, r.target, 100 * r.int8_acc, r.instructions, r.ram_bytes,
                               r.fits ? "" : ", does not fit")));
    body += Text(cx + rad + 2, cy + 4, r.model + "/" + r.squeeze + (r.best ? " (best)" : ""),
                 "class=\"small\"");
  }
  body += Text(80, 44, "green: Pareto front; circle area ~ RAM; hollow: does not fit",
               "class=\"small\"");
  return Svg(w, h, "sweep: accuracy vs instructions vs RAM", body);
}

// The run's artifacts and their recorded parents, in columns by depth.
std::string LineageSvg(const std::map<std::string, ArtifactRecord>& nodes) {
  if (nodes.empty()) return "";
  std::map<std::string, int> depth;
  std::function<int(const std::string&, int)> d = [&](const std::string& id, int guard) -> int {
    if (auto it = depth.find(id); it != depth.end()) return it->second;
    int best = 0;
    if (guard < 64)
      for (const std::string& p : nodes.at(id).parents)
        if (nodes.count(p)) best = std::max(best, d(p, guard + 1) + 1);
    return depth[id] = best;
  };
  std::map<int, std::vector<std::string>> cols;
  for (const auto& [id, _] : nodes) cols[d(id, 0)].push_back(id);
  const int bw = 190, bh = 34, gx = 40, gy = 10;
  size_t rows = 0;
  for (const auto& [_, c] : cols) rows = std::max(rows, c.size());
  const int w = static_cast<int>(cols.size()) * (bw + gx) + 20;
  const int h = 30 + static_cast<int>(rows) * (bh + gy) + 10;
  std::map<std::string, std::pair<int, int>> at;
  for (const auto& [c, ids] : cols)
    for (size_t i = 0; i < ids.size(); ++i)
      at[ids[i]] = {10 + c * (bw + gx), 30 + static_cast<int>(i) * (bh + gy)};
  std::string body;
  for (const auto& [id, a] : nodes)
    for (const std::string& p : a.parents)
      if (at.count(p))
        body += fmt::format(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\" "
            "marker-end=\"url(#arrow)\"/>",
            at[p].first + bw, at[p].second + bh / 2, at[id].first, at[id].second + bh / 2);
  for (const auto& [id, a] : nodes) {
    const auto [x, y] = at[id];
    body += fmt::format(
        "<g><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" "
        "class=\"node\"/>",
        HtmlEscape(a.id + "\n" + a.label), x, y, bw, bh);
    body += Text(x + 5, y + 13, a.kind, "class=\"small kind\"");
    std::string label = a.label.size() > 30 ? a.label.substr(0, 29) + "…" : a.label;
    body += Text(x + 5, y + 27, label, "class=\"small\"") + "</g>";
  }
  const std::string defs =
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" "
      "markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" "
      "fill=\"#999\"/></marker></defs>";
  return Svg(w, h, "lineage of this run's artifacts", defs + body);
}

const char* const kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}.bad{color:#b00;font-weight:bold}.good{color:#070}
svg{margin:.5em 1em .5em 0;font-size:11px;background:#fff;max-width:100%;height:auto}svg .title{font-weight:bold;font-size:12px}
svg .small{font-size:10px}svg .kind{fill:#666}svg .frame{fill:none;stroke:#888}
svg .grid{stroke:#eee}svg .node{fill:#f7f9fc;stroke:#7a8ca5}
.muted{color:#777}code{font-size:.9em}
)css";

json Meta(const ArtifactRecord& a) {
  json j = json::parse(a.metadata, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string Training(const std::vector<std::pair<std::string, ArtifactRecord>>& runs) {
  std::string s;
  for (const auto& [step, a] : runs) {
    const json m = Meta(a);
    if (!m.contains("epochs") || m["epochs"].empty()) continue;
    Series tl{"train loss", kColors[0], {}, {}}, vl{"val loss", kColors[1], {}, {}};
    Series ta{"train acc", kColors[0], {}, {}}, va{"val acc", kColors[1], {}, {}};
    for (const auto& e : m["epochs"]) {
      const double ep = e.value("epoch", 0);
      tl.x.push_back(ep), tl.y.push_back(e.value("train_loss", NAN));
      vl.x.push_back(ep), vl.y.push_back(e.value("val_loss", NAN));
      ta.x.push_back(ep), ta.y.push_back(100 * e.value("train_acc", NAN));
      va.x.push_back(ep), va.y.push_back(100 * e.value("val_acc", NAN));
    }
    s += fmt::format("<h3>{} <span class=\"muted\">{}: {}</span></h3>\n", HtmlEscape(step),
                     HtmlEscape(a.id), HtmlEscape(a.label));
    s += LineChartSvg("loss", {tl, vl}, "epoch", "cross-entropy");
    s += LineChartSvg("accuracy", {ta, va}, "epoch", "%") + "\n";
  }
  return s;
}

std::string Evaluations(const std::vector<std::pair<std::string, ArtifactRecord>>& evals) {
  if (evals.empty()) return "";
  std::string s =
      "<table><tr><th class=l>step</th><th class=l>target</th><th>samples</th><th>accuracy</th>"
      "<th>host int8 / float</th><th class=l>board = host</th></tr>\n";
  for (const auto& [step, a] : evals) {
    const json m = Meta(a);
    const std::string target = m.value("target", "host");
    const bool same = m.value("accuracy", -1.0) == m.value("host_accuracy", -2.0);
    s += fmt::format(
        "<tr><td class=l>{}</td><td class=l>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=l>{}"
        "</td></tr>\n",
        HtmlEscape(step), HtmlEscape(target), m.value("samples", 0), Pct(m.value("accuracy", 0.0)),
        Pct(m.value("host_accuracy", 0.0)),
        target == "host" ? "-"
        : same           ? "<span class=good>equal</span>"
                         : "<span class=bad>DIFFERENT</span>");
  }
  s += "</table>\n";
  // Confusion matrices: the steps written by hand (sweep steps have a '/'), at most four.
  int shown = 0;
  for (const auto& [step, a] : evals)
    if (step.find('/') == std::string::npos && shown < 4) {
      s += "<h3>" + HtmlEscape(step) + "</h3>" + Heatmap(Meta(a)) + "\n";
      ++shown;
    }
  if (!shown) s += "<h3>" + HtmlEscape(evals[0].first) + "</h3>" + Heatmap(Meta(evals[0].second));
  return s;
}

std::string Quantization(const std::vector<std::pair<std::string, ArtifactRecord>>& models) {
  std::string s;
  for (const auto& [step, a] : models) {
    const json m = Meta(a);
    if (!m.contains("sqnr")) continue;
    s += fmt::format(
        "<h3>{} <span class=muted>{}, {} calibration samples, {} bytes of weights</span></h3>\n",
        HtmlEscape(step), HtmlEscape(m.value("method", "")), m.value("calibration_samples", 0),
        m.value("weight_bytes", 0));
    std::vector<std::pair<std::string, double>> bars;
    std::string t = "<table><tr><th class=l>layer</th><th class=l>op</th><th>SQNR dB</th></tr>";
    for (const auto& r : m["sqnr"]) {
      const bool finite = r["sqnr_db"].is_number();
      const double db = finite ? r["sqnr_db"].get<double>() : 0;
      t += fmt::format("<tr><td class=l>{}</td><td class=l>{}</td><td>{}</td></tr>",
                       HtmlEscape(r.value("node", "")), HtmlEscape(r.value("op", "")),
                       finite ? fmt::format("{:.1f}", db) : "exact");
      if (finite) bars.emplace_back(r.value("node", ""), db);
    }
    s += Bars("per-layer SQNR (higher is better)", bars, " dB") + t + "</table>\n";
  }
  return s;
}

std::string Profiles(const std::vector<std::pair<std::string, ArtifactRecord>>& fws) {
  std::string s;
  for (const auto& [step, a] : fws) {
    const json m = Meta(a);
    if (!m.contains("instructions")) continue;
    const bool fits = m.value("fits", false);
    s += fmt::format(
        "<h3>{} <span class=muted>{} on {}</span></h3><p>{} instructions per inference "
        "({:.3f} MAC/instruction, ~{:.2f} ms); flash {} of {} bytes, RAM {} of {} bytes: {}</p>\n",
        HtmlEscape(step), HtmlEscape(a.id), HtmlEscape(m.value("board", m.value("target", ""))),
        m.value("instructions", 0), m.value("macs_per_instruction", 0.0),
        m.value("latency_ms", 0.0), m.value("flash_bytes", 0), m.value("board_flash_bytes", 0),
        m.value("ram_bytes", 0), m.value("board_ram_bytes", 0),
        fits ? "<span class=good>fits</span>" : "<span class=bad>DOES NOT FIT</span>");
    std::vector<std::pair<std::string, double>> bars;
    std::string t =
        "<table><tr><th>#</th><th class=l>op</th><th class=l>layer</th><th>MACs</th>"
        "<th>instructions</th><th>MAC/instr</th><th>arena offset</th></tr>";
    int i = 0;
    for (const auto& l : m.value("layers", json::array())) {
      t += fmt::format(
          "<tr><td>{}</td><td class=l>{}</td><td class=l>{}</td><td>{}</td><td>{}</td><td>{:.3f}"
          "</td><td>{}</td></tr>",
          i++, HtmlEscape(l.value("op", "")), HtmlEscape(l.value("name", "")), l.value("macs", 0),
          l.value("instructions", 0), l.value("macs_per_instruction", 0.0),
          l.value("arena_offset", 0));
      bars.emplace_back(l.value("op", "") + " " + l.value("name", ""),
                        static_cast<double>(l.value("instructions", int64_t{0})));
    }
    s += Bars("instructions per layer", bars, "") + t + "</table>\n";
  }
  return s;
}

std::string SweepSection(const std::vector<SweepRow>& rows) {
  if (rows.empty()) return "";
  std::string s =
      "<table><tr><th class=l>model</th><th class=l>squeeze</th><th class=l>target</th>"
      "<th>float %</th><th>int8 %</th><th>board %</th><th>MACs</th><th>instructions</th>"
      "<th>RAM</th><th>flash</th><th class=l>fits</th></tr>\n";
  for (const SweepRow& r : rows)
    s += fmt::format(
        "<tr><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td><td>{:.2f}</td><td>{:.2f}"
        "</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td "
        "class=l>{}{}{}</td></tr>\n",
        HtmlEscape(r.model), HtmlEscape(r.squeeze), HtmlEscape(r.target), 100 * r.float_acc,
        100 * r.int8_acc, r.device_acc < 0 ? "-" : fmt::format("{:.2f}", 100 * r.device_acc),
        r.macs, r.instructions, r.ram_bytes, r.flash_bytes,
        r.fits ? "<span class=good>yes</span>" : "<span class=bad>no</span>",
        r.pareto ? ", Pareto" : "", r.best ? ", <b>best</b>" : "");
  return s + "</table>\n" + ParetoSvg(rows);
}

}  // namespace

Result<std::string> RenderReport(const ReportInput& in, MetaStore& db) {
  // The artifacts of every step, by kind, plus the inputs they name (for lineage).
  std::vector<std::pair<std::string, ArtifactRecord>> runs, evals, int8, fws;
  std::map<std::string, ArtifactRecord> nodes;
  for (const StepOutcome& o : in.steps)
    for (const auto& [out, id] : o.artifact_of) {
      TML_ASSIGN_OR_RETURN(ArtifactRecord a, db.GetArtifact(id));
      if (a.kind == "training run") runs.emplace_back(o.step, a);
      if (a.kind == "evaluation") evals.emplace_back(o.step, a);
      if (a.kind == "int8 model") int8.emplace_back(o.step, a);
      if (a.kind == "firmware") fws.emplace_back(o.step, a);
      nodes[a.id] = a;
    }
  std::set<std::string> missing;
  for (const auto& [_, a] : nodes)
    for (const std::string& p : a.parents)
      if (!nodes.count(p)) missing.insert(p);
  for (const std::string& p : missing) {
    TML_ASSIGN_OR_RETURN(nodes[p], db.GetArtifact(p));
  }

  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  int cached = 0;
  double seconds = 0;
  for (const StepOutcome& o : in.steps) cached += o.cached, seconds += o.seconds;
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += fmt::format("<title>{} run {} - TinyMLaaS</title><style>{}</style></head><body>\n",
                   HtmlEscape(in.spec.name), in.run_id, kStyle);
  h += fmt::format(
      "<h1>Pipeline {} <span class=muted>run {}</span></h1><p><code>{}</code>, {}, tinymlaas {}: "
      "{} steps, {} ran ({:.1f} s), {} cached.</p>\n",
      HtmlEscape(in.spec.name), in.run_id, HtmlEscape(in.spec.file), when, TML_VERSION,
      in.steps.size(), in.steps.size() - static_cast<size_t>(cached), seconds, cached);
  // Long step lists (sweeps) start folded.
  h += fmt::format(
      "<h2 id=steps>Steps</h2><details{}><summary>{} steps</summary><table><tr><th "
      "class=l>step</th><th class=l>component</th><th class=l>status</th><th>seconds</th><th "
      "class=l>outputs</th></tr>\n",
      in.steps.size() <= 12 ? " open" : "", in.steps.size());
  for (const StepOutcome& o : in.steps) {
    std::string outs;
    for (const auto& [k, v] : o.outputs)
      outs += fmt::format("{}{} = {}", outs.empty() ? "" : "<br>", HtmlEscape(k), HtmlEscape(v));
    h += fmt::format(
        "<tr><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td><td>{}</td><td class=l>{}"
        "</td></tr>\n",
        HtmlEscape(o.step), HtmlEscape(o.component), o.cached ? "cached" : "ran",
        o.cached ? "-" : fmt::format("{:.1f}", o.seconds), outs);
  }
  h += "</table></details>\n";
  const auto section = [&](const char* id, const char* title, const std::string& body) {
    if (!body.empty()) h += fmt::format("<h2 id={}>{}</h2>\n{}", id, title, body);
  };
  section("sweep", "Sweep results and Pareto front", SweepSection(in.sweep));
  section("training", "Training curves", Training(runs));
  section("evaluation", "Evaluation", Evaluations(evals));
  section("quantization", "Quantization (int8, per-layer SQNR against the float model)",
          Quantization(int8));
  section("profile", "Per-layer profile on the target (QEMU, exact instruction counts)",
          Profiles(fws));
  section("lineage", "Lineage", LineageSvg(nodes));
  h += "</body></html>\n";
  return h;
}

}  // namespace tml
