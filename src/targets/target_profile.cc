#include "targets/target_profile.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "formats/import.h"

namespace tml {

namespace fs = std::filesystem;

bool TargetProfile::has(const std::string& feature) const {
  return std::find(isa.begin(), isa.end(), feature) != isa.end();
}

std::vector<std::string> TargetDirs() {
  return ProfileDirs("TINYMLAAS_TARGETS_DIR", "targets");
}

Result<TargetProfile> ParseTargetProfile(const std::string& text, const std::string& where) {
  YAML::Node y;
  try {
    y = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}: line {}: {}", where, e.mark.line + 1, e.msg);
  }
  if (!y.IsMap()) return Status::Errorf("{}: expected a mapping of profile fields", where);
  static const std::set<std::string> known = {"name", "core", "isa", "cflags", "board", "emulator"};
  TargetProfile p;
  p.source_file = where;
  try {
    for (const auto& kv : y) {
      const std::string key = kv.first.as<std::string>();
      if (!known.count(key))
        return Status::Errorf("{}: line {}: unknown key '{}'", where, kv.first.Mark().line + 1,
                              key);
    }
    if (!y["name"] || !y["core"])
      return Status::Errorf("{}: 'name' and 'core' are required", where);
    p.name = y["name"].as<std::string>();
    p.core = y["core"].as<std::string>();
    if (y["isa"]) p.isa = y["isa"].as<std::vector<std::string>>();
    if (y["cflags"]) p.cflags = y["cflags"].as<std::vector<std::string>>();
    const YAML::Node b = y["board"];
    if (!b || !b.IsMap())
      return Status::Errorf("{}: 'board' with ram_bytes and flash_bytes is required", where);
    p.board = b["name"] ? b["name"].as<std::string>() : p.name;
    p.mcu = b["mcu"] ? b["mcu"].as<std::string>() : "";
    p.clock_hz = b["clock_hz"] ? b["clock_hz"].as<int64_t>() : 0;
    p.active_mw = b["active_mw"] ? b["active_mw"].as<double>() : 0.0;
    if (!b["ram_bytes"] || !b["flash_bytes"])
      return Status::Errorf("{}: board.ram_bytes and board.flash_bytes are required", where);
    p.ram_bytes = b["ram_bytes"].as<int64_t>();
    p.flash_bytes = b["flash_bytes"].as<int64_t>();
    if (const YAML::Node e = y["emulator"]) {
      p.qemu_machine = e["qemu_machine"] ? e["qemu_machine"].as<std::string>() : "";
      p.firmware = e["firmware"] ? e["firmware"].as<std::string>() : "mps2";
    }
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}: line {}: {}", where, e.mark.line + 1, e.msg);
  }
  if (p.ram_bytes <= 0 || p.flash_bytes <= 0)
    return Status::Errorf("{}: ram_bytes and flash_bytes must be positive", where);
  if (p.active_mw < 0) return Status::Errorf("{}: board.active_mw must not be negative", where);
  return p;
}

Result<std::vector<TargetProfile>> LoadTargets() {
  std::vector<TargetProfile> all;
  std::set<std::string> seen;
  for (const std::string& f : YamlFilesIn(TargetDirs())) {
    TML_ASSIGN_OR_RETURN(auto bytes, ReadFile(f));
    TML_ASSIGN_OR_RETURN(TargetProfile p,
                         ParseTargetProfile(std::string(bytes.begin(), bytes.end()), f));
    if (seen.insert(p.name).second) all.push_back(std::move(p));  // earlier directories win
  }
  return all;
}

Result<TargetProfile> FindTarget(const std::string& name) {
  TML_ASSIGN_OR_RETURN(auto all, LoadTargets());
  std::string names = "host";
  for (auto& p : all) {
    if (p.name == name) return p;
    names += ", " + p.name;
  }
  return Status::Errorf("unknown target '{}' (available: {})", name, names);
}

}  // namespace tml
