// Data, training and squeezing benchmark on Fashion-MNIST (Debian's dataset-fashion-mnist):
//  1. import train + test into a fresh workspace (the dataset store path a user takes);
//  2. train examples/models/tiny_cnn.yaml with the product's trainer: wall time, float
//     test accuracy (reference interpreter);
//  3. quantize (min/max calibration, 200 training samples): int8 test accuracy and drop;
//  4. evaluate the int8 model on the 10,000 test images: seconds;
//  5. throughput: the product's trainer against a plain libtorch loop over the same
//     model, batch and data, measured in this run.
// Prints a Markdown table; results are recorded in bench/README.md.
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "data/importers.h"
#include "data/loader.h"
#include "interp/evaluate.h"
#include "squeeze/calibrate.h"
#include "squeeze/quantize.h"
#include "train/export.h"
#include "train/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

template <typename T>
T Must(tml::Result<T> r, const char* what) {
  if (!r.ok()) {
    std::cerr << what << ": " << r.status().message() << "\n";
    std::exit(1);
  }
  return std::move(r).value();
}

// The same network as tiny_cnn.yaml, written directly against libtorch.
struct PlainNet : torch::nn::Module {
  torch::nn::Conv2d c1{nullptr}, c2{nullptr};
  torch::nn::BatchNorm2d b1{nullptr}, b2{nullptr};
  torch::nn::Linear f1{nullptr}, f2{nullptr};
  PlainNet() {
    c1 = register_module("c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 12, 3).padding(1)));
    b1 = register_module("b1", torch::nn::BatchNorm2d(12));
    c2 = register_module("c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(12, 24, 3).padding(1)));
    b2 = register_module("b2", torch::nn::BatchNorm2d(24));
    f1 = register_module("f1", torch::nn::Linear(24 * 7 * 7, 64));
    f2 = register_module("f2", torch::nn::Linear(64, 10));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(b1(c1(x))), 2);
    x = torch::max_pool2d(torch::relu(b2(c2(x))), 2);
    x = torch::dropout(x.flatten(1), 0.2, is_training());
    return f2(torch::relu(f1(x)));
  }
};

// Steps per second of a plain loop (shuffle, index_select, forward, loss, backward, step).
double PlainStepsPerSecond(const tml::LabeledData& d, int batch, int64_t steps) {
  torch::manual_seed(1);
  PlainNet net;
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(3e-3));
  const torch::Tensor x = torch::from_blob(const_cast<float*>(d.x.data()), {d.count(), 28, 28, 1})
                              .permute({0, 3, 1, 2})
                              .contiguous();
  const torch::Tensor y =
      torch::from_blob(const_cast<int32_t*>(d.y.data()), {d.count()}, torch::kInt32)
          .to(torch::kLong);
  const torch::Tensor order = torch::randperm(d.count(), torch::kLong);
  net.train();
  const auto t0 = Clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    const torch::Tensor idx = order.slice(0, s * batch, (s + 1) * batch);
    opt.zero_grad();
    torch::Tensor loss =
        torch::cross_entropy_loss(net.forward(x.index_select(0, idx)), y.index_select(0, idx));
    loss.backward();
    opt.step();
  }
  return static_cast<double>(steps) / Since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string fm = "/usr/share/datasets/fashion-mnist/";
  const std::string spec_path = std::string(TML_SOURCE_DIR) + "/examples/models/tiny_cnn.yaml";
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::string root = std::filesystem::temp_directory_path() / "tml_train_bench";
  std::filesystem::remove_all(root);
  tml::Workspace ws = Must(tml::OpenWorkspace(root), "workspace");
  const std::vector<std::string> classes = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                            "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};
  auto t = Clock::now();
  for (const char* part : {"train", "t10k"}) {
    auto s =
        Must(tml::ReadIdxSamples(
                 fm + part + "-images-idx3-ubyte.gz", fm + part + "-labels-idx1-ubyte.gz", classes,
                 std::string(part) == "train" ? tml::Split::kTrain : tml::Split::kTest),
             "read");
    Must(tml::ImportSamples(ws, "fashion", s, {}, part, classes), "import");
  }
  Must(tml::Resplit(ws, "fashion", 0, {0.9, 0.1, 0.0, 0}, true), "split");
  const double import_s = Since(t);
  t = Clock::now();
  const auto train = Must(tml::LoadSplit(ws, "fashion", 0, tml::Split::kTrain), "load");
  const auto val = Must(tml::LoadSplit(ws, "fashion", 0, tml::Split::kVal), "load");
  const auto test = Must(tml::LoadSplit(ws, "fashion", 0, tml::Split::kTest), "load");
  const double load_s = Since(t);

  const tml::ModelSpec spec = Must(tml::LoadModelSpec(spec_path), "spec");
  tml::TrainOptions o;
  o.epochs = 3;
  o.batch = 128;
  o.lr = 3e-3;
  o.threads = threads;
  t = Clock::now();
  const auto run = Must(tml::TrainModel(spec, train.data, &val.data, o, {}), "train");
  const double train_s = Since(t);
  const tml::Graph fg = Must(tml::SpecToGraph(spec, run.params), "export");
  tml::EvalOptions eo;
  eo.threads = threads;
  const auto fr = Must(tml::EvaluateClassifier(fg, test.data, 10, eo), "evaluate float");

  std::vector<std::vector<std::vector<float>>> cal;
  for (int64_t i = 0; i < 200; ++i) {
    const int64_t k = i * train.data.count() / 200;
    cal.push_back(
        {std::vector<float>(train.data.x.begin() + k * 784, train.data.x.begin() + (k + 1) * 784)});
  }
  const auto ranges = Must(tml::Calibrate(fg, cal, {}), "calibrate");
  const tml::Graph qg = Must(tml::QuantizeGraph(fg, ranges, {}), "quantize");
  t = Clock::now();
  const auto qr = Must(tml::EvaluateClassifier(qg, test.data, 10, eo), "evaluate int8");
  const double eval_s = Since(t);

  // Throughput, same model / batch / data, measured here: one epoch's worth of steps each.
  const int64_t steps = 200;
  const double plain = PlainStepsPerSecond(train.data, o.batch, steps);
  tml::TrainOptions one = o;
  one.epochs = 1;
  one.max_steps = steps;
  const auto ours = Must(tml::TrainModel(spec, train.data, nullptr, one, {}), "train (throughput)");

  std::cout << "| measure | value | target |\n|---|---:|---|\n";
  std::cout << fmt::format("| import 60k + 10k IDX samples into the store | {:.1f} s | |\n",
                           import_s);
  std::cout << fmt::format("| load train + val + test splits as float | {:.1f} s | |\n", load_s);
  std::cout << fmt::format(
      "| training, {} epochs, batch {}, {} threads (wall) | {:.1f} s | <= 60 s |\n", o.epochs,
      o.batch, run.threads, train_s);
  std::cout << fmt::format("| float test accuracy (reference interpreter) | {:.2f} % | >= 90 % |\n",
                           100 * fr.accuracy);
  std::cout << fmt::format("| int8 test accuracy | {:.2f} % | |\n", 100 * qr.accuracy);
  std::cout << fmt::format("| int8 drop | {:.2f} points | <= 0.5 |\n",
                           100 * (fr.accuracy - qr.accuracy));
  std::cout << fmt::format(
      "| int8 evaluation, 10,000 test images, {} threads | {:.1f} s | <= 10 s |\n", qr.threads,
      eval_s);
  std::cout << fmt::format(
      "| trainer steps/s vs plain libtorch loop ({} steps each) | {:.1f} vs {:.1f} = {:.0f} % | >= "
      "90 % |\n",
      steps, ours.steps_per_second, plain, 100 * ours.steps_per_second / plain);
  std::filesystem::remove_all(root);
  return 0;
}
