#include "app/package.h"

#include <filesystem>
#include <fstream>

#include "data/dataset_store.h"
#include "formats/import.h"
#include "targets/device_image.h"
#include "targets/target_profile.h"
#include "tml_package.h"

namespace tml {

Result<DeviceBudget> BudgetOf(const std::string& target) {
  TML_ASSIGN_OR_RETURN(TargetProfile p, FindTarget(target));
  DeviceImageOptions o;
  DeviceBudget b;
  b.scratch = o.scratch_bytes;
  b.arena = ArenaFor(p, o.scratch_bytes);
  b.slot = (p.flash_bytes - 2 * 4096) / 2 / 4096 * 4096;
  b.opset = tml_pkg_runtime_opset();
  return b;
}

Status CheckFit(const PackageInfo& info, const std::string& device, const DeviceBudget& b) {
  if (info.format != b.format || info.kernel_abi != b.kernel_abi)
    return Status::FailedPrecondition(
        "format: the package is format {} / kernel ABI {}, {} reads {} / {}", info.format,
        info.kernel_abi, device, b.format, b.kernel_abi);
  if (info.opset & ~b.opset)
    return Status::FailedPrecondition("opset: the package calls kernels {}'s runtime lacks",
                                      device);
  if (info.arena_bytes > b.arena)
    return Status::FailedPrecondition("arena: the model needs {} bytes of arena, {} has {}",
                                      info.arena_bytes, device, b.arena);
  if (info.scratch_bytes > b.scratch)
    return Status::FailedPrecondition(
        "scratch: the model needs {} bytes of kernel scratch, {} has {}", info.scratch_bytes,
        device, b.scratch);
  if (info.bytes > b.slot)
    return Status::FailedPrecondition("flash: the package has {} bytes, {}'s model slot holds {}",
                                      info.bytes, device, b.slot);
  return Status::Ok();
}

std::string DefaultKeyDir(const std::string& workspace) {
  return (std::filesystem::path(workspace.empty() ? DefaultWorkspaceRoot() : workspace) / "keys")
      .string();
}

Result<KeyFiles> CreateKeys(const std::string& dir) {
  return CreateSigningKeys(dir);
}

Result<PackageOutcome> MakePackage(const PackageRequest& q, Progress& progress) {
  if (q.out.empty()) return Status::Error("package: an output file is needed (-o)");
  if (q.version == 0) return Status::Error("package: versions start at 1");
  DeviceBudget budget;
  if (!q.target.empty()) {
    TML_ASSIGN_OR_RETURN(budget, BudgetOf(q.target));
  }
  progress.Log("importing " + q.model);
  TML_ASSIGN_OR_RETURN(Graph g, LoadModel(q.model));
  PackageOptions po;
  po.model_version = q.version;
  progress.Log("writing the package (self-test vector from the host interpreter)");
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, WritePackage(g, po));
  if (!q.signing_key.empty()) {
    progress.Log("signing with " + q.signing_key);
    TML_ASSIGN_OR_RETURN(bytes, SignPackage(bytes, q.signing_key));
  }
  TML_ASSIGN_OR_RETURN(PackageInfo info, InspectPackage(bytes));
  if (!q.target.empty())
    TML_RETURN_IF_ERROR(CheckFit(info, "a " + q.target + " device image", budget));
  std::ofstream f(q.out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return Status::Errorf("{}: write failed", q.out);
  PackageOutcome r;
  r.path = q.out;
  r.info = info;
  r.device_arena_bytes = budget.arena;
  r.device_slot_bytes = budget.slot;
  return r;
}

Result<PackageInfo> CheckPackage(const CheckRequest& q) {
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(q.package));
  std::vector<uint8_t> key;
  if (!q.public_key.empty()) {
    TML_ASSIGN_OR_RETURN(key, LoadPublicKey(q.public_key));
  }
  auto info = InspectPackage(bytes, key);
  if (!info.ok()) return info.status().Wrap(q.package);
  if (!q.target.empty()) {
    TML_ASSIGN_OR_RETURN(DeviceBudget b, BudgetOf(q.target));
    TML_RETURN_IF_ERROR(CheckFit(*info, "a " + q.target + " device image", b).Wrap(q.package));
  }
  return info;
}

nlohmann::json PackageInfoJson(const PackageInfo& i) {
  nlohmann::json j = {{"format", i.format},
                      {"kernel_abi", i.kernel_abi},
                      {"model_version", i.model_version},
                      {"model_id", i.model_id},
                      {"name", i.name},
                      {"bytes", i.bytes},
                      {"arena_bytes", i.arena_bytes},
                      {"scratch_bytes", i.scratch_bytes},
                      {"weight_bytes", i.weight_bytes},
                      {"calls", i.calls},
                      {"recurrent_state", i.recurrent_state},
                      {"kernels", i.kernels},
                      {"digest", i.digest},
                      {"signed", !i.key_id.empty()},
                      {"key_id", i.key_id}};
  for (const auto* list : {&i.inputs, &i.outputs}) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& t : *list)
      arr.push_back({{"dtype", DTypeName(t.dtype)},
                     {"shape", t.shape},
                     {"bytes", t.bytes},
                     {"scale", t.scale},
                     {"zero_point", t.zero_point}});
    j[list == &i.inputs ? "inputs" : "outputs"] = arr;
  }
  return j;
}

}  // namespace tml
