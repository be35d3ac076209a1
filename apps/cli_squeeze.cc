#include "apps/cli_squeeze.h"

#include <filesystem>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "app/evaluate.h"
#include "app/prune.h"
#include "app/quantize.h"
#include "apps/cli_common.h"
#include "squeeze/report.h"

namespace tml::cli {
namespace {

struct SqueezeArgs {
  std::string model, data, out, workspace, method = "minmax", eval, qat, spec, target = "host";
  int64_t limit = 0;
  double percentile = 99.99, qat_threshold = 0.5, qat_lr = 1e-4, ratio = 0.5, lr = 1e-3;
  int qat_epochs = 1, epochs = 1, batch = 64;
  int64_t samples = 200, report_samples = 50;
  bool float_io = false, json = false;
  int threads = 0;
};

// DATASET[@V][@SPLIT] -> the samples of that split (default `def`).

void PrintEval(const EvalResult& r, const std::vector<std::string>& classes) {
  std::cout << fmt::format("accuracy {:.2f} % on {} samples ({:.1f} s, {} threads)\n",
                           100 * r.accuracy, r.count, r.seconds, r.threads);
  std::cout << fmt::format("{:<20} {:>9} {:>9}\n", "class", "precision", "recall");
  for (size_t c = 0; c < classes.size(); ++c)
    std::cout << fmt::format("{:<20} {:>8.1f}% {:>8.1f}%\n", classes[c], 100 * r.precision[c],
                             100 * r.recall[c]);
  std::cout << "confusion matrix (rows: true class, columns: predicted):\n";
  for (size_t c = 0; c < r.confusion.size(); ++c) {
    std::cout << fmt::format("  {:>3}", c);
    for (int64_t v : r.confusion[c]) std::cout << fmt::format(" {:>5}", v);
    std::cout << "\n";
  }
}

int Evaluate(const SqueezeArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  EvaluateRequest q;
  q.model = a.model;
  q.data = a.data;
  q.samples = a.limit;
  q.target = a.target;
  q.threads = a.threads;
  TerminalProgress progress;
  auto r = Evaluate(*ws, q, progress);
  if (!r.ok()) return Fail(r.status());
  const bool device = a.target != "host";
  if (a.json) {
    std::cout << EvaluationJson(q, *r).dump(2) << "\n";
  } else {
    if (device) std::cout << "on " << a.target << " (emulated, generated firmware):\n";
    PrintEval(r->result, r->classes);
    if (device)
      std::cout << fmt::format("host reference interpreter: {:.2f} %: {}\n", 100 * r->host.accuracy,
                               r->equal_to_host
                                   ? "every sample's output equal on the device"
                                   : "DIFFERENT on the device, first at " + r->first_difference);
  }
  return r->equal_to_host ? 0 : 2;
}

// Copies a component's output file to where the user asked for it.
Status CopyOut(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return Status::Errorf("{}: {}", to, ec.message());
  return Status::Ok();
}

int Quantize(const SqueezeArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  QuantizeRequest q;
  q.model = a.model;
  q.calibration = a.data;
  q.method = a.method;
  q.percentile = a.percentile;
  q.samples = a.samples;
  q.report_samples = a.report_samples;
  q.float_io = a.float_io;
  q.eval = a.eval;
  q.qat = a.qat;
  q.qat_threshold = a.qat_threshold;
  q.qat_epochs = a.qat_epochs;
  q.qat_lr = a.qat_lr;
  q.threads = a.threads;
  TerminalProgress progress;
  auto r = Quantize(*ws, q, progress);
  if (!r.ok()) return Fail(r.status());
  if (Status s = CopyOut(r->model_path, a.out); !s.ok()) return Fail(s);
  if (a.json) {
    nlohmann::json j = QuantizationJson(q, *r);
    j["output"] = a.out;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("wrote {} (int8, {} I/O, ONNX QDQ)\n", a.out,
                           a.float_io ? "float" : "int8");
  double worst = std::numeric_limits<double>::infinity();
  std::string worst_node;
  for (const LayerSqnrRow& l : r->layers)
    if (l.sqnr_db < worst) worst = l.sqnr_db, worst_node = l.node;
  std::cout << fmt::format("{:<40} {:<16} {:>9}\n", "layer", "op", "SQNR dB");
  for (const LayerSqnrRow& l : r->layers)
    std::cout << fmt::format("{:<40} {:<16} {:>9.1f}{}\n", l.node, l.op, l.sqnr_db,
                             l.node == worst_node ? "  <- lowest" : "");
  if (r->qat_int8_accuracy)
    std::cout << fmt::format("quantization-aware training: int8 {:.2f} %{}\n",
                             100 * *r->qat_int8_accuracy,
                             r->qat_kept ? " (kept)" : " (post-training result kept)");
  if (r->float_accuracy)
    std::cout << fmt::format("accuracy on {}: float {:.2f} %, int8 {:.2f} % ({:+.2f} points)\n",
                             a.eval, 100 * *r->float_accuracy, 100 * *r->int8_accuracy,
                             100 * (*r->int8_accuracy - *r->float_accuracy));
  return 0;
}

int Prune(const SqueezeArgs& a) {
  auto ws = OpenWorkspace(a.workspace);
  if (!ws.ok()) return Fail(ws.status());
  PruneRequest q;
  q.model = a.model;
  q.spec = a.spec;
  q.data = a.data;
  q.ratio = a.ratio;
  q.options.epochs = a.epochs;
  q.options.lr = a.lr;
  q.options.batch = a.batch;
  q.options.threads = a.threads;
  TerminalProgress progress;
  auto r = Prune(*ws, q, progress);
  if (!r.ok()) return Fail(r.status());
  std::string yaml_path = a.out;
  const size_t dot = yaml_path.rfind(".onnx");
  yaml_path = (dot == std::string::npos ? yaml_path : yaml_path.substr(0, dot)) + ".yaml";
  for (const auto& [from, to] : {std::pair{r->model_path, a.out}, {r->spec_path, yaml_path}})
    if (Status s = CopyOut(from, to); !s.ok()) return Fail(s);
  if (a.json) {
    nlohmann::json j = PruneJson(q, *r);
    j["output"] = a.out;
    j["output_spec"] = yaml_path;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const double m0 = static_cast<double>(r->macs_before), m1 = static_cast<double>(r->macs_after);
  const double w0 = static_cast<double>(r->weights_before),
               w1 = static_cast<double>(r->weights_after);
  std::cout << fmt::format("MACs    {:.3f} M -> {:.3f} M ({:+.1f} %)\n", m0 / 1e6, m1 / 1e6,
                           100 * (m1 - m0) / m0);
  std::cout << fmt::format(
      "weights {} -> {} ({:+.1f} %; int8 flash about {:.1f} KB -> {:.1f} KB)\n", r->weights_before,
      r->weights_after, 100 * (w1 - w0) / w0, w0 / 1024, w1 / 1024);
  std::cout << fmt::format(
      "accuracy on {} ({} samples): {:.2f} % before, {:.2f} % pruned, {:.2f} % "
      "after {} epoch(s) of fine-tuning\n",
      r->measured_on, r->measured_samples, 100 * r->accuracy_before, 100 * r->accuracy_pruned,
      100 * r->accuracy_after, r->tuned.epochs.size());
  std::cout << fmt::format("wrote {} and {}\n", a.out, yaml_path);
  return 0;
}

}  // namespace

void AddSqueezeCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added) {
  auto a = std::make_shared<SqueezeArgs>();
  auto* q = app.add_subcommand(
      "quantize",
      "Post-training int8 quantization: per-channel symmetric weights, per-tensor asymmetric\n"
      "activations calibrated on a dataset split, int32 biases; writes ONNX QDQ and prints the\n"
      "SQNR of every layer (float vs int8) so the layer that loses accuracy stands out");
  q->add_option("MODEL", a->model, "Float model (.onnx or .tflite)")
      ->required()
      ->check(CLI::ExistingFile);
  q->add_option("--calibration", a->data, "DATASET[@VERSION][@SPLIT] (default split: train)")
      ->required();
  q->add_option("-o,--output", a->out, "Output .onnx file")->required();
  q->add_option("--method", a->method, "Calibration: minmax, percentile, mse")
      ->capture_default_str();
  q->add_option("--percentile", a->percentile, "Kept share of each tail for --method percentile")
      ->capture_default_str();
  q->add_option("--samples", a->samples, "Calibration samples, spread over the split")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  q->add_flag("--float-io", a->float_io, "Keep float input and output (quantize at the edges)");
  q->add_option("--eval", a->eval, "Also measure float and int8 accuracy on DATASET[@V][@SPLIT]");
  q->add_option(
       "--qat", a->qat,
       "Model spec the float model was trained from: when the accuracy drop measured\n"
       "with --eval exceeds --qat-threshold, fine-tune with fake quantization\n"
       "(quantization-aware training) on the calibration dataset and keep the better model")
      ->check(CLI::ExistingFile);
  q->add_option("--qat-threshold", a->qat_threshold, "Accuracy drop (points) that triggers --qat")
      ->capture_default_str();
  q->add_option("--qat-epochs", a->qat_epochs, "Quantization-aware training epochs")
      ->capture_default_str();
  q->add_option("--qat-lr", a->qat_lr, "Quantization-aware training learning rate")
      ->capture_default_str();
  q->add_flag("--json", a->json, "Machine-readable output");
  q->add_option("--threads", a->threads, "Evaluation threads (0: every core)");
  q->add_option("--workspace", a->workspace, "Workspace directory");
  q->callback([a, exit_code] { *exit_code = Quantize(*a); });

  auto* e = app.add_subcommand(
      "evaluate",
      "Accuracy, per-class precision and recall and the confusion matrix of a classifier on a\n"
      "dataset split, computed by the reference interpreter (for int8 models: the device's "
      "result)");
  e->add_option("MODEL", a->model, "Model (.onnx or .tflite)")
      ->required()
      ->check(CLI::ExistingFile);
  e->add_option("--data", a->data, "DATASET[@VERSION][@SPLIT] (default split: test)")->required();
  e->add_flag("--json", a->json, "Machine-readable output (accuracy, classes, confusion)");
  e->add_option("--target", a->target,
                "host, or an emulated board (cortex-m4, ...): run the split through the\n"
                "generated firmware and compare with the host (exit 2 if a prediction differs)")
      ->capture_default_str();
  e->add_option("--samples", a->limit, "Evaluate N samples spread over the split (0: all)")
      ->capture_default_str();
  e->add_option("--threads", a->threads, "Threads (0: every core)");
  e->add_option("--workspace", a->workspace, "Workspace directory");
  e->callback([a, exit_code] { *exit_code = Evaluate(*a); });
  auto* pr = app.add_subcommand(
      "prune",
      "Structured pruning: remove the output channels (conv2d) and units (hidden dense) with the\n"
      "smallest L1 norm, fine-tune, and report the MACs, weights and accuracy before and after;\n"
      "writes the smaller model (ONNX) and its spec (YAML)");
  pr->add_option("MODEL", a->model, "Float model trained from --spec")
      ->required()
      ->check(CLI::ExistingFile);
  pr->add_option("--spec", a->spec, "The model spec it was trained from")
      ->required()
      ->check(CLI::ExistingFile);
  pr->add_option("--data", a->data,
                 "DATASET[@VERSION] to fine-tune on (train split; val to measure)")
      ->required();
  pr->add_option("-o,--output", a->out, "Output .onnx (the pruned spec goes beside it as .yaml)")
      ->required();
  pr->add_option("--ratio", a->ratio, "Share of channels removed from each prunable layer")
      ->capture_default_str();
  pr->add_option("--epochs", a->epochs, "Fine-tuning epochs")->capture_default_str();
  pr->add_option("--lr", a->lr, "Fine-tuning learning rate")->capture_default_str();
  pr->add_option("--batch", a->batch, "Fine-tuning batch size")->capture_default_str();
  pr->add_option("--threads", a->threads, "Threads (0: every core)");
  pr->add_flag("--json", a->json, "Machine-readable output");
  pr->add_option("--workspace", a->workspace, "Workspace directory");
  pr->callback([a, exit_code] { *exit_code = Prune(*a); });
  added->push_back(q);
  added->push_back(e);
  added->push_back(pr);
}

}  // namespace tml::cli
