#include "codegen/codegen.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <variant>

#include "core/c_writer.h"
#include "ops/op.h"

namespace tml {

namespace fs = std::filesystem;

std::string RuntimeDir() {
  if (const char* env = std::getenv("TINYMLAAS_RUNTIME_DIR")) return env;
  return std::string(TML_SOURCE_DIR) + "/runtime";
}

namespace {

Status WriteText(const fs::path& p, const std::string& text, std::vector<std::string>& files) {
  std::ofstream f(p, std::ios::binary);
  if (!f) return Status::Errorf("{}: cannot write", p.string());
  f << text;
  if (!f) return Status::Errorf("{}: write failed", p.string());
  files.push_back(p.string());
  return Status::Ok();
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A parameter struct as a designated initializer; pointer fields name the call's arrays.
class InitWriter {
 public:
  InitWriter(const KernelCall& k, const std::string& prefix) : k_(k), prefix_(prefix) {
    stack_.emplace_back();
  }
  void Int(const char* n, int32_t v) { stack_.back().F(n, int64_t{v}); }
  void Float(const char* n, float v) { stack_.back().F(n, v); }
  void Ints(const char* n, const int32_t* v, int count) { stack_.back().A(n, v, count); }
  void Bytes(const char* n, const uint8_t* v, int count) {
    std::string list;
    for (int i = 0; i < count; ++i) list += (i ? ", " : "") + std::to_string(v[i]);
    stack_.back().F(n, "{" + list + "}");
  }
  void Ptr(const char* n, const void* p) {
    if (!p) return;  // NULL: left out of the initializer
    const int a = k_.ArrayAt(p);
    if (a < 0) {
      missing_ = n;
      return;
    }
    stack_.back().F(n, prefix_ + "_" + k_.arrays[static_cast<size_t>(a)].suffix);
  }
  void Begin(const char* n) {
    names_.push_back(n);
    stack_.emplace_back();
  }
  void End() {
    const std::string init = stack_.back().str();
    stack_.pop_back();
    stack_.back().F(names_.back(), init);
    names_.pop_back();
  }
  std::string str() const { return stack_.front().str(); }
  const std::string& missing() const { return missing_; }

 private:
  const KernelCall& k_;
  const std::string& prefix_;
  std::vector<CInit> stack_;
  std::vector<std::string> names_;
  std::string missing_;
};

struct CallSite {
  std::string prefix;                // unique identifier prefix for this node
  std::vector<std::string> in, out;  // C pointer expressions ("NULL" if absent)
  std::string scratch;               // shared int8 scratch array
};

// Emits a kernel call: its arrays and parameter struct as constants, the call in body.
Status RenderCall(const KernelCall& k, const CallSite& s, CWriter& decls, CWriter& body) {
  const KernelInfo& info = k.Info();
  if (k.kernel == TML_K_NONE) return Status::Ok();
  for (const ConstArray& a : k.arrays)
    EmitArray(decls, DTypeCName(a.dtype), s.prefix + "_" + a.suffix, a.data, a.count);
  std::vector<std::string> args;
  for (const CallArg& a : k.args) {
    const auto& list = a.kind == CallArg::kInput ? s.in : s.out;
    switch (a.kind) {
      case CallArg::kInput:
      case CallArg::kOutput:
        if (a.index < 0 || static_cast<size_t>(a.index) >= list.size())
          return Status::Internal("{}: argument {} is out of range", info.name, a.index);
        args.push_back(a.byte_offset
                           ? fmt::format("(const uint8_t*){} + {}",
                                         list[static_cast<size_t>(a.index)], a.byte_offset)
                           : list[static_cast<size_t>(a.index)]);
        break;
      case CallArg::kConst:
        args.push_back(s.prefix + "_" + k.arrays[static_cast<size_t>(a.index)].suffix);
        break;
      case CallArg::kScratch:
        args.push_back(s.scratch);
        break;
    }
  }
  InitWriter init(k, s.prefix);
  std::visit(
      [&](const auto& p) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(p)>, std::monostate>)
          VisitFields(p, init);
      },
      k.params);
  if (!init.missing().empty())
    return Status::Internal("{}: parameter '{}' points at no array of the call", info.name,
                            init.missing());
  const std::string shape = info.shape;
  if (shape == "COPY") {
    if (args.size() != 2) return Status::Internal("{}: expects 2 arguments", info.name);
    if (args[0] == args[1]) return Status::Ok();  // an in-place view
    body.Line(fmt::format("{}({}, {}, {});", info.name, args[0], args[1],
                          std::get<tml_copy_params>(k.params).bytes));
    return Status::Ok();
  }
  const std::string params = s.prefix + "_p";
  decls.Line(fmt::format("static const {} {} = {};", ParamsTypeName(k.params), params, init.str()));
  if (shape == "LIST") {
    std::string list;
    for (size_t i = 0; i + 1 < args.size(); ++i) list += (i ? ", " : "") + args[i];
    body.Line(fmt::format("{{ const void* const in[] = {{{}}}; {}(&{}, in, {}); }}", list,
                          info.name, params, args.back()));
    return Status::Ok();
  }
  std::string call = fmt::format("{}(&{}", info.name, params);
  for (const auto& a : args) call += ", " + a;
  body.Line(call + ");");
  return Status::Ok();
}

}  // namespace

Result<CodegenResult> GenerateC(const Graph& g, const std::string& out_dir,
                                const CodegenOptions& opt) {
  CodegenResult res;
  TML_ASSIGN_OR_RETURN(res.plan, PlanMemory(g));
  const std::string P = CIdent(opt.prefix);
  const std::string U = Upper(P);
  std::error_code ec;
  fs::create_directories(fs::path(out_dir) / "kernels", ec);
  if (ec) return Status::Errorf("{}: cannot create directory ({})", out_dir, ec.message());

  // Names for constants and pointer expressions for every tensor.
  std::vector<std::string> expr(g.tensors.size(), "NULL");
  std::set<std::string> used;
  CWriter weights;
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const Tensor& x = g.tensors[t];
    if (x.is_const) {
      std::string name = "w_" + CIdent(x.name);
      if (name.size() > 48) name = name.substr(0, 48);
      while (used.count(name)) name += "_";
      used.insert(name);
      expr[t] = name;
      EmitArray(weights, DTypeCName(x.dtype), name, x.data.data(), static_cast<size_t>(x.numel()));
      res.weight_bytes += static_cast<int64_t>(x.nbytes());
    } else if (res.plan.offset[t] >= 0) {
      expr[t] = fmt::format("(({}*)({}_arena + {}))", DTypeCName(x.dtype), P, res.plan.offset[t]);
    }
  }

  CWriter decls, body;
  std::set<std::string> kernel_files;
  std::vector<std::unique_ptr<LoweredOp>> ops;
  int64_t scratch_bytes = 0;
  for (const Node& n : g.nodes) {
    auto lowered = Schema(n.op).lower(g, n);
    if (!lowered.ok()) return lowered.status();
    scratch_bytes = std::max(scratch_bytes, (*lowered)->ScratchBytes(opt.reference_kernels));
    ops.push_back(std::move(*lowered));
  }
  res.scratch_bytes = scratch_bytes;
  const std::string scratch = P + "_scratch";
  if (scratch_bytes > 0)
    decls.Line(fmt::format("static int8_t {}[{}] TML_ALIGNED; /* shared kernel scratch */", scratch,
                           scratch_bytes));
  body.Open(fmt::format("void {}_invoke(void)", P));
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const auto* lowered = &ops[i];
    CallSite site{fmt::format("l{}", i), {}, {}, scratch};
    for (int t : n.inputs) site.in.push_back(t >= 0 ? expr[static_cast<size_t>(t)] : "NULL");
    for (int t : n.outputs) site.out.push_back(expr[static_cast<size_t>(t)]);
    body.Line(fmt::format("/* {}: {} '{}' -> {} */", i, OpName(n.op), n.name,
                          ShapeStr(g.tensor(n.outputs[0]).shape)));
    body.Line(fmt::format("TML_LAYER_BEGIN({});", i));
    TML_RETURN_IF_ERROR(
        RenderCall((*lowered)->Call(opt.reference_kernels), site, decls, body).Wrap(NodeWhere(n)));
    body.Line(
        fmt::format("TML_LAYER_END({}, {}, {});", i, site.out[0], g.tensor(n.outputs[0]).nbytes()));
    for (const auto& s : (*lowered)->Sources()) kernel_files.insert(s);
  }
  body.Close();

  // model.h
  CWriter h;
  h.Line(
      fmt::format("/* Generated by TinyMLaaS {} from '{}'. Do not edit. */", TML_VERSION, g.name));
  h.Line(fmt::format("#ifndef {}_H", U));
  h.Line(fmt::format("#define {}_H", U));
  h.Blank();
  h.Line("#include <stdint.h>");
  h.Blank();
  h.Line(fmt::format("#define {}_ARENA_BYTES {}", U, res.plan.arena_bytes));
  h.Line(fmt::format("#define {}_NUM_LAYERS {}", U, g.nodes.size()));
  h.Line(fmt::format("#define {}_NUM_INPUTS {}", U, g.inputs.size()));
  h.Line(fmt::format("#define {}_NUM_OUTPUTS {}", U, g.outputs.size()));
  auto io_macros = [&](const char* kind, const std::vector<int>& list) {
    for (size_t k = 0; k < list.size(); ++k) {
      const Tensor& x = g.tensor(list[k]);
      const std::string m = fmt::format("{}_{}{}", U, kind, k);
      h.Line(fmt::format("/* {} {}: '{}' {} {} */", kind, k, x.name, DTypeName(x.dtype),
                         ShapeStr(x.shape)));
      h.Line(fmt::format("#define {}_BYTES {}", m, x.nbytes()));
      h.Line(fmt::format("typedef {} {}_t;", DTypeCName(x.dtype), m));
      if (!x.quant.empty() && !x.quant.per_channel()) {
        h.Line(fmt::format("#define {}_SCALE {}", m, CFloat(x.quant.scale[0])));
        h.Line(fmt::format("#define {}_ZERO_POINT {}", m, x.quant.zero_point[0]));
      }
    }
  };
  io_macros("INPUT", g.inputs);
  io_macros("OUTPUT", g.outputs);
  h.Blank();
  h.Line("#ifdef __cplusplus");
  h.Line("extern \"C\" {");
  h.Line("#endif");
  h.Line(
      "/* Pointer to input / output buffer `index` inside the arena. Valid for the program's life. "
      "*/");
  h.Line(fmt::format("void* {}_input(int index);", P));
  h.Line(fmt::format("void* {}_output(int index);", P));
  h.Line("/* Size in bytes of input / output `index` (0 if out of range). */");
  h.Line(fmt::format("int32_t {}_input_size(int index);", P));
  h.Line(fmt::format("int32_t {}_output_size(int index);", P));
  h.Line("/* Runs one inference. No allocation, no I/O. */");
  h.Line(fmt::format("void {}_invoke(void);", P));
  h.Line("#ifdef __cplusplus");
  h.Line("}");
  h.Line("#endif");
  h.Blank();
  h.Line(fmt::format("#endif /* {}_H */", U));

  // model.c
  CWriter c;
  c.Line(
      fmt::format("/* Generated by TinyMLaaS {} from '{}'. Do not edit. */", TML_VERSION, g.name));
  c.Line(fmt::format("#include \"{}.h\"", P));
  c.Blank();
  c.Line("#include <math.h> /* INFINITY */");
  c.Line("#include <stddef.h>");
  c.Blank();
  c.Line("#include \"tml_kernels.h\"");
  c.Blank();
  c.Line("#if defined(__GNUC__)");
  // unused: optimized kernels read repacked copies, and the compiler drops the originals.
  c.Line("#define TML_ALIGNED __attribute__((aligned(16), unused))");
  c.Line("#else");
  c.Line("#define TML_ALIGNED");
  c.Line("#endif");
  c.Blank();
  c.Line("/* Layer hooks: a profiling or tracing build defines them; by default they vanish. */");
  c.Line("#ifdef TML_HOST_TRACE");
  c.Line("void tml_host_trace(int layer, const void* data, long bytes);");
  c.Line("#define TML_LAYER_END(layer, data, bytes) tml_host_trace(layer, data, bytes)");
  c.Line("#endif");
  c.Line("#ifdef TML_PROFILE");
  c.Line("void tml_prof_begin(int layer);");
  c.Line("void tml_prof_end(int layer);");
  c.Line("#define TML_LAYER_BEGIN(layer) tml_prof_begin(layer)");
  c.Line("#define TML_LAYER_END(layer, data, bytes) tml_prof_end(layer)");
  c.Line("#endif");
  c.Line("#ifndef TML_LAYER_BEGIN");
  c.Line("#define TML_LAYER_BEGIN(layer) ((void)0)");
  c.Line("#endif");
  c.Line("#ifndef TML_LAYER_END");
  c.Line("#define TML_LAYER_END(layer, data, bytes) ((void)0)");
  c.Line("#endif");
  c.Blank();
  c.Line(fmt::format(
      "static uint8_t {}_arena[{}_ARENA_BYTES > 0 ? {}_ARENA_BYTES : 1] TML_ALIGNED;", P, U, U));
  c.Blank();
  c.Raw(weights.str());
  c.Blank();
  c.Raw(decls.str());
  c.Blank();
  c.Open(fmt::format("void* {}_input(int index)", P));
  c.Open("switch (index)");
  for (size_t k = 0; k < g.inputs.size(); ++k)
    c.Line(fmt::format("case {}: return {};", k, expr[static_cast<size_t>(g.inputs[k])]));
  c.Line("default: return NULL;");
  c.Close();
  c.Close();
  c.Blank();
  c.Open(fmt::format("void* {}_output(int index)", P));
  c.Open("switch (index)");
  for (size_t k = 0; k < g.outputs.size(); ++k)
    c.Line(fmt::format("case {}: return (void*){};", k, expr[static_cast<size_t>(g.outputs[k])]));
  c.Line("default: return NULL;");
  c.Close();
  c.Close();
  c.Blank();
  auto size_fn = [&](const char* kind, const std::vector<int>& list) {
    c.Open(fmt::format("int32_t {}_{}_size(int index)", P, kind));
    c.Open("switch (index)");
    for (size_t k = 0; k < list.size(); ++k)
      c.Line(fmt::format("case {}: return {};", k, g.tensor(list[k]).nbytes()));
    c.Line("default: return 0;");
    c.Close();
    c.Close();
    c.Blank();
  };
  size_fn("input", g.inputs);
  size_fn("output", g.outputs);
  c.Raw(body.str());

  const fs::path out(out_dir);
  TML_RETURN_IF_ERROR(WriteText(out / (P + ".h"), h.str(), res.files));
  TML_RETURN_IF_ERROR(WriteText(out / (P + ".c"), c.str(), res.files));
  res.sources.push_back((out / (P + ".c")).string());
  const fs::path rt = RuntimeDir();
  for (const char* hdr :
       {"tml_kernels.h", "tml_fixedpoint.h", "tml_math.h", "tml_simd.h", "tml_dsp.h"}) {
    fs::copy_file(rt / "include" / hdr, out / "kernels" / hdr, fs::copy_options::overwrite_existing,
                  ec);
    if (ec) return Status::Errorf("copying {}: {}", hdr, ec.message());
    res.files.push_back((out / "kernels" / hdr).string());
  }
  for (const auto& k : kernel_files) {
    fs::copy_file(rt / "kernels" / k, out / "kernels" / k, fs::copy_options::overwrite_existing,
                  ec);
    if (ec) return Status::Errorf("copying {}: {}", k, ec.message());
    res.files.push_back((out / "kernels" / k).string());
    res.sources.push_back((out / "kernels" / k).string());
  }
  res.include_dir = (out / "kernels").string();
  return res;
}

}  // namespace tml
