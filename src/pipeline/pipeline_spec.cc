#include "pipeline/pipeline_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/path_under.h"
#include "targets/target_profile.h"

namespace tml {

const std::vector<ComponentSchema>& Components() {
  using P = ParamSchema;
  const ParamType S = ParamType::kString, I = ParamType::kInt, N = ParamType::kNumber,
                  B = ParamType::kBool, L = ParamType::kStringList;
  static const std::vector<ComponentSchema> kAll = {
      {"dataset",
       "import files into a dataset version (IDX pair, class folder or label file)",
       {{"dataset", P{S, true}},
        {"idx", P{L, false, true}},
        {"folder", P{S, false, true}},
        {"labels", P{S, false, true}},
        {"classes", P{L}},
        {"split", P{S}},
        {"val_from_train", P{N}},
        {"size", P{S}},
        {"channels", P{I}},
        {"rate", P{I}},
        {"seconds", P{N}}},
       {"dataset"}},
      {"synth-speech",
       "a keyword dataset version spoken by espeak-ng (speakers split between train, val, test)",
       {{"dataset", P{S, true}},
        {"words", P{L}},
        {"set", P{S}},
        {"unknown_words", P{L}},
        {"speakers", P{I}},
        {"takes", P{I}},
        {"val", P{N}},
        {"test", P{N}},
        {"noise_dir", P{S, false, true}},
        {"snr", P{N}},
        {"reverb", P{N}},
        {"seed", P{I}}},
       {"dataset"}},
      {"train",
       "train a model spec on a dataset version",
       {{"spec", P{S, true, true}},
        {"data", P{S, true}},
        {"epochs", P{I}},
        {"batch", P{I}},
        {"lr", P{N}},
        {"schedule", P{S}},
        {"seed", P{I}},
        {"patience", P{I}},
        {"augment", P{S}},
        {"init", P{S, false, true}},
        {"freeze", P{I}},
        {"max_steps", P{I}}},
       {"model", "run"}},
      {"quantize",
       "post-training int8 quantization calibrated on a dataset split",
       {{"model", P{S, true, true}},
        {"calibration", P{S, true}},
        {"method", P{S}},
        {"samples", P{I}},
        {"float_io", P{B}}},
       {"model"}},
      {"prune",
       "structured channel pruning with fine-tuning",
       {{"model", P{S, true, true}},
        {"spec", P{S, true, true}},
        {"data", P{S, true}},
        {"ratio", P{N}},
        {"epochs", P{I}}},
       {"model", "spec"}},
      {"frontend",
       "attach a feature front end (a shipped name or a YAML file) to a model: it then takes "
       "raw samples",
       {{"model", P{S, true, true}}, {"frontend", P{S, true, true, true}}},
       {"model"}},
      {"compile",
       "C sources and firmware for a target",
       {{"model", P{S, true, true}}, {"target", P{S, true}}},
       {"firmware", "profile"}},
      {"evaluate",
       "accuracy on a dataset split, on the host or an emulated board",
       {{"model", P{S, true, true}}, {"data", P{S, true}}, {"target", P{S}}, {"samples", P{I}}},
       {"accuracy", "host_accuracy"}},
      {"split",
       "the best cut of a model over a node chain (MCU, gateway, cloud) and one sub-model per node",
       {{"model", P{S, true, true}},
        {"chain", P{S, true, true, true}},
        {"objective", P{S}},
        {"check_samples", P{I}}},
       {"partition"}},
      {"cascade",
       "a small model on the chain's first node, a big one on its last: accuracy, offload rate, "
       "latency and energy per confidence threshold",
       {{"small", P{S, true, true}},
        {"big", P{S, true, true}},
        {"chain", P{S, true, true, true}},
        {"data", P{S, true}},
        {"samples", P{I}}},
       {"curve"}},
  };
  return kAll;
}

Status CheckFilesUnder(const PipelineSpec& p, const std::vector<std::string>& roots) {
  for (const StepSpec& s : p.steps) {
    const ComponentSchema* c = nullptr;
    for (const ComponentSchema& k : Components())
      if (k.name == s.component) c = &k;
    if (!c) continue;
    for (const auto& [name, values] : s.with) {
      auto it = c->params.find(name);
      if (it == c->params.end() || !it->second.file) continue;
      for (const std::string& v : values) {
        if (!References(v).empty() || v.empty()) continue;
        if (it->second.named && v.find_first_of("/.") == std::string::npos) continue;
        if (!PathUnder(v, roots))
          return Status::Errorf(
              "step '{}': {} '{}' is outside the directories this server reads files from ({})",
              s.name, name, v, fmt::join(roots, ", "));
      }
    }
  }
  return Status::Ok();
}

std::vector<std::pair<std::string, std::string>> References(const std::string& value) {
  static const std::regex kRef(R"(\$\{([A-Za-z0-9_/-]+)\.([A-Za-z0-9_]+)\})");
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = std::sregex_iterator(value.begin(), value.end(), kRef);
       it != std::sregex_iterator(); ++it)
    out.emplace_back((*it)[1].str(), (*it)[2].str());
  return out;
}

namespace {

struct Ctx {
  std::string file;
  Status Err(const YAML::Node& n, const std::string& m) const {
    return Status::Errorf("{}:{}: {}", file, n.Mark().line + 1, m);
  }
};

const char* TypeName(ParamType t) {
  switch (t) {
    case ParamType::kString:
      return "a string";
    case ParamType::kInt:
      return "an integer";
    case ParamType::kNumber:
      return "a number";
    case ParamType::kBool:
      return "true or false";
    case ParamType::kStringList:
      return "a list of strings";
  }
  return "?";
}

// Checks a value against its type; returns it as text (a list: each item).
Result<std::vector<std::string>> Value(const Ctx& c, const YAML::Node& n, const std::string& key,
                                       ParamType t) {
  const auto wrong = [&] { return c.Err(n, fmt::format("'{}' must be {}", key, TypeName(t))); };
  if (t == ParamType::kStringList) {
    if (!n.IsSequence()) return wrong();
    std::vector<std::string> out;
    for (const auto& e : n) {
      if (!e.IsScalar()) return wrong();
      out.push_back(e.Scalar());
    }
    return out;
  }
  if (!n.IsScalar()) return wrong();
  const std::string s = n.Scalar();
  try {
    if (t == ParamType::kInt) (void)n.as<int64_t>();
    if (t == ParamType::kNumber) (void)n.as<double>();
    if (t == ParamType::kBool) (void)n.as<bool>();
  } catch (const YAML::Exception&) {
    if (References(s).empty()) return wrong();  // a reference is resolved later
  }
  return std::vector<std::string>{s};
}

using Done = std::map<std::string, const ComponentSchema*>;  // step name -> its component

const ComponentSchema* FindComponent(const std::string& name) {
  for (const ComponentSchema& k : Components())
    if (k.name == name) return &k;
  return nullptr;
}

// The references in values must name earlier steps and their outputs; they are
// recorded in s.after.
Status CheckRefs(const Ctx& c, const YAML::Node& at, const std::vector<std::string>& values,
                 const Done& done, StepSpec& s) {
  for (const std::string& v : values)
    for (const auto& [step, output] : References(v)) {
      auto d = done.find(step);
      if (d == done.end())
        return c.Err(
            at, fmt::format("'${{{}.{}}}' refers to no earlier step '{}'", step, output, step));
      const auto& outs = d->second->outputs;
      if (std::find(outs.begin(), outs.end(), output) == outs.end())
        return c.Err(at, fmt::format("step '{}' ({}) has no output '{}' (it has: {})", step,
                                     d->second->name, output, fmt::join(outs, ", ")));
      if (std::find(s.after.begin(), s.after.end(), step) == s.after.end()) s.after.push_back(step);
    }
  return Status::Ok();
}

Status CheckTarget(const Ctx& c, const YAML::Node& at, const std::string& target) {
  if (target == "host" || !References(target).empty()) return Status::Ok();
  auto t = FindTarget(target);
  return t.ok() ? Status::Ok() : c.Err(at, t.status().message());
}

// Expands the sweep block into steps (see SweepSpec).
Status ParseSweep(const Ctx& c, const YAML::Node& y, Done& done, PipelineSpec& p) {
  if (!y.IsMap()) return c.Err(y, "'sweep' must be a map (data, models, squeeze, targets, ...)");
  const std::set<std::string> keys = {"data",    "models",  "train",    "squeeze",
                                      "targets", "samples", "on_device"};
  for (const auto& e : y)
    if (!keys.count(e.first.as<std::string>()))
      return c.Err(e.first, fmt::format("unknown key '{}' in sweep ({})", e.first.as<std::string>(),
                                        fmt::join(keys, ", ")));
  for (const char* k : {"data", "models", "squeeze", "targets"})
    if (!y[k]) return c.Err(y, fmt::format("the sweep needs '{}'", k));
  SweepSpec sw;
  sw.line = y.Mark().line + 1;
  StepSpec probe;
  TML_ASSIGN_OR_RETURN(auto data, Value(c, y["data"], "data", ParamType::kString));
  TML_RETURN_IF_ERROR(CheckRefs(c, y["data"], data, done, probe));
  TML_ASSIGN_OR_RETURN(auto models, Value(c, y["models"], "models", ParamType::kStringList));
  TML_ASSIGN_OR_RETURN(auto targets, Value(c, y["targets"], "targets", ParamType::kStringList));
  for (const std::string& t : targets) {
    if (t == "host")
      return c.Err(y["targets"],
                   "a sweep measures each cell on a board: 'host' has no instruction count or "
                   "memory budget; name an emulated board (targets/*.yaml, e.g. cortex-m4)");
    TML_RETURN_IF_ERROR(CheckTarget(c, y["targets"], t));
  }
  std::string samples = "0";
  if (y["samples"]) {
    TML_ASSIGN_OR_RETURN(auto v, Value(c, y["samples"], "samples", ParamType::kInt));
    samples = v[0];
  }
  bool on_device = true;
  if (y["on_device"]) {
    TML_RETURN_IF_ERROR(Value(c, y["on_device"], "on_device", ParamType::kBool).status());
    on_device = y["on_device"].as<bool>();
  }
  StepParams train;
  if (const YAML::Node t = y["train"]) {
    if (!t.IsMap()) return c.Err(t, "'train' must be a map of train parameters");
    const ComponentSchema* ts = FindComponent("train");
    for (const auto& e : t) {
      const std::string k = e.first.as<std::string>();
      auto it = ts->params.find(k);
      if (it == ts->params.end() || k == "spec" || k == "data")
        return c.Err(e.first, fmt::format("sweep train: unknown parameter '{}'", k));
      TML_ASSIGN_OR_RETURN(train[k], Value(c, e.second, k, it->second.type));
    }
  }
  const YAML::Node sq = y["squeeze"];
  if (!sq.IsSequence() || sq.size() == 0)
    return c.Err(sq, "'squeeze' must be a list of {name, prune, prune_epochs, method, samples}");
  // Adds a generated step; its parameters are the sweep's, so errors point at the sweep.
  auto add = [&](const YAML::Node& at, const std::string& name, const std::string& component,
                 StepParams with) -> Status {
    if (done.count(name)) return c.Err(at, fmt::format("step '{}' is defined twice", name));
    StepSpec s;
    s.name = name;
    s.component = component;
    s.line = at.Mark().line + 1;
    s.with = std::move(with);
    for (const auto& [k, v] : s.with) {
      s.lines[k] = s.line;
      TML_RETURN_IF_ERROR(CheckRefs(c, at, v, done, s));
    }
    done[name] = FindComponent(component);
    p.steps.push_back(std::move(s));
    return Status::Ok();
  };
  const std::string d = data[0];
  std::set<std::string> labels;
  for (const std::string& m : models) {
    const std::string label = std::filesystem::path(m).stem().string();
    if (!labels.insert(label).second)
      return c.Err(y["models"], fmt::format("two models named '{}'", label));
    StepParams tp = train;
    tp["spec"] = {m};
    tp["data"] = {d};
    TML_RETURN_IF_ERROR(add(y["models"], label + "/train", "train", tp));
    const std::string trained = "${" + label + "/train.model}";
    TML_RETURN_IF_ERROR(
        add(y["models"], label + "/float", "evaluate",
            {{"model", {trained}}, {"data", {d + "@test"}}, {"samples", {samples}}}));
    std::set<std::string> names;
    for (const auto& q : sq) {
      if (!q.IsMap() || !q["name"] || !q["name"].IsScalar())
        return c.Err(q, "a squeeze config is a map with a 'name'");
      const std::string name = q["name"].Scalar();
      if (!names.insert(name).second)
        return c.Err(q, fmt::format("two squeeze configs named '{}'", name));
      const std::string base = label + "/" + name;
      std::string model = trained, float_eval = label + "/float";
      StepParams quant = {{"model", {}}, {"calibration", {d + "@train"}}};
      for (const auto& e : q) {
        const std::string k = e.first.as<std::string>();
        if (k == "name") continue;
        if (k != "prune" && k != "prune_epochs" && k != "method" && k != "samples")
          return c.Err(e.first, fmt::format("unknown key '{}' in a squeeze config (name, prune, "
                                            "prune_epochs, method, samples)",
                                            k));
        const ParamType t = k == "prune"    ? ParamType::kNumber
                            : k == "method" ? ParamType::kString
                                            : ParamType::kInt;
        TML_ASSIGN_OR_RETURN(auto v, Value(c, e.second, k, t));
        if (k == "method" || k == "samples") quant[k] = v;
      }
      if (q["prune"]) {
        StepParams pr = {
            {"model", {trained}}, {"spec", {m}}, {"data", {d}}, {"ratio", {q["prune"].Scalar()}}};
        if (q["prune_epochs"]) pr["epochs"] = {q["prune_epochs"].Scalar()};
        TML_RETURN_IF_ERROR(add(q, base + "/prune", "prune", pr));
        model = "${" + base + "/prune.model}";
        float_eval = base + "/float";
        TML_RETURN_IF_ERROR(
            add(q, float_eval, "evaluate",
                {{"model", {model}}, {"data", {d + "@test"}}, {"samples", {samples}}}));
      }
      quant["model"] = {model};
      TML_RETURN_IF_ERROR(add(q, base + "/int8", "quantize", quant));
      const std::string int8 = "${" + base + "/int8.model}";
      TML_RETURN_IF_ERROR(
          add(q, base + "/int8-eval", "evaluate",
              {{"model", {int8}}, {"data", {d + "@test"}}, {"samples", {samples}}}));
      for (const std::string& t : targets) {
        SweepCell cell{label, name, t, float_eval, base + "/int8-eval", base + "/" + t, ""};
        TML_RETURN_IF_ERROR(
            add(y["targets"], cell.compile, "compile", {{"model", {int8}}, {"target", {t}}}));
        if (on_device) {
          cell.device_eval = cell.compile + "/device";
          TML_RETURN_IF_ERROR(add(y["targets"], cell.device_eval, "evaluate",
                                  {{"model", {int8}},
                                   {"data", {d + "@test"}},
                                   {"target", {t}},
                                   {"samples", {samples}}}));
        }
        sw.cells.push_back(std::move(cell));
      }
    }
  }
  p.sweep = std::move(sw);
  return Status::Ok();
}

Result<PipelineSpec> Parse(const std::string& text, const std::string& file) {
  Ctx c{file};
  YAML::Node y;
  try {
    y = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}:{}: invalid YAML: {}", file, e.mark.line + 1, e.msg);
  }
  if (!y.IsMap()) return Status::Errorf("{}: a pipeline is a map with 'name' and 'steps'", file);
  for (const auto& e : y) {
    const std::string k = e.first.as<std::string>();
    if (k != "name" && k != "steps" && k != "sweep")
      return c.Err(e.first, fmt::format("unknown key '{}' (name, steps, sweep)", k));
  }
  PipelineSpec p;
  p.file = file;
  p.name = y["name"] ? y["name"].as<std::string>() : "pipeline";
  // A sweep may stand alone (its data a dataset name); otherwise steps are needed.
  const YAML::Node steps = y["steps"] ? y["steps"] : YAML::Node(YAML::NodeType::Sequence);
  if (!steps.IsSequence() || (steps.size() == 0 && !y["sweep"]))
    return Status::Errorf("{}: 'steps' must be a non-empty list (or give a 'sweep')", file);
  Done done;
  for (const auto& st : steps) {
    if (!st.IsMap()) return c.Err(st, "a step is a map: {name, component, with}");
    StepSpec s;
    s.line = st.Mark().line + 1;
    for (const auto& e : st) {
      const std::string k = e.first.as<std::string>();
      if (k != "name" && k != "component" && k != "with")
        return c.Err(e.first, fmt::format("unknown key '{}' in a step (name, component, with)", k));
    }
    if (!st["name"] || !st["name"].IsScalar()) return c.Err(st, "a step needs a 'name'");
    s.name = st["name"].Scalar();
    if (done.count(s.name))
      return c.Err(st["name"], fmt::format("step '{}' is defined twice", s.name));
    if (!st["component"] || !st["component"].IsScalar())
      return c.Err(st, fmt::format("step '{}' needs a 'component'", s.name));
    s.component = st["component"].Scalar();
    const ComponentSchema* schema = FindComponent(s.component);
    std::string known;
    for (const ComponentSchema& k : Components()) known += (known.empty() ? "" : ", ") + k.name;
    if (!schema)
      return c.Err(st["component"],
                   fmt::format("unknown component '{}' (known: {})", s.component, known));
    const YAML::Node with = st["with"];
    if (with && !with.IsMap()) return c.Err(with, "'with' must be a map of parameters");
    if (with)
      for (const auto& e : with) {
        const std::string k = e.first.as<std::string>();
        auto it = schema->params.find(k);
        if (it == schema->params.end()) {
          std::string allowed;
          for (const auto& [name, _] : schema->params)
            allowed += (allowed.empty() ? "" : ", ") + name;
          return c.Err(e.first, fmt::format("{}: unknown parameter '{}' (allowed: {})", s.component,
                                            k, allowed));
        }
        TML_ASSIGN_OR_RETURN(s.with[k], Value(c, e.second, k, it->second.type));
        s.lines[k] = e.first.Mark().line + 1;
        TML_RETURN_IF_ERROR(CheckRefs(c, e.second, s.with[k], done, s));
        if (k == "target") TML_RETURN_IF_ERROR(CheckTarget(c, e.second, s.with[k][0]));
      }
    for (const auto& [k, ps] : schema->params)
      if (ps.required && !s.with.count(k))
        return c.Err(st, fmt::format("step '{}' ({}) needs '{}'", s.name, s.component, k));
    done[s.name] = schema;
    p.steps.push_back(std::move(s));
  }
  if (y["sweep"]) TML_RETURN_IF_ERROR(ParseSweep(c, y["sweep"], done, p));
  return p;
}

}  // namespace

const StepSpec* PipelineSpec::Find(const std::string& step) const {
  for (const StepSpec& s : steps)
    if (s.name == step) return &s;
  return nullptr;
}

std::set<std::string> PipelineSpec::Closure(const std::vector<std::string>& names) const {
  std::set<std::string> keep;
  std::vector<std::string> todo = names;
  while (!todo.empty()) {
    const std::string n = todo.back();
    todo.pop_back();
    const StepSpec* s = Find(n);
    if (!s || !keep.insert(n).second) continue;
    todo.insert(todo.end(), s->after.begin(), s->after.end());
  }
  return keep;
}

PipelineSpec SubPipeline(const PipelineSpec& p, const std::vector<std::string>& names) {
  const std::set<std::string> keep = p.Closure(names);
  PipelineSpec sub;
  sub.name = p.name;
  sub.file = p.file;
  for (const StepSpec& s : p.steps)
    if (keep.count(s.name)) sub.steps.push_back(s);
  return sub;
}

std::vector<std::vector<std::string>> SweepCellSteps(const SweepSpec& sweep) {
  std::vector<std::vector<std::string>> cells;
  for (const SweepCell& c : sweep.cells) {
    std::vector<std::string> steps = {c.float_eval, c.int8_eval, c.compile};
    if (!c.device_eval.empty()) steps.push_back(c.device_eval);
    cells.push_back(std::move(steps));
  }
  return cells;
}

Result<PipelineSpec> ParsePipeline(const std::string& text, const std::string& file) {
  try {
    return Parse(text, file);
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}:{}: {}", file, e.mark.line + 1, e.msg);
  }
}

Result<PipelineSpec> LoadPipeline(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::Errorf("{}: cannot open", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ParsePipeline(ss.str(), path);
}

}  // namespace tml
