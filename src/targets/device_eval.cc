#include "targets/device_eval.h"

#include <chrono>

#include "core/scratch_dir.h"
#include "targets/mcu.h"

namespace tml {

Result<EvalResult> EvaluateOnTarget(const Graph& g, const LabeledData& d, int classes,
                                    const std::string& target, const DeviceEvalOptions& opts) {
  TML_RETURN_IF_ERROR(CheckClassifier(g, d, classes));
  if (opts.batch <= 0) return Status::Errorf("batch {} must be positive", opts.batch);
  const auto t0 = std::chrono::steady_clock::now();
  ScratchDir dir(opts.work_dir, "device-eval");
  TML_ASSIGN_OR_RETURN(TargetBuild b, BuildForTarget(g, target, dir.path()));
  if (opts.built) opts.built(b.executable);
  const Tensor& in = g.tensor(g.inputs[0]);
  const Tensor& out = g.tensor(g.outputs[0]);
  const size_t in_bytes = in.nbytes(), out_bytes = out.nbytes();
  const int64_t per = in.numel();
  std::vector<int32_t> pred(static_cast<size_t>(d.count()));
  std::vector<uint8_t> outputs;
  outputs.reserve(static_cast<size_t>(d.count()) * out_bytes);
  for (int64_t start = 0; start < d.count(); start += opts.batch) {
    const int64_t n = std::min(opts.batch, d.count() - start);
    std::vector<uint8_t> inputs(static_cast<size_t>(n) * in_bytes);
    for (int64_t i = 0; i < n; ++i)
      EncodeInput(in, d.x.data() + (start + i) * per, inputs.data() + i * in_bytes);
    TML_ASSIGN_OR_RETURN(HostRun r, RunOnTarget(b, inputs, static_cast<int>(n), false));
    if (r.outputs.size() < static_cast<size_t>(n) * out_bytes)
      return Status::Errorf("{}: {} output bytes for {} samples", target, r.outputs.size(), n);
    for (int64_t i = 0; i < n; ++i)
      pred[static_cast<size_t>(start + i)] = ArgmaxClass(out, r.outputs.data() + i * out_bytes);
    outputs.insert(outputs.end(), r.outputs.begin(),
                   r.outputs.begin() + static_cast<std::ptrdiff_t>(n * out_bytes));
    if (opts.progress) opts.progress(start + n, d.count());
  }
  TML_ASSIGN_OR_RETURN(EvalResult r, MetricsFromPredictions(pred, d, classes));
  r.outputs = std::move(outputs);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace tml
