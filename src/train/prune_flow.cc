#include "train/prune_flow.h"

namespace tml {

Result<PruneRun> PruneAndFineTune(const ModelSpec& spec, const Graph& model,
                                  const LabeledData& train, const LabeledData* val, double ratio,
                                  TrainOptions o, const TrainCallbacks& cb) {
  PruneRun r;
  r.base = WithoutBatchNorm(spec);
  TML_ASSIGN_OR_RETURN(InitReport rep, InitFromGraph(r.base, model, &r.base_params));
  if (rep.copied != rep.total)
    return Status::Errorf("the spec does not match {} ({} of {} layers; {})", model.name,
                          rep.copied, rep.total, rep.skipped.empty() ? "" : rep.skipped[0]);
  TML_ASSIGN_OR_RETURN(r.pruned, PruneChannels(r.base, r.base_params, ratio));
  if (r.pruned.changes.empty()) return Status::Error("no layer of the spec can be pruned");
  o.init = r.pruned.params;
  TML_ASSIGN_OR_RETURN(r.tuned, TrainModel(r.pruned.spec, train, val, o, cb));
  TML_ASSIGN_OR_RETURN(r.graph, SpecToGraph(r.pruned.spec, r.tuned.params));
  return r;
}

}  // namespace tml
