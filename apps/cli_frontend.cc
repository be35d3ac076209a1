#include "apps/cli_frontend.h"

#include <iostream>
#include <memory>

#include "app/frontend.h"
#include "app/stream.h"
#include "apps/cli_common.h"
#include "data/wav.h"
#include "formats/import.h"

namespace tml::cli {

CLI::App* AddFrontEndCommands(CLI::App& app, int* exit_code) {
  struct Args {
    AttachRequest attach;
    std::string show;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* fe = app.add_subcommand(
      "frontend",
      "Feature front ends (docs/frontends.md): MFCC or log-mel settings in YAML, attached to a "
      "model as graph ops so that the compiled firmware, the model package and the Arduino "
      "library compute the features on the device, bit for bit as on the host, from raw "
      "samples");
  fe->require_subcommand(1);
  auto* list = fe->add_subcommand("list", "The shipped front ends (examples/frontends)");
  list->add_flag("--json", a->json, "As JSON");
  auto* show = fe->add_subcommand(
      "show",
      "One front end's settings, frames and features: a shipped name, a YAML file, or a "
      "model file (.onnx, .tflite) whose input feeds an attached front end");
  show->add_option("FRONTEND", a->show, "Name, YAML file or model file")->required();
  show->add_flag("--json", a->json, "As JSON");
  auto* attach = fe->add_subcommand(
      "attach",
      "Write MODEL fed by the front end as ONNX: its input becomes [1, samples] audio (float "
      "in -1..1, or int16 for a front end with arithmetic: fixed); "
      "the front end's frames x features must match the model input, which an int8 model gets "
      "quantized with its own scale and zero point");
  attach->add_option("MODEL", a->attach.model, "Model file (.onnx or .tflite)")
      ->required()
      ->check(CLI::ExistingFile);
  attach
      ->add_option("--frontend", a->attach.frontend,
                   "A shipped front end (mlperf-kws, log-mel-16k) or a YAML file")
      ->required();
  attach->add_option("-o,--out", a->attach.out, "The ONNX file to write")->required();
  attach->add_flag("--json", a->json, "The front end and the new input as JSON");

  auto print = [a](const FrontEnd& f) {
    if (a->json)
      std::cout << FrontEndJson(f).dump(2) << "\n";
    else
      std::cout << FrontEndSummary(f) << "\n";
  };
  list->callback([a, exit_code] {
    auto all = ShippedFrontEnds();
    if (!all.ok()) {
      *exit_code = Fail(all.status());
      return;
    }
    nlohmann::json j = nlohmann::json::array();
    for (const FrontEnd& f : *all) {
      if (a->json)
        j.push_back(FrontEndJson(f));
      else
        std::cout << FrontEndSummary(f) << "\n";
    }
    if (a->json) std::cout << j.dump(2) << "\n";
    *exit_code = 0;
  });
  show->callback([a, exit_code, print] {
    auto f = ResolveFrontEnd(a->show);
    if (!f.ok()) {
      *exit_code = Fail(f.status());
      return;
    }
    print(*f);
    *exit_code = 0;
  });
  attach->callback([a, exit_code] {
    auto r = AttachFrontEndToModel(a->attach);
    if (!r.ok()) {
      *exit_code = Fail(r.status());
      return;
    }
    const Tensor& in = r->graph.tensor(r->graph.inputs[0]);
    if (a->json) {
      nlohmann::json j = FrontEndJson(r->frontend);
      j["model"] = a->attach.out;
      j["input"] = {{"name", in.name}, {"shape", in.shape}, {"dtype", DTypeName(in.dtype)}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << fmt::format("wrote {}: input '{}' {} {} fed by {}\n", a->attach.out, in.name,
                               DTypeName(in.dtype), ShapeStr(in.shape),
                               FrontEndSummary(r->frontend));
    }
    *exit_code = 0;
  });
  return fe;
}

CLI::App* AddStreamCommand(CLI::App& app, int* exit_code) {
  struct Args {
    std::string model, data, wav, classes, workspace;
    int64_t words = 40;
    double gap = 0.5;
    StreamRequest q;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* st = app.add_subcommand(
      "stream",
      "Keyword spotting on a stream (docs/frontends.md#streaming): a model with an attached "
      "front end listens to a long recording, one stride at a time; each feature frame is "
      "computed once, the model runs every --hop frames, posteriors are smoothed and "
      "detections printed; on an emulated board the firmware does it all, fed the recording "
      "as from a microphone. With --data, the recording is the split's clips with gaps, and "
      "detections are scored against them (hits, misses, false alarms per hour)");
  st->add_option("MODEL", a->model,
                 "An int8 model with a front end (frontend attach, or a "
                 "spec with frontend:)")
      ->required()
      ->check(CLI::ExistingFile);
  st->add_option("--data", a->data,
                 "DATASET[@V][@SPLIT] (default split test): its clips, in a row, are the stream "
                 "and its classes the model's");
  st->add_option("--words", a->words, "With --data: clips spread over the split (0: all)")
      ->capture_default_str();
  st->add_option("--gap", a->gap, "With --data: seconds of quiet between clips")
      ->capture_default_str();
  st->add_option("--wav", a->wav, "A WAV recording instead (resampled to the front end's rate)")
      ->check(CLI::ExistingFile);
  st->add_option("--classes", a->classes, "With --wav: the model's classes, comma-separated");
  st->add_option("--target", a->q.target, "host, or an emulated board (cortex-m4, ...)")
      ->capture_default_str();
  st->add_option("--hop", a->q.options.hop, "Frames between inferences")->capture_default_str();
  st->add_option("--smooth", a->q.options.smooth, "Posteriors averaged")->capture_default_str();
  st->add_option("--threshold", a->q.options.threshold, "Smoothed score that detects")
      ->capture_default_str();
  st->add_option("--refractory", a->q.options.refractory,
                 "Inferences without a detection after one")
      ->capture_default_str();
  st->add_option("--work-dir", a->q.work_dir, "Keep the firmware build here");
  st->add_option("--workspace", a->workspace, "Workspace of --data");
  st->add_flag("--json", a->json, "Detections and figures as JSON");
  st->callback([a, exit_code] {
    *exit_code = [&]() -> int {
      if (a->data.empty() == a->wav.empty())
        return Fail(Status::Error("stream: give --data DATASET or --wav FILE"));
      auto model = LoadModel(a->model);
      if (!model.ok()) return Fail(model.status());
      auto fe = AttachedFrontEnd(*model);
      if (!fe.ok()) return Fail(Status::Errorf("{}: {}", a->model, fe.status().message()));
      a->q.model = std::move(*model);
      std::vector<float> audio;
      std::vector<TruthWord> truth;
      if (!a->data.empty()) {
        auto ws = OpenWorkspace(a->workspace);
        if (!ws.ok()) return Fail(ws.status());
        auto d = StreamFromDataset(*ws, a->data, a->words, fe->sample_rate, a->gap, 1);
        if (!d.ok()) return Fail(d.status());
        audio = std::move(d->stream.audio);
        truth = std::move(d->stream.truth);
        a->q.classes = d->classes;
      } else {
        if (a->classes.empty()) return Fail(Status::Error("stream --wav: --classes is required"));
        a->q.classes = SplitList(a->classes);
        auto w = ReadWav(a->wav);
        if (!w.ok()) return Fail(w.status());
        audio = Resample(ToMono(*w), w->rate, fe->sample_rate);
        for (float& v : audio) v /= 32768.0f;
      }
      auto r = RunStream(a->q, audio);
      if (!r.ok()) return Fail(r.status());
      const double seconds = static_cast<double>(audio.size()) / fe->sample_rate;
      const auto when = [&](const StreamEvent& e) {
        return static_cast<double>((e.frame - 1) * fe->frame_step + fe->frame_length) /
               fe->sample_rate;
      };
      nlohmann::json j = {{"target", a->q.target},
                          {"seconds", seconds},
                          {"frames", r->frames},
                          {"inferences", r->inferences}};
      j["detections"] = nlohmann::json::array();
      for (const StreamEvent& e : r->events)
        j["detections"].push_back({{"time_s", when(e)},
                                   {"class", a->q.classes[static_cast<size_t>(e.cls)]},
                                   {"score", e.score}});
      if (a->q.target != "host") {
        j["feature_instructions_per_frame"] = r->frames ? r->feature_instructions / r->frames : 0;
        j["model_instructions_per_inference"] =
            r->inferences ? r->model_instructions / r->inferences : 0;
      }
      if (!truth.empty()) {
        const StreamScore s = ScoreStream(*r, truth, a->q.classes, fe->sample_rate, fe->frame_step,
                                          fe->frame_length, 1.0);
        j["keywords"] = s.keywords;
        j["hits"] = s.hits;
        j["misses"] = s.misses;
        j["false_alarms"] = s.false_alarms;
        j["false_alarms_per_hour"] = s.false_alarms_per_hour();
      }
      if (a->json) {
        std::cout << j.dump(2) << "\n";
        return 0;
      }
      for (const auto& d : j["detections"])
        std::cout << fmt::format("{:8.2f} s  {:<10} {:.2f}\n", d["time_s"].get<double>(),
                                 d["class"].get<std::string>(), d["score"].get<double>());
      std::cout << fmt::format("{:.1f} s on {}: {} frames, {} inferences, {} detections\n", seconds,
                               a->q.target, r->frames, r->inferences, r->events.size());
      if (j.contains("feature_instructions_per_frame"))
        std::cout << fmt::format("instructions: {} per feature frame, {} per inference\n",
                                 j["feature_instructions_per_frame"].get<int64_t>(),
                                 j["model_instructions_per_inference"].get<int64_t>());
      if (j.contains("hits"))
        std::cout << fmt::format(
            "{} keywords: {} hits, {} misses, {} false alarms ({:.0f} per hour)\n",
            j["keywords"].get<int>(), j["hits"].get<int>(), j["misses"].get<int>(),
            j["false_alarms"].get<int>(), j["false_alarms_per_hour"].get<double>());
      return 0;
    }();
  });
  return st;
}

}  // namespace tml::cli
