// Host reference interpreter: runs a prepared Graph (float32 and int8) with the
// same runtime kernels and the same memory plan that generated code uses. It is
// the specification of what every device computes.
//
//   TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(graph));  // graph outlives interp
//   std::memcpy(interp->input(0), bytes, interp->input_bytes(0));
//   interp->Invoke();
//   const int8_t* y = static_cast<const int8_t*>(interp->output(0));
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"
#include "prepare/planner.h"

namespace tml {

class Interpreter {
 public:
  // Called after each node with its index and first output.
  using Trace = std::function<void(size_t node, const void* data, size_t bytes)>;

  static Result<std::unique_ptr<Interpreter>> Create(const Graph& g);

  void* input(size_t i) { return Ptr(g_.inputs[i]); }
  size_t input_bytes(size_t i) const { return g_.tensor(g_.inputs[i]).nbytes(); }
  const void* output(size_t i) { return Ptr(g_.outputs[i]); }
  size_t output_bytes(size_t i) const { return g_.tensor(g_.outputs[i]).nbytes(); }
  const void* tensor_data(int t) { return Ptr(t); }
  void Invoke(const Trace& trace = nullptr);
  const MemoryPlan& plan() const { return plan_; }

 private:
  explicit Interpreter(const Graph& g) : g_(g) {}
  void* Ptr(int t);

  const Graph& g_;
  MemoryPlan plan_;
  std::vector<uint64_t> arena_storage_;  // 8-byte aligned; offsets are 16-aligned
  uint8_t* arena_ = nullptr;
  std::vector<std::unique_ptr<LoweredOp>> ops_;
  std::vector<KernelIO> io_;
};

}  // namespace tml
