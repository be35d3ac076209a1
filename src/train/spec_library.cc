#include "train/spec_library.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/sha256.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

std::vector<SpecEntry> SpecsIn(const std::string& dir, bool uploaded) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml") files.push_back(fs::absolute(e.path(), ec).string());
  std::sort(files.begin(), files.end());
  std::vector<SpecEntry> out;
  for (const std::string& f : files)
    if (auto s = LoadModelSpec(f); s.ok()) out.push_back({std::move(*s), f, uploaded});
  return out;
}

}  // namespace

std::vector<SpecEntry> ListModelSpecs(const std::string& workspace_root) {
  std::vector<SpecEntry> all = SpecsIn(std::string(TML_SOURCE_DIR) + "/examples/models", false);
  for (SpecEntry& e : SpecsIn(workspace_root + "/specs", true)) all.push_back(std::move(e));
  return all;
}

Result<SpecEntry> AddModelSpec(const std::string& workspace_root, const std::string& yaml_text) {
  TML_ASSIGN_OR_RETURN(ModelSpec spec, ParseModelSpec(yaml_text, "uploaded spec"));
  if (!std::regex_match(spec.name, std::regex("[A-Za-z0-9_.-]{1,64}")))
    return Status::Errorf("uploaded spec: name '{}': use 1 to 64 letters, digits, '_', '.' or '-'",
                          spec.name);
  std::error_code ec;
  const fs::path dir = fs::absolute(workspace_root + "/specs", ec);
  fs::create_directories(dir, ec);
  if (ec) return Status::Errorf("{}: cannot create directory: {}", dir.string(), ec.message());
  const std::string hash = Sha256Hex(yaml_text).substr(0, 12);
  const std::string path = (dir / (spec.name + "-" + hash + ".yaml")).string();
  if (!fs::exists(path, ec)) {
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary);
      f << yaml_text;
      if (!f) return Status::Errorf("{}: write failed", tmp);
    }
    fs::rename(tmp, path, ec);
    if (ec) return Status::Errorf("{}: {}", path, ec.message());
  }
  spec.file = path;
  return SpecEntry{std::move(spec), path, true};
}

}  // namespace tml
