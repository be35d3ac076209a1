// How a long operation reports progress and learns that it should stop: the one
// interface every lifecycle component takes, so the CLI (a progress bar), a
// pipeline step (log lines) and a job (events on its stream) drive the same code.
//
//   struct Bar : Progress { void Advance(int64_t d, int64_t t, const std::string& s) override; };
//   Bar bar;
//   TML_ASSIGN_OR_RETURN(TrainOutcome r, Train(ws, request, bar));
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace tml {

class Progress {
 public:
  virtual ~Progress() = default;
  // A line worth keeping in a log ("epoch 2/5: loss 0.41, val acc 86.0 %").
  virtual void Log(const std::string& line) { (void)line; }
  // Fine-grained progress within the current stage (batches of an epoch): for bars.
  virtual void Advance(int64_t done, int64_t total, const std::string& status) {
    (void)done, (void)total, (void)status;
  }
  // A structured event ({"type": "epoch", ...}) for streams and charts.
  virtual void Event(const nlohmann::json& event) { (void)event; }
  // Polled at checkpoints (every training batch): true stops the operation with a
  // cancelled error.
  virtual bool Cancelled() { return false; }
};

// Reports nothing and never cancels.
inline Progress& NoProgress() {
  static Progress none;
  return none;
}

}  // namespace tml
