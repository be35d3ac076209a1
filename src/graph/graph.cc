#include "graph/graph.h"

#include <algorithm>
#include <numeric>

namespace tml {

size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kFloat32:
      return 4;
    case DType::kInt8:
      return 1;
    case DType::kUInt8:
      return 1;
    case DType::kInt16:
      return 2;
    case DType::kUInt16:
      return 2;
    case DType::kInt32:
      return 4;
    case DType::kUInt32:
      return 4;
    case DType::kInt64:
      return 8;
    case DType::kUInt64:
      return 8;
    case DType::kBool:
      return 1;
  }
  return 1;
}

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kFloat32:
      return "float32";
    case DType::kInt8:
      return "int8";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt16:
      return "int16";
    case DType::kUInt16:
      return "uint16";
    case DType::kInt32:
      return "int32";
    case DType::kUInt32:
      return "uint32";
    case DType::kInt64:
      return "int64";
    case DType::kUInt64:
      return "uint64";
    case DType::kBool:
      return "bool";
  }
  return "?";
}

const char* DTypeCName(DType t) {
  switch (t) {
    case DType::kFloat32:
      return "float";
    case DType::kInt8:
      return "int8_t";
    case DType::kUInt8:
      return "uint8_t";
    case DType::kInt16:
      return "int16_t";
    case DType::kUInt16:
      return "uint16_t";
    case DType::kInt32:
      return "int32_t";
    case DType::kUInt32:
      return "uint32_t";
    case DType::kInt64:
      return "int64_t";
    case DType::kUInt64:
      return "uint64_t";
    case DType::kBool:
      return "uint8_t";
  }
  return "uint8_t";
}

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string ShapeStr(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

double Tensor::ValueAsDouble(int64_t i) const {
  switch (dtype) {
    case DType::kFloat32:
      return as<float>()[i];
    case DType::kInt8:
      return as<int8_t>()[i];
    case DType::kUInt8:
      return as<uint8_t>()[i];
    case DType::kInt16:
      return as<int16_t>()[i];
    case DType::kUInt16:
      return as<uint16_t>()[i];
    case DType::kInt32:
      return as<int32_t>()[i];
    case DType::kUInt32:
      return as<uint32_t>()[i];
    case DType::kInt64:
      return static_cast<double>(as<int64_t>()[i]);
    case DType::kUInt64:
      return static_cast<double>(as<uint64_t>()[i]);
    case DType::kBool:
      return as<uint8_t>()[i];
  }
  return 0;
}

int64_t Tensor::ValueAsInt(int64_t i) const {
  switch (dtype) {
    case DType::kInt64:
      return as<int64_t>()[i];
    case DType::kUInt64:
      return static_cast<int64_t>(as<uint64_t>()[i]);
    case DType::kFloat32:
      return static_cast<int64_t>(as<float>()[i]);
    default:
      return static_cast<int64_t>(ValueAsDouble(i));
  }
}

Tensor PermuteConst(const Tensor& w, const std::vector<int64_t>& perm) {
  Tensor r = w;
  const size_t rank = w.shape.size();
  for (size_t d = 0; d < rank; ++d) r.shape[d] = w.shape[static_cast<size_t>(perm[d])];
  for (size_t d = 0; d < rank; ++d)
    if (perm[d] == w.quant.axis) {
      r.quant.axis = static_cast<int>(d);
      break;
    }
  std::vector<int64_t> in_stride(rank, 1);
  for (int d = static_cast<int>(rank) - 2; d >= 0; --d)
    in_stride[static_cast<size_t>(d)] =
        in_stride[static_cast<size_t>(d) + 1] * w.shape[static_cast<size_t>(d) + 1];
  const size_t es = DTypeSize(w.dtype);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < r.numel(); ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) src += idx[d] * in_stride[static_cast<size_t>(perm[d])];
    std::memcpy(r.data.data() + static_cast<size_t>(i) * es,
                w.data.data() + static_cast<size_t>(src) * es, es);
    for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < r.shape[static_cast<size_t>(d)]) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
  return r;
}

const char* OpName(OpType op) {
  switch (op) {
#define TML_NAME(e, s) \
  case OpType::e:      \
    return s;
    TML_OP_LIST(TML_NAME)
#undef TML_NAME
    case OpType::kCount:
      break;
  }
  return "?";
}

int64_t Attrs::Int(const std::string& k, int64_t def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* v = std::get_if<int64_t>(&it->second)) return *v;
  if (auto* f = std::get_if<float>(&it->second)) return static_cast<int64_t>(*f);
  return def;
}

float Attrs::Float(const std::string& k, float def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* v = std::get_if<float>(&it->second)) return *v;
  if (auto* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  return def;
}

std::vector<int64_t> Attrs::Ints(const std::string& k) const {
  auto it = m_.find(k);
  if (it == m_.end()) return {};
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  if (auto* i = std::get_if<int64_t>(&it->second)) return {*i};
  return {};
}

std::string Attrs::Str(const std::string& k, const std::string& def) const {
  auto it = m_.find(k);
  if (it == m_.end()) return def;
  if (auto* v = std::get_if<std::string>(&it->second)) return *v;
  return def;
}

int Graph::AddConst(std::string name, DType dtype, Shape shape, const void* bytes) {
  Tensor t = Tensor::Make(std::move(name), dtype, std::move(shape));
  t.is_const = true;
  t.data.resize(t.nbytes());
  if (bytes && !t.data.empty()) std::memcpy(t.data.data(), bytes, t.data.size());
  return AddTensor(std::move(t));
}

Node& Graph::AddNode(OpType op, std::string name, std::vector<int> in, std::vector<int> out) {
  Node n;
  n.op = op;
  n.name = std::move(name);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  nodes.push_back(std::move(n));
  return nodes.back();
}

std::vector<int> Graph::Producers() const {
  std::vector<int> p(tensors.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int o : nodes[i].outputs)
      if (o >= 0) p[static_cast<size_t>(o)] = static_cast<int>(i);
  return p;
}

std::vector<std::vector<int>> Graph::Consumers() const {
  std::vector<std::vector<int>> c(tensors.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int t : nodes[i].inputs)
      if (t >= 0) c[static_cast<size_t>(t)].push_back(static_cast<int>(i));
  return c;
}

Status Graph::Validate() const {
  const int nt = static_cast<int>(tensors.size());
  std::vector<char> available(tensors.size(), 0);
  for (int i = 0; i < nt; ++i)
    if (tensors[static_cast<size_t>(i)].is_const || tensors[static_cast<size_t>(i)].is_state)
      available[static_cast<size_t>(i)] = 1;
  for (int i : inputs) {
    if (i < 0 || i >= nt) return Status::Errorf("graph input index {} out of range", i);
    available[static_cast<size_t>(i)] = 1;
  }
  std::vector<char> produced(tensors.size(), 0);
  for (const Node& n : nodes) {
    for (int t : n.inputs) {
      if (t < -1 || t >= nt)
        return Status::Errorf("node '{}' ({}): input tensor index {} out of range", n.name,
                              OpName(n.op), t);
      if (t >= 0 && !available[static_cast<size_t>(t)])
        return Status::Errorf("node '{}' ({}): input '{}' is used before it is computed", n.name,
                              OpName(n.op), tensors[static_cast<size_t>(t)].name);
    }
    for (int t : n.outputs) {
      if (t < 0 || t >= nt)
        return Status::Errorf("node '{}' ({}): output tensor index {} out of range", n.name,
                              OpName(n.op), t);
      if (produced[static_cast<size_t>(t)] || tensors[static_cast<size_t>(t)].is_const ||
          tensors[static_cast<size_t>(t)].is_state)
        return Status::Errorf("node '{}' ({}): tensor '{}' is written more than once", n.name,
                              OpName(n.op), tensors[static_cast<size_t>(t)].name);
      produced[static_cast<size_t>(t)] = available[static_cast<size_t>(t)] = 1;
    }
  }
  for (int o : outputs) {
    if (o < 0 || o >= nt) return Status::Errorf("graph output index {} out of range", o);
    if (!available[static_cast<size_t>(o)])
      return Status::Errorf("graph output '{}' is never computed",
                            tensors[static_cast<size_t>(o)].name);
  }
  return Status::Ok();
}

Status Graph::TopoSort() {
  const auto producers = Producers();
  std::vector<int> state(nodes.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<Node> order;
  order.reserve(nodes.size());
  // Iterative DFS keeps deep chains from overflowing the stack.
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (state[root]) continue;
    std::vector<std::pair<int, size_t>> stack{{static_cast<int>(root), 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [ni, k] = stack.back();
      const Node& n = nodes[static_cast<size_t>(ni)];
      if (k < n.inputs.size()) {
        int t = n.inputs[k++];
        int p = t >= 0 ? producers[static_cast<size_t>(t)] : -1;
        if (p < 0) continue;
        if (state[static_cast<size_t>(p)] == 1)
          return Status::Errorf("graph has a cycle through node '{}'", n.name);
        if (state[static_cast<size_t>(p)] == 0) {
          state[static_cast<size_t>(p)] = 1;
          stack.push_back({p, 0});
        }
      } else {
        state[static_cast<size_t>(ni)] = 2;
        order.push_back(nodes[static_cast<size_t>(ni)]);
        stack.pop_back();
      }
    }
  }
  nodes = std::move(order);
  return Status::Ok();
}

void Graph::Prune() {
  // Mark live nodes backwards from the outputs.
  std::vector<char> live_tensor(tensors.size(), 0);
  for (int o : outputs) live_tensor[static_cast<size_t>(o)] = 1;
  std::vector<Node> kept;
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    bool live = false;
    for (int o : it->outputs) live |= live_tensor[static_cast<size_t>(o)] != 0;
    if (!live) continue;
    for (int t : it->inputs)
      if (t >= 0) live_tensor[static_cast<size_t>(t)] = 1;
    kept.push_back(std::move(*it));
  }
  std::reverse(kept.begin(), kept.end());
  nodes = std::move(kept);
  for (int i : inputs) live_tensor[static_cast<size_t>(i)] = 1;
  for (const Node& n : nodes)
    for (int o : n.outputs) live_tensor[static_cast<size_t>(o)] = 1;
  // Renumber tensors.
  std::vector<int> remap(tensors.size(), -1);
  std::vector<Tensor> kept_t;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!live_tensor[i]) continue;
    remap[i] = static_cast<int>(kept_t.size());
    kept_t.push_back(std::move(tensors[i]));
  }
  tensors = std::move(kept_t);
  auto fix = [&](std::vector<int>& v) {
    for (int& t : v)
      if (t >= 0) t = remap[static_cast<size_t>(t)];
  };
  for (Node& n : nodes) {
    fix(n.inputs);
    fix(n.outputs);
  }
  fix(inputs);
  fix(outputs);
}

}  // namespace tml
