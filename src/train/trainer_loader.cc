// TrainModel and EvaluateParams (trainer.h) forwarded to the libtorch module, which is
// opened at the first call: $TINYMLAAS_TORCH_MODULE, else libtml_torch.so beside the
// running executable, else the one this build wrote (TML_TORCH_MODULE).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "train/torch_module.h"

namespace tml {

namespace {

struct Loaded {
  const TorchModule* module = nullptr;
  Status error;
};

const Loaded& Load() {
  static const Loaded loaded = [] {
    Loaded l;
    std::vector<std::string> paths;
    if (const char* e = std::getenv("TINYMLAAS_TORCH_MODULE"); e && *e) paths.push_back(e);
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) paths.push_back((exe.parent_path() / "libtml_torch.so").string());
    paths.push_back(TML_TORCH_MODULE);
    std::string tried;
    for (const std::string& p : paths) {
      if (!std::filesystem::exists(p, ec)) {
        tried += "\n  " + p + ": no such file";
        continue;
      }
      void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        tried += "\n  " + p + ": " + dlerror();
        continue;
      }
      using Entry = const TorchModule* (*)();
      auto entry = reinterpret_cast<Entry>(dlsym(h, "tml_torch_module"));
      const TorchModule* m = entry ? entry() : nullptr;
      if (!m || m->version != kTorchModuleVersion) {
        tried += "\n  " + p + ": not a training module of this version";
        dlclose(h);
        continue;
      }
      l.module = m;
      return l;
    }
    l.error = Status::Unavailable(
        "training needs the libtorch module libtml_torch.so, which `make` builds beside "
        "tinymlaas (or set TINYMLAAS_TORCH_MODULE):{}",
        tried);
    return l;
  }();
  return loaded;
}

}  // namespace

Result<TrainResult> TrainModel(const ModelSpec& spec, const TrainData& train, const TrainData* val,
                               const TrainOptions& options, const TrainCallbacks& callbacks) {
  const Loaded& l = Load();
  if (!l.module) return l.error;
  return l.module->train(spec, train, val, options, callbacks);
}

Result<std::pair<double, double>> EvaluateParams(const ModelSpec& spec,
                                                 const std::vector<std::vector<float>>& params,
                                                 const TrainData& data) {
  const Loaded& l = Load();
  if (!l.module) return l.error;
  return l.module->evaluate(spec, params, data);
}

}  // namespace tml
