// `tinymlaas rollout create|status|list|pause|resume|halt|rollback`, `control`,
// `telemetry` and `observe`: fleet operations (src/app/rollout.h, src/app/control_loop.h).
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

namespace tml::cli {

void AddFleetOpsCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added);

}  // namespace tml::cli
