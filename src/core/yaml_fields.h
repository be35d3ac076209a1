// Reading the project's YAML files (target profiles, chains, links, front ends): where
// the shipped files of a kind live, and parse errors that name the file and line.
//
//   TML_ASSIGN_OR_RETURN(YAML::Node y, ParseYaml(text, "chain.yaml"));
//   TML_RETURN_IF_ERROR(UnknownKeys(y, {"name", "nodes"}, "chain.yaml", "chain"));
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

// $ENV_VAR (when set), then the project's FOLDER: where data files of a kind live.
std::vector<std::string> ProfileDirs(const char* env_var, const char* folder);
// The .yaml files of each directory (missing ones skipped), sorted within each, in order.
std::vector<std::string> YamlFilesIn(const std::vector<std::string>& dirs);
// A name without '/' or '.' names a shipped file (its stem); anything else is a path.
bool IsShippedName(const std::string& name_or_path);
// The file a name or path means: a shipped file's path by its stem in dirs, else the path.
// kind names the files in the error ("chain", "front end").
Result<std::string> ShippedFilePath(const std::string& name_or_path,
                                    const std::vector<std::string>& dirs, const std::string& kind);

// where: "FILE: line N: message" on a syntax error.
Result<YAML::Node> ParseYaml(const std::string& text, const std::string& where);
// An error naming the first key of map not in known (and the known ones).
Status UnknownKeys(const YAML::Node& map, const std::set<std::string>& known,
                   const std::string& where, const std::string& what);
// A finite number at map[key], def when absent.
Result<double> YamlNumber(const YAML::Node& map, const char* key, double def,
                          const std::string& where, const std::string& what);

}  // namespace tml
