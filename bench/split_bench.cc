// Split benchmark (`make bench-split`): for the four MLPerf Tiny architectures (int8, the
// zoo's seeded weights), the published models in ../shared/models when present, a model
// whose weights do not fit the Cortex-M4 board's 1 MB of flash and one whose activations
// do not fit its 256 KB of RAM, the best cut of a two-node chain (emulated Cortex-M4 -> a
// cloud host) against running everything on the device and everything upstream, under
// each shipped link profile. Latency of one inference; costs measured once per model
// (QEMU -icount on the MCU, the reference interpreter timed on this host, times 0.5 for
// the cloud).
#include <cstdio>
#include <filesystem>
#include <limits>

#include "core/progress.h"
#include "formats/import.h"
#include "prepare/builder.h"
#include "split/chain.h"
#include "split/cost.h"
#include "split/cuts.h"
#include "zoo/mlperf_models.h"

namespace {

using namespace tml;

// Too big for the board's flash: two strided convolutions and a pool bring a 96x96 grey
// image to 12x12x8 (1,152 bytes), then a 1,152 x 1,024 dense layer (1.2 MB of int8
// weights, the board has 1 MB of flash) and the classifier.
Result<Graph> TooBigForTheBoard() {
  GraphBuilder b("big_dense_cnn", 3);
  int x = b.Input("x", DType::kFloat32, {1, 96, 96, 1});
  x = b.Conv2D(x, 8, 3, 2, true, Act::kRelu);
  x = b.Conv2D(x, 8, 3, 2, true, Act::kRelu);
  x = b.MaxPool(x, 2, 2);
  x = b.Dense(b.Flatten(x), 1024, Act::kRelu);
  b.Output(b.Softmax(b.Dense(x, 4)));
  TML_ASSIGN_OR_RETURN(Graph g, b.Finish());
  return zoo::QuantizeSynthetic(g, 1);
}

// Too big for the board's RAM: cheap early layers bring a 64x64 grey image down to
// 16x16x16, then a pointwise convolution to 1,024 channels (256 KB of activations, the
// board has 256 KB of RAM in all) before the pool and the classifier.
Result<Graph> TooBigForTheBoardsRam() {
  GraphBuilder b("wide_late_cnn", 5);
  int x = b.Input("x", DType::kFloat32, {1, 64, 64, 1});
  x = b.Conv2D(x, 8, 3, 2, true, Act::kRelu);
  x = b.Conv2D(x, 16, 3, 2, true, Act::kRelu);
  x = b.Conv2D(x, 1024, 1, 1, true, Act::kRelu);
  x = b.GlobalAvgPool(x);
  b.Output(b.Softmax(b.Dense(b.Flatten(x), 4)));
  TML_ASSIGN_OR_RETURN(Graph g, b.Finish());
  return zoo::QuantizeSynthetic(g, 1);
}

std::string Ms(double s) {
  return fmt::format("{:.2f}", 1e3 * s);
}

}  // namespace

int main() {
  std::vector<std::pair<std::string, Result<Graph>>> models;
  for (const auto& z : zoo::MlperfModels()) {
    auto g = z.build(1);
    if (g.ok()) models.emplace_back(z.name + " (zoo, int8)", zoo::QuantizeSynthetic(*g, 1));
  }
  const std::string shared = std::string(TML_SOURCE_DIR) + "/../shared/models";
  for (const char* f : {"kws_ref_model.tflite", "vww_96_int8.tflite",
                        "pretrainedResnet_quant.tflite", "ad01_int8.tflite"})
    if (std::filesystem::exists(shared + "/" + f))
      models.emplace_back(f, LoadModel(shared + "/" + f));
  models.emplace_back("big_dense_cnn (1.2 MB of weights, int8)", TooBigForTheBoard());
  models.emplace_back("wide_late_cnn (256 KB activations, int8)", TooBigForTheBoardsRam());
  auto links = LoadLinkProfiles();
  auto mcu = FindTarget("cortex-m4");
  if (!links.ok() || !mcu.ok()) {
    std::fprintf(stderr, "%s\n", (!links.ok() ? links.status() : mcu.status()).message().c_str());
    return 1;
  }
  std::printf(
      "| model | link | all on the M4 ms | all upstream ms | best cut ms | cut after | "
      "gain vs upstream | gain vs device |\n|---|---|---:|---:|---:|---|---:|---:|\n");
  for (auto& [name, g] : models) {
    if (!g.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), g.status().message().c_str());
      return 1;
    }
    Chain c;
    c.name = "m4-cloud";
    ChainNode m;
    m.name = "mcu";
    m.target = "cortex-m4";
    m.profile = *mcu;
    m.ram_bytes = mcu->ram_bytes;
    m.flash_bytes = mcu->flash_bytes;
    ChainNode cloud;
    cloud.name = "cloud";
    cloud.time_scale = 0.5;
    c.nodes = {m, cloud};
    c.links = {links->front()};
    auto costs = MeasureLayerCosts(*g, c, "", NoProgress());
    auto search = EnumeratePlacements(*g, 2);
    if (!costs.ok() || !search.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(),
                   (!costs.ok() ? costs.status() : search.status()).message().c_str());
      return 1;
    }
    std::string refusal;
    for (const LinkProfile& l : *links) {
      c.links = {l};
      double device = std::numeric_limits<double>::infinity(), upstream = device, best = device;
      std::string device_note, after;
      for (const Placement& p : search->placements) {
        auto cut = CostOfCut(*g, c, *costs, p);
        if (!cut.ok()) {
          std::fprintf(stderr, "%s: %s\n", name.c_str(), cut.status().message().c_str());
          return 1;
        }
        if (cut->layers[1] == 0) {
          device = cut->latency_s;
          if (!cut->fits) {
            device_note = " (does not fit)";
            refusal = cut->refused;
          }
        }
        if (cut->layers[0] == 0) upstream = cut->latency_s;
        if (cut->fits && cut->latency_s < best) {
          best = cut->latency_s;
          after = cut->layers[1] == 0 ? "- (all on the M4)"
                  : cut->layers[0] == 0
                      ? "- (all upstream)"
                      : fmt::format("layer {} of {}", cut->layers[0], g->nodes.size());
        }
      }
      std::printf("| %s | %s | %s%s | %s | %s | %s | %.2fx | %s |\n", name.c_str(), l.name.c_str(),
                  Ms(device).c_str(), device_note.c_str(), Ms(upstream).c_str(), Ms(best).c_str(),
                  after.c_str(), upstream / best,
                  device_note.empty() ? fmt::format("{:.2f}x", device / best).c_str() : "n/a");
      std::fflush(stdout);
    }
    if (!refusal.empty())
      std::fprintf(stderr, "%s on the M4 alone: %s\n", name.c_str(), refusal.c_str());
  }
  return 0;
}
