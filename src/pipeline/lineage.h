// Lineage: what an artifact was made from (dataset version -> training run ->
// model -> quantized model -> firmware) and what was made from it (firmware,
// evaluations, deployments), read from the artifacts table.
//
//   TML_ASSIGN_OR_RETURN(LineageGraph g, Lineage(*ws.db, "model:3f2a"));
//   std::cout << LineageText(g);
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "store/meta_store.h"

namespace tml {

struct LineageGraph {
  std::string focus;                                       // the artifact asked about
  std::map<std::string, ArtifactRecord> nodes;             // ancestors, descendants, focus
  std::vector<std::pair<std::string, std::string>> edges;  // parent -> child
  std::vector<std::string> Parents(const std::string& id) const;
  std::vector<std::string> Children(const std::string& id) const;
};

// An artifact id, a unique prefix of one (with or without "kind:"), or, with
// `files`, the path of a file whose content hash names an artifact (the CLI; the
// API passes false, so a request cannot make the server read a file).
Result<ArtifactRecord> ResolveArtifact(MetaStore& db, const std::string& what, bool files = true);
Result<LineageGraph> Lineage(MetaStore& db, const std::string& what, bool files = true);
// The chain from a root to the focus and on to its last descendant, then both trees.
std::string LineageText(const LineageGraph& g);
nlohmann::json LineageJson(const LineageGraph& g);

}  // namespace tml
