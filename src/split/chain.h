// A node chain for model splitting (docs/split.md): the nodes an inference crosses, in
// order (the sensor's MCU first), and the link between each node and the next. Read from
// YAML; links name a shipped profile (links/*.yaml: UART, BLE, Wi-Fi, Ethernet, LoRa) or
// give their own figures.
//
//   TML_ASSIGN_OR_RETURN(Chain c, LoadChain("examples/chains/mcu-gateway-cloud.yaml"));
//   c.nodes[0].target  // "cortex-m4": per-layer instructions measured in QEMU
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "targets/target_profile.h"

namespace tml {

struct ChainNode {
  std::string name;
  // An emulated MCU (a target profile) or a host: a machine whose per-layer times are
  // those measured on this one times time_scale (4: four times slower).
  std::string target;  // empty: a host
  TargetProfile profile;
  double time_scale = 1.0;  // host only
  double power_w = 0.0;     // host only: energy = time x power
  // Budgets (0: none): an MCU's default to its board's.
  int64_t ram_bytes = 0, flash_bytes = 0;
  bool mcu() const { return !target.empty(); }
};

struct LinkProfile {
  std::string name;               // the shipped profile's, or "custom"
  double bandwidth_bps = 0;       // payload bits per second
  double latency_ms = 0;          // per transfer, on top of the bytes' time
  double energy_nj_per_byte = 0;  // spent by the sender
  std::string source_file;
};

struct Chain {
  std::string name, source_file;
  std::vector<ChainNode> nodes;
  std::vector<LinkProfile> links;  // links[i] joins nodes[i] and nodes[i + 1]
};

// Directories searched for link profiles: $TINYMLAAS_LINKS_DIR, then the project's links/.
std::vector<std::string> LinkDirs();
Result<std::vector<LinkProfile>> LoadLinkProfiles();
Result<LinkProfile> ParseLinkProfile(const std::string& yaml_text, const std::string& where);

// Errors name the file, the line and the field.
Result<Chain> ParseChain(const std::string& yaml_text, const std::string& where);
Result<Chain> LoadChain(const std::string& path);

// Chains shipped with the project or beside it: $TINYMLAAS_CHAINS_DIR, then examples/chains.
std::vector<std::string> ChainDirs();
Result<std::vector<Chain>> ShippedChains();
// A name without '/' or '.' ("mcu-gateway-cloud") is a shipped chain's (its file's stem);
// anything else is a path.
bool IsChainName(const std::string& name_or_path);
Result<std::string> ChainPath(const std::string& name_or_path);  // the file
Result<Chain> FindChain(const std::string& name_or_path);

}  // namespace tml
