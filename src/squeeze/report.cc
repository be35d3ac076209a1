#include "squeeze/report.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "interp/interpreter.h"
#include "squeeze/quantize.h"

namespace tml {

Result<std::vector<LayerSqnrRow>> LayerSqnr(const Graph& fg, const Graph& qg,
                                            const LabeledData& data, int64_t samples) {
  if (fg.inputs.size() != 1 || qg.inputs.size() != 1)
    return Status::Error("the SQNR report needs models with one input");
  const Tensor& fin = fg.tensor(fg.inputs[0]);
  const Tensor& qin = qg.tensor(qg.inputs[0]);
  const int64_t per = fin.numel();
  if (qin.numel() != per || fin.dtype != DType::kFloat32)
    return Status::Errorf("{} and {} do not take the same input", fg.name, qg.name);
  int64_t have = 1;
  for (int64_t s : data.shape) have *= s;
  if (have != per) return Status::Errorf("samples hold {} values, the model takes {}", have, per);
  std::map<std::string, size_t> qnode;
  for (size_t i = 0; i < qg.nodes.size(); ++i) qnode[qg.nodes[i].name] = i;
  std::vector<double> signal(fg.nodes.size()), noise(fg.nodes.size());
  std::vector<std::vector<float>> fout(fg.nodes.size());
  TML_ASSIGN_OR_RETURN(auto fi, Interpreter::Create(fg));
  TML_ASSIGN_OR_RETURN(auto qi, Interpreter::Create(qg));
  const int64_t n = std::min(samples, data.count());
  for (int64_t s = 0; s < n; ++s) {
    const float* x = data.x.data() + s * per;
    std::memcpy(fi->input(0), x, static_cast<size_t>(per) * sizeof(float));
    fi->Invoke([&](size_t node, const void* p, size_t bytes) {
      if (fg.tensor(fg.nodes[node].outputs[0]).dtype != DType::kFloat32) return;
      const float* f = static_cast<const float*>(p);
      fout[node].assign(f, f + bytes / sizeof(float));
    });
    if (qin.dtype == DType::kInt8) {
      const std::vector<int8_t> q = QuantizeValues(x, static_cast<size_t>(per), qin.quant);
      std::memcpy(qi->input(0), q.data(), q.size());
    } else {
      std::memcpy(qi->input(0), x, static_cast<size_t>(per) * sizeof(float));
    }
    std::vector<const void*> qout(qg.nodes.size());
    std::vector<std::vector<uint8_t>> qcopy(qg.nodes.size());
    qi->Invoke([&](size_t node, const void* p, size_t bytes) {
      const auto* b = static_cast<const uint8_t*>(p);
      qcopy[node].assign(b, b + bytes);
    });
    for (size_t i = 0; i < fg.nodes.size(); ++i) {
      auto it = qnode.find(fg.nodes[i].name);
      if (it == qnode.end() || fout[i].empty()) continue;
      const Tensor& qt = qg.tensor(qg.nodes[it->second].outputs[0]);
      const std::vector<uint8_t>& raw = qcopy[it->second];
      for (size_t k = 0; k < fout[i].size(); ++k) {
        double dq;
        if (qt.dtype == DType::kInt8) {
          if (k >= raw.size()) break;
          dq = DequantizeValue(static_cast<int8_t>(raw[k]), qt.quant);
        } else {
          if ((k + 1) * sizeof(float) > raw.size()) break;
          float v;
          std::memcpy(&v, raw.data() + k * sizeof(float), sizeof v);
          dq = v;
        }
        const double f = fout[i][k];
        signal[i] += f * f;
        noise[i] += (f - dq) * (f - dq);
      }
    }
  }
  std::vector<LayerSqnrRow> rows;
  for (size_t i = 0; i < fg.nodes.size(); ++i) {
    if (!qnode.count(fg.nodes[i].name) || fout[i].empty()) continue;
    LayerSqnrRow r;
    r.node = fg.nodes[i].name;
    r.op = OpName(fg.nodes[i].op);
    r.sqnr_db = noise[i] > 0 ? 10.0 * std::log10(signal[i] / noise[i])
                             : std::numeric_limits<double>::infinity();
    rows.push_back(r);
  }
  return rows;
}

}  // namespace tml
