#include "app/quantize.h"

#include <fmt/format.h>

#include <cmath>

#include "data/loader.h"
#include "formats/export.h"
#include "formats/import.h"
#include "interp/evaluate.h"
#include "squeeze/calibrate.h"
#include "squeeze/quantize.h"
#include "train/export.h"
#include "train/trainer.h"

namespace tml {

namespace {

// Quantization-aware fine-tuning: the spec without batch norm (folded in the model),
// initialized from the float model, trained with fake quantization on the calibration
// split, then quantized like the original.
Result<Graph> QuantizationAware(const QuantizeRequest& q, const Graph& fg, const LoadedSplit& cal,
                                const std::vector<std::vector<std::vector<float>>>& samples,
                                const CalibrationOptions& co, Progress& progress) {
  TML_ASSIGN_OR_RETURN(ModelSpec full, LoadModelSpec(q.qat));
  const ModelSpec spec = WithoutBatchNorm(full);
  TrainOptions o;
  o.epochs = q.qat_epochs;
  o.lr = q.qat_lr;
  o.schedule = "constant";
  o.fake_quant = true;
  o.threads = q.threads;
  TML_ASSIGN_OR_RETURN(InitReport rep, InitFromGraph(spec, fg, &o.init));
  if (rep.copied != rep.total)
    return Status::Errorf("qat {}: the spec does not match the model ({} of {} layers; {})", q.qat,
                          rep.copied, rep.total, rep.skipped.empty() ? "" : rep.skipped[0]);
  TrainCallbacks cb;
  cb.cancelled = [&] { return progress.Cancelled(); };
  cb.epoch = [&](const EpochMetrics& m) {
    progress.Log(fmt::format("qat epoch {}/{}: loss {:.4f}, acc {:.1f} %", m.epoch, o.epochs,
                             m.train_loss, 100 * m.train_acc));
  };
  TML_ASSIGN_OR_RETURN(TrainResult r, TrainModel(spec, cal.data, nullptr, o, cb));
  TML_ASSIGN_OR_RETURN(Graph g, SpecToGraph(spec, r.params));
  TML_ASSIGN_OR_RETURN(auto ranges, Calibrate(g, samples, co));
  QuantizeOptions qo;
  qo.float_io = q.float_io;
  return QuantizeGraph(g, ranges, qo);
}

}  // namespace

Result<QuantizeOutcome> Quantize(Workspace& ws, const QuantizeRequest& q, Progress& progress) {
  TML_ASSIGN_OR_RETURN(Graph fg, LoadModel(q.model));
  CalibrationOptions co;
  TML_ASSIGN_OR_RETURN(co.method, ParseCalibration(q.method));
  co.percentile = q.percentile;
  if (q.samples <= 0 || q.report_samples <= 0)
    return Status::Errorf("samples ({}) and report samples ({}) must be positive", q.samples,
                          q.report_samples);
  TML_ASSIGN_OR_RETURN(LoadedSplit cal, LoadSplitRef(ws, q.calibration, Split::kTrain));
  const auto samples = AsModelInputs(Spread(cal.data, q.samples));
  QuantizeOutcome r;
  r.calibration_samples = static_cast<int64_t>(samples.size());
  progress.Log(fmt::format("calibrating on {} samples of {} ({})", samples.size(), q.calibration,
                           CalibrationName(co.method)));
  TML_ASSIGN_OR_RETURN(auto ranges, Calibrate(fg, samples, co));
  QuantizeOptions qo;
  qo.float_io = q.float_io;
  TML_ASSIGN_OR_RETURN(r.graph, QuantizeGraph(fg, ranges, qo));
  TML_ASSIGN_OR_RETURN(
      r.layers, LayerSqnr(fg, r.graph, Spread(cal.data, q.report_samples), q.report_samples));
  if (!q.eval.empty()) {
    TML_ASSIGN_OR_RETURN(LoadedSplit test, LoadSplitRef(ws, q.eval, Split::kTest));
    EvalOptions o;
    o.threads = q.threads;
    const int classes = static_cast<int>(test.classes.size());
    TML_ASSIGN_OR_RETURN(EvalResult fr, EvaluateClassifier(fg, test.data, classes, o));
    TML_ASSIGN_OR_RETURN(EvalResult qr, EvaluateClassifier(r.graph, test.data, classes, o));
    r.float_accuracy = fr.accuracy;
    r.int8_accuracy = qr.accuracy;
    const double drop = 100 * (fr.accuracy - qr.accuracy);
    if (!q.qat.empty() && drop > q.qat_threshold) {
      progress.Log(fmt::format("post-training drop {:.2f} points > {}: quantization-aware training",
                               drop, q.qat_threshold));
      TML_ASSIGN_OR_RETURN(Graph qat, QuantizationAware(q, fg, cal, samples, co, progress));
      TML_ASSIGN_OR_RETURN(EvalResult ar, EvaluateClassifier(qat, test.data, classes, o));
      r.qat_int8_accuracy = ar.accuracy;
      if (ar.accuracy > qr.accuracy) {
        r.graph = std::move(qat);
        r.int8_accuracy = ar.accuracy;
        r.qat_kept = true;
      }
    }
  }
  TML_ASSIGN_OR_RETURN(r.model_path, SaveOnnxByContent(r.graph, ws.root + "/artifacts"));
  return r;
}

nlohmann::json QuantizationJson(const QuantizeRequest& q, const QuantizeOutcome& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSqnrRow& row : r.layers)
    layers.push_back({{"node", row.node},
                      {"op", row.op},
                      {"sqnr_db", std::isfinite(row.sqnr_db) ? nlohmann::json(row.sqnr_db)
                                                             : nlohmann::json(nullptr)}});
  nlohmann::json j = {{"model", q.model},       {"calibration", q.calibration},
                      {"method", q.method},     {"calibration_samples", r.calibration_samples},
                      {"float_io", q.float_io}, {"sqnr", layers}};
  if (r.float_accuracy) {
    j["float_accuracy"] = *r.float_accuracy;
    j["int8_accuracy"] = *r.int8_accuracy;
    j["accuracy_drop_points"] = 100 * (*r.float_accuracy - *r.int8_accuracy);
  }
  if (r.qat_int8_accuracy) {
    j["qat_int8_accuracy"] = *r.qat_int8_accuracy;
    j["qat"] = r.qat_kept;
  }
  return j;
}

}  // namespace tml
