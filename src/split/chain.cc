#include "split/chain.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "formats/import.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

// A non-negative number at map[key] (def when absent).
Result<double> Number(const YAML::Node& map, const char* key, double def, const std::string& where,
                      const std::string& what) {
  TML_ASSIGN_OR_RETURN(double d, YamlNumber(map, key, def, where, what));
  if (!(d >= 0))
    return Status::Errorf("{}: line {}: {}: {} must not be negative", where,
                          map[key].Mark().line + 1, what, key);
  return d;
}

Status LinkFigures(const YAML::Node& y, LinkProfile* l, const std::string& where,
                   const std::string& what) {
  TML_ASSIGN_OR_RETURN(l->bandwidth_bps, Number(y, "bandwidth_bps", l->bandwidth_bps, where, what));
  TML_ASSIGN_OR_RETURN(l->latency_ms, Number(y, "latency_ms", l->latency_ms, where, what));
  TML_ASSIGN_OR_RETURN(l->energy_nj_per_byte,
                       Number(y, "energy_nj_per_byte", l->energy_nj_per_byte, where, what));
  if (l->bandwidth_bps <= 0)
    return Status::Errorf("{}: {}: bandwidth_bps must be given and positive", where, what);
  return Status::Ok();
}

}  // namespace

std::vector<std::string> LinkDirs() {
  return ProfileDirs("TINYMLAAS_LINKS_DIR", "links");
}

Result<LinkProfile> ParseLinkProfile(const std::string& text, const std::string& where) {
  TML_ASSIGN_OR_RETURN(YAML::Node y, ParseYaml(text, where));
  if (!y.IsMap()) return Status::Errorf("{}: expected a mapping of link fields", where);
  LinkProfile l;
  l.source_file = where;
  try {
    TML_RETURN_IF_ERROR(UnknownKeys(
        y, {"name", "bandwidth_bps", "latency_ms", "energy_nj_per_byte"}, where, "link profile"));
    if (!y["name"]) return Status::Errorf("{}: 'name' is required", where);
    l.name = y["name"].as<std::string>();
    TML_RETURN_IF_ERROR(LinkFigures(y, &l, where, "link " + l.name));
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}: line {}: {}", where, e.mark.line + 1, e.msg);
  }
  return l;
}

Result<std::vector<LinkProfile>> LoadLinkProfiles() {
  std::vector<LinkProfile> all;
  std::set<std::string> seen;
  for (const std::string& f : YamlFilesIn(LinkDirs())) {
    TML_ASSIGN_OR_RETURN(auto bytes, ReadFile(f));
    TML_ASSIGN_OR_RETURN(LinkProfile l,
                         ParseLinkProfile(std::string(bytes.begin(), bytes.end()), f));
    if (seen.insert(l.name).second) all.push_back(std::move(l));  // earlier directories win
  }
  return all;
}

Result<Chain> ParseChain(const std::string& text, const std::string& where) {
  TML_ASSIGN_OR_RETURN(YAML::Node y, ParseYaml(text, where));
  if (!y.IsMap()) return Status::Errorf("{}: expected a mapping with nodes and links", where);
  Chain c;
  c.source_file = where;
  try {
    TML_RETURN_IF_ERROR(UnknownKeys(y, {"name", "nodes", "links"}, where, "chain"));
    c.name = y["name"] ? y["name"].as<std::string>() : fs::path(where).stem().string();
    const YAML::Node nodes = y["nodes"];
    if (!nodes || !nodes.IsSequence() || nodes.size() < 2 || nodes.size() > 3)
      return Status::Errorf("{}: 'nodes' must list 2 or 3 nodes, the sensor's first", where);
    std::set<std::string> names;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const YAML::Node n = nodes[i];
      const std::string what = fmt::format("node {}", i + 1);
      if (!n.IsMap())
        return Status::Errorf("{}: line {}: {}: expected a mapping", where, n.Mark().line + 1,
                              what);
      TML_RETURN_IF_ERROR(
          UnknownKeys(n, {"name", "target", "host", "ram_bytes", "flash_bytes"}, where, what));
      ChainNode node;
      if (!n["name"])
        return Status::Errorf("{}: line {}: {}: 'name' is required", where, n.Mark().line + 1,
                              what);
      node.name = n["name"].as<std::string>();
      if (!names.insert(node.name).second)
        return Status::Errorf("{}: line {}: two nodes are named '{}'", where, n.Mark().line + 1,
                              node.name);
      const std::string nw = "node " + node.name;
      if (n["target"].IsDefined() == n["host"].IsDefined())
        return Status::Errorf("{}: line {}: {}: give either 'target' (an MCU profile) or 'host'",
                              where, n.Mark().line + 1, nw);
      if (n["target"]) {
        node.target = n["target"].as<std::string>();
        auto p = FindTarget(node.target);
        if (!p.ok()) return p.status().Wrap(fmt::format("{}: {}", where, nw));
        if (!p->emulated())
          return Status::Errorf(
              "{}: {}: target {} is not emulated, so its per-layer costs "
              "cannot be measured",
              where, nw, node.target);
        node.profile = *p;
        node.ram_bytes = p->ram_bytes;
        node.flash_bytes = p->flash_bytes;
      } else {
        const YAML::Node h = n["host"];
        if (!h.IsMap())
          return Status::Errorf("{}: line {}: {}: host: expected a mapping", where,
                                h.Mark().line + 1, nw);
        TML_RETURN_IF_ERROR(UnknownKeys(h, {"time_scale", "power_w"}, where, nw + " host"));
        TML_ASSIGN_OR_RETURN(node.time_scale, Number(h, "time_scale", 1.0, where, nw));
        TML_ASSIGN_OR_RETURN(node.power_w, Number(h, "power_w", 0.0, where, nw));
        if (node.time_scale <= 0)
          return Status::Errorf("{}: {}: time_scale must be positive", where, nw);
      }
      TML_ASSIGN_OR_RETURN(double ram,
                           Number(n, "ram_bytes", static_cast<double>(node.ram_bytes), where, nw));
      TML_ASSIGN_OR_RETURN(
          double flash, Number(n, "flash_bytes", static_cast<double>(node.flash_bytes), where, nw));
      node.ram_bytes = static_cast<int64_t>(ram);
      node.flash_bytes = static_cast<int64_t>(flash);
      c.nodes.push_back(std::move(node));
    }
    const YAML::Node links = y["links"];
    if (!links || !links.IsSequence() || links.size() != nodes.size() - 1)
      return Status::Errorf("{}: 'links' must list {} link(s), one between each node and the next",
                            where, nodes.size() - 1);
    TML_ASSIGN_OR_RETURN(auto shipped, LoadLinkProfiles());
    for (size_t i = 0; i < links.size(); ++i) {
      const YAML::Node l = links[i];
      const std::string what =
          fmt::format("link {} ({} -> {})", i + 1, c.nodes[i].name, c.nodes[i + 1].name);
      if (!l.IsMap())
        return Status::Errorf("{}: line {}: {}: expected a mapping", where, l.Mark().line + 1,
                              what);
      TML_RETURN_IF_ERROR(UnknownKeys(
          l, {"profile", "bandwidth_bps", "latency_ms", "energy_nj_per_byte"}, where, what));
      LinkProfile link;
      link.name = "custom";
      if (l["profile"]) {
        const std::string name = l["profile"].as<std::string>();
        const auto it = std::find_if(shipped.begin(), shipped.end(),
                                     [&](const LinkProfile& p) { return p.name == name; });
        if (it == shipped.end()) {
          std::string known;
          for (const LinkProfile& p : shipped) known += (known.empty() ? "" : ", ") + p.name;
          return Status::Errorf("{}: line {}: {}: unknown link profile '{}' (known: {})", where,
                                l.Mark().line + 1, what, name, known);
        }
        link = *it;
      }
      TML_RETURN_IF_ERROR(LinkFigures(l, &link, where, what));  // given figures override
      c.links.push_back(std::move(link));
    }
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}: line {}: {}", where, e.mark.line + 1, e.msg);
  }
  return c;
}

Result<Chain> LoadChain(const std::string& path) {
  TML_ASSIGN_OR_RETURN(auto bytes, ReadFile(path));
  return ParseChain(std::string(bytes.begin(), bytes.end()), path);
}

std::vector<std::string> ChainDirs() {
  return ProfileDirs("TINYMLAAS_CHAINS_DIR", "examples/chains");
}

Result<std::vector<Chain>> ShippedChains() {
  std::vector<Chain> all;
  std::set<std::string> seen;
  for (const std::string& f : YamlFilesIn(ChainDirs())) {
    TML_ASSIGN_OR_RETURN(Chain c, LoadChain(f));
    if (seen.insert(fs::path(f).stem().string()).second) all.push_back(std::move(c));
  }
  return all;
}

bool IsChainName(const std::string& s) {
  return IsShippedName(s);
}

Result<std::string> ChainPath(const std::string& name_or_path) {
  auto path = ShippedFilePath(name_or_path, ChainDirs(), "chain");
  if (!path.ok()) return Status::Errorf("split: {}", path.status().message());
  return path;
}

Result<Chain> FindChain(const std::string& name_or_path) {
  TML_ASSIGN_OR_RETURN(std::string path, ChainPath(name_or_path));
  return LoadChain(path);
}

}  // namespace tml
