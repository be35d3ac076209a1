#include "interp/interpreter.h"

#include <cstdint>

namespace tml {

void* Interpreter::Ptr(int t) {
  if (t < 0) return nullptr;
  const Tensor& x = g_.tensor(t);
  if (x.is_const) return const_cast<uint8_t*>(x.data.data());
  return arena_ + plan_.offset[static_cast<size_t>(t)];
}

Result<std::unique_ptr<Interpreter>> Interpreter::Create(const Graph& g) {
  std::unique_ptr<Interpreter> it(new Interpreter(g));
  TML_ASSIGN_OR_RETURN(it->plan_, PlanMemory(g));
  if (it->plan_.arena_bytes > (int64_t{1} << 31))
    return Status::Errorf("arena of {} bytes is too large", it->plan_.arena_bytes);
  it->arena_storage_.assign(static_cast<size_t>(it->plan_.arena_bytes / 8 + 3), 0);
  auto base = reinterpret_cast<uintptr_t>(it->arena_storage_.data());
  it->arena_ = reinterpret_cast<uint8_t*>((base + 15) & ~static_cast<uintptr_t>(15));
  for (const Node& n : g.nodes) {
    TML_ASSIGN_OR_RETURN(auto op, Schema(n.op).lower(g, n));
    it->ops_.push_back(std::move(op));
    KernelIO io;
    for (int t : n.inputs) io.in.push_back(it->Ptr(t));
    for (int t : n.outputs) io.out.push_back(it->Ptr(t));
    it->io_.push_back(std::move(io));
  }
  return it;
}

void Interpreter::Invoke(const Trace& trace) {
  for (size_t i = 0; i < ops_.size(); ++i) {
    ops_[i]->Run(io_[i]);
    if (trace) trace(i, io_[i].out[0], g_.tensor(g_.nodes[i].outputs[0]).nbytes());
  }
}

}  // namespace tml
