// Helpers shared by the command implementations in apps/.
#pragma once

#include <iostream>

#include "core/status.h"

namespace tml::cli {

// Prints "error: <message>" on stderr; the exit code for a failed command.
inline int Fail(const Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return 1;
}

}  // namespace tml::cli
