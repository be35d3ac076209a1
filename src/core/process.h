// Runs an external program (compiler, emulator) without a shell, capturing
// its combined stdout and stderr.
//
//   TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess({"cc", "-c", "x.c"}));
//   if (r.exit_code != 0) ... r.output ...
#pragma once

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

}  // namespace tml
