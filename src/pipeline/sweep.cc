#include "pipeline/sweep.h"

#include <fmt/format.h>

namespace tml {

namespace {

const StepOutcome* FindOutcome(const std::vector<StepOutcome>& outcomes, const std::string& step) {
  for (const StepOutcome& o : outcomes)
    if (o.step == step) return &o;
  return nullptr;
}

Result<double> Accuracy(const std::vector<StepOutcome>& outcomes, const std::string& step) {
  const StepOutcome* o = FindOutcome(outcomes, step);
  if (!o || !o->outputs.count("accuracy")) return Status::Errorf("step '{}' has not run", step);
  return std::stod(o->outputs.at("accuracy"));
}

// a is at least as good as b in accuracy, instructions and RAM, and better in one.
bool Dominates(const SweepRow& a, const SweepRow& b) {
  const bool no_worse =
      a.int8_acc >= b.int8_acc && a.instructions <= b.instructions && a.ram_bytes <= b.ram_bytes;
  const bool better =
      a.int8_acc > b.int8_acc || a.instructions < b.instructions || a.ram_bytes < b.ram_bytes;
  return no_worse && better;
}

}  // namespace

Result<std::vector<SweepRow>> SweepResults(const SweepSpec& sweep,
                                           const std::vector<StepOutcome>& outcomes,
                                           MetaStore& db) {
  std::vector<SweepRow> rows;
  for (const SweepCell& c : sweep.cells) {
    SweepRow r;
    r.model = c.model;
    r.squeeze = c.squeeze;
    r.target = c.target;
    TML_ASSIGN_OR_RETURN(r.float_acc, Accuracy(outcomes, c.float_eval));
    TML_ASSIGN_OR_RETURN(r.int8_acc, Accuracy(outcomes, c.int8_eval));
    if (!c.device_eval.empty()) {
      TML_ASSIGN_OR_RETURN(r.device_acc, Accuracy(outcomes, c.device_eval));
    }
    const StepOutcome* build = FindOutcome(outcomes, c.compile);
    if (!build || !build->artifact_of.count("firmware"))
      return Status::Errorf("step '{}' has not run", c.compile);
    TML_ASSIGN_OR_RETURN(ArtifactRecord fw, db.GetArtifact(build->artifact_of.at("firmware")));
    const auto m = nlohmann::json::parse(fw.metadata, nullptr, false);
    if (!m.is_object() || !m.contains("instructions"))
      return Status::Errorf("{}: no profile recorded", fw.id);
    r.macs = m.value("macs", int64_t{0});
    r.instructions = m.value("instructions", int64_t{0});
    r.ram_bytes = m.value("ram_bytes", int64_t{0});
    r.flash_bytes = m.value("flash_bytes", int64_t{0});
    r.board_ram_bytes = m.value("board_ram_bytes", int64_t{0});
    r.board_flash_bytes = m.value("board_flash_bytes", int64_t{0});
    r.fits = m.value("fits", false);
    rows.push_back(std::move(r));
  }
  MarkPareto(rows);
  return rows;
}

void MarkPareto(std::vector<SweepRow>& rows) {
  for (SweepRow& r : rows) {
    r.pareto = true;
    for (const SweepRow& o : rows)
      if (&o != &r && o.target == r.target && Dominates(o, r)) r.pareto = false;
  }
  for (SweepRow& r : rows) {
    r.best = r.fits;
    for (const SweepRow& o : rows)
      if (&o != &r && o.target == r.target && o.fits &&
          (o.int8_acc > r.int8_acc ||
           (o.int8_acc == r.int8_acc && o.instructions < r.instructions)))
        r.best = false;
  }
}

std::string SweepTable(const std::vector<SweepRow>& rows) {
  std::string s = fmt::format(
      "{:<18} {:<14} {:<11} {:>8} {:>8} {:>8} {:>10} {:>12} {:>9} {:>9}  {}\n", "model", "squeeze",
      "target", "float %", "int8 %", "board %", "MACs", "instructions", "RAM", "flash", "fits");
  for (const SweepRow& r : rows) {
    std::string verdict = r.fits ? "yes" : "NO";
    if (r.pareto) verdict += ", pareto";
    if (r.best) verdict += ", BEST";
    s +=
        fmt::format("{:<18} {:<14} {:<11} {:>8.2f} {:>8.2f} {:>8} {:>10} {:>12} {:>9} {:>9}  {}\n",
                    r.model, r.squeeze, r.target, 100 * r.float_acc, 100 * r.int8_acc,
                    r.device_acc < 0 ? std::string("-") : fmt::format("{:.2f}", 100 * r.device_acc),
                    r.macs, r.instructions, r.ram_bytes, r.flash_bytes, verdict);
  }
  for (const SweepRow& r : rows)
    if (r.best)
      s +=
          fmt::format("best that fits {}: {} / {} ({:.2f} % int8, {} instructions, {} bytes RAM)\n",
                      r.target, r.model, r.squeeze, 100 * r.int8_acc, r.instructions, r.ram_bytes);
  return s;
}

nlohmann::json SweepJson(const std::vector<SweepRow>& rows) {
  nlohmann::json j = nlohmann::json::array();
  for (const SweepRow& r : rows)
    j.push_back(
        {{"model", r.model},
         {"squeeze", r.squeeze},
         {"target", r.target},
         {"float_accuracy", r.float_acc},
         {"int8_accuracy", r.int8_acc},
         {"device_accuracy", r.device_acc < 0 ? nlohmann::json() : nlohmann::json(r.device_acc)},
         {"macs", r.macs},
         {"instructions", r.instructions},
         {"ram_bytes", r.ram_bytes},
         {"flash_bytes", r.flash_bytes},
         {"board_ram_bytes", r.board_ram_bytes},
         {"board_flash_bytes", r.board_flash_bytes},
         {"fits", r.fits},
         {"pareto", r.pareto},
         {"best", r.best}});
  return j;
}

}  // namespace tml
