#include "pipeline/runner.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "data/importers.h"
#include "data/loader.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/evaluate.h"
#include "squeeze/calibrate.h"
#include "squeeze/quantize.h"
#include "targets/device_eval.h"
#include "targets/mcu.h"
#include "train/export.h"
#include "train/prune_flow.h"
#include "train/trainer.h"

namespace tml {
namespace {

namespace fs = std::filesystem;
using Params = std::map<std::string, std::vector<std::string>>;

std::string One(const Params& p, const std::string& k, const std::string& def = "") {
  auto it = p.find(k);
  return it == p.end() || it->second.empty() ? def : it->second[0];
}

Result<std::string> FileHash(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Errorf("{}: cannot open", path);
  Sha256 h;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) h.Update(buf, static_cast<size_t>(f.gcount()));
  return h.HexDigest();
}

// Parameters naming files whose contents belong to the cache key.
bool IsFileParam(const std::string& component, const std::string& k) {
  if (k == "idx" || k == "labels" || k == "spec" || k == "init") return true;
  return k == "model" && component != "dataset";
}

Result<std::string> StepKey(const StepSpec& s, const Params& p) {
  Sha256 h;
  h.Update(std::string("tinymlaas-step-1\n") + TML_VERSION + "\n" + s.component + "\n");
  for (const auto& [k, values] : p)
    for (const std::string& v : values) {
      h.Update(k + "=" + v + "\n");
      if (IsFileParam(s.component, k)) {
        TML_ASSIGN_OR_RETURN(std::string fh, FileHash(v));
        h.Update("#" + fh + "\n");
      }
    }
  if (p.count("folder")) {  // a class folder: names and sizes of its files
    std::error_code ec;
    std::vector<std::string> items;
    for (const auto& e : fs::recursive_directory_iterator(One(p, "folder"), ec))
      if (e.is_regular_file())
        items.push_back(e.path().string() + ":" + std::to_string(e.file_size()));
    std::sort(items.begin(), items.end());
    for (const std::string& i : items) h.Update(i + "\n");
  }
  return h.HexDigest();
}

// Writes an ONNX model under the workspace's artifacts/, named by its content.
Result<std::string> SaveArtifact(Workspace& ws, const Graph& g) {
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ExportOnnx(g));
  const std::string dir = ws.root + "/artifacts";
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string path =
      dir + "/" + Sha256Hex(bytes.data(), bytes.size()).substr(0, 32) + ".onnx";
  if (!fs::exists(path)) {
    std::ofstream f(path + ".tmp", std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) return Status::Errorf("{}: write failed", path);
    f.close();
    fs::rename(path + ".tmp", path, ec);
    if (ec) return Status::Errorf("{}: {}", path, ec.message());
  }
  return path;
}

Result<std::map<std::string, std::string>> RunDataset(Workspace& ws, const Params& p) {
  std::optional<Split> split;
  if (const std::string s = One(p, "split"); !s.empty() && s != "auto") {
    TML_ASSIGN_OR_RETURN(split, ParseSplit(s));
  }
  SampleFormat f;
  if (const std::string size = One(p, "size");
      !size.empty() && std::sscanf(size.c_str(), "%dx%d", &f.height, &f.width) != 2)
    return Status::Errorf("size '{}': expected HEIGHTxWIDTH", size);
  f.channels = std::stoi(One(p, "channels", "1"));
  f.rate = std::stoi(One(p, "rate", "16000"));
  f.seconds = std::stod(One(p, "seconds", "1"));
  std::vector<NewSample> samples;
  std::vector<std::string> classes =
      p.count("classes") ? p.at("classes") : std::vector<std::string>{};
  if (p.count("idx")) {
    if (p.at("idx").size() != 2) return Status::Error("idx: give [IMAGES, LABELS]");
    TML_ASSIGN_OR_RETURN(samples, ReadIdxSamples(p.at("idx")[0], p.at("idx")[1], classes, split));
  } else if (p.count("folder") || p.count("labels")) {
    TML_ASSIGN_OR_RETURN(FileImport r, p.count("folder")
                                           ? ReadClassFolders(One(p, "folder"), f, split)
                                           : ReadLabelFile(One(p, "labels"), f, split));
    samples = std::move(r.samples);
    if (classes.empty()) classes = r.classes;
  } else {
    return Status::Error("a dataset step needs idx, folder or labels");
  }
  // The dataset parameter may name an earlier step's dataset ("name@3"): add to it.
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(One(p, "dataset")));
  auto r = ImportSamples(ws, ref.name, samples, {}, "pipeline import", classes);
  int version = 0;
  if (r.ok()) {
    version = r->version.number;
  } else if (r.status().message().find("already in it") != std::string::npos) {
    TML_ASSIGN_OR_RETURN(VersionRecord v, ws.db->GetVersion(ref.name, 0));  // nothing new
    version = v.number;
  } else {
    return r.status();
  }
  if (p.count("val_from_train")) {
    const double v = std::stod(One(p, "val_from_train"));
    TML_ASSIGN_OR_RETURN(VersionRecord rv, Resplit(ws, ref.name, version, {1 - v, v, 0, 0}, true));
    version = rv.number;
  }
  return std::map<std::string, std::string>{{"dataset", ref.name + "@" + std::to_string(version)}};
}

// Like LoadSplitRef, but an empty split is fine (a dataset without validation samples).
Result<LoadedSplit> LoadMaybeEmpty(Workspace& ws, const std::string& text, Split def) {
  TML_ASSIGN_OR_RETURN(DatasetRef ref, ParseDatasetRef(text));
  return LoadSplit(ws, ref.name, ref.version, ref.split.value_or(def));
}

Result<std::map<std::string, std::string>> RunTrain(Workspace& ws, const Params& p,
                                                    const RunOptions& opts) {
  TML_ASSIGN_OR_RETURN(ModelSpec spec, LoadModelSpec(One(p, "spec")));
  TML_ASSIGN_OR_RETURN(LoadedSplit train, LoadSplitRef(ws, One(p, "data"), Split::kTrain));
  TML_ASSIGN_OR_RETURN(LoadedSplit val, LoadMaybeEmpty(ws, One(p, "data") + "@val", Split::kVal));
  TrainOptions o;
  o.epochs = std::stoi(One(p, "epochs", "10"));
  o.batch = std::stoi(One(p, "batch", "64"));
  o.lr = std::stod(One(p, "lr", "0.001"));
  o.schedule = One(p, "schedule", "cosine");
  o.seed = std::stoull(One(p, "seed", "1"));
  o.patience = std::stoi(One(p, "patience", "0"));
  o.max_steps = std::stoll(One(p, "max_steps", "0"));
  TML_ASSIGN_OR_RETURN(o.augment, ParseAugmentation(One(p, "augment")));
  TrainCallbacks cb;
  cb.epoch = [&](const EpochMetrics& m) {
    if (opts.log)
      opts.log(fmt::format("    epoch {}/{}: loss {:.4f}, val acc {:.2f} %", m.epoch, o.epochs,
                           m.train_loss, 100 * m.val_acc));
  };
  const auto t0 = std::chrono::steady_clock::now();
  TML_ASSIGN_OR_RETURN(TrainResult r,
                       TrainModel(spec, train.data, val.data.count() ? &val.data : nullptr, o, cb));
  TML_ASSIGN_OR_RETURN(Graph g, SpecToGraph(spec, r.params));
  TML_ASSIGN_OR_RETURN(std::string path, SaveArtifact(ws, g));
  RunRecord run;
  run.kind = "train";
  run.status = "done";
  run.config = nlohmann::json{
      {"spec_file", One(p, "spec")},
      {"dataset", One(p, "data")},
      {"epochs", o.epochs},
      {"batch", o.batch},
      {"lr", o.lr}}.dump();
  run.dataset_version = train.version.id;
  nlohmann::json m;
  for (const EpochMetrics& e : r.epochs)
    m["epochs"].push_back({{"epoch", e.epoch},
                           {"train_loss", e.train_loss},
                           {"train_acc", e.train_acc},
                           {"val_loss", e.val_loss},
                           {"val_acc", e.val_acc}});
  m["val_acc"] = r.epochs[static_cast<size_t>(r.best_epoch - 1)].val_acc;
  run.metrics = m.dump();
  TML_ASSIGN_OR_RETURN(run.output, FileHash(path));
  run.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  run.tool_version = TML_VERSION;
  TML_ASSIGN_OR_RETURN(int64_t id, ws.db->AddRun(run));
  return std::map<std::string, std::string>{{"model", path}, {"run", std::to_string(id)}};
}

Result<std::map<std::string, std::string>> RunQuantize(Workspace& ws, const Params& p) {
  TML_ASSIGN_OR_RETURN(Graph fg, LoadModel(One(p, "model")));
  TML_ASSIGN_OR_RETURN(LoadedSplit cal, LoadSplitRef(ws, One(p, "calibration"), Split::kTrain));
  const auto samples = AsModelInputs(Spread(cal.data, std::stoll(One(p, "samples", "200"))));
  CalibrationOptions co;
  TML_ASSIGN_OR_RETURN(co.method, ParseCalibration(One(p, "method", "minmax")));
  TML_ASSIGN_OR_RETURN(auto ranges, Calibrate(fg, samples, co));
  QuantizeOptions qo;
  qo.float_io = One(p, "float_io") == "true";
  TML_ASSIGN_OR_RETURN(Graph qg, QuantizeGraph(fg, ranges, qo));
  TML_ASSIGN_OR_RETURN(std::string path, SaveArtifact(ws, qg));
  return std::map<std::string, std::string>{{"model", path}};
}

Result<std::map<std::string, std::string>> RunPrune(Workspace& ws, const Params& p) {
  TML_ASSIGN_OR_RETURN(Graph fg, LoadModel(One(p, "model")));
  TML_ASSIGN_OR_RETURN(ModelSpec spec, LoadModelSpec(One(p, "spec")));
  TML_ASSIGN_OR_RETURN(LoadedSplit train, LoadSplitRef(ws, One(p, "data"), Split::kTrain));
  TML_ASSIGN_OR_RETURN(LoadedSplit val, LoadMaybeEmpty(ws, One(p, "data") + "@val", Split::kVal));
  TrainOptions o;
  o.epochs = std::stoi(One(p, "epochs", "1"));
  TML_ASSIGN_OR_RETURN(
      PruneRun r, PruneAndFineTune(spec, fg, train.data, val.data.count() ? &val.data : nullptr,
                                   std::stod(One(p, "ratio", "0.5")), o, {}));
  TML_ASSIGN_OR_RETURN(std::string path, SaveArtifact(ws, r.graph));
  const std::string spec_path = path.substr(0, path.size() - 5) + ".yaml";
  std::ofstream(spec_path) << SpecToYaml(r.pruned.spec);
  return std::map<std::string, std::string>{{"model", path}, {"spec", spec_path}};
}

Result<std::map<std::string, std::string>> RunCompile(Workspace& ws, const Params& p,
                                                      const std::string& key) {
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(One(p, "model")));
  const std::string dir = ws.root + "/artifacts/build-" + key.substr(0, 16);
  TML_ASSIGN_OR_RETURN(TargetBuild b, BuildForTarget(g, One(p, "target"), dir));
  return std::map<std::string, std::string>{{"firmware", b.executable}, {"profile", dir}};
}

Result<std::map<std::string, std::string>> RunEvaluate(Workspace& ws, const Params& p) {
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(One(p, "model")));
  TML_ASSIGN_OR_RETURN(LoadedSplit test, LoadSplitRef(ws, One(p, "data"), Split::kTest));
  LabeledData d = test.data;
  const int64_t n = std::stoll(One(p, "samples", "0"));
  if (n > 0 && n < d.count()) {  // the first n (deterministic)
    d.x.resize(static_cast<size_t>(n * static_cast<int64_t>(d.x.size()) / d.count()));
    d.y.resize(static_cast<size_t>(n));
  }
  const std::string target = One(p, "target", "host");
  const int classes = static_cast<int>(test.classes.size());
  TML_ASSIGN_OR_RETURN(EvalResult host, EvaluateClassifier(g, d, classes, {}));
  if (target == "host")
    return std::map<std::string, std::string>{{"accuracy", fmt::format("{:.6f}", host.accuracy)}};
  TML_ASSIGN_OR_RETURN(EvalResult dev, EvaluateOnTarget(g, d, classes, target, {}));
  if (dev.confusion != host.confusion)
    return Status::Errorf("on {} the predictions differ from the host's ({:.4f} vs {:.4f})", target,
                          dev.accuracy, host.accuracy);
  return std::map<std::string, std::string>{{"accuracy", fmt::format("{:.6f}", dev.accuracy)}};
}

}  // namespace

Result<std::vector<StepOutcome>> RunPipeline(const PipelineSpec& p, Workspace& ws,
                                             const RunOptions& opts) {
  std::map<std::string, std::map<std::string, std::string>> outputs;  // step -> outputs
  std::vector<StepOutcome> done;
  for (const StepSpec& s : p.steps) {
    // Resolve ${step.output} references.
    Params params;
    for (const auto& [k, values] : s.with)
      for (std::string v : values) {
        for (const auto& [step, out] : References(v)) {
          const std::string ref = "${" + step + "." + out + "}";
          v.replace(v.find(ref), ref.size(), outputs.at(step).at(out));
        }
        params[k].push_back(v);
      }
    StepOutcome o;
    o.step = s.name;
    o.component = s.component;
    const std::string where =
        fmt::format("{}:{}: step '{}' ({})", p.file, s.line, s.name, s.component);
    auto key = StepKey(s, params);
    if (!key.ok()) return key.status().Wrap(where);
    o.key = *key;
    TML_ASSIGN_OR_RETURN(auto prior, ws.db->GetStep(o.key));
    if (prior) {
      const auto j = nlohmann::json::parse(prior->outputs, nullptr, false);
      bool valid = j.is_object();
      if (valid)
        for (const auto& [k, v] : j.items()) {
          const std::string val = v.is_string() ? v.get<std::string>() : "";
          if ((k == "model" || k == "firmware") && !fs::exists(val)) valid = false;
          o.outputs[k] = val;
        }
      if (valid) {
        o.cached = true;
        outputs[s.name] = o.outputs;
        if (opts.log) opts.log(fmt::format("{} ({}): cached", s.name, s.component));
        done.push_back(o);
        continue;
      }
      o.outputs.clear();
    }
    if (opts.log) opts.log(fmt::format("{} ({}): running", s.name, s.component));
    const auto t0 = std::chrono::steady_clock::now();
    Result<std::map<std::string, std::string>> r = Status::Error("unknown component");
    if (s.component == "dataset")
      r = RunDataset(ws, params);
    else if (s.component == "train")
      r = RunTrain(ws, params, opts);
    else if (s.component == "quantize")
      r = RunQuantize(ws, params);
    else if (s.component == "prune")
      r = RunPrune(ws, params);
    else if (s.component == "compile")
      r = RunCompile(ws, params, o.key);
    else if (s.component == "evaluate")
      r = RunEvaluate(ws, params);
    else
      r = Status::Errorf("component '{}' has no runner yet", s.component);
    if (!r.ok()) return r.status().Wrap(where);
    o.outputs = *r;
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    TML_RETURN_IF_ERROR(
        ws.db->PutStep({o.key, p.name, s.name, s.component, nlohmann::json(o.outputs).dump(), 0}));
    outputs[s.name] = o.outputs;
    if (opts.log) {
      std::string outs;
      for (const auto& [k, v] : o.outputs) outs += fmt::format(" {}={}", k, v);
      opts.log(fmt::format("{} ({}): done in {:.1f} s;{}", s.name, s.component, o.seconds, outs));
    }
    done.push_back(o);
  }
  return done;
}

}  // namespace tml
