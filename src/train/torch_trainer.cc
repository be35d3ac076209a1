// The only translation unit that includes libtorch, built as the module
// libtml_torch.so (see torch_module.h): the model spec as a torch
// module (NCHW inside, NHWC order at flatten so dense weights match the IR), Adam
// with a learning-rate schedule, early stopping, checkpoints.
#include <dlfcn.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "train/export.h"
#include "train/torch_module.h"
#include "train/trainer.h"

namespace tml {
namespace {

struct Pad {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
};

// TF-style SAME padding: the extra row / column goes to the bottom / right.
Pad SamePad(const LayerSpec& l) {
  Pad p;
  const auto split = [](int64_t in, int64_t out, int k, int s, int64_t* a, int64_t* b) {
    const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
    *a = total / 2;
    *b = total - *a;
  };
  if (!l.same) return p;
  split(l.in_shape[0], l.out_shape[0], l.kernel_h, l.stride, &p.top, &p.bottom);
  split(l.in_shape[1], l.out_shape[1], l.kernel_w, l.stride, &p.left, &p.right);
  return p;
}

torch::Tensor Activate(torch::Tensor x, Activation a) {
  if (a == Activation::kRelu) return torch::relu(x);
  if (a == Activation::kRelu6) return torch::clamp(x, 0.0, 6.0);
  return x;
}

// Moving min / max of a tensor for fake quantization (per tensor, int8 asymmetric).
struct Range {
  double lo = 0, hi = 0;
  bool seen = false;
};

torch::Tensor FakeQuantAct(const torch::Tensor& x, Range& r, bool training) {
  if (training || !r.seen) {
    const double lo = std::min(0.0, x.min().item<double>());
    const double hi = std::max(0.0, x.max().item<double>());
    if (!r.seen) {
      r = {lo, hi, true};
    } else {
      r.lo = 0.99 * r.lo + 0.01 * lo;
      r.hi = 0.99 * r.hi + 0.01 * hi;
    }
  }
  double scale = (r.hi - r.lo) / 255.0;
  if (!(scale > 0)) scale = 1.0 / 255.0;
  const int64_t zp = std::clamp<int64_t>(std::llround(-128.0 - r.lo / scale), -128, 127);
  return torch::fake_quantize_per_tensor_affine(x, scale, zp, -128, 127);
}

// Per-output-channel symmetric fake quantization of a weight (channel axis 0).
torch::Tensor FakeQuantWeight(const torch::Tensor& w) {
  const torch::Tensor absmax = std::get<0>(w.detach().abs().flatten(1).max(1));
  const torch::Tensor scale = torch::where(absmax > 0, absmax / 127.0, torch::ones_like(absmax));
  const torch::Tensor zp = torch::zeros({w.size(0)}, torch::kInt);
  return torch::fake_quantize_per_channel_affine(w, scale.to(torch::kFloat), zp, 0, -127, 127);
}

struct Layer {
  const LayerSpec* spec = nullptr;
  Range range, proj_range;  // fake quantization of the output (and of the shortcut)
  torch::nn::Conv2d conv{nullptr}, proj{nullptr};
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::BatchNorm1d bn1{nullptr};
  Pad pad;
  std::vector<Layer> block;
};

class SpecNet : public torch::nn::Module {
 public:
  explicit SpecNet(const ModelSpec& spec) { layers_ = Build(spec.layers, ""); }

  torch::Tensor forward(torch::Tensor x) {
    if (fake_quant_) x = FakeQuantAct(x, input_range_, is_training());
    return Run(layers_, x);
  }
  void set_fake_quant(bool on) { fake_quant_ = on; }

  // Freezes the weights of the first n conv / dense layers (in spec order).
  void Freeze(int n) { FreezeLayers(layers_, &n); }

  // Parameters in SpecParams order and layout (see export.h), and back.
  std::vector<std::vector<float>> Export() {
    std::vector<std::vector<float>> out;
    ExportLayers(layers_, &out);
    return out;
  }
  void Import(const std::vector<std::vector<float>>& v) {
    size_t i = 0;
    torch::NoGradGuard g;
    ImportLayers(layers_, v, &i);
  }

 private:
  std::vector<Layer> Build(const std::vector<LayerSpec>& specs, const std::string& prefix) {
    std::vector<Layer> out;
    for (size_t i = 0; i < specs.size(); ++i) {
      const LayerSpec& s = specs[i];
      const std::string name = prefix + std::to_string(i);
      Layer l;
      l.spec = &s;
      switch (s.kind) {
        case LayerKind::kConv2D:
        case LayerKind::kDepthwiseConv2D: {
          const int64_t in_c = s.in_shape[2];
          const int64_t out_c = s.kind == LayerKind::kConv2D ? s.filters : in_c;
          auto o = torch::nn::Conv2dOptions(in_c, out_c, {s.kernel_h, s.kernel_w})
                       .stride(s.stride)
                       .bias(true)
                       .groups(s.kind == LayerKind::kConv2D ? 1 : in_c);
          l.conv = register_module("conv" + name, torch::nn::Conv2d(o));
          l.pad = SamePad(s);
          break;
        }
        case LayerKind::kDense:
          l.fc = register_module("fc" + name, torch::nn::Linear(s.in_shape[0], s.units));
          break;
        case LayerKind::kBatchNorm:
          if (s.in_shape.size() == 3)
            l.bn2 = register_module("bn" + name, torch::nn::BatchNorm2d(s.in_shape[2]));
          else
            l.bn1 = register_module("bn" + name, torch::nn::BatchNorm1d(s.in_shape[0]));
          break;
        case LayerKind::kResidual:
          l.block = Build(s.block, name + "_");
          if (s.projection) {
            const int stride = static_cast<int>(s.in_shape[0] / s.out_shape[0]);
            l.proj = register_module(
                "proj" + name,
                torch::nn::Conv2d(torch::nn::Conv2dOptions(s.in_shape[2], s.out_shape[2], 1)
                                      .stride(stride)
                                      .bias(true)));
          }
          break;
        default:
          break;
      }
      out.push_back(std::move(l));
    }
    return out;
  }

  // In SpecParams order: a residual block's layers before its projection shortcut.
  void FreezeLayers(std::vector<Layer>& layers, int* n) {
    const auto freeze = [n](torch::Tensor& w, torch::Tensor& b) {
      if (*n <= 0) return;
      w.set_requires_grad(false);
      b.set_requires_grad(false);
      --*n;
    };
    for (Layer& l : layers) {
      if (l.conv) freeze(l.conv->weight, l.conv->bias);
      if (l.fc) freeze(l.fc->weight, l.fc->bias);
      FreezeLayers(l.block, n);
      if (l.proj) freeze(l.proj->weight, l.proj->bias);
    }
  }

  // The layer's output, fake-quantized when training for quantization.
  torch::Tensor Out(Layer& l, torch::Tensor y) {
    return fake_quant_ ? FakeQuantAct(y, l.range, is_training()) : y;
  }

  torch::Tensor Conv(torch::nn::Conv2d& c, const torch::Tensor& x) {
    if (!fake_quant_) return c->forward(x);
    const auto& o = c->options;
    const std::vector<int64_t> stride(o.stride()->begin(), o.stride()->end());
    const std::vector<int64_t> dilation(o.dilation()->begin(), o.dilation()->end());
    return torch::conv2d(x, FakeQuantWeight(c->weight), c->bias, stride, std::vector<int64_t>{0, 0},
                         dilation, o.groups());
  }

  torch::Tensor Dense(torch::nn::Linear& f, const torch::Tensor& x) {
    return fake_quant_ ? torch::linear(x, FakeQuantWeight(f->weight), f->bias) : f->forward(x);
  }

  torch::Tensor Run(std::vector<Layer>& layers, torch::Tensor x) {
    for (Layer& l : layers) {
      const LayerSpec& s = *l.spec;
      switch (s.kind) {
        case LayerKind::kConv2D:
        case LayerKind::kDepthwiseConv2D:
          if (l.pad.top || l.pad.bottom || l.pad.left || l.pad.right)
            x = torch::constant_pad_nd(x, {l.pad.left, l.pad.right, l.pad.top, l.pad.bottom}, 0);
          x = Out(l, Activate(Conv(l.conv, x), s.activation));
          break;
        case LayerKind::kDense:
          x = Out(l, Activate(Dense(l.fc, x), s.activation));
          break;
        case LayerKind::kMaxPool:
          x = torch::max_pool2d(x, s.size, s.stride);
          break;
        case LayerKind::kAvgPool:
          x = torch::avg_pool2d(x, s.size, s.stride);
          break;
        case LayerKind::kGlobalAvgPool:
          x = x.mean({2, 3}, true);
          break;
        case LayerKind::kBatchNorm:
          x = l.bn2 ? l.bn2->forward(x) : l.bn1->forward(x);
          break;
        case LayerKind::kActivation:
          x = Out(l, Activate(x, s.activation));
          break;
        case LayerKind::kDropout:
          x = torch::dropout(x, s.rate, is_training());
          break;
        case LayerKind::kFlatten:
          x = x.dim() == 4 ? x.permute({0, 2, 3, 1}).flatten(1) : x.flatten(1);
          break;
        case LayerKind::kResidual: {
          torch::Tensor y = Run(l.block, x);
          torch::Tensor shortcut = x;
          if (l.proj) {
            shortcut = Conv(l.proj, x);
            if (fake_quant_) shortcut = FakeQuantAct(shortcut, l.proj_range, is_training());
          }
          x = Out(l, Activate(y + shortcut, s.activation));
          break;
        }
      }
    }
    return x;
  }

  static std::vector<float> Flat(const torch::Tensor& t) {
    torch::Tensor c = t.detach().contiguous().to(torch::kFloat32);
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }

  void ExportLayers(std::vector<Layer>& layers, std::vector<std::vector<float>>* out) {
    for (Layer& l : layers) {
      const LayerSpec& s = *l.spec;
      if (s.kind == LayerKind::kConv2D) {
        out->push_back(Flat(l.conv->weight.permute({0, 2, 3, 1})));  // OIHW -> OHWI
        out->push_back(Flat(l.conv->bias));
      } else if (s.kind == LayerKind::kDepthwiseConv2D) {
        out->push_back(Flat(l.conv->weight.squeeze(1).permute({1, 2, 0})));  // C1HW -> HWC
        out->push_back(Flat(l.conv->bias));
      } else if (s.kind == LayerKind::kDense) {
        out->push_back(Flat(l.fc->weight));
        out->push_back(Flat(l.fc->bias));
      } else if (s.kind == LayerKind::kBatchNorm) {
        if (l.bn2) {
          for (auto* t : {&l.bn2->weight, &l.bn2->bias, &l.bn2->running_mean, &l.bn2->running_var})
            out->push_back(Flat(*t));
        } else {
          for (auto* t : {&l.bn1->weight, &l.bn1->bias, &l.bn1->running_mean, &l.bn1->running_var})
            out->push_back(Flat(*t));
        }
      } else if (s.kind == LayerKind::kResidual) {
        ExportLayers(l.block, out);
        if (l.proj) {
          out->push_back(Flat(l.proj->weight.permute({0, 2, 3, 1})));
          out->push_back(Flat(l.proj->bias));
        }
      }
    }
  }

  static void Set(torch::Tensor& dst, const std::vector<float>& v, std::vector<int64_t> shape,
                  std::vector<int64_t> perm) {
    torch::Tensor t = torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32);
    if (!perm.empty()) t = t.permute(perm);
    dst.copy_(t.reshape(dst.sizes()));
  }

  void ImportLayers(std::vector<Layer>& layers, const std::vector<std::vector<float>>& v,
                    size_t* i) {
    for (Layer& l : layers) {
      const LayerSpec& s = *l.spec;
      if (s.kind == LayerKind::kConv2D) {
        const auto w = l.conv->weight.sizes();  // O I kh kw
        Set(l.conv->weight, v[(*i)++], {w[0], w[2], w[3], w[1]}, {0, 3, 1, 2});
        Set(l.conv->bias, v[(*i)++], {w[0]}, {});
      } else if (s.kind == LayerKind::kDepthwiseConv2D) {
        const auto w = l.conv->weight.sizes();  // C 1 kh kw
        Set(l.conv->weight, v[(*i)++], {w[2], w[3], w[0]}, {2, 0, 1});
        Set(l.conv->bias, v[(*i)++], {w[0]}, {});
      } else if (s.kind == LayerKind::kDense) {
        Set(l.fc->weight, v[(*i)++], {s.units, s.in_shape[0]}, {});
        Set(l.fc->bias, v[(*i)++], {s.units}, {});
      } else if (s.kind == LayerKind::kBatchNorm) {
        const int64_t c = s.in_shape.back();
        if (l.bn2) {
          for (auto* t : {&l.bn2->weight, &l.bn2->bias, &l.bn2->running_mean, &l.bn2->running_var})
            Set(*t, v[(*i)++], {c}, {});
        } else {
          for (auto* t : {&l.bn1->weight, &l.bn1->bias, &l.bn1->running_mean, &l.bn1->running_var})
            Set(*t, v[(*i)++], {c}, {});
        }
      } else if (s.kind == LayerKind::kResidual) {
        ImportLayers(l.block, v, i);
        if (l.proj) {
          const auto w = l.proj->weight.sizes();
          Set(l.proj->weight, v[(*i)++], {w[0], 1, 1, w[1]}, {0, 3, 1, 2});
          Set(l.proj->bias, v[(*i)++], {w[0]}, {});
        }
      }
    }
  }

  std::vector<Layer> layers_;
  bool fake_quant_ = false;
  Range input_range_;
};

// NHWC floats -> NCHW tensor (or [N, features]).
torch::Tensor ToTensor(const TrainData& d) {
  std::vector<int64_t> shape = {d.count()};
  shape.insert(shape.end(), d.shape.begin(), d.shape.end());
  torch::Tensor t = torch::from_blob(const_cast<float*>(d.x.data()), shape, torch::kFloat32);
  if (shape.size() == 4) t = t.permute({0, 3, 1, 2});
  return t.contiguous();
}

torch::Tensor Labels(const TrainData& d) {
  return torch::from_blob(const_cast<int32_t*>(d.y.data()), {d.count()}, torch::kInt32)
      .to(torch::kLong);
}

Status CheckData(const ModelSpec& spec, const TrainData& d, const char* what) {
  if (d.shape != spec.input)
    return Status::Errorf("{} samples have shape [{}], the model expects [{}]", what,
                          fmt::join(d.shape, ", "), fmt::join(spec.input, ", "));
  int64_t per = 1;
  for (int64_t s : d.shape) per *= s;
  if (d.count() == 0 || static_cast<int64_t>(d.x.size()) != per * d.count())
    return Status::Errorf("{} data: {} values for {} samples of {}", what, d.x.size(), d.count(),
                          per);
  for (int32_t y : d.y)
    if (y < 0 || y >= spec.classes)
      return Status::Errorf("{} data: label {} outside 0..{}", what, y, spec.classes - 1);
  return Status::Ok();
}

// Mean loss and accuracy over a data set, in eval mode without gradients.
std::pair<double, double> Evaluate(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard g;
  net.eval();
  double loss = 0, correct = 0;
  const int64_t n = x.size(0);
  for (int64_t i = 0; i < n; i += 512) {
    const int64_t e = std::min(n, i + 512);
    torch::Tensor logits = net.forward(x.slice(0, i, e));
    torch::Tensor t = y.slice(0, i, e);
    loss += torch::cross_entropy_loss(logits, t, {}, at::Reduction::Sum).item<double>();
    correct += logits.argmax(1).eq(t).sum().item<double>();
  }
  return {loss / static_cast<double>(n), correct / static_cast<double>(n)};
}

// Shifts every sample along `dim` by its own offset in [-max, max], zero fill.
torch::Tensor ShiftAlong(const torch::Tensor& x, int64_t dim, int64_t max) {
  if (max <= 0) return x;
  const int64_t n = x.size(dim);
  std::vector<int64_t> pad(static_cast<size_t>(2 * (x.dim() - 1)), 0);
  // constant_pad_nd lists pads from the last dimension backwards.
  const size_t at = static_cast<size_t>(2 * (x.dim() - 1 - dim));
  pad[at] = pad[at + 1] = max;
  const torch::Tensor padded = torch::constant_pad_nd(x, pad, 0);
  const torch::Tensor off = torch::randint(0, 2 * max + 1, {x.size(0)}, torch::kLong);
  std::vector<torch::Tensor> out;
  for (int64_t b = 0; b < x.size(0); ++b)
    out.push_back(padded[b].narrow(dim - 1, off[b].item<int64_t>(), n));
  return torch::stack(out);
}

// The batch's augmentation (training only); draws from torch's seeded generator.
torch::Tensor Augment(torch::Tensor x, const Augmentation& a, const torch::Tensor& bank) {
  if (!a.any()) return x;
  torch::NoGradGuard g;
  const int64_t b = x.size(0);
  std::vector<int64_t> per(static_cast<size_t>(x.dim()), 1);
  per[0] = b;
  const auto uniform = [&](float r) { return (torch::rand(per) * 2 - 1) * r; };
  if (x.dim() == 4) {
    if (a.flip) x = torch::where((torch::rand(per) < 0.5), x.flip({3}), x);
    if (a.shift) x = ShiftAlong(ShiftAlong(x, 2, a.shift), 3, a.shift);
  }
  if (a.time_shift > 0) {
    const int64_t dim = x.dim() == 4 ? 2 : 1;
    x = ShiftAlong(x, dim, static_cast<int64_t>(a.time_shift * static_cast<float>(x.size(dim))));
  }
  if (a.gain_db > 0) x = x * torch::pow(10.0, uniform(a.gain_db) / 20.0);
  if (a.background > 0 && bank.defined() && bank.size(0) > 0) {
    const torch::Tensor pick = torch::randint(0, bank.size(0), {b}, torch::kLong);
    x = x + bank.index_select(0, pick) * (torch::rand(per) * a.background);
  }
  if (a.brightness > 0) x = x + uniform(a.brightness);
  if (a.contrast > 0) {
    std::vector<int64_t> dims;
    for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
    const torch::Tensor mean = x.mean(dims, true);
    x = (x - mean) * (1 + uniform(a.contrast)) + mean;
  }
  if (a.noise > 0) x = x + torch::randn_like(x) * a.noise;
  return x;
}

double ScheduledLr(const TrainOptions& o, int epoch /* 0-based */) {
  if (o.schedule == "cosine") return o.lr * 0.5 * (1.0 + std::cos(M_PI * epoch / o.epochs));
  if (o.schedule == "step")
    return o.lr * (epoch >= o.epochs * 3 / 4 ? 0.01 : (epoch >= o.epochs / 2 ? 0.1 : 1.0));
  return o.lr;
}

void SetThreads(int threads) {
  // libtorch starts with one intra-op thread. OpenBLAS keeps its own pool, which
  // fights torch's for the same cores: pin it to one thread when it is loaded.
  using SetFn = void (*)(int);
  if (auto f = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
  torch::set_num_threads(threads);
}

Result<TrainResult> TorchTrain(const ModelSpec& spec, const TrainData& train, const TrainData* val,
                               const TrainOptions& o, const TrainCallbacks& cb) {
  if (o.epochs <= 0 || o.batch <= 0 || !(o.lr > 0))
    return Status::Errorf("epochs ({}), batch ({}) and lr ({}) must be positive", o.epochs, o.batch,
                          o.lr);
  if (o.schedule != "cosine" && o.schedule != "step" && o.schedule != "constant")
    return Status::Errorf("unknown schedule '{}' (constant, cosine, step)", o.schedule);
  TML_RETURN_IF_ERROR(CheckData(spec, train, "training"));
  if (val) TML_RETURN_IF_ERROR(CheckData(spec, *val, "validation"));
  TrainResult r;
  r.threads = o.threads > 0 ? o.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  try {
    SetThreads(r.threads);
    torch::manual_seed(o.seed);
    SpecNet net(spec);
    if (!o.init.empty()) {
      if (o.init.size() != SpecParams(spec).size())
        return Status::Errorf("{} initial parameter tensors for a spec with {}", o.init.size(),
                              SpecParams(spec).size());
      std::vector<std::vector<float>> cur = net.Export();
      for (size_t i = 0; i < cur.size(); ++i) {
        if (o.init[i].empty()) continue;
        if (o.init[i].size() != cur[i].size())
          return Status::Errorf("initial parameter {} has {} values, expected {}", i,
                                o.init[i].size(), cur[i].size());
        cur[i] = o.init[i];
      }
      net.Import(cur);
    }
    net.Freeze(o.freeze);
    net.set_fake_quant(o.fake_quant);
    torch::optim::Adam opt(net.parameters(),
                           torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
    const torch::Tensor x = ToTensor(train), y = Labels(train);
    torch::Tensor vx, vy, bank;
    if (o.augment.background > 0) {
      if (o.noise_bank.count() == 0)
        return Status::Error("augmentation 'background' needs background clips (noise data)");
      LabeledData unlabeled = o.noise_bank;  // the clips' labels are not used
      unlabeled.y.assign(unlabeled.y.size(), 0);
      TML_RETURN_IF_ERROR(CheckData(spec, unlabeled, "background noise"));
      bank = ToTensor(o.noise_bank);
    }
    if (val) vx = ToTensor(*val), vy = Labels(*val);
    int start_epoch = 0;
    double best = std::numeric_limits<double>::infinity();
    if (o.resume && !o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)) {
      torch::serialize::InputArchive in;
      in.load_from(o.checkpoint);
      net.load(in);
      torch::serialize::InputArchive oa;
      in.read("optimizer", oa);
      opt.load(oa);
      std::ifstream mf(o.checkpoint + ".json");
      const auto j = nlohmann::json::parse(mf, nullptr, false);
      if (!j.is_object())
        return Status::Errorf("{}.json: unreadable checkpoint record", o.checkpoint);
      for (const auto& e : j["epochs"])
        r.epochs.push_back({e["epoch"], e["lr"], e["train_loss"], e["train_acc"], e["val_loss"],
                            e["val_acc"], e["seconds"]});
      r.best_epoch = j["best_epoch"];
      best = j["best_val_loss"];
      r.params = j["best_params"].get<std::vector<std::vector<float>>>();
      start_epoch = static_cast<int>(r.epochs.size());
    }
    const int64_t n = train.count(), steps = (n + o.batch - 1) / o.batch;
    int64_t total_steps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double train_seconds = 0;
    int since_best = 0;
    for (int epoch = start_epoch; epoch < o.epochs; ++epoch) {
      const auto e0 = std::chrono::steady_clock::now();
      const double lr = ScheduledLr(o, epoch);
      for (auto& g : opt.param_groups())
        static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
      net.train();
      const torch::Tensor order = torch::randperm(n, torch::kLong);
      // Sums stay tensors: reading them (item) synchronizes, so only the progress
      // callback and the epoch end do.
      torch::Tensor loss_sum = torch::zeros({}, torch::kDouble);
      torch::Tensor correct = torch::zeros({}, torch::kLong);
      int64_t seen = 0;
      for (int64_t s = 0; s < steps; ++s) {
        const torch::Tensor idx = order.slice(0, s * o.batch, std::min(n, (s + 1) * o.batch));
        const torch::Tensor bx = Augment(x.index_select(0, idx), o.augment, bank);
        const torch::Tensor by = y.index_select(0, idx);
        opt.zero_grad();
        torch::Tensor logits = net.forward(bx);
        torch::Tensor loss = torch::cross_entropy_loss(logits, by);
        loss.backward();
        opt.step();
        const int64_t b = idx.size(0);
        {
          torch::NoGradGuard ng;
          loss_sum += loss.detach().to(torch::kDouble) * static_cast<double>(b);
          correct += logits.argmax(1).eq(by).sum();
        }
        seen += b;
        ++total_steps;
        if (cb.step && (s % 20 == 0 || s + 1 == steps))
          cb.step(epoch + 1, s + 1, steps, loss_sum.item<double>() / static_cast<double>(seen),
                  correct.item<double>() / static_cast<double>(seen));
        if (o.max_steps && total_steps >= o.max_steps) break;
        if (cb.cancelled && cb.cancelled()) return Status::Cancelled("cancelled");
      }
      EpochMetrics m;
      m.epoch = epoch + 1;
      m.lr = lr;
      m.train_loss = loss_sum.item<double>() / static_cast<double>(seen);
      m.train_acc = correct.item<double>() / static_cast<double>(seen);
      if (val) std::tie(m.val_loss, m.val_acc) = Evaluate(net, vx, vy);
      m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
      train_seconds += m.seconds;
      r.epochs.push_back(m);
      const double score = val ? m.val_loss : m.train_loss;
      if (score < best || r.params.empty()) {
        best = score;
        r.best_epoch = m.epoch;
        r.params = net.Export();
        since_best = 0;
      } else {
        ++since_best;
      }
      if (!val) r.params = net.Export(), r.best_epoch = m.epoch;  // no validation: the last epoch
      if (cb.epoch) cb.epoch(m);
      if (!o.checkpoint.empty()) {
        torch::serialize::OutputArchive out, oa;
        net.save(out);
        opt.save(oa);
        out.write("optimizer", oa);
        out.save_to(o.checkpoint);
        nlohmann::json j;
        for (const EpochMetrics& e : r.epochs)
          j["epochs"].push_back({{"epoch", e.epoch},
                                 {"lr", e.lr},
                                 {"train_loss", e.train_loss},
                                 {"train_acc", e.train_acc},
                                 {"val_loss", e.val_loss},
                                 {"val_acc", e.val_acc},
                                 {"seconds", e.seconds}});
        j["best_epoch"] = r.best_epoch;
        j["best_val_loss"] = best;
        j["best_params"] = r.params;
        std::ofstream(o.checkpoint + ".json") << j.dump();
      }
      if (o.max_steps && total_steps >= o.max_steps) break;
      if (o.patience > 0 && since_best >= o.patience && val) {
        r.stopped_early = true;
        break;
      }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.steps_per_second = train_seconds > 0 ? static_cast<double>(total_steps) / train_seconds : 0;
  } catch (const c10::Error& e) {
    return Status::Errorf("training {}: {}", spec.name, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Errorf("training {}: {}", spec.name, e.what());
  }
  return r;
}

Result<std::pair<double, double>> TorchEvaluate(const ModelSpec& spec,
                                                const std::vector<std::vector<float>>& params,
                                                const TrainData& data) {
  TML_RETURN_IF_ERROR(CheckData(spec, data, "evaluation"));
  const std::vector<ParamInfo> info = SpecParams(spec);
  if (params.size() != info.size())
    return Status::Errorf("{} parameter tensors for a spec with {}", params.size(), info.size());
  try {
    SpecNet net(spec);
    net.Import(params);
    auto [loss, acc] = Evaluate(net, ToTensor(data), Labels(data));
    return std::make_pair(acc, loss);
  } catch (const c10::Error& e) {
    return Status::Errorf("evaluating {}: {}", spec.name, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Errorf("evaluating {}: {}", spec.name, e.what());
  }
}

}  // namespace
}  // namespace tml

extern "C" __attribute__((visibility("default"))) const tml::TorchModule* tml_torch_module() {
  static const tml::TorchModule m{tml::kTorchModuleVersion, tml::TorchTrain, tml::TorchEvaluate};
  return &m;
}
