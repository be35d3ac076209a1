// Pipeline files (YAML): named steps, each a component with typed parameters;
// later steps refer to earlier steps' outputs as ${step.output}. Everything is
// checked before anything runs: unknown keys, wrong types, missing required
// parameters and dangling references are errors naming the file and line.
//
//   name: fashion-mnist
//   steps:
//     - name: data
//       component: dataset
//       with: {dataset: fashion, idx: [IMAGES, LABELS], split: train}
//     - name: model
//       component: train
//       with: {spec: examples/models/tiny_cnn.yaml, data: "${data.dataset}", epochs: 3}
//
//   TML_ASSIGN_OR_RETURN(PipelineSpec p, LoadPipeline("examples/fashion-mnist.yaml"));
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

enum class ParamType { kString, kInt, kNumber, kBool, kStringList };

struct ParamSchema {
  ParamType type;
  bool required = false;
};

struct ComponentSchema {
  std::string name, summary;
  std::map<std::string, ParamSchema> params;
  std::vector<std::string> outputs;
};

// The components a pipeline can use.
const std::vector<ComponentSchema>& Components();

struct StepSpec {
  std::string name, component;
  int line = 0;
  // Parameter values as written (scalars as text, lists as lists); references not
  // yet resolved.
  std::map<std::string, std::vector<std::string>> with;
  std::map<std::string, int> lines;  // parameter -> line
  std::vector<std::string> after;    // steps whose outputs this one reads
};

struct PipelineSpec {
  std::string name, file;
  std::vector<StepSpec> steps;
};

Result<PipelineSpec> LoadPipeline(const std::string& path);
Result<PipelineSpec> ParsePipeline(const std::string& yaml_text, const std::string& file);

// "${step.output}" references in a value, in order.
std::vector<std::pair<std::string, std::string>> References(const std::string& value);

}  // namespace tml
