// Model specs, the export with batch norm folded, training (the loss must fall),
// quantization round trip through ONNX and evaluation on a hand-checked case.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "app/import.h"
#include "fixtures.h"
#include "formats/export.h"
#include "formats/import.h"
#include "frontend/frontend.h"
#include "interp/evaluate.h"
#include "interp/interpreter.h"
#include "prepare/builder.h"
#include "squeeze/calibrate.h"
#include "squeeze/quantize.h"
#include "squeeze/report.h"
#include "train/export.h"
#include "train/model_spec.h"
#include "train/prune.h"
#include "train/trainer.h"
#include "train/training.h"

namespace tml {
namespace {

const char* kTiny = R"(name: t
input: [8, 8, 1]
classes: 3
layers:
  - conv2d: {filters: 4, kernel: 3}
  - batch_norm: {}
  - activation: relu
  - max_pool: {size: 2}
  - residual:
      layers:
        - depthwise_conv2d: {kernel: 3, activation: relu}
        - conv2d: {filters: 6, kernel: 1}
  - global_avg_pool: {}
  - flatten: {}
  - dropout: {rate: 0.1}
  - dense: {units: 3}
)";

// Three classes of 8x8 images: a bright row, a bright column, or noise only.
LabeledData Stripes(int n, uint64_t seed) {
  LabeledData d;
  d.shape = {8, 8, 1};
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> noise(0.0f, 0.3f);
  for (int i = 0; i < n; ++i) {
    const int cls = i % 3, at = static_cast<int>(rng() % 8);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        float v = noise(rng);
        if ((cls == 0 && y == at) || (cls == 1 && x == at)) v += 0.7f;
        d.x.push_back(v);
      }
    d.y.push_back(cls);
  }
  return d;
}

// The settings the stripe tests train with: small batches, a quick learning rate.
TrainOptions Quick(int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 32;
  o.lr = 3e-3;
  return o;
}

TEST(ModelSpec, ParsesAndInfersShapes) {
  auto s = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->layers.size(), 9u);
  EXPECT_EQ(s->layers[4].out_shape, (std::vector<int64_t>{4, 4, 6}));
  EXPECT_TRUE(s->layers[4].projection);  // 4 -> 6 channels
  EXPECT_EQ(SpecMacs(*s), 8 * 8 * 4 * 9 + 4 * 4 * 4 * 9 + 4 * 4 * 6 * 4 + 4 * 4 * 6 * 4 + 6 * 3);
}

TEST(ModelSpec, ErrorsNameFileAndLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"name: x\ninput: [8, 8, 1]\nclasses: 2\nlayers:\n  - conv: {filters: 2}\n",
       "x.yaml:5: unknown layer type 'conv'"},
      {"name: x\ninput: [8, 8, 1]\nclasses: 2\nlayers:\n  - conv2d: {filters: 2, colour: red}\n",
       "x.yaml:5: conv2d: unknown key 'colour'"},
      {"name: x\ninput: [8, 8, 1]\nclasses: 2\nlayers:\n  - dense: {units: 2}\n",
       "x.yaml:5: dense with input [8, 8, 1]: needs a flat input"},
      {"name: x\ninput: [8, 8, 1]\nclasses: 2\nlayers:\n  - flatten: {}\n  - dense: {units: 3}\n",
       "must output [classes] = [2]"},
      {"name: x\ninput: [8, 8, 1]\nclasses: 2\nlayers:\n  - conv2d: {filters: -1}\n",
       "x.yaml:5: 'filters' must be in 1..4096"},
      {"name: x\ninput: [8, 8, 1]\nclasses: 2\nlayers:\n  - flatten: {}\n  - batch_norm: {}\n",
       "batch_norm must follow"},
      {"name: x\ninput: [8, 8\nclasses: 2\n", "x.yaml:"},
      {"name: x\ninput: [8, 8, 1]\nclasses: 2\nlayer: []\n", "x.yaml:4: unknown key 'layer'"},
      {"name: x\ninput: [2, 2, 1]\nclasses: 2\nlayers:\n  - max_pool: {size: 4}\n",
       "window does not fit"},
  };
  for (const auto& [text, want] : cases) {
    auto s = ParseModelSpec(text, "x.yaml");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.status().message().find(want), std::string::npos)
        << "got: " << s.status().message() << "\nwant: " << want;
  }
}

TEST(ModelSpec, ExamplesParseAndMatchTheZooArchitectures) {
  const std::string dir = std::string(TML_SOURCE_DIR) + "/examples/models/";
  const std::pair<const char*, int64_t> examples[] = {{"tiny_cnn.yaml", 0},
                                                      {"ds_cnn.yaml", 2656768},
                                                      {"resnet8.yaml", 12501632},
                                                      {"mobilenet_v1_025.yaml", 7489664}};
  for (const auto& [file, macs] : examples) {
    auto s = LoadModelSpec(dir + file);
    ASSERT_TRUE(s.ok()) << s.status().message();
    if (macs) EXPECT_EQ(SpecMacs(*s), macs) << file;
    // Export with arbitrary parameters builds a graph the compiler accepts.
    std::vector<std::vector<float>> values;
    for (const ParamInfo& p : SpecParams(*s))
      values.push_back(std::vector<float>(static_cast<size_t>(p.numel()),
                                          p.name.find("var") != std::string::npos ? 1.0f : 0.01f));
    auto g = SpecToGraph(*s, values);
    ASSERT_TRUE(g.ok()) << file << ": " << g.status().message();
  }
}

TEST(Training, LossFallsAndTheExportComputesWhatTorchComputes) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  const LabeledData train = Stripes(600, 1), val = Stripes(150, 2);
  TrainOptions o = Quick(4);
  o.threads = 2;
  auto r = TrainModel(*spec, train, &val, o, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->epochs.size(), 4u);
  EXPECT_LT(r->epochs.back().train_loss, r->epochs.front().train_loss * 0.8);
  EXPECT_GT(r->epochs[static_cast<size_t>(r->best_epoch - 1)].val_acc, 0.6);
  // The IR graph (batch norm folded, activations fused) against torch on the same data.
  auto g = SpecToGraph(*spec, r->params);
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto torch_acc = EvaluateParams(*spec, r->params, val);
  ASSERT_TRUE(torch_acc.ok()) << torch_acc.status().message();
  auto ir = EvaluateClassifier(*g, val, 3, {});
  ASSERT_TRUE(ir.ok()) << ir.status().message();
  EXPECT_NEAR(ir->accuracy, torch_acc->first, 0.01);
  EXPECT_NEAR(ir->accuracy, r->epochs[static_cast<size_t>(r->best_epoch - 1)].val_acc, 0.01);
}

TEST(Training, SameSeedSameResultAndCheckpointResumes) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  const LabeledData train = Stripes(300, 3);
  TrainOptions o;
  o.epochs = 2;
  o.threads = 1;
  auto a = TrainModel(*spec, train, nullptr, o, {});
  auto b = TrainModel(*spec, train, nullptr, o, {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->epochs.back().train_loss, b->epochs.back().train_loss);
  // One epoch with a checkpoint, then resume to two: the first epoch is not redone.
  const std::string dir = testing::WorkDir("ckpt");
  std::filesystem::create_directories(dir);
  const std::string ck = dir + "/model.pt";
  std::filesystem::remove(ck);
  o.checkpoint = ck;
  o.epochs = 2;
  o.max_steps = 3;  // 5 steps per epoch: stops inside epoch 1
  ASSERT_TRUE(TrainModel(*spec, train, nullptr, o, {}).ok());
  o.max_steps = 0;
  o.resume = true;
  int epochs_run = 0;
  TrainCallbacks cb;
  cb.epoch = [&](const EpochMetrics&) { ++epochs_run; };
  auto c = TrainModel(*spec, train, nullptr, o, cb);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(epochs_run, 1);
  EXPECT_EQ(c->epochs.size(), 2u);
}

TEST(Augmentation, ParsesAndRejects) {
  auto a = ParseAugmentation("flip,shift=2,brightness=0.1,contrast=0.2,noise=0.02");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_TRUE(a->flip);
  EXPECT_EQ(a->shift, 2);
  EXPECT_EQ(a->ToString(), "flip,shift=2,brightness=0.1,contrast=0.2,noise=0.02");
  EXPECT_FALSE(ParseAugmentation("").value().any());
  for (const char* bad : {"rotate=3", "shift=x", "noise=2", "flip=1", "gain=-1", "shift=2cm"}) {
    auto r = ParseAugmentation(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(Training, AugmentedTrainingIsSeededAndStillLearns) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  const LabeledData train = Stripes(600, 1), val = Stripes(150, 2);
  TrainOptions o = Quick(6);
  o.threads = 1;
  auto plain = TrainModel(*spec, train, &val, o, {});
  o.augment = ParseAugmentation("flip,shift=1,brightness=0.05,contrast=0.1,noise=0.02").value();
  auto a = TrainModel(*spec, train, &val, o, {});
  auto b = TrainModel(*spec, train, &val, o, {});
  ASSERT_TRUE(plain.ok() && a.ok() && b.ok()) << a.status().message();
  EXPECT_EQ(a->epochs.back().train_loss, b->epochs.back().train_loss) << "same seed, same run";
  EXPECT_NE(a->epochs.back().train_loss, plain->epochs.back().train_loss) << "augmentation applied";
  EXPECT_GT(a->epochs[static_cast<size_t>(a->best_epoch - 1)].val_acc, 0.6)
      << "plain run: " << plain->epochs[static_cast<size_t>(plain->best_epoch - 1)].val_acc;
}

// The tiny spec trained on stripes and exported (shared by the fine-tuning tests).
struct Trained {
  ModelSpec spec;
  LabeledData train = Stripes(600, 1), val = Stripes(150, 2);
  TrainOptions options;
  Graph graph;
};

void TrainTiny(Trained* t) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  t->spec = *spec;
  t->options = Quick(4);
  auto base = TrainModel(t->spec, t->train, &t->val, t->options, {});
  ASSERT_TRUE(base.ok()) << base.status().message();
  auto g = SpecToGraph(t->spec, base->params);
  ASSERT_TRUE(g.ok()) << g.status().message();
  t->graph = std::move(g).value();
}

class FineTuning : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(TrainTiny(&t)); }
  Trained t;
};

TEST_F(FineTuning, TransferLearningCopiesMatchingLayersAndFreezes) {
  // Same spec: every layer copied; the torch model built from them scores like the export.
  std::vector<std::vector<float>> init;
  auto rep = InitFromGraph(t.spec, t.graph, &init);
  ASSERT_TRUE(rep.ok()) << rep.status().message();
  EXPECT_EQ(rep->copied, rep->total);
  EXPECT_EQ(rep->total, 5);  // conv, dw, conv 1x1, projection, dense
  // A new head (4 classes): everything but the dense layer is copied.
  std::string four = kTiny;
  four.replace(four.find("classes: 3"), 10, "classes: 4");
  four.replace(four.find("units: 3"), 8, "units: 4");
  auto spec4 = ParseModelSpec(four, "four.yaml");
  ASSERT_TRUE(spec4.ok()) << spec4.status().message();
  std::vector<std::vector<float>> init4;
  auto rep4 = InitFromGraph(*spec4, t.graph, &init4);
  ASSERT_TRUE(rep4.ok());
  EXPECT_EQ(rep4->copied, 4);
  ASSERT_EQ(rep4->skipped.size(), 1u);
  EXPECT_NE(rep4->skipped[0].find("dense"), std::string::npos) << rep4->skipped[0];
  // Fine-tune from the copy with the first two layers frozen: they do not move.
  TrainOptions ft = t.options;
  ft.epochs = 1;
  ft.init = init;
  ft.freeze = 2;
  auto tuned = TrainModel(t.spec, t.train, &t.val, ft, {});
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  const std::vector<ParamInfo> info = SpecParams(t.spec);
  EXPECT_EQ(tuned->params[0], init[0]) << info[0].name;  // conv w
  EXPECT_EQ(tuned->params[6], init[6]) << info[6].name;  // depthwise w (after 4 batch norm tensors)
  EXPECT_NE(tuned->params[8], init[8]) << info[8].name;  // 1x1 conv w: trained
  EXPECT_GT(tuned->epochs[0].val_acc, 0.6) << "starts from the trained model";
}

TEST_F(FineTuning, QuantizationAwareFineTuningTrainsWithFakeQuant) {
  const ModelSpec plain = WithoutBatchNorm(t.spec);
  TrainOptions q;
  q.epochs = 2;
  q.lr = 1e-4;
  q.fake_quant = true;
  auto rep = InitFromGraph(plain, t.graph, &q.init);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->copied, rep->total);
  auto r = TrainModel(plain, t.train, &t.val, q, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(std::isfinite(r->epochs.back().train_loss));
  EXPECT_GT(r->epochs.back().val_acc, 0.6);
  // The exported QAT model quantizes with little loss.
  auto fg = SpecToGraph(plain, r->params);
  ASSERT_TRUE(fg.ok()) << fg.status().message();
  const auto cal = AsModelInputs(Spread(t.train, 100));
  auto qg = QuantizeGraph(*fg, Calibrate(*fg, cal, {}).value(), {});
  ASSERT_TRUE(qg.ok());
  const double fa = EvaluateClassifier(*fg, t.val, 3, {}).value().accuracy;
  const double qa = EvaluateClassifier(*qg, t.val, 3, {}).value().accuracy;
  EXPECT_GT(qa, fa - 0.03);
}

const char* kChain = R"(name: chain
input: [6, 6, 1]
classes: 3
layers:
  - conv2d: {filters: 8, kernel: 3, activation: relu}
  - depthwise_conv2d: {kernel: 3, activation: relu}
  - conv2d: {filters: 6, kernel: 1, activation: relu}
  - max_pool: {size: 2}
  - flatten: {}
  - dense: {units: 10, activation: relu}
  - dense: {units: 3}
)";

// Scores of a graph on one input.
std::vector<float> Scores(const Graph& g, const float* x) {
  auto in = Interpreter::Create(g);
  EXPECT_TRUE(in.ok());
  std::memcpy((*in)->input(0), x, (*in)->input_bytes(0));
  (*in)->Invoke();
  const float* y = static_cast<const float*>((*in)->output(0));
  return std::vector<float>(y, y + 3);
}

TEST(Prune, RemovesDeadChannelsWithoutChangingTheFunction) {
  auto spec = ParseModelSpec(kChain, "chain.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  const std::vector<ParamInfo> info = SpecParams(*spec);
  std::mt19937 rng(9);
  std::normal_distribution<float> d(0.0f, 0.5f);
  std::vector<std::vector<float>> v;
  for (const ParamInfo& p : info) {
    std::vector<float> t(static_cast<size_t>(p.numel()));
    for (float& x : t) x = d(rng);
    v.push_back(t);
  }
  // Make the odd filters of both convs and the odd hidden units dead (zero weight and
  // bias, so ReLU gives 0): removing them must not change any output.
  const auto kill = [&](size_t w, int64_t rows) {
    const size_t per = v[w].size() / static_cast<size_t>(rows);
    for (int64_t r = 1; r < rows; r += 2) {
      std::fill_n(v[w].begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(r) * per), per,
                  0.0f);
      v[w + 1][static_cast<size_t>(r)] = 0.0f;
    }
  };
  kill(0, 8);  // conv 8 filters; the depthwise then sees 0 on those channels...
  for (int64_t c = 1; c < 8; c += 2) v[3][static_cast<size_t>(c)] = 0.0f;  // ...and its bias there
  kill(4, 6);                                                              // 1x1 conv
  kill(6, 10);                                                             // hidden dense
  auto pruned = PruneChannels(*spec, v, 0.5);
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(pruned->changes.size(), 3u);
  EXPECT_EQ(pruned->spec.layers[0].filters, 4);
  EXPECT_EQ(pruned->spec.layers[2].filters, 3);
  EXPECT_EQ(pruned->spec.layers[5].units, 5);
  EXPECT_LT(SpecMacs(pruned->spec), SpecMacs(*spec) / 2);
  EXPECT_LT(SpecWeights(pruned->spec), SpecWeights(*spec) / 2);
  auto g0 = SpecToGraph(*spec, v);
  auto g1 = SpecToGraph(pruned->spec, pruned->params);
  ASSERT_TRUE(g0.ok() && g1.ok()) << g1.status().message();
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int k = 0; k < 10; ++k) {
    std::vector<float> x(36);
    for (float& e : x) e = u(rng);
    const std::vector<float> a = Scores(*g0, x.data()), b = Scores(*g1, x.data());
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(a[static_cast<size_t>(c)], b[static_cast<size_t>(c)], 1e-5);
  }
  // The pruned spec writes out as YAML that reads back to the same model.
  auto back = ParseModelSpec(SpecToYaml(pruned->spec), "back.yaml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(SpecMacs(*back), SpecMacs(pruned->spec));
  EXPECT_EQ(SpecParams(*back).size(), SpecParams(pruned->spec).size());
  // Ratio 0 keeps everything; a residual input or the class layer is never pruned.
  EXPECT_TRUE(PruneChannels(*spec, v, 0.0)->changes.empty());
  auto tiny = ParseModelSpec(kTiny, "tiny.yaml");
  std::vector<std::vector<float>> tv;
  for (const ParamInfo& p : SpecParams(WithoutBatchNorm(*tiny)))
    tv.push_back(std::vector<float>(static_cast<size_t>(p.numel()), 0.1f));
  auto tp = PruneChannels(WithoutBatchNorm(*tiny), tv, 0.5);
  ASSERT_TRUE(tp.ok()) << tp.status().message();
  EXPECT_TRUE(tp->changes.empty()) << tp->changes[0];
  EXPECT_FALSE(PruneChannels(*tiny, tv, 0.5).ok()) << "batch norm must be folded first";
}

TEST(Training, BackgroundMixingNeedsClipsAndChangesTheBatches) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  const LabeledData train = Stripes(300, 1);
  TrainOptions o;
  o.epochs = 1;
  o.threads = 1;
  o.augment = ParseAugmentation("background=0.5").value();
  auto none = TrainModel(*spec, train, nullptr, o, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("background"), std::string::npos);
  o.noise_bank = Stripes(20, 9);
  for (int32_t& y : o.noise_bank.y) y = 99;  // labels of clips are ignored
  auto mixed = TrainModel(*spec, train, nullptr, o, {});
  ASSERT_TRUE(mixed.ok()) << mixed.status().message();
  o.augment = {};
  auto plain = TrainModel(*spec, train, nullptr, o, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(mixed->epochs[0].train_loss, plain->epochs[0].train_loss);
}

TEST(ModelSpec, WidthMultiplierScalesFilters) {
  std::string text = kTiny;
  text.replace(text.find("classes: 3"), 10, "classes: 3\nwidth: 0.5");
  auto s = ParseModelSpec(text, "w.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->layers[0].filters, 2);           // 4 x 0.5
  EXPECT_EQ(s->layers[4].block[1].filters, 3);  // 6 x 0.5 inside the residual block
  EXPECT_FALSE(ParseModelSpec(text.replace(text.find("0.5"), 3, "-1"), "w.yaml").ok());
}

TEST(Training, EarlyStoppingKeepsTheBestEpoch) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  const LabeledData train = Stripes(600, 1);
  LabeledData val = Stripes(150, 2);
  for (size_t i = 0; i < val.y.size(); ++i) val.y[i] = static_cast<int32_t>((i * 7 + 1) % 3);
  TrainOptions o = Quick(12);
  o.patience = 2;  // the validation labels are noise: its loss stops improving
  auto r = TrainModel(*spec, train, &val, o, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->stopped_early);
  EXPECT_LT(r->epochs.size(), 12u);
  EXPECT_EQ(static_cast<int>(r->epochs.size()), r->best_epoch + 2);
  for (const EpochMetrics& m : r->epochs)
    EXPECT_GE(m.val_loss, r->epochs[static_cast<size_t>(r->best_epoch - 1)].val_loss);
}

TEST(Training, BadDataIsAnError) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  LabeledData d = Stripes(10, 1);
  d.y[3] = 7;
  EXPECT_FALSE(TrainModel(*spec, d, nullptr, {}, {}).ok());
  d = Stripes(10, 1);
  d.shape = {4, 16, 1};
  auto r = TrainModel(*spec, d, nullptr, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("[4, 16, 1]"), std::string::npos);
}

TEST(Quantize, RoundTripsThroughOnnxAndKeepsAccuracy) {
  auto spec = ParseModelSpec(kTiny, "tiny.yaml");
  ASSERT_TRUE(spec.ok());
  const LabeledData train = Stripes(600, 4), test = Stripes(150, 5);
  TrainOptions o;
  o.epochs = 4;
  o.lr = 3e-3;
  auto r = TrainModel(*spec, train, nullptr, o, {});
  ASSERT_TRUE(r.ok());
  auto fg = SpecToGraph(*spec, r->params);
  ASSERT_TRUE(fg.ok());
  const auto cal = AsModelInputs(Spread(train, 100));
  auto ranges = Calibrate(*fg, cal, {});
  ASSERT_TRUE(ranges.ok());
  auto qg = QuantizeGraph(*fg, *ranges, {});
  ASSERT_TRUE(qg.ok()) << qg.status().message();
  const std::string dir = testing::WorkDir("quantize");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/q.onnx";
  ASSERT_TRUE(SaveOnnx(*qg, path).ok());
  auto back = LoadModel(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto direct = EvaluateClassifier(*qg, test, 3, {});
  auto loaded = EvaluateClassifier(*back, test, 3, {});
  auto flt = EvaluateClassifier(*fg, test, 3, {});
  ASSERT_TRUE(direct.ok() && loaded.ok() && flt.ok());
  EXPECT_EQ(direct->confusion, loaded->confusion) << "ONNX round trip changed the int8 model";
  EXPECT_GT(loaded->accuracy, flt->accuracy - 0.05);
  auto rows = LayerSqnr(*fg, *qg, test, 20);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_FALSE(rows->empty());
  for (const LayerSqnrRow& row : *rows) EXPECT_GT(row.sqnr_db, 10.0) << row.node;
}

// Hand-checked: a 2-input "model" whose output is its input, so the prediction is
// the larger input.
TEST(Evaluate, HandCheckedConfusionMatrix) {
  GraphBuilder b("identity");
  int x = b.Input("x", DType::kFloat32, {1, 2});
  b.Output(b.Softmax(x));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  LabeledData d;
  d.shape = {2};
  // (scores, label): predicted 0, 1, 1, 0, 1 for labels 0, 0, 1, 1, 1.
  const float xs[5][2] = {{0.9f, 0.1f}, {0.2f, 0.8f}, {0.3f, 0.7f}, {0.6f, 0.4f}, {0.0f, 1.0f}};
  const int ys[5] = {0, 0, 1, 1, 1};
  for (int i = 0; i < 5; ++i) {
    d.x.insert(d.x.end(), xs[i], xs[i] + 2);
    d.y.push_back(ys[i]);
  }
  auto r = EvaluateClassifier(*g, d, 2, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_DOUBLE_EQ(r->accuracy, 3.0 / 5.0);
  EXPECT_EQ(r->confusion, (std::vector<std::vector<int64_t>>{{1, 1}, {1, 2}}));
  EXPECT_DOUBLE_EQ(r->precision[0], 0.5);
  EXPECT_DOUBLE_EQ(r->recall[1], 2.0 / 3.0);
  EXPECT_FALSE(EvaluateClassifier(*g, d, 3, {}).ok()) << "3 classes, 2 scores";
}

// A spec with a front end trains on the features of a synthesized keyword set and the
// trained model takes the audio; the spec's input must match the front end, and batch
// augmentation (which would act on features) is refused.
TEST(Training, AFrontEndSpecTrainsOnFeaturesAndTheModelTakesAudio) {
  const std::string dir = testing::EmptyWorkDir("train_frontend");
  auto ws = OpenWorkspace(dir + "/ws");
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  ImportRequest q;
  q.dataset = "kw";
  SynthSpeechOptions o;
  o.words = {"yes", "no"};
  o.speakers = 5;
  o.takes = 2;
  q.synth = o;
  auto imported = ImportDataset(*ws, q, NoProgress());
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  const std::string spec = dir + "/kw_tiny.yaml";
  {
    std::ofstream f(spec);
    f << "name: kw_tiny\nfrontend: mlperf-kws\ninput: [49, 10, 1]\nclasses: 4\nlayers:\n"
         "  - conv2d: {filters: 4, kernel: 3, stride: 2}\n  - activation: relu\n"
         "  - global_avg_pool: {}\n  - flatten: {}\n  - dense: {units: 4}\n";
  }
  TrainRequest t;
  t.spec = spec;
  t.data = "kw";
  t.options.epochs = 2;
  t.options.threads = 2;
  auto r = Train(*ws, t, NoProgress());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->graph.tensor(r->graph.inputs[0]).shape, (Shape{1, 16000}));
  auto fe = AttachedFrontEnd(r->graph);
  ASSERT_TRUE(fe.ok()) << fe.status().message();
  EXPECT_EQ(fe->frames(), 49);
  auto saved = LoadModel(r->model_path);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  EXPECT_TRUE(AttachedFrontEnd(*saved).ok()) << "the saved model lost its front end";
  t.augment = "time_shift=0.1";
  auto augmented = Train(*ws, t, NoProgress());
  ASSERT_FALSE(augmented.ok());
  EXPECT_NE(augmented.status().message().find("augment the audio in the dataset"),
            std::string::npos)
      << augmented.status().message();
  auto bad = ParseModelSpec(
      "name: x\ninput: [28, 28, 1]\nclasses: 2\nfrontend: mlperf-kws\nlayers:\n"
      "  - flatten: {}\n  - dense: {units: 2}\n",
      "x.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("x.yaml:4"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("49 frames x 10 features, the input [28, 28, 1] takes 784"),
            std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace tml
