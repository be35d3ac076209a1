// Front ends on the device: instructions per clip, per frame and per second of audio for
// each shipped front end (src/frontend, examples/frontends) on emulated Cortex-M boards
// (QEMU -icount, deterministic), and for the MLPerf KWS front end attached to the int8
// DS-CNN, the whole model's instructions and the share of a 64 MHz core it needs when it
// runs every stride (a new 1 s window every 20 ms would recompute 48 of 49 frames; the
// streaming device of issue 17 computes only the new one). Prints a Markdown table.
//
//   build/bench/tml_frontend_bench [targets...]   (default: cortex-m4 cortex-m7 cortex-m3)
#include <fmt/format.h>

#include <iostream>

#include "frontend/frontend.h"
#include "targets/profile.h"
#include "zoo/mlperf_models.h"
#include "zoo/streaming_models.h"

int main(int argc, char** argv) {
  std::vector<std::string> targets(argv + 1, argv + argc);
  if (targets.empty()) targets = {"cortex-m4", "cortex-m7", "cortex-m3"};
  auto all = tml::ShippedFrontEnds();
  if (!all.ok()) {
    std::cerr << all.status().message() << "\n";
    return 1;
  }
  int failures = 0;
  std::cout << "| front end | target | frames | instructions per clip | per frame | per second of "
               "audio | share of 64 MHz (features only) |\n|---|---|---:|---:|---:|---:|---:|\n";
  for (const tml::FrontEnd& fe : *all) {
    auto g = tml::FrontEndGraph(fe);
    if (!g.ok()) return 1;
    for (const auto& t : targets) {
      auto p = tml::ProfileGraphOnTarget(*g, t);
      if (!p.ok()) {
        std::cerr << fe.name << " on " << t << ": " << p.status().message() << "\n";
        ++failures;
        continue;
      }
      const double per_frame = static_cast<double>(p->device->instructions) / fe.frames();
      const double per_second = per_frame * fe.sample_rate / fe.frame_step;
      std::cout << fmt::format("| {} | {} | {} | {} | {:.0f} | {:.0f} | {:.2f} % |\n", fe.name, t,
                               fe.frames(), p->device->instructions, per_frame, per_second,
                               100.0 * per_second / 64e6);
      std::cout.flush();
    }
  }
  auto ds = tml::zoo::MlperfModels()[0].build(1);
  if (!ds.ok()) return 1;
  auto q = tml::zoo::QuantizeSynthetic(*ds, 1);
  if (!q.ok()) return 1;
  std::cout << "\n| model | target | instructions per inference | of which the front end | "
               "inferences every 20 ms: share of 64 MHz | RAM B | flash B |\n"
               "|---|---|---:|---:|---:|---:|---:|\n";
  for (const char* name : {"mlperf-kws", "mlperf-kws-fixed"}) {
    auto kws = tml::FindFrontEnd(name);
    if (!kws.ok()) return 1;
    auto audio = tml::AttachFrontEnd(*q, *kws);
    if (!audio.ok()) {
      std::cerr << audio.status().message() << "\n";
      return 1;
    }
    for (const auto& t : targets) {
      auto p = tml::ProfileGraphOnTarget(*audio, t);
      if (!p.ok()) {
        std::cerr << name << " on " << t << ": " << p.status().message() << "\n";
        ++failures;
        continue;
      }
      const auto& d = *p->device;
      int64_t fe_instr = 0;
      for (size_t k = 0; k < d.layer_instructions.size() && k < audio->nodes.size(); ++k)
        if (audio->nodes[k].op == tml::OpType::kMfcc) fe_instr += d.layer_instructions[k];
      std::cout << fmt::format("| {} + ds_cnn_kws (int8) | {} | {} | {} | {:.1f} % | {} | {} |\n",
                               name, t, d.instructions, fe_instr,
                               100.0 * static_cast<double>(d.instructions) * 50 / 64e6, d.ram_bytes,
                               d.flash_bytes);
      std::cout.flush();
    }
  }
  // The streaming SVDF model: one frame's features and one inference per 20 ms stride.
  auto svdf = tml::zoo::SvdfKws(1);
  if (!svdf.ok()) return 1;
  auto svdf8 = tml::zoo::QuantizeSynthetic(*svdf, 1, 16);
  auto one_frame = tml::FindFrontEnd("mlperf-kws-fixed");
  if (!svdf8.ok() || !one_frame.ok()) return 1;
  one_frame->samples = one_frame->frame_length;
  auto streaming = tml::AttachFrontEnd(*svdf8, *one_frame);
  if (!streaming.ok()) {
    std::cerr << streaming.status().message() << "\n";
    return 1;
  }
  std::cout << "\n| streaming model (one frame per inference) | target | instructions per stride | "
               "front end | SVDF layers | every 20 ms: share of 64 MHz | RAM B |\n"
               "|---|---|---:|---:|---:|---:|---:|\n";
  for (const auto& t : targets) {
    auto p = tml::ProfileGraphOnTarget(*streaming, t);
    if (!p.ok()) {
      std::cerr << "svdf_kws on " << t << ": " << p.status().message() << "\n";
      ++failures;
      continue;
    }
    const auto& d = *p->device;
    int64_t fe_instr = 0, svdf_instr = 0;
    for (size_t k = 0; k < d.layer_instructions.size() && k < streaming->nodes.size(); ++k) {
      if (streaming->nodes[k].op == tml::OpType::kMfcc) fe_instr += d.layer_instructions[k];
      if (streaming->nodes[k].op == tml::OpType::kSvdf) svdf_instr += d.layer_instructions[k];
    }
    std::cout << fmt::format(
        "| mlperf-kws-fixed (1 frame) + svdf_kws (int8) | {} | {} | {} | {} | "
        "{:.2f} % | {} |\n",
        t, d.instructions, fe_instr, svdf_instr,
        100.0 * static_cast<double>(d.instructions) * 50 / 64e6, d.ram_bytes);
    std::cout.flush();
  }
  return failures ? 1 : 0;
}
