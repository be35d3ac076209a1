// On-device benchmark: for the MLPerf Tiny architectures (float, seeded
// weights) and every published model in ../shared/models, instructions per
// inference on emulated Cortex-M boards (QEMU -icount, deterministic), MAC per
// instruction, arena, total RAM and flash, and the same model with the portable
// reference kernels only, so the speed-up of the optimized kernels shows.
// Prints a Markdown table.
//
// The MLPerf architectures also run in int8 (synthetic calibration).
//
//   build/bench/tml_mcu_bench [--only SUBSTRING] [targets...]   (default: cortex-m4 cortex-m7)
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "formats/import.h"
#include "targets/profile.h"
#include "zoo/mlperf_models.h"

int main(int argc, char** argv) {
  std::vector<std::string> targets;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--only" && i + 1 < argc)
      only = argv[++i];
    else
      targets.push_back(argv[i]);
  }
  if (targets.empty()) targets = {"cortex-m4", "cortex-m7"};
  std::vector<std::pair<std::string, tml::Result<tml::Graph>>> models;
  for (const auto& z : tml::zoo::MlperfModels()) {
    auto g = z.build(1);
    if (g.ok()) models.emplace_back(z.name + " (int8)", tml::zoo::QuantizeSynthetic(*g, 1));
    models.emplace_back(z.name + " (float)", std::move(g));
  }
  const std::string shared = std::string(TML_SOURCE_DIR) + "/../shared/models";
  if (std::filesystem::exists(shared)) {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(shared))
      if (e.path().extension() == ".tflite") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      models.emplace_back(std::filesystem::path(f).filename().string(), tml::LoadModel(f));
  }
  std::cout << "| model | target | MACs | instructions | MAC/instr | portable-only instructions | "
               "speed-up "
               "| arena B | RAM B | flash B | fits |\n"
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  int failures = 0;
  for (auto& [name, g] : models) {
    if (name.find(only) == std::string::npos) continue;
    if (!g.ok()) {
      std::cerr << name << ": " << g.status().message() << "\n";
      ++failures;
      continue;
    }
    for (const auto& t : targets) {
      auto p = tml::ProfileGraphOnTarget(*g, t);
      if (!p.ok()) {
        std::cerr << name << " on " << t << ": " << p.status().message() << "\n";
        ++failures;
        continue;
      }
      const auto& d = *p->device;
      auto portable = tml::ProfileOnDevice(*g, t, "", /*reference_kernels=*/true);
      if (!portable.ok()) {
        std::cerr << name << " on " << t << ": " << portable.status().message() << "\n";
        ++failures;
        continue;
      }
      const bool fits = d.ram_bytes <= d.target.ram_bytes && d.flash_bytes <= d.target.flash_bytes;
      std::cout << fmt::format(
          "| {} | {} | {} | {} | {:.3f} | {} | {:.2f}x | {} | {} | {} | {} |\n", name, t, p->macs,
          d.instructions, static_cast<double>(p->macs) / static_cast<double>(d.instructions),
          portable->instructions,
          static_cast<double>(portable->instructions) / static_cast<double>(d.instructions),
          d.arena_bytes, d.ram_bytes, d.flash_bytes, fits ? "yes" : "no");
      std::cout.flush();
    }
  }
  return failures ? 1 : 0;
}
