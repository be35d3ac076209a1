// What running one pipeline step gave: its outputs and the artifacts behind them.
#pragma once

#include <map>
#include <string>

namespace tml {

struct StepOutcome {
  std::string step, component, key;
  bool cached = false;
  double seconds = 0;
  std::map<std::string, std::string> outputs;      // output name -> value
  std::map<std::string, std::string> artifact_of;  // output name -> artifact id
};

}  // namespace tml
