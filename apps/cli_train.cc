#include "apps/cli_train.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/cli_common.h"
#include "core/sha256.h"
#include "data/loader.h"
#include "formats/export.h"
#include "formats/import.h"
#include "train/export.h"
#include "train/trainer.h"

namespace tml::cli {
namespace {

struct TrainArgs {
  std::string spec, data, out, workspace, augment, init, noise;
  TrainOptions opt;
};

std::string Bar(int64_t done, int64_t total, int width = 24) {
  const int64_t filled = total ? done * width / total : width;
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + "]";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Train(const TrainArgs& args) {
  TrainArgs a = args;
  auto aug = ParseAugmentation(a.augment);
  if (!aug.ok()) return Fail(aug.status());
  a.opt.augment = *aug;
  auto spec = LoadModelSpec(a.spec);
  if (!spec.ok()) return Fail(spec.status());
  auto ref = ParseDatasetRef(a.data);
  if (!ref.ok()) return Fail(ref.status());
  if (ref->split)
    return Fail(Status::Errorf("--data {}: name a dataset version, not a split", a.data));
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  std::cerr << "loading " << a.data << " from " << ws->root << "\n";
  auto train = LoadSplit(*ws, ref->name, ref->version, Split::kTrain);
  if (!train.ok()) return Fail(train.status());
  auto val = LoadSplit(*ws, ref->name, ref->version, Split::kVal);
  if (!val.ok()) return Fail(val.status());
  if (train->data.count() == 0)
    return Fail(Status::Errorf("{}@{} has no training samples", ref->name, train->version.number));
  if (static_cast<int>(train->classes.size()) != spec->classes)
    return Fail(Status::Errorf("{} has {} classes, {}@{} has {}", a.spec, spec->classes, ref->name,
                               train->version.number, train->classes.size()));
  const bool has_val = val->data.count() > 0;
  if (!a.noise.empty()) {
    auto nref = ParseDatasetRef(a.noise);
    if (!nref.ok()) return Fail(nref.status());
    auto bank = LoadSplit(*ws, nref->name, nref->version, nref->split);
    if (!bank.ok()) return Fail(bank.status().Wrap("--noise-data " + a.noise));
    a.opt.noise_bank = std::move(bank->data);
    std::cerr << a.opt.noise_bank.count() << " background clips from " << a.noise << "\n";
  }
  if (!a.init.empty()) {
    auto pre = LoadModel(a.init);
    if (!pre.ok()) return Fail(pre.status());
    auto rep = InitFromGraph(*spec, *pre, &a.opt.init);
    if (!rep.ok()) return Fail(rep.status());
    std::cerr << fmt::format("initialized {} of {} layers from {}", rep->copied, rep->total,
                             a.init);
    for (const std::string& k : rep->skipped) std::cerr << "\n  kept fresh: " << k;
    std::cerr << (a.opt.freeze ? fmt::format("\nfreezing the first {} layers\n", a.opt.freeze)
                               : "\n");
  }
  std::cerr << fmt::format("training {} ({:.2f} M MACs) on {}@{}: {} train, {} val samples\n",
                           spec->name, static_cast<double>(SpecMacs(*spec)) / 1e6, ref->name,
                           train->version.number, train->data.count(), val->data.count());

  std::ifstream sf(a.spec);
  std::stringstream spec_text;
  spec_text << sf.rdbuf();
  nlohmann::json config = {{"spec", spec_text.str()},
                           {"spec_file", a.spec},
                           {"dataset", ref->name},
                           {"dataset_version", train->version.number},
                           {"epochs", a.opt.epochs},
                           {"batch", a.opt.batch},
                           {"lr", a.opt.lr},
                           {"schedule", a.opt.schedule},
                           {"seed", a.opt.seed},
                           {"patience", a.opt.patience},
                           {"augment", a.opt.augment.ToString()},
                           {"init", a.init},
                           {"freeze", a.opt.freeze}};
  RunRecord run;
  run.kind = "train";
  run.status = "running";
  run.config = config.dump();
  run.dataset_version = train->version.id;
  run.started_ms = NowMs();
  run.tool_version = TML_VERSION;
  auto id = ws->db->AddRun(run);
  if (!id.ok()) return Fail(id.status());
  run.id = *id;

  TrainCallbacks cb;
  cb.step = [&](int epoch, int64_t step, int64_t steps, double loss, double acc) {
    std::cerr << fmt::format("\r  epoch {}/{} {} {:>5}/{}  loss {:.4f}  acc {:5.1f} %", epoch,
                             a.opt.epochs, Bar(step, steps), step, steps, loss, 100 * acc)
              << std::flush;
  };
  cb.epoch = [&](const EpochMetrics& m) {
    std::cerr << fmt::format("\r  epoch {}/{}  loss {:.4f}  acc {:5.1f} %", m.epoch, a.opt.epochs,
                             m.train_loss, 100 * m.train_acc);
    if (has_val)
      std::cerr << fmt::format("  val loss {:.4f}  val acc {:5.1f} %", m.val_loss, 100 * m.val_acc);
    std::cerr << fmt::format("  lr {:.2e}  {:.1f} s{}\n", m.lr, m.seconds, std::string(20, ' '));
  };
  auto r = TrainModel(*spec, train->data, has_val ? &val->data : nullptr, a.opt, cb);
  nlohmann::json metrics;
  const auto finish = [&](const std::string& status) {
    run.status = status;
    run.metrics = metrics.dump();
    run.duration_ms = NowMs() - run.started_ms;
    (void)ws->db->UpdateRun(run);
  };
  if (!r.ok()) {
    metrics["error"] = r.status().message();
    finish("failed");
    return Fail(r.status());
  }
  for (const EpochMetrics& m : r->epochs)
    metrics["epochs"].push_back({{"epoch", m.epoch},
                                 {"lr", m.lr},
                                 {"train_loss", m.train_loss},
                                 {"train_acc", m.train_acc},
                                 {"val_loss", m.val_loss},
                                 {"val_acc", m.val_acc},
                                 {"seconds", m.seconds}});
  metrics["best_epoch"] = r->best_epoch;
  metrics["threads"] = r->threads;
  metrics["steps_per_second"] = r->steps_per_second;
  metrics["stopped_early"] = r->stopped_early;
  auto g = SpecToGraph(*spec, r->params);
  if (!g.ok()) {
    metrics["error"] = g.status().message();
    finish("failed");
    return Fail(g.status());
  }
  auto onnx = ExportOnnx(*g);
  if (!onnx.ok()) {
    finish("failed");
    return Fail(onnx.status());
  }
  auto blob = ws->blobs.Put(onnx->data(), onnx->size());
  if (!blob.ok()) return Fail(blob.status());
  run.output = *blob;
  {
    std::ofstream f(a.out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(onnx->data()),
            static_cast<std::streamsize>(onnx->size()));
    if (!f) return Fail(Status::Errorf("{}: write failed", a.out));
  }
  const EpochMetrics& best = r->epochs[static_cast<size_t>(r->best_epoch - 1)];
  metrics["val_acc"] = best.val_acc;
  metrics["train_acc"] = best.train_acc;
  finish("done");
  std::cout << fmt::format(
      "run {}: {} epochs in {:.1f} s ({:.0f} steps/s, {} threads){}; best epoch {}", run.id,
      r->epochs.size(), r->seconds, r->steps_per_second, r->threads,
      r->stopped_early ? ", stopped early" : "", r->best_epoch);
  if (has_val) std::cout << fmt::format(": val acc {:.2f} %", 100 * best.val_acc);
  std::cout << fmt::format("\nwrote {} (float, batch norm folded; model {})\n", a.out,
                           run.output.substr(0, 12));
  return 0;
}

}  // namespace

CLI::App* AddTrainCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<TrainArgs>();
  auto* c = app.add_subcommand(
      "train",
      "Train a model spec (YAML, see examples/models/) on a dataset version's train split with\n"
      "libtorch, validate on its val split, write the float model as ONNX and a run record");
  c->add_option("--model", a->spec, "Model spec (YAML)")->required()->check(CLI::ExistingFile);
  c->add_option("--data", a->data, "DATASET or DATASET@VERSION")->required();
  c->add_option("-o,--output", a->out, "Output .onnx file")->required();
  c->add_option("--epochs", a->opt.epochs, "Epochs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--batch", a->opt.batch, "Batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--lr", a->opt.lr, "Adam learning rate")->capture_default_str();
  c->add_option("--schedule", a->opt.schedule, "Learning-rate schedule: constant, cosine, step")
      ->capture_default_str();
  c->add_option("--weight-decay", a->opt.weight_decay, "Adam weight decay")->capture_default_str();
  c->add_option("--seed", a->opt.seed, "Seed (initialization and batch order)")
      ->capture_default_str();
  c->add_option("--threads", a->opt.threads, "Threads (0: every core)")->capture_default_str();
  c->add_option("--patience", a->opt.patience,
                "Early stopping: epochs without a better val loss (0: off)")
      ->capture_default_str();
  c->add_option("--checkpoint", a->opt.checkpoint, "Checkpoint file, written after every epoch");
  c->add_flag("--resume", a->opt.resume, "Continue from --checkpoint when it exists");
  c->add_option("--max-steps", a->opt.max_steps, "Stop after this many steps (smoke tests)");
  c->add_option("--init", a->init,
                "Transfer learning: start from this float model's weights where the spec's\n"
                "layers match it in order and shape (a new head keeps a fresh initialization)")
      ->check(CLI::ExistingFile);
  c->add_option("--freeze", a->opt.freeze,
                "Keep the first N conv / dense layers fixed (with --init)")
      ->capture_default_str();
  c->add_option("--noise-data", a->noise,
                "Background clips for --augment background=B: DATASET[@V][@SPLIT] of the\n"
                "same sample shape (e.g. recorded room noise)");
  c->add_option("--augment", a->augment,
                "Augmentation of training batches, comma list: flip, shift=PIXELS,\n"
                "brightness=B, contrast=C, noise=SIGMA (images); time_shift=FRACTION, gain=DB,\n"
                "noise=SIGMA, background=B (signals: mix a --noise-data clip at U(0, B))");
  c->add_option("--workspace", a->workspace,
                "Workspace directory (default: $TINYMLAAS_HOME, else ./.tinymlaas)");
  c->callback([a, exit_code] { *exit_code = Train(*a); });
  return c;
}

}  // namespace tml::cli
