// Runs an external program (compiler, emulator) without a shell, capturing
// its combined stdout and stderr.
//
//   TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess({"cc", "-c", "x.c"}));
//   if (r.exit_code != 0) ... r.output ...
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string output;
};

// timeout_s > 0 kills the process after that many seconds (exit_code 124).
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, int timeout_s = 0);

// A program left running in the background (an emulator, a broker), its stdout and
// stderr in a log file. The destructor kills it if it still runs, and the kernel kills
// it when the thread that started it ends (PR_SET_PDEATHSIG), so a process that crashes
// leaves no emulator behind: start it from a thread that outlives it.
//
//   TML_ASSIGN_OR_RETURN(auto p, ChildProcess::Start({"qemu-system-arm", ...}, "qemu.log"));
//   ...  p->Running()  ...  p->Stop();
class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                     const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool Running();
  // Waits up to timeout_ms for the exit; the exit code (128 + signal), or -1 if it runs on.
  int Wait(int timeout_ms);
  // SIGKILL and reap; returns the exit code.
  int Stop();
  int pid() const { return pid_; }
  const std::string& log_path() const { return log_; }
  std::string Log() const;  // what it printed so far

 private:
  ChildProcess(int pid, std::string log) : pid_(pid), log_(std::move(log)) {}
  int pid_;
  std::string log_;
  int exit_code_ = -1;
  bool reaped_ = false;
};

}  // namespace tml
