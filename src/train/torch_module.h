// The boundary between the tool and libtorch. Training code is built as a module of
// its own (libtml_torch.so, from torch_trainer.cc, the only file that includes torch)
// and opened with dlopen the first time something trains, so commands that do not
// train never load libtorch (it costs ~0.4 s at start-up). The module exports one C
// function returning this table; trainer_loader.cc finds the module and forwards
// TrainModel / EvaluateParams (trainer.h) to it.
#pragma once

#include <cstdint>

#include "train/trainer.h"

namespace tml {

// Bumped whenever the table or the types it passes change; a module of another
// version is refused instead of called.
inline constexpr uint32_t kTorchModuleVersion = 1;

struct TorchModule {
  uint32_t version;
  Result<TrainResult> (*train)(const ModelSpec& spec, const TrainData& train, const TrainData* val,
                               const TrainOptions& options, const TrainCallbacks& callbacks);
  Result<std::pair<double, double>> (*evaluate)(const ModelSpec& spec,
                                                const std::vector<std::vector<float>>& params,
                                                const TrainData& data);
};

}  // namespace tml

// The module's entry point (extern "C": looked up by name with dlsym).
extern "C" const tml::TorchModule* tml_torch_module();
