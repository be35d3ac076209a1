#include "pipeline/lineage.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <set>

#include "core/sha256.h"

namespace tml {

std::vector<std::string> LineageGraph::Parents(const std::string& id) const {
  std::vector<std::string> out;
  for (const auto& [p, c] : edges)
    if (c == id) out.push_back(p);
  return out;
}

std::vector<std::string> LineageGraph::Children(const std::string& id) const {
  std::vector<std::string> out;
  for (const auto& [p, c] : edges)
    if (p == id) out.push_back(c);
  return out;
}

Result<ArtifactRecord> ResolveArtifact(MetaStore& db, const std::string& what, bool files) {
  if (what.empty()) return Status::Error("no artifact given");
  std::string key = what;
  std::error_code ec;
  if (files && std::filesystem::is_regular_file(what, ec)) {  // a file: its content hash
    TML_ASSIGN_OR_RETURN(std::string h, Sha256File(what));
    key = h.substr(0, 32);
  }
  TML_ASSIGN_OR_RETURN(auto found, db.FindArtifacts(key));
  for (const ArtifactRecord& a : found)
    if (a.id == key) return a;
  if (found.empty())
    return Status::NotFound("no artifact '{}'{}", what,
                            files ? " (see `tinymlaas lineage --list`)" : "");
  if (found.size() > 1) {
    std::string ids;
    for (size_t i = 0; i < found.size() && i < 8; ++i) ids += "\n  " + found[i].id;
    return Status::Errorf("'{}' names {} artifacts; give more of the id:{}", what, found.size(),
                          ids);
  }
  return found[0];
}

namespace {

// Walks parents (up) or children (down) from the focus, breadth first.
Status Walk(MetaStore& db, LineageGraph& g, bool up) {
  std::deque<std::string> todo = {g.focus};
  std::set<std::string> seen = {g.focus};
  while (!todo.empty()) {
    const std::string id = todo.front();
    todo.pop_front();
    TML_ASSIGN_OR_RETURN(auto next, db.ArtifactEdges(id, up));
    for (const std::string& n : next) {
      g.edges.emplace_back(up ? n : id, up ? id : n);
      if (!seen.insert(n).second) continue;
      TML_ASSIGN_OR_RETURN(g.nodes[n], db.GetArtifact(n));
      todo.push_back(n);
    }
  }
  return Status::Ok();
}

std::string Line(const LineageGraph& g, const std::string& id) {
  const ArtifactRecord& a = g.nodes.at(id);
  std::string s = fmt::format("{}  {}", a.id, a.label);
  if (!a.path.empty() && a.label.find(a.path) == std::string::npos) s += "  " + a.path;
  return s;
}

void Tree(const LineageGraph& g, const std::string& id, bool up, const std::string& prefix,
          std::set<std::string>& shown, std::string& out) {
  const auto next = up ? g.Parents(id) : g.Children(id);
  for (size_t i = 0; i < next.size(); ++i) {
    const bool last = i + 1 == next.size();
    const bool again = shown.count(next[i]) > 0;
    out += prefix + (last ? "└─ " : "├─ ") + Line(g, next[i]) + (again ? "  (above)" : "") + "\n";
    if (again) continue;
    shown.insert(next[i]);
    Tree(g, next[i], up, prefix + (last ? "   " : "│  "), shown, out);
  }
}

// The longest path through id in the given direction (ties: the first edge).
std::vector<std::string> Longest(const LineageGraph& g, const std::string& id, bool up,
                                 int depth = 0) {
  std::vector<std::string> best;
  if (depth > 64) return best;
  for (const std::string& n : up ? g.Parents(id) : g.Children(id)) {
    auto path = Longest(g, n, up, depth + 1);
    if (path.size() + 1 > best.size()) {
      best = std::move(path);
      best.insert(best.begin(), n);
    }
  }
  return best;
}

}  // namespace

Result<LineageGraph> Lineage(MetaStore& db, const std::string& what, bool files) {
  TML_ASSIGN_OR_RETURN(ArtifactRecord focus, ResolveArtifact(db, what, files));
  LineageGraph g;
  g.focus = focus.id;
  g.nodes[focus.id] = focus;
  TML_RETURN_IF_ERROR(Walk(db, g, true));
  TML_RETURN_IF_ERROR(Walk(db, g, false));
  std::sort(g.edges.begin(), g.edges.end());
  g.edges.erase(std::unique(g.edges.begin(), g.edges.end()), g.edges.end());
  return g;
}

std::string LineageText(const LineageGraph& g) {
  std::vector<std::string> chain = Longest(g, g.focus, true);
  std::reverse(chain.begin(), chain.end());
  chain.push_back(g.focus);
  for (const std::string& d : Longest(g, g.focus, false)) chain.push_back(d);
  std::string out = "lineage: ";
  for (size_t i = 0; i < chain.size(); ++i)
    out += (i ? " -> " : "") + (chain[i] == g.focus ? "[" + chain[i] + "]" : chain[i]);
  out += "\n\n" + Line(g, g.focus) + "\n";
  std::set<std::string> shown;
  out += "made from:\n";
  if (g.Parents(g.focus).empty()) out += "   (nothing recorded: an input)\n";
  Tree(g, g.focus, true, "   ", shown, out);
  shown.clear();
  out += "used by:\n";
  if (g.Children(g.focus).empty()) out += "   (nothing yet)\n";
  Tree(g, g.focus, false, "   ", shown, out);
  return out;
}

nlohmann::json LineageJson(const LineageGraph& g) {
  nlohmann::json nodes = nlohmann::json::array(), edges = nlohmann::json::array();
  for (const auto& [id, a] : g.nodes)
    nodes.push_back({{"id", a.id},
                     {"kind", a.kind},
                     {"label", a.label},
                     {"path", a.path},
                     {"created_ms", a.created_ms},
                     {"metadata", nlohmann::json::parse(a.metadata, nullptr, false)}});
  for (const auto& [p, c] : g.edges) edges.push_back({{"parent", p}, {"child", c}});
  return {{"focus", g.focus}, {"nodes", nodes}, {"edges", edges}};
}

}  // namespace tml
