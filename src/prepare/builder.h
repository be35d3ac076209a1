// GraphBuilder: builds IR graphs in code (tests, benchmarks, the model zoo,
// the quantizer). Weights are seeded, so a built model is reproducible.
//
//   GraphBuilder b("tiny");
//   int x = b.Input("x", DType::kFloat32, {1, 28, 28, 1});
//   x = b.Conv2D(x, 8, 3, 1, /*same=*/true, Act::kRelu);
//   b.Output(b.Softmax(b.Dense(b.Flatten(x), 10)));
//   TML_ASSIGN_OR_RETURN(Graph g, b.Finish());   // prepared: shapes, folding
#pragma once

#include <deque>
#include <random>
#include <string>

#include "graph/graph.h"

namespace tml {

enum class Act { kNone, kRelu, kRelu6 };

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name, uint64_t seed = 1);

  int Input(const std::string& name, DType dtype, Shape shape, QuantParams q = {});
  int Const(const std::string& name, DType dtype, Shape shape, const void* data,
            QuantParams q = {});
  int RandomConst(const std::string& name, Shape shape, float stddev);
  // Adds a node with one output; output shape comes from shape inference.
  int Op(OpType op, std::vector<int> inputs, Attrs attrs = {}, DType out = DType::kFloat32,
         QuantParams out_q = {});
  void Output(int t) { g_.outputs.push_back(t); }

  // Float layers with He-initialized weights and small random biases.
  int Conv2D(int x, int out_c, int k, int stride, bool same, Act act = Act::kNone) {
    return Conv2D(x, out_c, k, k, stride, same, act);
  }
  int Conv2D(int x, int out_c, int kh, int kw, int stride, bool same, Act act);
  int DepthwiseConv2D(int x, int k, int stride, bool same, Act act = Act::kNone);
  int Dense(int x, int out, Act act = Act::kNone);
  // SVDF over the last `memory` invocations (its state a state tensor, zero at start).
  int Svdf(int x, int units, int rank, int memory, Act act = Act::kNone);
  // LSTM over x [batch, time, input] (TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM): every step's
  // hidden state, [batch, time, units]; hidden and cell state are state tensors.
  int Lstm(int x, int units);
  int AvgPool(int x, int k, int stride) { return AvgPool(x, k, k, stride); }
  int AvgPool(int x, int kh, int kw, int stride);
  int MaxPool(int x, int k, int stride);
  int GlobalAvgPool(int x);  // Mean over H, W (keep dims)
  int Flatten(int x);
  int Softmax(int x);
  int Add(int a, int b, Act act = Act::kNone);

  // Given weights: the next weight / bias tensors the layer helpers create take these
  // values, in order, instead of random ones (sizes must match; a mismatch makes
  // Finish() fail).
  void QueueWeights(std::vector<float> values) { queued_.push_back(std::move(values)); }
  const Graph& graph() const { return g_; }
  Graph& graph() { return g_; }
  // Runs PrepareGraph and returns the graph.
  Result<Graph> Finish();

 private:
  std::string Name(const std::string& base);
  void SetAct(Attrs& a, Act act);
  Status InferLast();
  Graph g_;
  std::mt19937_64 rng_;
  int counter_ = 0;
  Status status_;
  std::deque<std::vector<float>> queued_;
};

}  // namespace tml
