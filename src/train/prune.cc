#include "train/prune.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "train/export.h"

namespace tml {

int64_t SpecWeights(const ModelSpec& spec) {
  int64_t n = 0;
  for (const ParamInfo& p : SpecParams(spec)) n += p.numel();
  return n;
}

namespace {

bool Weighted(LayerKind k) {
  return k == LayerKind::kConv2D || k == LayerKind::kDense || k == LayerKind::kResidual;
}

// Whether the output channels of top-level layer i may be pruned: the next layer
// that mixes channels (skipping depthwise and channel-wise layers) is a conv2d or a
// dense layer, not a residual block (whose addition needs all channels), and one
// exists (the last layer gives the classes).
bool Prunable(const std::vector<LayerSpec>& layers, size_t i) {
  for (size_t k = i + 1; k < layers.size(); ++k)
    if (Weighted(layers[k].kind)) return layers[k].kind != LayerKind::kResidual;
  return false;
}

// The `keep` rows with the largest norm(row), in ascending order.
std::vector<int64_t> TopRows(int64_t rows, int64_t keep,
                             const std::function<double(int64_t)>& norm) {
  std::vector<int64_t> idx(static_cast<size_t>(rows));
  std::iota(idx.begin(), idx.end(), 0);
  std::vector<double> n(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) n[static_cast<size_t>(r)] = norm(r);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return n[static_cast<size_t>(a)] > n[static_cast<size_t>(b)];
  });
  idx.resize(static_cast<size_t>(keep));
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::vector<int64_t> All(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

Result<Pruned> PruneChannels(const ModelSpec& spec, const std::vector<std::vector<float>>& params,
                             double ratio) {
  if (!(ratio >= 0 && ratio < 1)) return Status::Errorf("prune ratio {} must be in [0, 1)", ratio);
  const std::vector<ParamInfo> info = SpecParams(spec);
  if (params.size() != info.size())
    return Status::Errorf("{} parameter tensors for a spec with {}", params.size(), info.size());
  Pruned out;
  out.spec = spec;
  size_t p = 0;  // next parameter
  // Channels of the current activation that survive (indices into its original
  // channels), and for a flattened activation the shape it was flattened from.
  std::vector<int64_t> sel = All(spec.input.back());
  std::vector<int64_t> flat_from;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    LayerSpec& nl = out.spec.layers[i];
    const auto keep_count = [&](int64_t n) {
      return std::max<int64_t>(
          1, static_cast<int64_t>(std::ceil(static_cast<double>(n) * (1 - ratio))));
    };
    switch (l.kind) {
      case LayerKind::kBatchNorm:
        return Status::Errorf("{}:{}: prune a spec without batch_norm (fold it first)", spec.file,
                              l.line);
      case LayerKind::kConv2D: {
        const std::vector<float>& w = params[p];
        const std::vector<float>& b = params[p + 1];
        const int64_t o = l.filters, kk = l.kernel_h * l.kernel_w, in = l.in_shape[2];
        std::vector<int64_t> keep = All(o);
        if (Prunable(spec.layers, i) && ratio > 0) {
          keep = TopRows(o, keep_count(o), [&](int64_t r) {
            double s = 0;
            for (int64_t t = 0; t < kk; ++t)
              for (int64_t c : sel) s += std::abs(w[static_cast<size_t>((r * kk + t) * in + c)]);
            return s;
          });
          out.changes.push_back(
              fmt::format("line {} conv2d: {} -> {} filters", l.line, o, keep.size()));
        }
        std::vector<float> nw, nb;
        for (int64_t r : keep) {
          for (int64_t t = 0; t < kk; ++t)
            for (int64_t c : sel) nw.push_back(w[static_cast<size_t>((r * kk + t) * in + c)]);
          nb.push_back(b[static_cast<size_t>(r)]);
        }
        out.params.push_back(std::move(nw));
        out.params.push_back(std::move(nb));
        nl.filters = static_cast<int>(keep.size());
        sel = keep;  // original channel indices: the next layer's weights use them
        p += 2;
        break;
      }
      case LayerKind::kDepthwiseConv2D: {
        const std::vector<float>& w = params[p];
        const std::vector<float>& b = params[p + 1];
        const int64_t kk = l.kernel_h * l.kernel_w, c_all = l.in_shape[2];
        std::vector<float> nw, nb;
        for (int64_t t = 0; t < kk; ++t)
          for (int64_t c : sel) nw.push_back(w[static_cast<size_t>(t * c_all + c)]);
        for (int64_t c : sel) nb.push_back(b[static_cast<size_t>(c)]);
        out.params.push_back(std::move(nw));
        out.params.push_back(std::move(nb));
        p += 2;
        break;
      }
      case LayerKind::kFlatten:
        flat_from = l.in_shape;
        if (flat_from.size() == 3) {
          std::vector<int64_t> f;
          for (int64_t y = 0; y < flat_from[0]; ++y)
            for (int64_t x = 0; x < flat_from[1]; ++x)
              for (int64_t c : sel) f.push_back((y * flat_from[1] + x) * flat_from[2] + c);
          sel = f;
        }
        break;
      case LayerKind::kDense: {
        const std::vector<float>& w = params[p];
        const std::vector<float>& b = params[p + 1];
        const int64_t u = l.units, in = l.in_shape[0];
        std::vector<int64_t> keep = All(u);
        if (Prunable(spec.layers, i) && ratio > 0) {
          keep = TopRows(u, keep_count(u), [&](int64_t r) {
            double s = 0;
            for (int64_t c : sel) s += std::abs(w[static_cast<size_t>(r * in + c)]);
            return s;
          });
          out.changes.push_back(
              fmt::format("line {} dense: {} -> {} units", l.line, u, keep.size()));
        }
        std::vector<float> nw, nb;
        for (int64_t r : keep) {
          for (int64_t c : sel) nw.push_back(w[static_cast<size_t>(r * in + c)]);
          nb.push_back(b[static_cast<size_t>(r)]);
        }
        out.params.push_back(std::move(nw));
        out.params.push_back(std::move(nb));
        nl.units = static_cast<int>(keep.size());
        sel = keep;
        p += 2;
        break;
      }
      case LayerKind::kResidual: {
        if (static_cast<int64_t>(sel.size()) != l.in_shape.back())
          return Status::Errorf("{}:{}: a residual block needs all its input channels", spec.file,
                                l.line);
        ModelSpec one;
        one.input = l.in_shape;
        one.layers = {l};
        const size_t n = SpecParams(one).size();
        for (size_t k = 0; k < n; ++k) out.params.push_back(params[p + k]);
        p += n;
        sel = All(l.out_shape.back());
        break;
      }
      default:  // pooling, activation, dropout: channel-wise
        break;
    }
  }
  TML_RETURN_IF_ERROR(CheckModelSpec(out.spec).Wrap("pruned spec"));
  const std::vector<ParamInfo> got = SpecParams(out.spec);
  if (got.size() != out.params.size())
    return Status::Errorf("pruning produced {} tensors for {} parameters", out.params.size(),
                          got.size());
  for (size_t k = 0; k < got.size(); ++k)
    if (got[k].numel() != static_cast<int64_t>(out.params[k].size()))
      return Status::Errorf("pruned {} has {} values, expected {}", got[k].name,
                            out.params[k].size(), got[k].numel());
  return out;
}

}  // namespace tml
