#include "core/yaml_fields.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace tml {

namespace fs = std::filesystem;

std::vector<std::string> ProfileDirs(const char* env_var, const char* folder) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv(env_var)) dirs.push_back(env);
  dirs.push_back(std::string(TML_SOURCE_DIR) + "/" + folder);
  return dirs;
}

std::vector<std::string> YamlFilesIn(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".yaml") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

bool IsShippedName(const std::string& s) {
  return !s.empty() && s.find_first_of("/.") == std::string::npos;
}

Result<std::string> ShippedFilePath(const std::string& name_or_path,
                                    const std::vector<std::string>& dirs, const std::string& kind) {
  if (!IsShippedName(name_or_path)) return name_or_path;
  std::vector<std::string> names;
  for (const std::string& f : YamlFilesIn(dirs)) {
    const std::string stem = fs::path(f).stem().string();
    if (stem == name_or_path) return f;
    names.push_back(stem);
  }
  return Status::Errorf("no {} named '{}' (shipped: {}; or give a file)", kind, name_or_path,
                        names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
}

Result<YAML::Node> ParseYaml(const std::string& text, const std::string& where) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}: line {}: {}", where, e.mark.line + 1, e.msg);
  }
}

Status UnknownKeys(const YAML::Node& map, const std::set<std::string>& known,
                   const std::string& where, const std::string& what) {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!known.count(key)) {
      std::string names;
      for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
      return Status::Errorf("{}: line {}: {}: unknown key '{}' (known: {})", where,
                            kv.first.Mark().line + 1, what, key, names);
    }
  }
  return Status::Ok();
}

Result<double> YamlNumber(const YAML::Node& map, const char* key, double def,
                          const std::string& where, const std::string& what) {
  const YAML::Node v = map[key];
  if (!v) return def;
  double d = 0;
  try {
    d = v.as<double>();
  } catch (const YAML::Exception&) {
    return Status::Errorf("{}: line {}: {}: {} must be a number", where, v.Mark().line + 1, what,
                          key);
  }
  if (!std::isfinite(d))
    return Status::Errorf("{}: line {}: {}: {} must be finite", where, v.Mark().line + 1, what,
                          key);
  return d;
}

}  // namespace tml
