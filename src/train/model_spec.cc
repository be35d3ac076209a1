#include "train/model_spec.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/yaml_fields.h"

namespace tml {

const char* LayerKindName(LayerKind k) {
  switch (k) {
    case LayerKind::kConv2D:
      return "conv2d";
    case LayerKind::kDepthwiseConv2D:
      return "depthwise_conv2d";
    case LayerKind::kDense:
      return "dense";
    case LayerKind::kMaxPool:
      return "max_pool";
    case LayerKind::kAvgPool:
      return "avg_pool";
    case LayerKind::kGlobalAvgPool:
      return "global_avg_pool";
    case LayerKind::kBatchNorm:
      return "batch_norm";
    case LayerKind::kActivation:
      return "activation";
    case LayerKind::kDropout:
      return "dropout";
    case LayerKind::kFlatten:
      return "flatten";
    case LayerKind::kResidual:
      return "residual";
  }
  return "?";
}

namespace {

struct Ctx {
  std::string file;
  Status Err(const YAML::Node& n, const std::string& msg) const {
    return Status::Errorf("{}:{}: {}", file, n.Mark().line + 1, msg);
  }
};

Result<int> Int(const Ctx& c, const YAML::Node& n, const char* key, int lo, int hi) {
  try {
    const int v = n.as<int>();
    if (v < lo || v > hi)
      return c.Err(n, fmt::format("'{}' must be in {}..{}, got {}", key, lo, hi, v));
    return v;
  } catch (const YAML::Exception&) {
    return c.Err(n, fmt::format("'{}' must be an integer", key));
  }
}

Result<Activation> ParseAct(const Ctx& c, const YAML::Node& n) {
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "none" || s == "linear") return Activation::kNone;
  if (s == "relu") return Activation::kRelu;
  if (s == "relu6") return Activation::kRelu6;
  return c.Err(n, fmt::format("unknown activation '{}' (relu, relu6, none)", s));
}

Result<std::vector<LayerSpec>> ParseLayers(const Ctx& c, const YAML::Node& list);

Result<LayerSpec> ParseLayer(const Ctx& c, const YAML::Node& item) {
  if (!item.IsMap() || item.size() != 1)
    return c.Err(item, "a layer is a map with one key, its type: '- conv2d: {filters: 8, ...}'");
  const auto kv = *item.begin();
  const std::string type = kv.first.as<std::string>();
  const YAML::Node p = kv.second;
  LayerSpec l;
  l.line = kv.first.Mark().line + 1;
  static const std::map<std::string, LayerKind> kKinds = {
      {"conv2d", LayerKind::kConv2D},        {"depthwise_conv2d", LayerKind::kDepthwiseConv2D},
      {"dense", LayerKind::kDense},          {"max_pool", LayerKind::kMaxPool},
      {"avg_pool", LayerKind::kAvgPool},     {"global_avg_pool", LayerKind::kGlobalAvgPool},
      {"batch_norm", LayerKind::kBatchNorm}, {"activation", LayerKind::kActivation},
      {"dropout", LayerKind::kDropout},      {"flatten", LayerKind::kFlatten},
      {"residual", LayerKind::kResidual}};
  auto k = kKinds.find(type);
  if (k == kKinds.end()) {
    std::string known;
    for (const auto& [name, _] : kKinds) known += (known.empty() ? "" : ", ") + name;
    return c.Err(kv.first, fmt::format("unknown layer type '{}' (known: {})", type, known));
  }
  l.kind = k->second;
  if (!p.IsNull() && !p.IsMap() && l.kind != LayerKind::kActivation)
    return c.Err(p, fmt::format("{}: parameters must be a map, e.g. {{}}", type));
  static const std::map<LayerKind, std::set<std::string>> kKeys = {
      {LayerKind::kConv2D, {"filters", "kernel", "stride", "padding", "activation"}},
      {LayerKind::kDepthwiseConv2D, {"kernel", "stride", "padding", "activation"}},
      {LayerKind::kDense, {"units", "activation"}},
      {LayerKind::kMaxPool, {"size", "stride"}},
      {LayerKind::kAvgPool, {"size", "stride"}},
      {LayerKind::kGlobalAvgPool, {}},
      {LayerKind::kBatchNorm, {}},
      {LayerKind::kActivation, {"type"}},
      {LayerKind::kDropout, {"rate"}},
      {LayerKind::kFlatten, {}},
      {LayerKind::kResidual, {"layers", "activation"}}};
  if (p.IsMap())
    for (const auto& e : p) {
      const std::string key = e.first.as<std::string>();
      if (!kKeys.at(l.kind).count(key))
        return c.Err(e.first, fmt::format("{}: unknown key '{}'", type, key));
    }
  if (l.kind == LayerKind::kActivation) {
    TML_ASSIGN_OR_RETURN(l.activation, ParseAct(c, p.IsMap() ? p["type"] : p));
    return l;
  }
  if (!p.IsMap()) return l;
  if (p["filters"]) {
    TML_ASSIGN_OR_RETURN(l.filters, Int(c, p["filters"], "filters", 1, 4096));
  } else if (l.kind == LayerKind::kConv2D) {
    return c.Err(p, "conv2d needs 'filters'");
  }
  if (p["units"]) {
    TML_ASSIGN_OR_RETURN(l.units, Int(c, p["units"], "units", 1, 65536));
  } else if (l.kind == LayerKind::kDense) {
    return c.Err(p, "dense needs 'units'");
  }
  if (const YAML::Node kn = p["kernel"]) {
    if (kn.IsSequence() && kn.size() == 2) {
      TML_ASSIGN_OR_RETURN(l.kernel_h, Int(c, kn[0], "kernel", 1, 64));
      TML_ASSIGN_OR_RETURN(l.kernel_w, Int(c, kn[1], "kernel", 1, 64));
    } else {
      TML_ASSIGN_OR_RETURN(l.kernel_h, Int(c, kn, "kernel", 1, 64));
      l.kernel_w = l.kernel_h;
    }
  } else if (l.kind == LayerKind::kConv2D || l.kind == LayerKind::kDepthwiseConv2D) {
    l.kernel_h = l.kernel_w = 3;
  }
  if (l.kind == LayerKind::kDepthwiseConv2D && l.kernel_h != l.kernel_w)
    return c.Err(p["kernel"], "depthwise_conv2d kernels must be square");
  if (p["size"]) {
    TML_ASSIGN_OR_RETURN(l.size, Int(c, p["size"], "size", 1, 256));
  }
  l.stride = l.kind == LayerKind::kMaxPool || l.kind == LayerKind::kAvgPool ? l.size : 1;
  if (p["stride"]) {
    TML_ASSIGN_OR_RETURN(l.stride, Int(c, p["stride"], "stride", 1, 16));
  }
  if (const YAML::Node pad = p["padding"]) {
    const std::string s = pad.IsScalar() ? pad.Scalar() : "";
    if (s != "same" && s != "valid") return c.Err(pad, "padding must be 'same' or 'valid'");
    l.same = s == "same";
  }
  if (p["activation"]) {
    TML_ASSIGN_OR_RETURN(l.activation, ParseAct(c, p["activation"]));
  }
  if (const YAML::Node r = p["rate"]) {
    try {
      l.rate = r.as<float>();
    } catch (const YAML::Exception&) {
      return c.Err(r, "rate must be a number");
    }
    if (!(l.rate >= 0.0f && l.rate < 1.0f)) return c.Err(r, "rate must be in [0, 1)");
  }
  if (l.kind == LayerKind::kResidual) {
    if (!p["layers"]) return c.Err(p, "residual needs 'layers'");
    TML_ASSIGN_OR_RETURN(l.block, ParseLayers(c, p["layers"]));
  }
  return l;
}

Result<std::vector<LayerSpec>> ParseLayers(const Ctx& c, const YAML::Node& list) {
  if (!list.IsSequence() || list.size() == 0)
    return c.Err(list, "'layers' must be a non-empty list");
  std::vector<LayerSpec> out;
  for (const auto& item : list) {
    TML_ASSIGN_OR_RETURN(LayerSpec l, ParseLayer(c, item));
    out.push_back(std::move(l));
  }
  return out;
}

int64_t Out(int64_t in, int k, int s, bool same) {
  return same ? (in + s - 1) / s : (in - k) / s + 1;
}

Status Walk(const std::string& file, std::vector<LayerSpec>& layers, std::vector<int64_t>& shape) {
  for (LayerSpec& l : layers) {
    l.in_shape = shape;
    const auto err = [&](const std::string& m) {
      return Status::Errorf("{}:{}: {} with input {}: {}", file, l.line, LayerKindName(l.kind),
                            fmt::format("[{}]", fmt::join(shape, ", ")), m);
    };
    const bool spatial = shape.size() == 3;
    switch (l.kind) {
      case LayerKind::kConv2D:
      case LayerKind::kDepthwiseConv2D: {
        if (!spatial) return err("needs a [H, W, C] input");
        const int64_t h = Out(shape[0], l.kernel_h, l.stride, l.same);
        const int64_t w = Out(shape[1], l.kernel_w, l.stride, l.same);
        if (h <= 0 || w <= 0) return err("the kernel does not fit the input");
        shape = {h, w, l.kind == LayerKind::kConv2D ? l.filters : shape[2]};
        break;
      }
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool: {
        if (!spatial) return err("needs a [H, W, C] input");
        const int64_t h = (shape[0] - l.size) / l.stride + 1,
                      w = (shape[1] - l.size) / l.stride + 1;
        if (shape[0] < l.size || shape[1] < l.size) return err("the window does not fit the input");
        shape = {h, w, shape[2]};
        break;
      }
      case LayerKind::kGlobalAvgPool:
        if (!spatial) return err("needs a [H, W, C] input");
        shape = {1, 1, shape[2]};
        break;
      case LayerKind::kDense:
        if (shape.size() != 1) return err("needs a flat input: add '- flatten: {}' before it");
        shape = {l.units};
        break;
      case LayerKind::kFlatten: {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        shape = {n};
        break;
      }
      case LayerKind::kResidual: {
        std::vector<int64_t> inner = shape;
        TML_RETURN_IF_ERROR(Walk(file, l.block, inner));
        if (inner.size() != 3 || !spatial) return err("the block must map [H, W, C] to [H, W, C]");
        l.projection = inner != shape;
        if (l.projection &&
            (shape[0] % inner[0] != 0 || shape[0] / inner[0] != shape[1] / inner[1]))
          return err(
              fmt::format("the block's output [{}] cannot be matched by a strided 1x1 "
                          "shortcut",
                          fmt::join(inner, ", ")));
        shape = inner;
        break;
      }
      case LayerKind::kBatchNorm:
        if (&l == &layers.front() ||
            ((&l - 1)->kind != LayerKind::kConv2D &&
             (&l - 1)->kind != LayerKind::kDepthwiseConv2D && (&l - 1)->kind != LayerKind::kDense))
          return err(
              "batch_norm must follow conv2d, depthwise_conv2d or dense (it is folded "
              "into them)");
        if ((&l - 1)->activation != Activation::kNone)
          return err("the layer before batch_norm has an activation; move it after batch_norm");
        break;
      case LayerKind::kActivation:
      case LayerKind::kDropout:
        break;
    }
    l.out_shape = shape;
  }
  return Status::Ok();
}

int64_t LayerMacs(const LayerSpec& l) {
  switch (l.kind) {
    case LayerKind::kConv2D:
      return l.out_shape[0] * l.out_shape[1] * l.out_shape[2] * l.kernel_h * l.kernel_w *
             l.in_shape[2];
    case LayerKind::kDepthwiseConv2D:
      return l.out_shape[0] * l.out_shape[1] * l.out_shape[2] * l.kernel_h * l.kernel_w;
    case LayerKind::kDense:
      return l.in_shape[0] * l.units;
    case LayerKind::kResidual: {
      int64_t m = 0;
      for (const LayerSpec& b : l.block) m += LayerMacs(b);
      if (l.projection) m += l.out_shape[0] * l.out_shape[1] * l.out_shape[2] * l.in_shape[2];
      return m;
    }
    default:
      return 0;
  }
}

}  // namespace

Status CheckModelSpec(ModelSpec& spec) {
  std::vector<int64_t> shape = spec.input;
  TML_RETURN_IF_ERROR(Walk(spec.file, spec.layers, shape));
  if (shape != std::vector<int64_t>{spec.classes})
    return Status::Errorf(
        "{}: the last layer outputs [{}]; it must output [classes] = [{}] "
        "(end with '- dense: {{units: {}}}')",
        spec.file, fmt::join(shape, ", "), spec.classes, spec.classes);
  return Status::Ok();
}

int64_t SpecMacs(const ModelSpec& spec) {
  int64_t m = 0;
  for (const LayerSpec& l : spec.layers) m += LayerMacs(l);
  return m;
}

Result<ModelSpec> ParseSpecUnchecked(const std::string& yaml_text, const std::string& file);

namespace {

void ScaleFilters(std::vector<LayerSpec>& layers, double width) {
  for (LayerSpec& l : layers) {
    if (l.kind == LayerKind::kConv2D)
      l.filters = std::max(1, static_cast<int>(std::lround(l.filters * width)));
    ScaleFilters(l.block, width);
  }
}

}  // namespace

Result<ModelSpec> ParseModelSpec(const std::string& yaml_text, const std::string& file) {
  try {
    return ParseSpecUnchecked(yaml_text, file);
  } catch (const YAML::Exception& e) {  // e.g. a key that is not a scalar
    return Status::Errorf("{}:{}: {}", file, e.mark.line + 1, e.msg);
  }
}

Result<ModelSpec> ParseSpecUnchecked(const std::string& yaml_text, const std::string& file) {
  Ctx c{file};
  YAML::Node y;
  try {
    y = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}:{}: invalid YAML: {}", file, e.mark.line + 1, e.msg);
  }
  if (!y.IsMap())
    return Status::Errorf("{}: a model spec is a map (name, input, classes, layers)", file);
  for (const auto& e : y) {
    const std::string key = e.first.as<std::string>();
    if (key != "name" && key != "input" && key != "classes" && key != "layers" && key != "width" &&
        key != "frontend")
      return c.Err(
          e.first,
          fmt::format("unknown key '{}' (name, input, classes, width, frontend, layers)", key));
  }
  ModelSpec spec;
  spec.file = file;
  spec.name = y["name"] ? y["name"].as<std::string>() : "model";
  const YAML::Node in = y["input"];
  if (!in || !in.IsSequence() || (in.size() != 3 && in.size() != 1))
    return Status::Errorf("{}: 'input' must be [height, width, channels] or [features]", file);
  for (const auto& d : in) {
    TML_ASSIGN_OR_RETURN(int v, Int(c, d, "input", 1, 4096));
    spec.input.push_back(v);
  }
  if (!y["classes"]) return Status::Errorf("{}: 'classes' is missing", file);
  TML_ASSIGN_OR_RETURN(spec.classes, Int(c, y["classes"], "classes", 2, 100000));
  if (!y["layers"]) return Status::Errorf("{}: 'layers' is missing", file);
  TML_ASSIGN_OR_RETURN(spec.layers, ParseLayers(c, y["layers"]));
  if (const YAML::Node w = y["width"]) {
    try {
      spec.width = w.as<double>();
    } catch (const YAML::Exception&) {
      return c.Err(w, "'width' must be a number");
    }
    if (!(spec.width > 0 && spec.width <= 8)) return c.Err(w, "'width' must be in (0, 8]");
    ScaleFilters(spec.layers, spec.width);
  }
  if (const YAML::Node f = y["frontend"]) {
    // A shipped name, or a file relative to the spec's folder.
    std::string name;
    try {
      name = f.as<std::string>();
    } catch (const YAML::Exception&) {
      return c.Err(f, "'frontend' names a front end (mlperf-kws) or a YAML file");
    }
    if (!IsShippedName(name) && !std::filesystem::path(name).is_absolute())
      name = (std::filesystem::path(file).parent_path() / name).string();
    auto fe = FindFrontEnd(name);
    if (!fe.ok()) return c.Err(f, fe.status().message());
    int64_t in = 1;
    for (int64_t d : spec.input) in *= d;
    if (in != static_cast<int64_t>(fe->frames()) * fe->features())
      return c.Err(
          f, fmt::format("front end '{}' gives {} frames x {} features, the input [{}] "
                         "takes {} values",
                         fe->name, fe->frames(), fe->features(), fmt::join(spec.input, ", "), in));
    spec.frontend = std::move(*fe);
  }
  TML_RETURN_IF_ERROR(CheckModelSpec(spec));
  return spec;
}

Result<ModelSpec> LoadModelSpec(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::Errorf("{}: cannot open", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ParseModelSpec(ss.str(), path);
}

namespace {

const char* ActName(Activation a) {
  return a == Activation::kRelu ? "relu" : (a == Activation::kRelu6 ? "relu6" : "none");
}

void LayersToYaml(const std::vector<LayerSpec>& layers, const std::string& indent,
                  std::string* out) {
  for (const LayerSpec& l : layers) {
    const std::string act = l.activation != Activation::kNone
                                ? fmt::format(", activation: {}", ActName(l.activation))
                                : "";
    const std::string pad = l.same ? "" : ", padding: valid";
    const std::string kernel = l.kernel_h == l.kernel_w
                                   ? std::to_string(l.kernel_h)
                                   : fmt::format("[{}, {}]", l.kernel_h, l.kernel_w);
    switch (l.kind) {
      case LayerKind::kConv2D:
        *out += fmt::format("{}- conv2d: {{filters: {}, kernel: {}, stride: {}{}{}}}\n", indent,
                            l.filters, kernel, l.stride, pad, act);
        break;
      case LayerKind::kDepthwiseConv2D:
        *out += fmt::format("{}- depthwise_conv2d: {{kernel: {}, stride: {}{}{}}}\n", indent,
                            kernel, l.stride, pad, act);
        break;
      case LayerKind::kDense:
        *out += fmt::format("{}- dense: {{units: {}{}}}\n", indent, l.units, act);
        break;
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool:
        *out += fmt::format("{}- {}: {{size: {}, stride: {}}}\n", indent, LayerKindName(l.kind),
                            l.size, l.stride);
        break;
      case LayerKind::kActivation:
        *out += fmt::format("{}- activation: {}\n", indent, ActName(l.activation));
        break;
      case LayerKind::kDropout:
        *out += fmt::format("{}- dropout: {{rate: {}}}\n", indent, l.rate);
        break;
      case LayerKind::kResidual:
        *out += fmt::format("{}- residual:\n{}    activation: {}\n{}    layers:\n", indent, indent,
                            ActName(l.activation), indent);
        LayersToYaml(l.block, indent + "      ", out);
        break;
      default:
        *out += fmt::format("{}- {}: {{}}\n", indent, LayerKindName(l.kind));
        break;
    }
  }
}

}  // namespace

std::string SpecToYaml(const ModelSpec& spec) {
  std::string out = fmt::format("name: {}\ninput: [{}]\nclasses: {}\n", spec.name,
                                fmt::join(spec.input, ", "), spec.classes);
  if (spec.frontend)
    out += fmt::format("frontend: {}\n", spec.frontend->source_file.empty()
                                             ? spec.frontend->name
                                             : spec.frontend->source_file);
  out += "layers:\n";
  LayersToYaml(spec.layers, "  ", &out);
  return out;
}

}  // namespace tml
