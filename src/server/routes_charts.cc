// POST /api/charts: the dashboard's charts drawn by the one chart implementation the
// HTML reports use (core/svg_chart.h). The body names the kind and carries the data;
// the answer is the SVG, which the dashboard inserts into its page.
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <regex>

#include "core/svg_chart.h"
#include "server/api.h"

namespace tml {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxItems = 20000;  // points, rows, buffers or nodes in one chart

// Typed reads of the body with errors that name the field.
struct Reader {
  Status error = Status::Ok();
  void Fail(const std::string& where, const std::string& what) {
    if (error.ok()) error = Status::Errorf("{}: {}", where, what);
  }
  double Num(const json& j, const std::string& where) {
    if (!j.is_number()) Fail(where, "expected a number");
    return j.is_number() ? j.get<double>() : 0;
  }
  std::string Str(const json& o, const char* key, const std::string& where,
                  const std::string& fallback = "") {
    if (!o.contains(key)) return fallback;
    const json& v = o[key];
    if (!v.is_string()) Fail(where + "." + key, "expected a string");
    if (v.is_string() && v.get_ref<const std::string&>().size() > 500)
      Fail(where + "." + key, "longer than 500 characters");
    return v.is_string() ? v.get<std::string>() : fallback;
  }
  bool Bool(const json& o, const char* key, const std::string& where) {
    if (!o.contains(key)) return false;
    if (!o[key].is_boolean()) Fail(where + "." + key, "expected true or false");
    return o[key].is_boolean() && o[key].get<bool>();
  }
  const json& Array(const json& o, const char* key, const std::string& where) {
    static const json empty = json::array();
    if (!o.contains(key)) return empty;
    if (!o[key].is_array()) Fail(where + "." + key, "expected an array");
    if (o[key].is_array() && o[key].size() > kMaxItems)
      Fail(where + "." + key, fmt::format("more than {} items", kMaxItems));
    return o[key].is_array() && o[key].size() <= kMaxItems ? o[key] : empty;
  }
  std::string Color(const json& o, const std::string& where, size_t k) {
    std::string c = Str(o, "color", where, chart::Color(k));
    static const std::regex hex("#[0-9a-fA-F]{3,8}");
    if (!std::regex_match(c, hex)) Fail(where + ".color", "expected a colour like #1f77b4");
    return c;
  }
};

Result<std::string> Draw(const json& b) {
  Reader r;
  const std::string kind = b.value("kind", ""), title = r.Str(b, "title", "body");
  std::string svg;
  if (kind == "line") {
    std::vector<chart::Series> series;
    const json& list = r.Array(b, "series", "body");
    for (size_t k = 0; k < list.size(); ++k) {
      const std::string at = fmt::format("series[{}]", k);
      if (!list[k].is_object()) {
        r.Fail(at, "expected an object");
        break;
      }
      chart::Series s{r.Str(list[k], "name", at), r.Color(list[k], at, k), {}, {}};
      const json& pts = r.Array(list[k], "points", at);
      for (size_t i = 0; i < pts.size(); ++i) {
        const std::string pat = fmt::format("{}.points[{}]", at, i);
        if (!pts[i].is_array() || pts[i].size() != 2) {
          r.Fail(pat, "expected [x, y]");
          break;
        }
        s.x.push_back(r.Num(pts[i][0], pat));
        // null: a missing value (e.g. no validation loss yet)
        s.y.push_back(pts[i][1].is_null() ? NAN : r.Num(pts[i][1], pat));
      }
      series.push_back(std::move(s));
    }
    chart::LineOptions o{r.Str(b, "x_label", "body"), r.Str(b, "y_label", "body"), std::nullopt,
                         r.Bool(b, "integer_x", "body")};
    if (b.contains("y_range")) {
      const json& yr = b["y_range"];
      if (!yr.is_array() || yr.size() != 2)
        r.Fail("body.y_range", "expected [low, high]");
      else if (r.Num(yr[0], "body.y_range") >= r.Num(yr[1], "body.y_range"))
        r.Fail("body.y_range", "low must be below high");
      else
        o.y_range = {{yr[0].get<double>(), yr[1].get<double>()}};
    }
    svg = chart::Line(title, series, o);
  } else if (kind == "bars") {
    std::vector<std::pair<std::string, double>> rows;
    const json& list = r.Array(b, "rows", "body");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = fmt::format("rows[{}]", i);
      if (!list[i].is_array() || list[i].size() != 2 || !list[i][0].is_string()) {
        r.Fail(at, "expected [label, value]");
        break;
      }
      rows.emplace_back(list[i][0].get<std::string>().substr(0, 200), r.Num(list[i][1], at));
    }
    svg = chart::Bars(title, rows, r.Str(b, "unit", "body"));
  } else if (kind == "scatter") {
    std::vector<chart::Point> points;
    const json& list = r.Array(b, "points", "body");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = fmt::format("points[{}]", i);
      if (!list[i].is_object()) {
        r.Fail(at, "expected an object");
        break;
      }
      const json& p = list[i];
      points.push_back(
          {r.Str(p, "label", at), r.Str(p, "tooltip", at), r.Num(p.value("x", json()), at + ".x"),
           r.Num(p.value("y", json()), at + ".y"),
           p.contains("size") ? r.Num(p["size"], at + ".size") : 0, r.Bool(p, "highlight", at),
           r.Bool(p, "hollow", at), r.Bool(p, "bold", at)});
    }
    svg = chart::Scatter(title, points, r.Str(b, "x_label", "body"), r.Str(b, "y_label", "body"),
                         r.Str(b, "legend", "body"));
  } else if (kind == "arena") {
    std::vector<chart::ArenaBuffer> buffers;
    const json& list = r.Array(b, "buffers", "body");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = fmt::format("buffers[{}]", i);
      const json& x = list[i];
      auto integer = [&](const char* key) -> int64_t {
        const json v = x.is_object() ? x.value(key, json()) : json();
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (1LL << 40)) {
          r.Fail(at + "." + key, "expected a non-negative integer");
          return 0;
        }
        return v.get<int64_t>();
      };
      chart::ArenaBuffer a{integer("offset"), integer("bytes"), 0, 0};
      a.first = static_cast<int>(std::min<int64_t>(integer("first"), 1 << 20));
      a.last = static_cast<int>(std::min<int64_t>(integer("last"), 1 << 20));
      if (!r.error.ok()) break;
      buffers.push_back(a);
    }
    std::vector<std::string> layers;
    for (const json& l : r.Array(b, "layers", "body")) {
      if (!l.is_string()) {
        r.Fail("body.layers", "expected layer names");
        break;
      }
      layers.push_back(l.get<std::string>().substr(0, 100));
    }
    const json ab = b.value("arena_bytes", json());
    if (!ab.is_number_integer() || ab.get<int64_t>() < 0)
      r.Fail("body.arena_bytes", "expected a non-negative integer");
    if (r.error.ok()) svg = chart::Arena(title, buffers, ab.get<int64_t>(), layers);
  } else if (kind == "lineage") {
    std::vector<chart::GraphNode> nodes;
    const json& list = r.Array(b, "nodes", "body");
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = fmt::format("nodes[{}]", i);
      if (!list[i].is_object()) {
        r.Fail(at, "expected an object");
        break;
      }
      index[r.Str(list[i], "id", at)] = i;
      nodes.push_back(
          {r.Str(list[i], "id", at), r.Str(list[i], "kind", at), r.Str(list[i], "label", at), {}});
    }
    const json& edges = r.Array(b, "edges", "body");
    for (size_t i = 0; i < edges.size(); ++i) {
      const std::string at = fmt::format("edges[{}]", i);
      if (!edges[i].is_object()) {
        r.Fail(at, "expected an object");
        break;
      }
      const std::string child = r.Str(edges[i], "child", at);
      if (auto it = index.find(child); it != index.end())
        nodes[it->second].parents.push_back(r.Str(edges[i], "parent", at));
    }
    const std::string prefix = r.Str(b, "link_prefix", "body");
    if (!prefix.empty() && prefix[0] != '#')
      r.Fail("body.link_prefix", "must be a fragment link starting with #");
    svg = chart::Lineage(title, nodes, r.Str(b, "focus", "body"), prefix);
  }
  if (!r.error.ok()) return r.error;
  return svg;
}

}  // namespace

void AddChartRoutes(std::vector<Route>& r) {
  Route c{"POST", "/api/charts",
          "Draws a chart (line, bars, scatter, arena, lineage) as SVG with the reports' chart code",
          "charts"};
  c.produces = "image/svg+xml";
  c.body = {
      {"type", "object"},
      {"required", {"kind", "title"}},
      {"properties",
       {{"kind", {{"type", "string"}, {"enum", {"line", "bars", "scatter", "arena", "lineage"}}}},
        {"title", {{"type", "string"}, {"maxLength", 500}}},
        {"series", {{"type", "array"}, {"maxItems", 64}}},
        {"rows", {{"type", "array"}, {"maxItems", kMaxItems}}},
        {"points", {{"type", "array"}, {"maxItems", kMaxItems}}},
        {"buffers", {{"type", "array"}, {"maxItems", kMaxItems}}},
        {"layers", {{"type", "array"}, {"maxItems", kMaxItems}}},
        {"nodes", {{"type", "array"}, {"maxItems", kMaxItems}}},
        {"edges", {{"type", "array"}, {"maxItems", kMaxItems}}}}}};
  c.handler = [](ApiContext&, const ApiRequest& q) {
    auto svg = Draw(q.body);
    if (!svg.ok()) return FromStatus(svg.status());
    ApiResponse out;
    out.raw = std::move(*svg);
    out.content_type = "image/svg+xml; charset=utf-8";
    return out;
  };
  r.push_back(c);
}

}  // namespace tml
