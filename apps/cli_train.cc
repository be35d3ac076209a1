#include "apps/cli_train.h"

#include <filesystem>
#include <iostream>

#include "apps/cli_common.h"
#include "train/training.h"

namespace tml::cli {
namespace {

struct TrainArgs {
  std::string out, workspace;
  TrainRequest q;
};

int Train(const TrainArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  TerminalProgress progress;
  auto r = Train(*ws, a.q, progress);
  if (!r.ok()) return Fail(r.status());
  std::error_code ec;
  std::filesystem::copy_file(r->model_path, a.out,
                             std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return Fail(Status::Errorf("{}: {}", a.out, ec.message()));
  const TrainResult& t = r->result;
  std::cout << fmt::format(
      "run {}: {} epochs in {:.1f} s ({:.0f} steps/s, {} threads){}; best epoch {}", r->run_id,
      t.epochs.size(), t.seconds, t.steps_per_second, t.threads,
      t.stopped_early ? ", stopped early" : "", t.best_epoch);
  if (r->validated)
    std::cout << fmt::format(": val acc {:.2f} %", 100 * r->metrics["val_acc"].get<double>());
  std::cout << fmt::format("\nwrote {} (float, batch norm folded; model {})\n", a.out,
                           r->model_sha256.substr(0, 12));
  return 0;
}

}  // namespace

CLI::App* AddTrainCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<TrainArgs>();
  auto* c = app.add_subcommand(
      "train",
      "Train a model spec (YAML, see examples/models/) on a dataset version's train split with\n"
      "libtorch, validate on its val split, write the float model as ONNX and a run record");
  c->add_option("--model", a->q.spec, "Model spec (YAML)")->required()->check(CLI::ExistingFile);
  c->add_option("--data", a->q.data, "DATASET or DATASET@VERSION")->required();
  c->add_option("-o,--output", a->out, "Output .onnx file")->required();
  c->add_option("--epochs", a->q.options.epochs, "Epochs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--batch", a->q.options.batch, "Batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--lr", a->q.options.lr, "Adam learning rate")->capture_default_str();
  c->add_option("--schedule", a->q.options.schedule,
                "Learning-rate schedule: constant, cosine, step")
      ->capture_default_str();
  c->add_option("--weight-decay", a->q.options.weight_decay, "Adam weight decay")
      ->capture_default_str();
  c->add_option("--seed", a->q.options.seed, "Seed (initialization and batch order)")
      ->capture_default_str();
  c->add_option("--threads", a->q.options.threads, "Threads (0: every core)")
      ->capture_default_str();
  c->add_option("--patience", a->q.options.patience,
                "Early stopping: epochs without a better val loss (0: off)")
      ->capture_default_str();
  c->add_option("--checkpoint", a->q.options.checkpoint,
                "Checkpoint file, written after every epoch");
  c->add_flag("--resume", a->q.options.resume, "Continue from --checkpoint when it exists");
  c->add_option("--max-steps", a->q.options.max_steps, "Stop after this many steps (smoke tests)");
  c->add_option("--init", a->q.init,
                "Transfer learning: start from this float model's weights where the spec's\n"
                "layers match it in order and shape (a new head keeps a fresh initialization)")
      ->check(CLI::ExistingFile);
  c->add_option("--freeze", a->q.options.freeze,
                "Keep the first N conv / dense layers fixed (with --init)")
      ->capture_default_str();
  c->add_option("--noise-data", a->q.noise,
                "Background clips for --augment background=B: DATASET[@V][@SPLIT] of the\n"
                "same sample shape (e.g. recorded room noise)");
  c->add_option("--augment", a->q.augment,
                "Augmentation of training batches, comma list: flip, shift=PIXELS,\n"
                "brightness=B, contrast=C, noise=SIGMA (images); time_shift=FRACTION, gain=DB,\n"
                "noise=SIGMA, background=B (signals: mix a --noise-data clip at U(0, B))");
  c->add_option("--workspace", a->workspace,
                "Workspace directory (default: $TINYMLAAS_HOME, else ./.tinymlaas)");
  c->callback([a, exit_code] { *exit_code = Train(*a); });
  return c;
}

}  // namespace tml::cli
