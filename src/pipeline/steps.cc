#include "pipeline/steps.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "app/compile.h"
#include "app/evaluate.h"
#include "app/frontend.h"
#include "app/import.h"
#include "app/prune.h"
#include "app/quantize.h"
#include "app/split.h"
#include "core/atomic_file.h"
#include "core/sha256.h"
#include "data/dataset_store.h"
#include "targets/profile.h"
#include "train/training.h"

namespace tml {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<std::string> StepContext::AllInputs() const {
  std::vector<std::string> all;
  for (const auto& [_, ids] : inputs)
    for (const std::string& id : ids)
      if (std::find(all.begin(), all.end(), id) == all.end()) all.push_back(id);
  return all;
}

Result<std::string> FileArtifactId(const std::string& path) {
  TML_ASSIGN_OR_RETURN(std::string h, Sha256File(path));
  return "file:" + h.substr(0, 32);
}

namespace {

std::string One(const StepParams& p, const std::string& k, const std::string& def = "") {
  auto it = p.find(k);
  return it == p.end() || it->second.empty() ? def : it->second[0];
}

std::string Stem(const std::string& path) {
  return fs::path(path).stem().string();
}

// The model artifact of an ONNX file a component wrote into the workspace; metadata from the
// static profile (MACs, weight and arena bytes) plus `extra`.
Result<ArtifactRecord> ModelArtifact(const Graph& g, const std::string& path,
                                     const std::string& kind, std::vector<std::string> parents,
                                     json extra = json::object()) {
  TML_ASSIGN_OR_RETURN(ProfileReport pr, ProfileGraph(g));
  extra["macs"] = pr.macs;
  extra["weight_bytes"] = pr.weight_bytes;
  extra["arena_bytes"] = pr.arena_bytes;
  return ArtifactRecord{
      "model:" + Stem(path), kind, kind + " " + Stem(path).substr(0, 12), path, extra.dump(),
      std::move(parents),    0};
}

// A firmware ELF, named by its content; empty metadata never replaces a profile's.
Result<ArtifactRecord> FirmwareArtifact(const std::string& target, const std::string& elf,
                                        std::vector<std::string> parents,
                                        const std::string& metadata) {
  TML_ASSIGN_OR_RETURN(std::string h, Sha256File(elf));
  return ArtifactRecord{"firmware:" + h.substr(0, 32),
                        "firmware",
                        fmt::format("{} firmware {}", target, h.substr(0, 12)),
                        elf,
                        metadata,
                        std::move(parents),
                        0};
}

StepResult Single(const std::string& output, const std::string& value, ArtifactRecord a) {
  StepResult r;
  r.outputs[output] = value;
  r.artifact_of[output] = a.id;
  r.artifacts.push_back(std::move(a));
  return r;
}

// A step's progress: log lines indented under the step, events and cancellation
// through the runner.
class StepProgress : public Progress {
 public:
  explicit StepProgress(StepContext& ctx) : ctx_(ctx) {}
  void Log(const std::string& line) override {
    if (ctx_.log) ctx_.log("    " + line);
  }
  void Event(const json& e) override {
    if (ctx_.event) ctx_.event(e);
  }
  bool Cancelled() override { return ctx_.cancelled && ctx_.cancelled(); }

 private:
  StepContext& ctx_;
};

// A dataset step's output: the version, its classes and size as the artifact's metadata.
Result<StepResult> DatasetVersionResult(StepContext& ctx, const std::string& dataset, int version) {
  const std::string name = dataset + "@" + std::to_string(version);
  TML_ASSIGN_OR_RETURN(VersionRecord v, ctx.ws.db->GetVersion(dataset, version));
  json meta = {{"classes", v.classes}, {"members", v.members}, {"note", v.note}};
  return Single("dataset", name,
                {"dataset:" + name, "dataset version", name, "", meta.dump(), ctx.AllInputs(), 0});
}

Result<StepResult> RunDataset(StepContext& ctx) {
  const StepParams& p = ctx.params;
  ImportRequest q;
  q.split = One(p, "split");
  SampleFormat& f = q.format;
  if (const std::string size = One(p, "size");
      !size.empty() && std::sscanf(size.c_str(), "%dx%d", &f.height, &f.width) != 2)
    return Status::Errorf("size '{}': expected HEIGHTxWIDTH", size);
  f.channels = std::stoi(One(p, "channels", "1"));
  f.rate = std::stoi(One(p, "rate", "16000"));
  f.seconds = std::stod(One(p, "seconds", "1"));
  if (p.count("classes")) q.classes = p.at("classes");
  if (p.count("idx")) q.idx = p.at("idx");
  q.folder = One(p, "folder");
  q.labels = One(p, "labels");
  if (q.idx.empty() && q.folder.empty() && q.labels.empty())
    return Status::Error("a dataset step needs idx, folder or labels");
  // The dataset parameter may name an earlier step's dataset ("name@3"): add to it.
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(One(p, "dataset")));
  q.dataset = ref.name;
  q.note = "pipeline import";
  q.nothing_new_ok = true;
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(ImportOutcome r, ImportDataset(ctx.ws, q, progress));
  int version = r.report.version.number;
  if (p.count("val_from_train")) {
    const double v = std::stod(One(p, "val_from_train"));
    TML_ASSIGN_OR_RETURN(VersionRecord rv,
                         Resplit(ctx.ws, ref.name, version, {1 - v, v, 0, 0}, true));
    version = rv.number;
  }
  return DatasetVersionResult(ctx, ref.name, version);
}

Result<StepResult> RunSynthSpeech(StepContext& ctx) {
  const StepParams& p = ctx.params;
  SynthSpeechOptions o;
  if (p.count("words") == p.count("set"))
    return Status::Error("a synth-speech step needs words or set (mlperf-ten, digits)");
  if (p.count("set")) {
    TML_ASSIGN_OR_RETURN(o.words, KeywordSet(One(p, "set")));
  } else {
    o.words = p.at("words");
  }
  if (p.count("unknown_words")) o.unknown_words = p.at("unknown_words");
  o.speakers = std::stoi(One(p, "speakers", std::to_string(o.speakers)));
  o.takes = std::stoi(One(p, "takes", std::to_string(o.takes)));
  o.val = std::stod(One(p, "val", std::to_string(o.val)));
  o.test = std::stod(One(p, "test", std::to_string(o.test)));
  o.noise_dir = One(p, "noise_dir");
  o.snr_min_db = std::stod(One(p, "snr", std::to_string(o.snr_min_db)));
  o.reverb = std::stod(One(p, "reverb", std::to_string(o.reverb)));
  o.seed = std::stoull(One(p, "seed", "1"));
  ImportRequest q;
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(One(p, "dataset")));
  q.dataset = ref.name;
  q.synth = o;
  q.author = "synth-speech";
  q.note = "pipeline synth-speech";
  q.nothing_new_ok = true;
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(ImportOutcome r, ImportDataset(ctx.ws, q, progress));
  return DatasetVersionResult(ctx, ref.name, r.report.version.number);
}

Result<StepResult> RunTrain(StepContext& ctx) {
  const StepParams& p = ctx.params;
  TrainRequest q;
  q.spec = One(p, "spec");
  q.data = One(p, "data");
  q.init = One(p, "init");
  q.augment = One(p, "augment");
  TrainOptions& o = q.options;
  o.epochs = std::stoi(One(p, "epochs", "10"));
  o.batch = std::stoi(One(p, "batch", "64"));
  o.lr = std::stod(One(p, "lr", "0.001"));
  o.schedule = One(p, "schedule", "cosine");
  o.seed = std::stoull(One(p, "seed", "1"));
  o.patience = std::stoi(One(p, "patience", "0"));
  o.max_steps = std::stoll(One(p, "max_steps", "0"));
  o.freeze = std::stoi(One(p, "freeze", "0"));
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(TrainOutcome r, Train(ctx.ws, q, progress));
  StepResult out;
  const std::string run_id = "run:" + std::to_string(r.run_id);
  json run_meta = r.metrics;
  run_meta["config"] = r.config;
  run_meta["config"].erase("spec");  // the spec file is an input artifact of its own
  out.artifacts.push_back({run_id, "training run",
                           fmt::format("train {} ({} epochs)", Stem(q.spec), o.epochs), "",
                           run_meta.dump(), ctx.AllInputs(), 0});
  TML_ASSIGN_OR_RETURN(ArtifactRecord model,
                       ModelArtifact(r.graph, r.model_path, "float model", {run_id}));
  out.outputs = {{"model", r.model_path}, {"run", std::to_string(r.run_id)}};
  out.artifact_of = {{"model", model.id}, {"run", run_id}};
  out.artifacts.push_back(std::move(model));
  return out;
}

Result<StepResult> RunQuantize(StepContext& ctx) {
  const StepParams& p = ctx.params;
  QuantizeRequest q;
  q.model = One(p, "model");
  q.calibration = One(p, "calibration");
  q.samples = std::stoll(One(p, "samples", "200"));
  q.method = One(p, "method", "minmax");
  q.float_io = One(p, "float_io") == "true";
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(QuantizeOutcome r, Quantize(ctx.ws, q, progress));
  TML_ASSIGN_OR_RETURN(ArtifactRecord a, ModelArtifact(r.graph, r.model_path, "int8 model",
                                                       ctx.AllInputs(), QuantizationJson(q, r)));
  return Single("model", r.model_path, std::move(a));
}

Result<StepResult> RunPrune(StepContext& ctx) {
  const StepParams& p = ctx.params;
  PruneRequest q;
  q.model = One(p, "model");
  q.spec = One(p, "spec");
  q.data = One(p, "data");
  q.ratio = std::stod(One(p, "ratio", "0.5"));
  q.options.epochs = std::stoi(One(p, "epochs", "1"));
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(PruneOutcome r, Prune(ctx.ws, q, progress));
  StepResult out;
  TML_ASSIGN_OR_RETURN(ArtifactRecord model, ModelArtifact(r.graph, r.model_path, "pruned model",
                                                           ctx.AllInputs(), PruneJson(q, r)));
  TML_ASSIGN_OR_RETURN(std::string spec_id, FileArtifactId(r.spec_path));
  out.outputs = {{"model", r.model_path}, {"spec", r.spec_path}};
  out.artifact_of = {{"model", model.id}, {"spec", spec_id}};
  out.artifacts.push_back(model);
  out.artifacts.push_back({spec_id,
                           "model spec",
                           "pruned spec " + Stem(r.spec_path).substr(0, 12),
                           r.spec_path,
                           "{}",
                           {model.id},
                           0});
  return out;
}

Result<StepResult> RunFrontEnd(StepContext& ctx) {
  AttachRequest q;
  q.model = One(ctx.params, "model");
  q.frontend = One(ctx.params, "frontend");
  q.out = ctx.ws.root + "/artifacts/frontend-" + ctx.key.substr(0, 16) + ".onnx";
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(q.out).parent_path(), ec);
  TML_ASSIGN_OR_RETURN(AttachOutcome r, AttachFrontEndToModel(q));
  if (ctx.log) ctx.log("front end: " + FrontEndSummary(r.frontend));
  TML_ASSIGN_OR_RETURN(ArtifactRecord a,
                       ModelArtifact(r.graph, q.out, "model with front end", ctx.AllInputs(),
                                     json{{"frontend", FrontEndJson(r.frontend)}}));
  return Single("model", q.out, std::move(a));
}

Result<StepResult> RunCompile(StepContext& ctx) {
  CompileRequest q;
  q.model = One(ctx.params, "model");
  q.target = One(ctx.params, "target");
  q.out_dir = ctx.ws.root + "/artifacts/build-" + ctx.key.substr(0, 16);
  q.profile = true;  // measured: instructions per layer, flash, RAM, the fit verdict
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(CompileOutcome r, Compile(q, progress));
  const std::string& elf = r.build.executable;
  json meta = r.profile->ToJson();
  meta["target"] = q.target;
  meta["elf"] = elf;
  const std::string profile_path = q.out_dir + "/profile.json";
  std::ofstream(profile_path) << meta.dump(2);
  TML_ASSIGN_OR_RETURN(ArtifactRecord a,
                       FirmwareArtifact(q.target, elf, ctx.inputs["model"], meta.dump()));
  StepResult out = Single("firmware", elf, std::move(a));
  out.outputs["profile"] = profile_path;
  return out;
}

Result<StepResult> RunEvaluate(StepContext& ctx) {
  const StepParams& p = ctx.params;
  EvaluateRequest q;
  q.model = One(p, "model");
  q.data = One(p, "data");
  q.samples = std::stoll(One(p, "samples", "0"));
  q.target = One(p, "target", "host");
  q.work_dir = ctx.ws.root + "/artifacts/eval-" + ctx.key.substr(0, 16);
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(EvaluateOutcome r, Evaluate(ctx.ws, q, progress));
  if (!r.equal_to_host)
    return Status::Errorf(
        "on {} the outputs differ from the host's: {} (accuracy {:.4f} vs {:.4f})", q.target,
        r.first_difference, r.result.accuracy, r.host.accuracy);
  std::vector<std::string> parents = ctx.AllInputs();
  StepResult out;
  if (q.target != "host") {
    // The firmware that ran: the same bytes a compile step of this model produces.
    TML_ASSIGN_OR_RETURN(ArtifactRecord fw,
                         FirmwareArtifact(q.target, r.firmware, ctx.inputs["model"], ""));
    parents.push_back(fw.id);
    out.artifacts.push_back(std::move(fw));
  }
  json meta = EvaluationJson(q, r);
  meta["host_accuracy"] = r.host.accuracy;  // the report shows it for host evaluations too
  const std::string id = "eval:" + ctx.key.substr(0, 32);
  out.outputs["accuracy"] = fmt::format("{:.6f}", r.result.accuracy);
  // On a board: the host int8 reference beside it (equal, or the step failed above).
  if (q.target != "host") out.outputs["host_accuracy"] = fmt::format("{:.6f}", r.host.accuracy);
  out.artifact_of["accuracy"] = id;
  out.artifacts.push_back({id, "evaluation",
                           fmt::format("{} accuracy {:.2f} % on {} samples", q.target,
                                       100 * r.result.accuracy, r.result.count),
                           "", meta.dump(), parents, 0});
  return out;
}

// The best cut and its sub-models; the artifact holds the table's first rows (the whole
// table is in partition.json beside the sub-models).
Result<StepResult> RunSplit(StepContext& ctx) {
  SplitRequest q;
  q.model = One(ctx.params, "model");
  q.chain = One(ctx.params, "chain");
  q.objective = One(ctx.params, "objective", "latency");
  q.check_samples = std::stoi(One(ctx.params, "check_samples", "4"));
  q.out_dir = ctx.ws.root + "/artifacts/split-" + ctx.key.substr(0, 16);
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(SplitOutcome r, SplitModel(q, progress));
  if (!r.host_bit_exact)
    return Status::Errorf("split: the parts of the best cut differ from the whole model on {}",
                          q.model);
  json meta = SplitJson(q, r);
  constexpr size_t kRows = 50;
  meta["cut_count"] = r.cuts.size();
  if (meta["cuts"].size() > kRows)
    meta["cuts"].erase(meta["cuts"].begin() + kRows, meta["cuts"].end());
  const CutCost& best = r.cuts[static_cast<size_t>(r.best)];
  std::string layers;
  for (int n : best.layers) layers += (layers.empty() ? "" : "/") + std::to_string(n);
  const std::string path = q.out_dir + "/partition.json";
  TML_ASSIGN_OR_RETURN(std::string h, Sha256File(path));
  return Single("partition", path,
                ArtifactRecord{
                    "split:" + h.substr(0, 32), "split",
                    fmt::format("{} on {}: layers {}, {:.2f} ms", fs::path(q.model).stem().string(),
                                r.chain.name, layers, 1e3 * best.latency_s),
                    path, meta.dump(), ctx.AllInputs(), 0});
}

Result<StepResult> RunCascade(StepContext& ctx) {
  CascadeRequest q;
  q.small = One(ctx.params, "small");
  q.big = One(ctx.params, "big");
  q.chain = One(ctx.params, "chain");
  q.data = One(ctx.params, "data");
  q.samples = std::stoll(One(ctx.params, "samples", "0"));
  StepProgress progress(ctx);
  TML_ASSIGN_OR_RETURN(CascadeResult r, Cascade(ctx.ws, q, progress));
  if (!r.equal_to_host)
    return Status::Error("cascade: the MCU's answers differ from the host interpreter's");
  const std::string path = ctx.ws.root + "/artifacts/cascade-" + ctx.key.substr(0, 16) + ".json";
  const json curve = CascadeJson(r);
  const std::string text = curve.dump(2) + "\n";
  TML_RETURN_IF_ERROR(WriteFileAtomically(path, text.data(), text.size()));
  return Single("curve", path,
                ArtifactRecord{"cascade:" + ctx.key.substr(0, 32), "cascade",
                               fmt::format("cascade {} -> {} on {}, {} samples",
                                           fs::path(q.small).stem().string(),
                                           fs::path(q.big).stem().string(), q.chain, r.samples),
                               path, curve.dump(), ctx.AllInputs(), 0});
}

}  // namespace

Result<StepResult> RunStep(const std::string& component, StepContext& ctx) {
  if (component == "dataset") return RunDataset(ctx);
  if (component == "synth-speech") return RunSynthSpeech(ctx);
  if (component == "train") return RunTrain(ctx);
  if (component == "quantize") return RunQuantize(ctx);
  if (component == "prune") return RunPrune(ctx);
  if (component == "frontend") return RunFrontEnd(ctx);
  if (component == "compile") return RunCompile(ctx);
  if (component == "evaluate") return RunEvaluate(ctx);
  if (component == "split") return RunSplit(ctx);
  if (component == "cascade") return RunCascade(ctx);
  return Status::Errorf("component '{}' has no runner yet", component);
}

}  // namespace tml
