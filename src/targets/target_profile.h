// Target profiles: data (YAML files in targets/), not code, so users add
// boards without rebuilding. A profile names the core, its ISA features, the
// compiler flags, the real board's budgets and clock, and, when QEMU can run
// it, the emulated machine.
//
//   TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget("cortex-m4"));
//   if (p.emulated()) ... p.qemu_machine ...
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/yaml_fields.h"

namespace tml {

struct TargetProfile {
  std::string name, core, source_file;
  std::vector<std::string> isa, cflags;
  std::string board, mcu;
  int64_t clock_hz = 0, ram_bytes = 0, flash_bytes = 0;
  // Typical supply power running code at clock_hz (the MCU's datasheet, run mode from
  // flash); 0: not given. Energy per instruction = active_mw / clock_hz, one per cycle.
  double active_mw = 0;
  std::string qemu_machine, firmware;  // empty: not emulated
  bool emulated() const { return !qemu_machine.empty(); }
  bool has(const std::string& feature) const;
};

// Directories searched, in order: $TINYMLAAS_TARGETS_DIR, then the project's targets/.
std::vector<std::string> TargetDirs();
Result<TargetProfile> ParseTargetProfile(const std::string& yaml_text, const std::string& where);
Result<std::vector<TargetProfile>> LoadTargets();
Result<TargetProfile> FindTarget(const std::string& name);

}  // namespace tml
