#include "app/prune.h"

#include <fmt/format.h>

#include <fstream>

#include "data/loader.h"
#include "formats/export.h"
#include "formats/import.h"
#include "train/prune.h"
#include "train/prune_flow.h"
#include "train/training.h"

namespace tml {

using json = nlohmann::json;

Result<PruneOutcome> Prune(Workspace& ws, const PruneRequest& q, Progress& progress) {
  if (!(q.ratio > 0 && q.ratio < 1))
    return Status::Errorf("ratio {} must lie between 0 and 1", q.ratio);
  TML_ASSIGN_OR_RETURN(Graph model, LoadModel(q.model));
  TML_ASSIGN_OR_RETURN(ModelSpec spec, LoadModelSpec(q.spec));
  TML_ASSIGN_OR_RETURN(LoadedSplit train, LoadSplitRef(ws, q.data, Split::kTrain));
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(q.data));
  TML_ASSIGN_OR_RETURN(LoadedSplit val, LoadSplit(ws, ref.name, ref.version, Split::kVal));
  const bool has_val = val.data.count() > 0;
  const TrainCallbacks cb = ProgressCallbacks(progress, q.options.epochs, has_val);
  auto run = PruneAndFineTune(spec, model, train.data, has_val ? &val.data : nullptr, q.ratio,
                              q.options, cb);
  if (!run.ok()) return run.status().Wrap(q.spec);
  PruneOutcome r;
  r.changes = run->pruned.changes;
  for (const std::string& c : r.changes) progress.Log(c);
  const LabeledData& check = has_val ? val.data : train.data;
  r.measured_on = has_val ? "val" : "train";
  r.measured_samples = check.count();
  TML_ASSIGN_OR_RETURN(auto before, EvaluateParams(run->base, run->base_params, check));
  TML_ASSIGN_OR_RETURN(auto cut, EvaluateParams(run->pruned.spec, run->pruned.params, check));
  TML_ASSIGN_OR_RETURN(auto after, EvaluateParams(run->pruned.spec, run->tuned.params, check));
  r.accuracy_before = before.first;
  r.accuracy_pruned = cut.first;
  r.accuracy_after = after.first;
  r.macs_before = SpecMacs(run->base);
  r.macs_after = SpecMacs(run->pruned.spec);
  r.weights_before = SpecWeights(run->base);
  r.weights_after = SpecWeights(run->pruned.spec);
  TML_ASSIGN_OR_RETURN(r.model_path, SaveOnnxByContent(run->graph, ws.root + "/artifacts"));
  r.spec_path = r.model_path.substr(0, r.model_path.size() - 5) + ".yaml";
  {
    std::ofstream f(r.spec_path);
    f << "# pruned from " << q.spec << " (" << q.ratio << " of the channels of prunable layers)\n"
      << SpecToYaml(run->pruned.spec);
    if (!f) return Status::Internal("{}: write failed", r.spec_path);
  }
  r.graph = std::move(run->graph);
  r.tuned = std::move(run->tuned);
  return r;
}

json PruneJson(const PruneRequest& q, const PruneOutcome& r) {
  json epochs = json::array();
  for (const EpochMetrics& e : r.tuned.epochs) epochs.push_back(EpochJson(e));
  return {{"model", q.model},
          {"spec", q.spec},
          {"data", q.data},
          {"ratio", q.ratio},
          {"changes", r.changes},
          {"epochs", epochs},
          {"macs_before", r.macs_before},
          {"macs_after", r.macs_after},
          {"weights_before", r.weights_before},
          {"weights_after", r.weights_after},
          {"measured_on", r.measured_on},
          {"measured_samples", r.measured_samples},
          {"accuracy_before", r.accuracy_before},
          {"accuracy_pruned", r.accuracy_pruned},
          {"accuracy_after", r.accuracy_after},
          {"pruned_model", r.model_path},
          {"pruned_spec", r.spec_path}};
}

}  // namespace tml
