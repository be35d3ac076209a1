// The one chart implementation (core/svg_chart.h) that the reports and the dashboard share.
#include "core/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>

namespace tml {
namespace {

// The text of every <text> element (with `attr` among its attributes), in order.
std::vector<std::string> Texts(const std::string& svg, const std::string& attr = "") {
  std::vector<std::string> out;
  const std::regex re("<text[^>]*" + attr + "[^>]*>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

double Width(const std::string& svg) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(svg, m, std::regex("width=\"([0-9.]+)\"")));
  return std::stod(m[1]);
}

TEST(SvgChart, LineScalesIntoItsBoxAndSkipsMissingValues) {
  const std::string svg =
      chart::Line("loss", {{"a", "#000", {1, 2, 3}, {3, NAN, 1}}}, {"epoch", "value"});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("points=\"56.0,"), std::string::npos) << svg;  // first x at the left edge
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"a\""), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
}

TEST(SvgChart, EpochAxesTickOnWholeNumbersOnly) {
  const chart::Series s{"val acc", "#000", {1, 2, 3}, {0.5, 0.6, 0.7}};
  const std::string svg = chart::Line("accuracy", {s}, {"epoch", "fraction", {{0.0, 1.0}}, true});
  std::set<std::string> ticks;
  for (const std::string& t : Texts(svg)) ticks.insert(t);
  EXPECT_TRUE(ticks.count("1") && ticks.count("2") && ticks.count("3")) << svg;
  for (const std::string& t : Texts(svg))
    EXPECT_EQ(t.find("1.5"), std::string::npos) << "a half epoch tick: " << t;
  // Without integer_x the same axis may tick between epochs.
  const std::string free = chart::Line("accuracy", {s}, {"epoch", "fraction", {{0.0, 1.0}}, false});
  bool half = false;
  for (const std::string& t : Texts(free)) half |= t == "1.5";
  EXPECT_TRUE(half);
  // One epoch only: still an axis, no division by zero.
  const std::string one = chart::Line("loss", {{"x", "#000", {1}, {0.3}}}, {"epoch", "", {}, true});
  EXPECT_EQ(one.find("nan"), std::string::npos);
}

TEST(SvgChart, LongTitlesWrapInsteadOfBeingCut) {
  const std::string title =
      "accuracy vs instructions (green: Pareto front, hollow: does not fit, circle area ~ RAM) "
      "for every cell of the sweep";
  const std::string svg = chart::Scatter(title, {{"a", "", 10, 0.5}}, "instructions", "accuracy");
  const double w = Width(svg);
  int title_lines = 0;
  std::string joined;
  for (const std::string& t : Texts(svg, "font-weight=\"600\"")) {
    ++title_lines;
    EXPECT_LE(t.size() * 7.4, w - 16) << "line wider than the chart: " << t;
    joined += (joined.empty() ? "" : " ") + t;
  }
  EXPECT_GE(title_lines, 2);
  EXPECT_EQ(joined, title);  // every word is shown
}

TEST(SvgChart, TextIsEscapedAndLinksAreEncoded) {
  const std::string svg = chart::Lineage(
      "lineage of <x>",
      {{"model:a/b", "float model", "<cat>", {"data:1"}}, {"data:1", "dataset", "d", {}}},
      "model:a/b", "#/lineage/");
  EXPECT_EQ(svg.find("<cat>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;cat&gt;"), std::string::npos);
  EXPECT_NE(svg.find("href=\"#/lineage/model%3Aa%2Fb\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("class=\"lineage-edge\""), std::string::npos);
  EXPECT_NE(svg.find("data-id=\"data:1\""), std::string::npos);
  // Without a link prefix the boxes are plain groups (the static report).
  EXPECT_EQ(chart::Lineage("l", {{"a", "k", "l", {"a"}}}).find("<a "), std::string::npos);
}

TEST(SvgChart, EmptyAndDegenerateInputsStillDraw) {
  EXPECT_NE(chart::Bars("nothing", {}).find("no data"), std::string::npos);
  EXPECT_EQ(chart::Confusion({}, {}), "");
  const std::string arena =
      chart::Arena("arena", {{0, 64, 0, 1}, {64, 32, 1, 3}}, 0, {"conv", "fc"});
  EXPECT_EQ(arena.find("nan"), std::string::npos);
  EXPECT_EQ(arena.find("inf"), std::string::npos);
  EXPECT_NE(arena.find("live from layer 1 to the end"), std::string::npos);
  EXPECT_EQ(HtmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

}  // namespace
}  // namespace tml
