#include "apps/cli_frontend.h"

#include <iostream>
#include <memory>

#include "app/frontend.h"
#include "apps/cli_common.h"

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
      "Write MODEL fed by the front end as ONNX: its input becomes float [1, samples] audio; "
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
      j["input"] = {{"name", in.name}, {"shape", in.shape}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << fmt::format("wrote {}: input '{}' float {} fed by {}\n", a->attach.out, in.name,
                               ShapeStr(in.shape), FrontEndSummary(r->frontend));
    }
    *exit_code = 0;
  });
  return fe;
}

}  // namespace tml::cli
