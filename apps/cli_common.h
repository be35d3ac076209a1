// Helpers shared by the command implementations in apps/.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/status.h"

namespace tml::cli {

// A flag that Ctrl-C (SIGINT) and SIGTERM set, for commands that run until stopped
// (agent, emulate, control, observe); the handlers are installed by the first call.
inline std::atomic<bool>& StopOnSignal() {
  static std::atomic<bool> stop{false};
  static const bool installed = [] {
    std::signal(SIGINT, [](int) { stop = true; });
    std::signal(SIGTERM, [](int) { stop = true; });
    return true;
  }();
  (void)installed;
  return stop;
}

// The exit code of a failed command, from the error's code: 1 for errors about the
// input (invalid argument, not found, already exists, failed precondition), 69 when a
// service is unavailable, 70 for internal errors, 130 when cancelled (2 is reserved for
// "ran, and the device differs from the host").
inline int ExitCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kUnavailable:
      return 69;
    case StatusCode::kInternal:
      return 70;
    case StatusCode::kCancelled:
      return 130;
    default:
      return 1;
  }
}

// "a,b,c" into its items.
inline std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// Prints "error: <message>" on stderr; the exit code for a failed command.
inline int Fail(const Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return ExitCode(s.code());
}

// A component's progress on the terminal: log lines on stderr, fine-grained progress
// (training batches) as a bar redrawn in place.
class TerminalProgress : public Progress {
 public:
  void Log(const std::string& line) override {
    const size_t pad = bar_ > line.size() ? bar_ - line.size() : 0;
    std::cerr << (bar_ ? "\r" : "") << line << std::string(pad, ' ') << "\n";
    bar_ = 0;
  }
  void Advance(int64_t done, int64_t total, const std::string& status) override {
    const int64_t width = 24, filled = total ? done * width / total : width;
    const std::string bar =
        fmt::format("  [{}{}] {:>5}/{}  {}", std::string(static_cast<size_t>(filled), '#'),
                    std::string(static_cast<size_t>(width - filled), '.'), done, total, status);
    std::cerr << "\r" << bar << std::flush;
    bar_ = bar.size();
  }
  // Cancelled once *stop is set (StopOnSignal(): Ctrl-C stops the operation).
  void StopOn(const std::atomic<bool>* stop) { stop_ = stop; }
  bool Cancelled() override { return stop_ && stop_->load(); }

 private:
  size_t bar_ = 0;  // length of the bar on the current line (0: none)
  const std::atomic<bool>* stop_ = nullptr;
};

}  // namespace tml::cli
