// The four MLPerf Tiny reference architectures, built with seeded weights.
// Used by tests, benchmarks and `tinymlaas zoo`; float32 graphs, prepared.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml::zoo {

Result<Graph> DsCnnKws(uint64_t seed = 1);        // 49x10x1 -> 12, about 2.66 M MACs
Result<Graph> MobileNetV1Vww(uint64_t seed = 1);  // 96x96x3 -> 2, width 0.25, about 7.49 M MACs
Result<Graph> ResNet8(uint64_t seed = 1);         // 32x32x3 -> 10, about 12.5 M MACs
Result<Graph> FcAutoencoder(uint64_t seed = 1);   // 640 -> 640, about 0.26 M MACs

struct ZooEntry {
  std::string name;
  Result<Graph> (*build)(uint64_t);
  double published_macs;
};
const std::vector<ZooEntry>& MlperfModels();

}  // namespace tml::zoo

namespace tml::zoo {

// int8 version of a float zoo model, calibrated (min/max) on `samples` seeded
// inputs uniform in [-1, 1]. For benchmarks and tests of integer kernels: the
// weights are synthetic too, so accuracy means nothing here.
Result<Graph> QuantizeSynthetic(const Graph& float_graph, uint64_t seed = 1, int samples = 8);

}  // namespace tml::zoo
