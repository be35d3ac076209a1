#include "app/sensor_file.h"

#include "core/atomic_file.h"
#include "data/loader.h"
#include "formats/import.h"
#include "interp/evaluate.h"

namespace tml {

Result<SensorFileOutcome> WriteSensorFile(Workspace& ws, const SensorFileRequest& q) {
  if (q.output.empty()) return Status::Error("sensor file: an output path is needed");
  if (q.samples < 0) return Status::Errorf("samples {} must not be negative", q.samples);
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(q.model));
  if (g.inputs.size() != 1)
    return Status::Errorf("{}: a sensor feeds one input; the model has {}", q.model,
                          g.inputs.size());
  const Tensor& in = g.tensor(g.inputs[0]);
  TML_ASSIGN_OR_RETURN(LoadedSplit split, LoadSplitRef(ws, q.data, Split::kTest));
  const LabeledData d = q.samples > 0 ? Spread(split.data, q.samples) : split.data;
  int64_t per_sample = 1;
  for (int64_t s : d.shape) per_sample *= s;
  if (per_sample != in.numel())
    return Status::Errorf("{}: samples of {} values do not fit the model's input of {}", q.data,
                          per_sample, in.numel());
  SensorFileOutcome r;
  r.samples = d.count();
  r.sample_bytes = static_cast<int64_t>(in.nbytes());
  r.labels = d.y;
  r.classes = split.classes;
  std::vector<uint8_t> bytes(static_cast<size_t>(r.samples * r.sample_bytes));
  for (int64_t i = 0; i < r.samples; ++i)
    EncodeInput(in, d.x.data() + i * per_sample, bytes.data() + i * r.sample_bytes);
  TML_RETURN_IF_ERROR(WriteFileAtomically(q.output, bytes.data(), bytes.size()));
  return r;
}

}  // namespace tml
