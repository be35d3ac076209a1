#include "pipeline/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/svg_chart.h"

namespace tml {

using json = nlohmann::json;

namespace {

std::string Pct(double v) {
  return fmt::format("{:.2f} %", 100 * v);
}

std::string Heatmap(const json& meta) {
  std::vector<std::string> classes;
  std::vector<std::vector<int64_t>> m;
  for (const auto& c : meta.value("classes", json::array()))
    classes.push_back(c.is_string() ? c.get<std::string>() : c.dump());
  for (const auto& row : meta.value("confusion", json::array())) {
    m.emplace_back();
    for (const auto& v : row) m.back().push_back(v.is_number_integer() ? v.get<int64_t>() : 0);
  }
  return chart::Confusion(classes, m);
}

std::string ParetoSvg(const std::vector<SweepRow>& rows) {
  if (rows.empty()) return "";
  double r1 = 1;
  for (const SweepRow& r : rows) r1 = std::max(r1, static_cast<double>(r.ram_bytes));
  std::vector<chart::Point> points;
  for (const SweepRow& r : rows)
    points.push_back({r.model + "/" + r.squeeze + (r.best ? " (best)" : ""),
                      fmt::format("{} / {} on {}: {:.2f} %, {} instructions, {} bytes RAM{}",
                                  r.model, r.squeeze, r.target, 100 * r.int8_acc, r.instructions,
                                  r.ram_bytes, r.fits ? "" : ", does not fit"),
                      static_cast<double>(r.instructions), 100 * r.int8_acc,
                      std::sqrt(static_cast<double>(r.ram_bytes) / r1), r.pareto, !r.fits, r.best});
  return chart::Scatter("sweep: accuracy vs instructions vs RAM", points,
                        "instructions per inference (fewer is better)", "int8 accuracy %",
                        "green: Pareto front; circle area ~ RAM; hollow: does not fit");
}

// The run's artifacts and their recorded parents, in columns by depth.
std::string LineageSvg(const std::map<std::string, ArtifactRecord>& nodes) {
  if (nodes.empty()) return "";
  std::vector<chart::GraphNode> g;
  for (const auto& [id, a] : nodes) g.push_back({id, a.kind, a.label, a.parents});
  return chart::Lineage("lineage of this run's artifacts", g);
}

const char* const kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}.bad{color:#b00;font-weight:bold}.good{color:#070}
svg{margin:.5em 1em .5em 0;background:#fff;max-width:100%;height:auto}
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
    chart::Series tl{"train loss", chart::Color(0), {}, {}},
        vl{"val loss", chart::Color(1), {}, {}};
    chart::Series ta{"train acc", chart::Color(0), {}, {}}, va{"val acc", chart::Color(1), {}, {}};
    for (const auto& e : m["epochs"]) {
      const double ep = e.value("epoch", 0);
      tl.x.push_back(ep), tl.y.push_back(e.value("train_loss", NAN));
      vl.x.push_back(ep), vl.y.push_back(e.value("val_loss", NAN));
      ta.x.push_back(ep), ta.y.push_back(100 * e.value("train_acc", NAN));
      va.x.push_back(ep), va.y.push_back(100 * e.value("val_acc", NAN));
    }
    s += fmt::format("<h3>{} <span class=\"muted\">{}: {}</span></h3>\n", HtmlEscape(step),
                     HtmlEscape(a.id), HtmlEscape(a.label));
    s += chart::Line("loss", {tl, vl}, {"epoch", "cross-entropy", std::nullopt, true});
    s += chart::Line("accuracy", {ta, va}, {"epoch", "%", std::nullopt, true}) + "\n";
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
    s += chart::Bars("per-layer SQNR (higher is better)", bars, " dB") + t + "</table>\n";
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
    s += chart::Bars("instructions per layer", bars, "") + t + "</table>\n";
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
  std::tm utc{};
  gmtime_r(&now, &utc);  // not std::gmtime: workers render reports at the same time
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &utc);
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
