#include "train/training.h"

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "core/sha256.h"
#include "formats/export.h"
#include "formats/import.h"

namespace tml {

using json = nlohmann::json;

namespace {

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

json EpochJson(const EpochMetrics& m) {
  return {{"epoch", m.epoch},           {"lr", m.lr},
          {"train_loss", m.train_loss}, {"train_acc", m.train_acc},
          {"val_loss", m.val_loss},     {"val_acc", m.val_acc},
          {"seconds", m.seconds}};
}

TrainCallbacks ProgressCallbacks(Progress& progress, int epochs, bool has_val) {
  TrainCallbacks cb;
  cb.cancelled = [&progress] { return progress.Cancelled(); };
  cb.step = [&progress, epochs](int epoch, int64_t step, int64_t steps, double loss, double acc) {
    progress.Advance(
        step, steps,
        fmt::format("epoch {}/{}  loss {:.4f}  acc {:5.1f} %", epoch, epochs, loss, 100 * acc));
  };
  cb.epoch = [&progress, epochs, has_val](const EpochMetrics& m) {
    std::string line = fmt::format("epoch {}/{}: loss {:.4f}, acc {:.1f} %", m.epoch, epochs,
                                   m.train_loss, 100 * m.train_acc);
    if (has_val)
      line += fmt::format(", val loss {:.4f}, val acc {:.1f} %", m.val_loss, 100 * m.val_acc);
    progress.Log(line + fmt::format(", lr {:.2e}, {:.1f} s", m.lr, m.seconds));
    json e = EpochJson(m);
    e["type"] = "epoch";
    e["epochs"] = epochs;
    progress.Event(e);
  };
  return cb;
}

// A split's audio clips as the front end's features, shaped as the model's input.
Status ToFeatures(const FrontEnd& fe, const std::vector<int64_t>& input, LabeledData& d,
                  const std::string& what, Progress& progress) {
  if (d.count() == 0) return Status::Ok();
  int64_t per = 1;
  for (int64_t x : d.shape) per *= x;
  if (per != fe.samples)
    return Status::Errorf("{}: samples of [{}] values, front end '{}' takes {} audio samples", what,
                          fmt::join(d.shape, ", "), fe.name, fe.samples);
  const size_t out_per = static_cast<size_t>(fe.frames()) * static_cast<size_t>(fe.features());
  std::vector<float> x(static_cast<size_t>(d.count()) * out_per), scratch;
  TML_ASSIGN_OR_RETURN(FeatureTables tables, FeatureTables::Make(fe));  // once per split
  for (int64_t k = 0; k < d.count(); ++k) {
    if (progress.Cancelled()) return Status::Cancelled("training cancelled");
    TML_RETURN_IF_ERROR(tables.Compute(d.x.data() + k * per, fe.samples,
                                       x.data() + static_cast<size_t>(k) * out_per, scratch));
    if (k % 256 == 255 || k + 1 == d.count())
      progress.Advance(k + 1, d.count(), what + " features");
  }
  d.x = std::move(x);
  d.shape = input;
  return Status::Ok();
}

Result<TrainOutcome> Train(Workspace& ws, const TrainRequest& q, Progress& progress) {
  TrainOptions o = q.options;
  TML_ASSIGN_OR_RETURN(o.augment, ParseAugmentation(q.augment));
  TML_ASSIGN_OR_RETURN(ModelSpec spec, LoadModelSpec(q.spec));
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(q.data));
  if (ref.split) return Status::Errorf("data {}: name a dataset version, not a split", q.data);
  progress.Log(fmt::format("loading {} from {}", q.data, ws.root));
  TML_ASSIGN_OR_RETURN(LoadedSplit train, LoadSplit(ws, ref.name, ref.version, Split::kTrain));
  TML_ASSIGN_OR_RETURN(LoadedSplit val, LoadSplit(ws, ref.name, ref.version, Split::kVal));
  const std::string version = fmt::format("{}@{}", ref.name, train.version.number);
  if (train.data.count() == 0) return Status::Errorf("{} has no training samples", version);
  if (static_cast<int>(train.classes.size()) != spec.classes)
    return Status::Errorf("{} has {} classes, {} has {}", q.spec, spec.classes, version,
                          train.classes.size());
  const bool has_val = val.data.count() > 0;
  if (spec.frontend) {
    if (o.augment.any() || !q.noise.empty())
      return Status::Errorf(
          "{}: augment and noise work on the model's input; with a front end "
          "({}) the input is features: augment the audio in the dataset "
          "instead (data synth-speech does)",
          q.spec, spec.frontend->name);
    progress.Log(fmt::format("computing features: {}", FrontEndSummary(*spec.frontend)));
    TML_RETURN_IF_ERROR(ToFeatures(*spec.frontend, spec.input, train.data, "train", progress));
    TML_RETURN_IF_ERROR(ToFeatures(*spec.frontend, spec.input, val.data, "val", progress));
  }
  if (!q.noise.empty()) {
    TML_ASSIGN_OR_RETURN(DatasetRef nref, ParseDatasetRef(q.noise));
    auto bank = LoadSplit(ws, nref.name, nref.version, nref.split);
    if (!bank.ok()) return bank.status().Wrap("noise data " + q.noise);
    o.noise_bank = std::move(bank->data);
    progress.Log(fmt::format("{} background clips from {}", o.noise_bank.count(), q.noise));
  }
  TrainOutcome out;
  out.validated = has_val;
  if (!q.init.empty()) {
    TML_ASSIGN_OR_RETURN(Graph pre, LoadModel(q.init));
    TML_ASSIGN_OR_RETURN(out.init, InitFromGraph(spec, pre, &o.init));
    progress.Log(fmt::format("initialized {} of {} layers from {}", out.init.copied, out.init.total,
                             q.init));
    for (const std::string& k : out.init.skipped) progress.Log("  kept fresh: " + k);
    if (o.freeze) progress.Log(fmt::format("freezing the first {} layers", o.freeze));
  } else if (o.freeze) {
    return Status::Errorf("freeze {} needs init (a model to start from)", o.freeze);
  }
  progress.Log(fmt::format("training {} ({:.2f} M MACs) on {}: {} train, {} val samples", spec.name,
                           static_cast<double>(SpecMacs(spec)) / 1e6, version, train.data.count(),
                           val.data.count()));

  out.config = {{"spec", ReadText(q.spec)},
                {"spec_file", q.spec},
                {"dataset", ref.name},
                {"dataset_version", train.version.number},
                {"epochs", o.epochs},
                {"batch", o.batch},
                {"lr", o.lr},
                {"schedule", o.schedule},
                {"weight_decay", o.weight_decay},
                {"seed", o.seed},
                {"patience", o.patience},
                {"max_steps", o.max_steps},
                {"augment", o.augment.ToString()},
                {"noise", q.noise},
                {"init", q.init},
                {"freeze", o.freeze}};
  RunRecord run;
  run.kind = "train";
  run.status = "running";
  run.config = out.config.dump();
  run.dataset_version = train.version.id;
  run.started_ms = NowMs();
  run.tool_version = TML_VERSION;
  TML_ASSIGN_OR_RETURN(run.id, ws.db->AddRun(run));
  out.run_id = run.id;
  const auto finish = [&](const std::string& status) {
    run.status = status;
    run.metrics = out.metrics.dump();
    run.duration_ms = NowMs() - run.started_ms;
    return ws.db->UpdateRun(run);
  };
  const auto fail = [&](const Status& st) -> Status {
    out.metrics["error"] = st.message();
    (void)finish(st.code() == StatusCode::kCancelled ? "cancelled" : "failed");
    return st;
  };

  const TrainCallbacks cb = ProgressCallbacks(progress, o.epochs, has_val);
  auto r = TrainModel(spec, train.data, has_val ? &val.data : nullptr, o, cb);
  if (!r.ok()) return fail(r.status());
  out.result = std::move(r).value();
  json epochs = json::array();
  for (const EpochMetrics& m : out.result.epochs) epochs.push_back(EpochJson(m));
  const EpochMetrics& best = out.result.epochs[static_cast<size_t>(out.result.best_epoch - 1)];
  out.metrics = {{"epochs", epochs},
                 {"best_epoch", out.result.best_epoch},
                 {"val_acc", best.val_acc},
                 {"train_acc", best.train_acc},
                 {"threads", out.result.threads},
                 {"steps_per_second", out.result.steps_per_second},
                 {"stopped_early", out.result.stopped_early}};
  if (!q.init.empty()) out.metrics["init_copied"] = out.init.copied;
  auto g = SpecToGraph(spec, out.result.params);
  if (!g.ok()) return fail(g.status());
  if (spec.frontend) {  // the trained model carries its front end
    g = AttachFrontEnd(*g, *spec.frontend);
    if (!g.ok()) return fail(g.status());
  }
  out.graph = std::move(g).value();
  auto path = SaveOnnxByContent(out.graph, ws.root + "/artifacts");
  if (!path.ok()) return fail(path.status());
  out.model_path = *path;
  auto sha = Sha256File(out.model_path);
  if (!sha.ok()) return fail(sha.status());
  out.model_sha256 = *sha;
  run.output = out.model_sha256;
  TML_RETURN_IF_ERROR(finish("done"));
  return out;
}

}  // namespace tml
