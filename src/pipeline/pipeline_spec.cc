#include "pipeline/pipeline_spec.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace tml {

const std::vector<ComponentSchema>& Components() {
  using P = ParamSchema;
  const ParamType S = ParamType::kString, I = ParamType::kInt, N = ParamType::kNumber,
                  B = ParamType::kBool, L = ParamType::kStringList;
  static const std::vector<ComponentSchema> kAll = {
      {"dataset",
       "import files into a dataset version (IDX pair, class folder or label file)",
       {{"dataset", P{S, true}},
        {"idx", P{L}},
        {"folder", P{S}},
        {"labels", P{S}},
        {"classes", P{L}},
        {"split", P{S}},
        {"val_from_train", P{N}},
        {"size", P{S}},
        {"channels", P{I}},
        {"rate", P{I}},
        {"seconds", P{N}}},
       {"dataset"}},
      {"train",
       "train a model spec on a dataset version",
       {{"spec", P{S, true}},
        {"data", P{S, true}},
        {"epochs", P{I}},
        {"batch", P{I}},
        {"lr", P{N}},
        {"schedule", P{S}},
        {"seed", P{I}},
        {"patience", P{I}},
        {"augment", P{S}},
        {"init", P{S}},
        {"freeze", P{I}},
        {"max_steps", P{I}}},
       {"model", "run"}},
      {"quantize",
       "post-training int8 quantization calibrated on a dataset split",
       {{"model", P{S, true}},
        {"calibration", P{S, true}},
        {"method", P{S}},
        {"samples", P{I}},
        {"float_io", P{B}}},
       {"model"}},
      {"prune",
       "structured channel pruning with fine-tuning",
       {{"model", P{S, true}},
        {"spec", P{S, true}},
        {"data", P{S, true}},
        {"ratio", P{N}},
        {"epochs", P{I}}},
       {"model", "spec"}},
      {"compile",
       "C sources and firmware for a target",
       {{"model", P{S, true}}, {"target", P{S, true}}},
       {"firmware", "profile"}},
      {"evaluate",
       "accuracy on a dataset split, on the host or an emulated board",
       {{"model", P{S, true}}, {"data", P{S, true}}, {"target", P{S}}, {"samples", P{I}}},
       {"accuracy"}},
  };
  return kAll;
}

std::vector<std::pair<std::string, std::string>> References(const std::string& value) {
  static const std::regex kRef(R"(\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\})");
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
    if (k != "name" && k != "steps")
      return c.Err(e.first, fmt::format("unknown key '{}' (name, steps)", k));
  }
  PipelineSpec p;
  p.file = file;
  p.name = y["name"] ? y["name"].as<std::string>() : "pipeline";
  const YAML::Node steps = y["steps"];
  if (!steps || !steps.IsSequence() || steps.size() == 0)
    return Status::Errorf("{}: 'steps' must be a non-empty list", file);
  std::map<std::string, const ComponentSchema*> done;  // step name -> its component
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
    const ComponentSchema* schema = nullptr;
    std::string known;
    for (const ComponentSchema& k : Components()) {
      if (k.name == s.component) schema = &k;
      known += (known.empty() ? "" : ", ") + k.name;
    }
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
        for (const std::string& v : s.with[k])
          for (const auto& [step, output] : References(v)) {
            auto d = done.find(step);
            if (d == done.end())
              return c.Err(e.second, fmt::format("'${{{}.{}}}' refers to no earlier step '{}'",
                                                 step, output, step));
            const auto& outs = d->second->outputs;
            if (std::find(outs.begin(), outs.end(), output) == outs.end())
              return c.Err(e.second,
                           fmt::format("step '{}' ({}) has no output '{}' (it has: {})", step,
                                       d->second->name, output, fmt::join(outs, ", ")));
            if (std::find(s.after.begin(), s.after.end(), step) == s.after.end())
              s.after.push_back(step);
          }
      }
    for (const auto& [k, ps] : schema->params)
      if (ps.required && !s.with.count(k))
        return c.Err(st, fmt::format("step '{}' ({}) needs '{}'", s.name, s.component, k));
    done[s.name] = schema;
    p.steps.push_back(std::move(s));
  }
  return p;
}

}  // namespace

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
