#include "package/package.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <variant>

#include "core/sha256.h"
#include "interp/interpreter.h"
#include "ops/op.h"
#include "prepare/planner.h"
#include "tml_package.h"

namespace tml {
namespace {

// Parameter struct -> words (tml_params.h field order); pointer fields become the
// blob index + 1 of the call's array they point at.
class WordWriter {
 public:
  WordWriter(const KernelCall& k, const std::vector<uint32_t>& array_blob)
      : k_(k), array_blob_(array_blob) {}
  void Int(const char*, int32_t v) { words.push_back(static_cast<uint32_t>(v)); }
  void Float(const char*, float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    words.push_back(u);
  }
  void Ptr(const char* name, const void* p) {
    const int a = k_.ArrayAt(p);
    if (p && a < 0) missing = name;
    words.push_back(a < 0 ? 0u : array_blob_[static_cast<size_t>(a)] + 1);
  }
  void Ints(const char*, const int32_t* v, int n) {
    for (int i = 0; i < n; ++i) words.push_back(static_cast<uint32_t>(v[i]));
  }
  void Bytes(const char*, const uint8_t* v, int n) {
    for (int i = 0; i < n; i += 4) {
      uint32_t w = 0;
      for (int j = 0; j < 4 && i + j < n; ++j) w |= static_cast<uint32_t>(v[i + j]) << (8 * j);
      words.push_back(w);
    }
  }
  void Begin(const char*) {}
  void End() {}

  std::vector<uint32_t> words;
  std::string missing;

 private:
  const KernelCall& k_;
  const std::vector<uint32_t>& array_blob_;
};

uint8_t PackageDType(DType t) {
  switch (t) {
    case DType::kFloat32:
      return 1;
    case DType::kInt8:
      return 2;
    case DType::kUInt8:
      return 3;
    case DType::kInt32:
      return 4;
    case DType::kInt16:
      return 5;
    default:
      return 0;
  }
}

DType FromPackageDType(uint8_t t) {
  static const DType kTypes[] = {DType::kFloat32, DType::kFloat32, DType::kInt8,
                                 DType::kUInt8,   DType::kInt32,   DType::kInt16};
  return t < 6 ? kTypes[t] : DType::kInt8;
}

void Put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

size_t AlignUp(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}

// A fixed pseudo-random self-test input (the same for every run): int8 / uint8 bytes
// over their whole range, floats in [-1, 1).
std::vector<uint8_t> DefaultSelfTestInput(const Graph& g) {
  std::vector<uint8_t> in;
  uint32_t x = 0x9E3779B9u;
  auto next = [&]() {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  for (int t : g.inputs) {
    const Tensor& v = g.tensor(t);
    if (v.dtype == DType::kFloat32) {
      for (int64_t i = 0; i < v.numel(); ++i) {
        const float f = static_cast<float>(next() % 2048) / 1024.0f - 1.0f;
        const auto* b = reinterpret_cast<const uint8_t*>(&f);
        in.insert(in.end(), b, b + 4);
      }
    } else {
      for (size_t i = 0; i < v.nbytes(); ++i) in.push_back(static_cast<uint8_t>(next() >> 24));
    }
  }
  return in;
}

// 16-byte aligned copy of a package, as a device's flash slot holds it.
struct AlignedBytes {
  std::unique_ptr<uint64_t[]> storage;
  uint8_t* data = nullptr;
  explicit AlignedBytes(size_t n) : storage(new uint64_t[n / 8 + 3]()) {
    auto p = reinterpret_cast<uintptr_t>(storage.get());
    data = reinterpret_cast<uint8_t*>((p + 15) & ~uintptr_t{15});
  }
};

struct OpenPackage {
  AlignedBytes bytes;
  tml_pkg pkg{};
  explicit OpenPackage(const std::vector<uint8_t>& b) : bytes(b.size()) {
    if (!b.empty()) std::memcpy(bytes.data, b.data(), b.size());
  }
};

Result<std::unique_ptr<OpenPackage>> Open(const std::vector<uint8_t>& bytes) {
  if (bytes.size() > 0x7FFFFFFFu)
    return Status::Errorf("package: {} bytes is too large", bytes.size());
  auto p = std::make_unique<OpenPackage>(bytes);
  const tml_pkg_status s =
      tml_pkg_open(&p->pkg, p->bytes.data, static_cast<uint32_t>(bytes.size()));
  if (s != TML_PKG_OK) return Status::Error(PackageStatusMessage(s, p->pkg.bad_index));
  return p;
}

}  // namespace

std::string PackageStatusMessage(int status, uint32_t bad_index) {
  const auto s = static_cast<tml_pkg_status>(status);
  const char* name = tml_pkg_status_name(s);
  switch (s) {
    case TML_PKG_OK:
      return name;
    case TML_PKG_ERR_TRUNCATED:
      return fmt::format("{}: the package is shorter than its header and tables say", name);
    case TML_PKG_ERR_MAGIC:
      return fmt::format("{}: not a TinyMLaaS model package", name);
    case TML_PKG_ERR_FORMAT:
      return fmt::format("{}: package format version not supported (this runtime reads {})", name,
                         TML_PKG_FORMAT);
    case TML_PKG_ERR_ABI:
      return fmt::format("{}: written for another kernel interface (this runtime has {})", name,
                         TML_PKG_KERNEL_ABI);
    case TML_PKG_ERR_BOUNDS:
      return fmt::format("{}: a table, blob, tensor or argument lies outside its area (index {})",
                         name, bad_index);
    case TML_PKG_ERR_KERNEL:
      return fmt::format("{}: call {} names an unknown kernel or does not match it", name,
                         bad_index);
    case TML_PKG_ERR_OPSET:
      return fmt::format("{}: the package calls a kernel this runtime does not have", name);
    case TML_PKG_ERR_ARENA:
      return fmt::format("{}: the package needs more arena than the device has", name);
    case TML_PKG_ERR_SCRATCH:
      return fmt::format("{}: the package needs more kernel scratch than the device has", name);
    case TML_PKG_ERR_SELFTEST:
      return fmt::format("{}: the self-test output differs from the expected output", name);
    case TML_PKG_ERR_FLAGS:
      return fmt::format("{}: the header sets flags this runtime does not know", name);
    case TML_PKG_ERR_STATEFUL:
      return fmt::format(
          "{}: a model with recurrent state cannot run beside another (a shadow "
          "run shares the arena that keeps the state)",
          name);
    case TML_PKG_ERR_SIGNATURE:
      return fmt::format("{}: the signature is missing, malformed or not from the trusted key",
                         name);
    case TML_PKG_ERR_DOWNGRADE:
      return fmt::format("{}: older than the last confirmed version", name);
    case TML_PKG_ERR_DIGEST:
      return fmt::format("{}: the package's contents differ from its SHA-256 (damaged or altered)",
                         name);
    default:
      return fmt::format("status {}", status);
  }
}

Result<std::vector<uint8_t>> WritePackage(const Graph& g, const PackageOptions& opt) {
  TML_ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(g));
  std::vector<std::vector<uint8_t>> blobs;
  auto add_blob = [&](const void* data, size_t n) {
    const auto* b = static_cast<const uint8_t*>(data);
    blobs.emplace_back(b, b + n);
    return static_cast<uint32_t>(blobs.size() - 1);
  };
  std::map<int, uint32_t> const_blob;  // constant tensor -> blob
  std::vector<uint8_t> calls;
  uint64_t opset = 0;
  uint32_t num_calls = 0;
  int64_t scratch = 0;
  for (const Node& n : g.nodes) {
    const std::string where = NodeWhere(n);
    TML_ASSIGN_OR_RETURN(std::unique_ptr<LoweredOp> op, Schema(n.op).lower(g, n));
    const KernelCall k = op->Call(false);
    if (k.kernel == TML_K_NONE) continue;
    std::vector<uint32_t> array_blob;  // the call's arrays become blobs
    for (const ConstArray& c : k.arrays) array_blob.push_back(add_blob(c.data, c.bytes()));
    std::vector<uint32_t> args;
    for (const CallArg& a : k.args) {
      if (a.kind == CallArg::kScratch) {
        args.push_back(TML_ARG_WORD(TML_ARG_SCRATCH, 0));
        continue;
      }
      if (a.kind == CallArg::kConst) {
        args.push_back(TML_ARG_WORD(TML_ARG_BLOB, array_blob[static_cast<size_t>(a.index)]));
        continue;
      }
      const auto& list = a.kind == CallArg::kInput ? n.inputs : n.outputs;
      if (a.index < 0 || static_cast<size_t>(a.index) >= list.size() ||
          list[static_cast<size_t>(a.index)] < 0) {
        args.push_back(TML_ARG_WORD(TML_ARG_NONE, 0));  // an absent optional input
        continue;
      }
      const int t = list[static_cast<size_t>(a.index)];
      const Tensor& x = g.tensor(t);
      if (x.is_const) {
        auto it = const_blob.find(t);
        if (it == const_blob.end())
          it = const_blob.emplace(t, add_blob(x.data.data(), x.nbytes())).first;
        if (a.byte_offset)
          return Status::Errorf("{}: a view into constant '{}' (fold constants first)", where,
                                x.name);
        args.push_back(TML_ARG_WORD(TML_ARG_BLOB, it->second));
        continue;
      }
      const int64_t off = plan.offset[static_cast<size_t>(t)];
      if (off < 0)
        return Status::Internal("{}: tensor '{}' has no place in the memory plan", where, x.name);
      args.push_back(TML_ARG_WORD(TML_ARG_ARENA, static_cast<uint32_t>(off + a.byte_offset)));
    }
    if (k.kernel == TML_K_COPY && args.size() == 2 && args[0] == args[1]) continue;  // a view
    WordWriter w(k, array_blob);
    std::visit(
        [&](const auto& p) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(p)>, std::monostate>)
            VisitFields(p, w);
        },
        k.params);
    if (!w.missing.empty())
      return Status::Internal("{}: parameter '{}' points at no array of the call", where,
                              w.missing);
    if (w.words.size() != tml_pkg_param_words(k.kernel))
      return Status::Internal("{}: {} parameter words for {} (the runtime expects {})", where,
                              w.words.size(), k.Info().name, tml_pkg_param_words(k.kernel));
    const uint32_t params = add_blob(w.words.data(), w.words.size() * 4);
    calls.push_back(static_cast<uint8_t>(k.kernel));
    calls.push_back(static_cast<uint8_t>(k.kernel >> 8));
    calls.push_back(static_cast<uint8_t>(args.size()));
    calls.push_back(0);
    Put32(calls, params);
    for (uint32_t a : args) Put32(calls, a);
    opset |= uint64_t{1} << k.kernel;
    ++num_calls;
    scratch = std::max(scratch, op->ScratchBytes(false));
  }

  // Self-test vector: the host interpreter's output for a fixed input.
  std::vector<uint8_t> st_in =
      opt.selftest_input.empty() ? DefaultSelfTestInput(g) : opt.selftest_input;
  int64_t in_bytes = 0;
  for (int t : g.inputs) in_bytes += static_cast<int64_t>(g.tensor(t).nbytes());
  if (static_cast<int64_t>(st_in.size()) != in_bytes)
    return Status::Errorf("package: the self-test input has {} bytes, the model takes {}",
                          st_in.size(), in_bytes);
  std::vector<uint8_t> st_out;
  {
    TML_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(g));
    size_t pos = 0;
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      std::memcpy(interp->input(i), st_in.data() + pos, interp->input_bytes(i));
      pos += interp->input_bytes(i);
    }
    interp->Invoke();
    for (size_t i = 0; i < g.outputs.size(); ++i) {
      const auto* o = static_cast<const uint8_t*>(interp->output(i));
      st_out.insert(st_out.end(), o, o + interp->output_bytes(i));
    }
  }
  const uint32_t st_in_blob = add_blob(st_in.data(), st_in.size());
  const uint32_t st_out_blob = add_blob(st_out.data(), st_out.size());

  // Tensor specs.
  std::vector<uint8_t> tensors;
  for (const auto* list : {&g.inputs, &g.outputs})
    for (int t : *list) {
      const Tensor& x = g.tensor(t);
      tml_pkg_tensor_spec s{};
      s.arena_offset = static_cast<uint32_t>(plan.offset[static_cast<size_t>(t)]);
      s.bytes = static_cast<uint32_t>(x.nbytes());
      s.dtype = PackageDType(x.dtype);
      if (s.dtype == 0 || x.shape.size() > 6 || plan.offset[static_cast<size_t>(t)] < 0)
        return Status::Errorf("package: model input/output '{}' ({} {}) cannot be described",
                              x.name, DTypeName(x.dtype), ShapeStr(x.shape));
      s.rank = static_cast<uint8_t>(x.shape.size());
      for (size_t d = 0; d < x.shape.size(); ++d) s.shape[d] = static_cast<int32_t>(x.shape[d]);
      if (!x.quant.empty() && !x.quant.per_channel()) {
        s.scale = x.quant.scale[0];
        s.zero_point = static_cast<int32_t>(x.quant.zero_point[0]);
      }
      const auto* b = reinterpret_cast<const uint8_t*>(&s);
      tensors.insert(tensors.end(), b, b + sizeof s);
    }

  // Layout: header, tensor specs, blob table, calls, then the 16-byte aligned blobs.
  tml_pkg_header h{};
  h.magic = TML_PKG_MAGIC;
  h.format = TML_PKG_FORMAT;
  h.header_bytes = sizeof h;
  h.kernel_abi = TML_PKG_KERNEL_ABI;
  h.model_version = opt.model_version;
  for (const Tensor& t : g.tensors)
    if (t.is_state) h.flags |= TML_PKG_FLAG_STATE;
  h.arena_bytes = static_cast<uint32_t>(plan.arena_bytes);
  h.scratch_bytes = static_cast<uint32_t>(scratch);
  h.opset_lo = static_cast<uint32_t>(opset);
  h.opset_hi = static_cast<uint32_t>(opset >> 32);
  h.num_inputs = static_cast<uint32_t>(g.inputs.size());
  h.num_outputs = static_cast<uint32_t>(g.outputs.size());
  h.tensors_offset = sizeof h;
  h.num_blobs = static_cast<uint32_t>(blobs.size());
  h.blobs_offset = static_cast<uint32_t>(h.tensors_offset + tensors.size());
  h.num_calls = num_calls;
  h.calls_offset = h.blobs_offset + 8 * h.num_blobs;
  h.selftest_input = st_in_blob;
  h.selftest_output = st_out_blob;
  std::vector<uint8_t> table;
  size_t pos = AlignUp(h.calls_offset + calls.size(), TML_PKG_ALIGN);
  for (const auto& b : blobs) {
    Put32(table, static_cast<uint32_t>(pos));
    Put32(table, static_cast<uint32_t>(b.size()));
    pos = AlignUp(pos + b.size(), TML_PKG_ALIGN);
  }
  h.payload_bytes = static_cast<uint32_t>(pos);
  if (pos > 0x0FFFFFFFu) return Status::Errorf("package: {} bytes is too large", pos);

  std::string id = opt.model_id;
  if (id.empty()) {
    Sha256 hash;
    hash.Update(calls.data(), calls.size());
    for (const auto& b : blobs) hash.Update(b.data(), b.size());
    id = hash.HexDigest().substr(0, 32);
  }
  const std::string name = opt.name.empty() ? g.name : opt.name;
  if (id.size() > sizeof h.model_id)
    return Status::Errorf("package: model id '{}' is longer than {} characters", id,
                          sizeof h.model_id);
  std::memcpy(h.model_id, id.data(), id.size());
  std::memcpy(h.name, name.data(), std::min(name.size(), sizeof h.name));

  std::vector<uint8_t> out(reinterpret_cast<const uint8_t*>(&h),
                           reinterpret_cast<const uint8_t*>(&h) + sizeof h);
  out.insert(out.end(), tensors.begin(), tensors.end());
  out.insert(out.end(), table.begin(), table.end());
  out.insert(out.end(), calls.begin(), calls.end());
  for (const auto& b : blobs) {
    out.resize(AlignUp(out.size(), TML_PKG_ALIGN), 0);
    out.insert(out.end(), b.begin(), b.end());
  }
  out.resize(h.payload_bytes, 0);
  AppendTrailer(out, {}, {});
  return out;
}

void AppendTrailer(std::vector<uint8_t>& payload, const std::array<uint8_t, 8>& key_id,
                   const std::vector<uint8_t>& signature) {
  tml_pkg_trailer t{};
  t.magic = TML_PKG_TRAILER_MAGIC;
  t.signature_bytes = static_cast<uint32_t>(signature.size());
  t.trailer_bytes = static_cast<uint32_t>(sizeof t + AlignUp(signature.size(), 4));
  Sha256 h;
  h.Update(payload.data(), payload.size());
  const auto d = h.Digest();
  std::memcpy(t.digest, d.data(), d.size());
  std::memcpy(t.key_id, key_id.data(), key_id.size());
  const auto* b = reinterpret_cast<const uint8_t*>(&t);
  payload.insert(payload.end(), b, b + sizeof t);
  payload.insert(payload.end(), signature.begin(), signature.end());
  payload.resize(AlignUp(payload.size(), 4), 0);
}

Result<size_t> PayloadBytes(const std::vector<uint8_t>& bytes) {
  const size_t n = tml_pkg_total_bytes(bytes.data(), static_cast<uint32_t>(bytes.size()));
  if (n == 0 || n != bytes.size() || bytes.size() > 0x7FFFFFFFu)
    return Status::Errorf("package: {} bytes do not hold a package and its trailer", bytes.size());
  uint32_t payload;
  std::memcpy(&payload, bytes.data() + 12, 4);
  return static_cast<size_t>(payload);
}

Result<PackageInfo> InspectPackage(const std::vector<uint8_t>& bytes,
                                   const std::vector<uint8_t>& public_key) {
  if (bytes.size() > 0x7FFFFFFFu)
    return Status::Errorf("package: {} bytes is too large", bytes.size());
  const tml_pkg_status v = tml_pkg_verify(bytes.data(), static_cast<uint32_t>(bytes.size()),
                                          public_key.empty() ? nullptr : public_key.data(),
                                          static_cast<uint32_t>(public_key.size()));
  if (v != TML_PKG_OK) return Status::Error(PackageStatusMessage(v, 0));
  TML_ASSIGN_OR_RETURN(auto p, Open(bytes));
  const tml_pkg& pkg = p->pkg;
  const tml_pkg_header& h = *pkg.h;
  PackageInfo info;
  info.format = h.format;
  info.kernel_abi = h.kernel_abi;
  info.model_version = h.model_version;
  info.model_id.assign(h.model_id, strnlen(h.model_id, sizeof h.model_id));
  info.name.assign(h.name, strnlen(h.name, sizeof h.name));
  info.bytes = static_cast<int64_t>(bytes.size());
  info.payload_bytes = h.payload_bytes;
  info.arena_bytes = h.arena_bytes;
  info.scratch_bytes = h.scratch_bytes;
  info.opset = uint64_t{h.opset_hi} << 32 | h.opset_lo;
  info.calls = static_cast<int>(h.num_calls);
  info.recurrent_state = (h.flags & TML_PKG_FLAG_STATE) != 0;
  for (int id = 1; id < TML_K_END; ++id)
    if (info.opset >> id & 1)
      info.kernels.push_back(KernelInfoOf(static_cast<tml_kernel_id>(id)).name);
  for (uint32_t i = 0; i < h.num_inputs + h.num_outputs; ++i) {
    const tml_pkg_tensor_spec* s = tml_pkg_tensor(&pkg, i);
    PackageTensor t;
    t.dtype = FromPackageDType(s->dtype);
    t.shape.assign(s->shape, s->shape + s->rank);
    t.bytes = s->bytes;
    t.arena_offset = s->arena_offset;
    t.scale = s->scale;
    t.zero_point = s->zero_point;
    (i < h.num_inputs ? info.inputs : info.outputs).push_back(t);
  }
  int64_t other = 0;
  const uint8_t* c = pkg.base + h.calls_offset;
  for (uint32_t i = 0; i < h.num_calls; ++i) {
    const auto* hd = reinterpret_cast<const tml_pkg_call_head*>(c);
    uint32_t n = 0;
    tml_pkg_blob(&pkg, hd->params_blob, &n);
    other += n;
    c += sizeof *hd + 4u * hd->nargs;
  }
  for (uint32_t b : {h.selftest_input, h.selftest_output}) {
    uint32_t n = 0;
    tml_pkg_blob(&pkg, b, &n);
    other += n;
  }
  int64_t all = 0;
  for (uint32_t b = 0; b < h.num_blobs; ++b) {
    uint32_t n = 0;
    tml_pkg_blob(&pkg, b, &n);
    all += n;
  }
  info.weight_bytes = all - other;
  const auto* t = reinterpret_cast<const tml_pkg_trailer*>(pkg.base + h.payload_bytes);
  static const char kHex[] = "0123456789abcdef";
  for (uint8_t b : t->digest) info.digest += {kHex[b >> 4], kHex[b & 15]};
  if (t->signature_bytes)
    for (uint8_t b : t->key_id) info.key_id += {kHex[b >> 4], kHex[b & 15]};
  AlignedBytes arena(h.arena_bytes + 16);
  AlignedBytes scratch(h.scratch_bytes + 16);
  const tml_pkg_status s =
      tml_pkg_self_test(&pkg, arena.data, reinterpret_cast<int8_t*>(scratch.data));
  if (s != TML_PKG_OK) return Status::Error(PackageStatusMessage(s, 0));
  return info;
}

Result<std::vector<std::vector<uint8_t>>> RunPackageSequence(
    const std::vector<uint8_t>& bytes, const std::vector<std::vector<uint8_t>>& inputs) {
  TML_ASSIGN_OR_RETURN(auto p, Open(bytes));
  const tml_pkg& pkg = p->pkg;
  AlignedBytes arena(pkg.h->arena_bytes + 16);
  AlignedBytes scratch(pkg.h->scratch_bytes + 16);
  auto* sc = reinterpret_cast<int8_t*>(scratch.data);
  // As a device does: the self-test first (it leaves the recurrent state at zero).
  const tml_pkg_status st = tml_pkg_self_test(&pkg, arena.data, sc);
  if (st != TML_PKG_OK) return Status::Error(PackageStatusMessage(st, p->pkg.bad_index));
  std::vector<std::vector<uint8_t>> outputs;
  for (const std::vector<uint8_t>& in : inputs) {
    size_t pos = 0;
    for (uint32_t k = 0; k < pkg.h->num_inputs; ++k) {
      const uint32_t n = tml_pkg_tensor(&pkg, k)->bytes;
      if (pos + n > in.size())
        return Status::Errorf("package: {} input bytes, the model takes more", in.size());
      std::memcpy(tml_pkg_input(&pkg, arena.data, k), in.data() + pos, n);
      pos += n;
    }
    if (pos != in.size())
      return Status::Errorf("package: {} input bytes, the model takes {}", in.size(), pos);
    tml_pkg_invoke(&pkg, arena.data, sc);
    std::vector<uint8_t>& out = outputs.emplace_back();
    for (uint32_t k = 0; k < pkg.h->num_outputs; ++k) {
      const auto* o = static_cast<const uint8_t*>(tml_pkg_output(&pkg, arena.data, k));
      out.insert(out.end(), o, o + tml_pkg_tensor(&pkg, pkg.h->num_inputs + k)->bytes);
    }
  }
  return outputs;
}

Result<std::vector<uint8_t>> RunPackage(const std::vector<uint8_t>& bytes,
                                        const std::vector<uint8_t>& inputs) {
  TML_ASSIGN_OR_RETURN(auto out, RunPackageSequence(bytes, {inputs}));
  return std::move(out[0]);
}

}  // namespace tml
