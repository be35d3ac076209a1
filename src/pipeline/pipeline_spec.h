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
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

enum class ParamType { kString, kInt, kNumber, kBool, kStringList };

struct ParamSchema {
  ParamType type;
  bool required = false;
  bool file = false;   // a path the step reads (unless it is a ${step.output} reference)
  bool named = false;  // file: or the name of a shipped one (no '/' or '.'), not a path
};

struct ComponentSchema {
  std::string name, summary;
  std::map<std::string, ParamSchema> params;
  std::vector<std::string> outputs;
};

// The components a pipeline can use.
const std::vector<ComponentSchema>& Components();

// Parameter name -> values (a scalar is one value).
using StepParams = std::map<std::string, std::vector<std::string>>;

struct StepSpec {
  std::string name, component;
  int line = 0;
  // Parameter values as written (scalars as text, lists as lists); references not
  // yet resolved.
  StepParams with;
  std::map<std::string, int> lines;  // parameter -> line
  std::vector<std::string> after;    // steps whose outputs this one reads
};

// One combination of a sweep: a model trained, squeezed one way, built for one
// target; the names of the steps that measure it.
struct SweepCell {
  std::string model, squeeze, target;
  std::string float_eval, int8_eval, compile, device_eval;  // device_eval: "" if off
};

// A `sweep:` block expands into ordinary steps (so caching and lineage are the same):
//   sweep:
//     data: "${data.dataset}"
//     models: [examples/models/tiny_cnn.yaml, examples/models/ds_cnn.yaml]
//     train: {epochs: 1, batch: 128}            # train parameters
//     squeeze:
//       - {name: int8}                          # quantize: method, samples
//       - {name: pruned-int8, prune: 0.5, prune_epochs: 1}
//     targets: [cortex-m4]
//     samples: 500                              # test samples evaluated (0: all)
//     on_device: true                           # int8 test samples on the board too
// Steps: MODEL/train, MODEL/float, MODEL/SQUEEZE/{prune,float,int8,int8-eval},
// MODEL/SQUEEZE/TARGET (compile) and MODEL/SQUEEZE/TARGET/device (evaluate).
struct SweepSpec {
  int line = 0;
  std::vector<SweepCell> cells;
};

struct PipelineSpec {
  std::string name, file;
  std::vector<StepSpec> steps;
  std::optional<SweepSpec> sweep;
  const StepSpec* Find(const std::string& step) const;
  // The named steps and every step they read from, directly or not.
  std::set<std::string> Closure(const std::vector<std::string>& steps) const;
};

// The named steps with what they read from, in the pipeline's order, without the
// sweep block: what one cell of a sweep runs as a job of its own.
PipelineSpec SubPipeline(const PipelineSpec& p, const std::vector<std::string>& steps);
// The steps that measure each cell (evaluations, the compile), in cell order.
std::vector<std::vector<std::string>> SweepCellSteps(const SweepSpec& sweep);

Result<PipelineSpec> LoadPipeline(const std::string& path);
Result<PipelineSpec> ParsePipeline(const std::string& yaml_text, const std::string& file);

// Every file the pipeline's steps read (parameters marked `file`, references aside)
// must lie under one of `roots` once symlinks and ".." are resolved; the error names
// the step, the parameter and the roots. What a server checks before it queues a job.
Status CheckFilesUnder(const PipelineSpec& p, const std::vector<std::string>& roots);

// "${step.output}" references in a value, in order.
std::vector<std::pair<std::string, std::string>> References(const std::string& value);

}  // namespace tml
