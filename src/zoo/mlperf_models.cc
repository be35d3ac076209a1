#include "zoo/mlperf_models.h"

#include "prepare/builder.h"
#include "squeeze/quantize.h"

namespace tml::zoo {

Result<Graph> DsCnnKws(uint64_t seed) {
  GraphBuilder b("ds_cnn_kws", seed);
  int x = b.Input("input", DType::kFloat32, {1, 49, 10, 1});
  x = b.Conv2D(x, 64, 10, 4, 2, true, Act::kRelu);  // batch norm folded into the weights
  for (int i = 0; i < 4; ++i) {
    x = b.DepthwiseConv2D(x, 3, 1, true, Act::kRelu);
    x = b.Conv2D(x, 64, 1, 1, true, Act::kRelu);
  }
  x = b.AvgPool(x, 25, 5, 1);
  b.Output(b.Softmax(b.Dense(b.Flatten(x), 12)));
  return b.Finish();
}

Result<Graph> MobileNetV1Vww(uint64_t seed) {
  GraphBuilder b("mobilenet_v1_025_vww", seed);
  int x = b.Input("input", DType::kFloat32, {1, 96, 96, 3});
  x = b.Conv2D(x, 8, 3, 2, true, Act::kRelu6);
  const int blocks[][2] = {{16, 1},  {32, 2},  {32, 1},  {64, 2},  {64, 1},  {128, 2}, {128, 1},
                           {128, 1}, {128, 1}, {128, 1}, {128, 1}, {256, 2}, {256, 1}};
  for (const auto& blk : blocks) {
    x = b.DepthwiseConv2D(x, 3, blk[1], true, Act::kRelu6);
    x = b.Conv2D(x, blk[0], 1, 1, true, Act::kRelu6);
  }
  x = b.AvgPool(x, 3, 3, 1);
  b.Output(b.Softmax(b.Dense(b.Flatten(x), 2)));
  return b.Finish();
}

Result<Graph> ResNet8(uint64_t seed) {
  GraphBuilder b("resnet8_cifar", seed);
  int x = b.Input("input", DType::kFloat32, {1, 32, 32, 3});
  x = b.Conv2D(x, 16, 3, 1, true, Act::kRelu);
  const int stacks[][2] = {{16, 1}, {32, 2}, {64, 2}};
  for (const auto& st : stacks) {
    int y = b.Conv2D(x, st[0], 3, st[1], true, Act::kRelu);
    y = b.Conv2D(y, st[0], 3, 1, true, Act::kNone);
    const int shortcut = st[1] == 1 ? x : b.Conv2D(x, st[0], 1, st[1], true, Act::kNone);
    x = b.Add(y, shortcut, Act::kRelu);
  }
  x = b.AvgPool(x, 8, 8, 1);
  b.Output(b.Softmax(b.Dense(b.Flatten(x), 10)));
  return b.Finish();
}

Result<Graph> FcAutoencoder(uint64_t seed) {
  GraphBuilder b("fc_autoencoder", seed);
  int x = b.Input("input", DType::kFloat32, {1, 640});
  for (int i = 0; i < 4; ++i) x = b.Dense(x, 128, Act::kRelu);
  x = b.Dense(x, 8, Act::kRelu);
  for (int i = 0; i < 4; ++i) x = b.Dense(x, 128, Act::kRelu);
  b.Output(b.Dense(x, 640));
  return b.Finish();
}

const std::vector<ZooEntry>& MlperfModels() {
  static const std::vector<ZooEntry> models = {
      {"ds_cnn_kws", DsCnnKws, 2.66e6},
      {"mobilenet_v1_025_vww", MobileNetV1Vww, 7.49e6},
      {"resnet8_cifar", ResNet8, 12.5e6},
      {"fc_autoencoder", FcAutoencoder, 0.26e6},
  };
  return models;
}

}  // namespace tml::zoo

namespace tml::zoo {

Result<Graph> QuantizeSynthetic(const Graph& float_graph, uint64_t seed, int samples) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&state] {  // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<std::vector<std::vector<float>>> data(static_cast<size_t>(samples));
  for (auto& sample : data)
    for (int in : float_graph.inputs) {
      std::vector<float> v(static_cast<size_t>(float_graph.tensor(in).numel()));
      for (float& x : v) x = static_cast<float>(static_cast<double>(next() >> 11) * 0x1p-52 - 1.0);
      sample.push_back(std::move(v));
    }
  TML_ASSIGN_OR_RETURN(auto ranges, Calibrate(float_graph, data, {}));
  TML_ASSIGN_OR_RETURN(Graph q, QuantizeGraph(float_graph, ranges, {}));
  q.name = float_graph.name + "_int8";
  return q;
}

}  // namespace tml::zoo
