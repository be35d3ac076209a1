#include "fleet/host_device.h"

#include <sys/utsname.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "formats/import.h"
#include "package/package.h"
#include "tml_package.h"

namespace tml {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint32_t kNone = 0xFFFFFFFFu;

void Copy(char* dst, size_t n, const std::string& s) {
  std::memset(dst, 0, n);
  std::memcpy(dst, s.data(), std::min(n - 1, s.size()));
}

}  // namespace

std::string HostDevice::SlotPath(int slot) const {
  return (fs::path(o_.dir) / ("slot" + std::to_string(slot) + ".tmlp")).string();
}

Result<std::unique_ptr<HostDevice>> HostDevice::Open(const HostDeviceOptions& o) {
  if (o.id.empty() || o.id.size() > 31 || o.id.find_first_of("/+# ") != std::string::npos)
    return Status::Errorf("host device: id '{}' must be 1-31 characters without / + # or spaces",
                          o.id);
  if (o.trusted_key.empty())
    return Status::Error("host device: a trusted public key is needed (signing.pub)");
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return Status::Errorf("host device: {}: {}", o.dir, ec.message());
  auto d = std::unique_ptr<HostDevice>(new HostDevice());
  d->o_ = o;
  tml_proto_hello& h = d->h_;
  utsname u{};
  uname(&u);
  Copy(h.device_id, sizeof h.device_id, o.id);
  Copy(h.core, sizeof h.core, std::string("host-") + u.machine);
  Copy(h.firmware, sizeof h.firmware, "gateway");
  h.arena_bytes = static_cast<uint32_t>(o.arena_bytes);
  h.scratch_bytes = static_cast<uint32_t>(o.arena_bytes);
  h.slot_bytes = static_cast<uint32_t>(o.slot_bytes);
  h.package_format = TML_PKG_FORMAT;
  h.kernel_abi = TML_PKG_KERNEL_ABI;
  h.protocol = TML_PROTO_VERSION;
  const uint64_t opset = tml_pkg_runtime_opset();
  h.opset_lo = static_cast<uint32_t>(opset);
  h.opset_hi = static_cast<uint32_t>(opset >> 32);
  h.active_slot = kNone;
  // The state a previous run left: slot states and versions, confirmed floor, boots.
  const std::string state = (fs::path(o.dir) / "state.json").string();
  if (fs::exists(state)) {
    std::ifstream f(state);
    const json j = json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::Errorf("host device: {}: not a state file (JSON)", state);
    try {
      h.active_slot = j.at("active_slot").get<uint32_t>();
      h.confirmed_version = j.at("confirmed_version").get<uint32_t>();
      h.boots = j.at("boots").get<uint32_t>();
      for (int s = 0; s < 2; ++s) {
        const json& js = j.at("slots").at(s);
        h.slots[s].state = js.at("state").get<uint8_t>();
        h.slots[s].version = js.at("version").get<uint32_t>();
        h.slots[s].bytes = js.at("bytes").get<uint32_t>();
        Copy(h.slots[s].model_id, sizeof h.slots[s].model_id, js.at("model_id").get<std::string>());
      }
    } catch (const json::exception& e) {
      return Status::Errorf("host device: {}: {}", state, e.what());
    }
  }
  if (h.active_slot < 2) {
    auto bytes = ReadFile(d->SlotPath(static_cast<int>(h.active_slot)));
    if (!bytes.ok()) return bytes.status().Wrap("host device: the active slot");
    auto info = InspectPackage(*bytes, o.trusted_key);
    if (!info.ok()) return info.status().Wrap("host device: the active slot");
    d->active_ = std::move(*bytes);
    d->active_info_ = std::move(*info);
  }
  ++h.boots;
  TML_RETURN_IF_ERROR(d->Save());
  return d;
}

Status HostDevice::Save() const {
  json slots = json::array();
  for (const auto& s : h_.slots)
    slots.push_back(
        {{"state", s.state},
         {"version", s.version},
         {"bytes", s.bytes},
         {"model_id", std::string(s.model_id, strnlen(s.model_id, sizeof s.model_id))}});
  const std::string text = json{
      {"active_slot", h_.active_slot},
      {"confirmed_version", h_.confirmed_version},
      {"boots", h_.boots},
      {"slots", slots}}.dump(2);
  return WriteFileAtomically((fs::path(o_.dir) / "state.json").string(), text.data(), text.size());
}

tml_proto_hello HostDevice::Hello() const {
  return h_;
}

uint32_t HostDevice::active_version() const {
  return h_.active_slot < 2 ? h_.slots[h_.active_slot].version : 0;
}

Status HostDevice::Deploy(const std::vector<uint8_t>& package) {
  // The device's checks, in its order; any refusal leaves everything as it was.
  if (static_cast<int64_t>(package.size()) > o_.slot_bytes)
    return Status::FailedPrecondition("package refused: size: {} bytes, the slot holds {}",
                                      package.size(), o_.slot_bytes);
  auto info = InspectPackage(package, o_.trusted_key);
  if (!info.ok()) return info.status().Wrap("package refused");
  if (info->key_id.empty())
    return Status::FailedPrecondition("package refused: signature: the package is unsigned");
  if (info->model_version < h_.confirmed_version)
    return Status::FailedPrecondition(
        "package refused: downgrade: version {} is older than the last confirmed version {}",
        info->model_version, h_.confirmed_version);
  if (info->arena_bytes + info->scratch_bytes > o_.arena_bytes)
    return Status::FailedPrecondition(
        "package refused: arena: the package needs {} bytes, the "
        "gateway offers {}",
        info->arena_bytes + info->scratch_bytes, o_.arena_bytes);
  const int target = h_.active_slot == 0 ? 1 : 0;
  TML_RETURN_IF_ERROR(WriteFileAtomically(SlotPath(target), package.data(), package.size()));
  if (h_.active_slot < 2) h_.slots[h_.active_slot].state = TML_SLOT_STANDBY;
  tml_proto_slot& s = h_.slots[target];
  s.state = TML_SLOT_TRIAL;
  s.version = info->model_version;
  s.bytes = static_cast<uint32_t>(package.size());
  Copy(s.model_id, sizeof s.model_id, info->model_id);
  h_.active_slot = static_cast<uint32_t>(target);
  active_ = package;
  active_info_ = *info;
  trial_runs_ = 0;
  return Save();
}

Result<HostDevice::Inference> HostDevice::Infer(const std::vector<uint8_t>& input) {
  if (h_.active_slot >= 2) return Status::FailedPrecondition("device refused: no model");
  Inference r;
  TML_ASSIGN_OR_RETURN(r.output, RunPackage(active_, input));
  // The device's rule: the largest score of the first output, float or dequantized int8.
  if (!active_info_.outputs.empty()) {
    const PackageTensor& t = active_info_.outputs[0];
    const bool f32 = t.dtype == DType::kFloat32;
    const size_t n =
        std::min<size_t>(static_cast<size_t>(t.bytes), r.output.size()) / (f32 ? 4 : 1);
    for (size_t i = 0; i < n; ++i) {
      float v;
      if (f32)
        std::memcpy(&v, r.output.data() + 4 * i, 4);
      else
        v = static_cast<float>(static_cast<int8_t>(r.output[i]) - t.zero_point) * t.scale;
      if (r.top_class < 0 || v > r.confidence) {
        r.top_class = static_cast<int>(i);
        r.confidence = v;
      }
    }
  }
  tml_proto_slot& s = h_.slots[h_.active_slot];
  if (s.state == TML_SLOT_TRIAL && ++trial_runs_ >= static_cast<uint32_t>(o_.confirm_after))
    TML_RETURN_IF_ERROR(Confirm());
  return r;
}

Status HostDevice::Confirm() {
  if (h_.active_slot >= 2 || h_.slots[h_.active_slot].state != TML_SLOT_TRIAL)
    return Status::FailedPrecondition("device refused: state: no model on trial");
  tml_proto_slot& s = h_.slots[h_.active_slot];
  s.state = TML_SLOT_CONFIRMED;
  h_.confirmed_version = std::max(h_.confirmed_version, s.version);
  return Save();
}

Status HostDevice::Rollback() {
  const uint32_t other = h_.active_slot == 0 ? 1 : 0;
  if (h_.active_slot >= 2 || h_.slots[other].state != TML_SLOT_STANDBY)
    return Status::FailedPrecondition("device refused: state: nothing to go back to");
  TML_ASSIGN_OR_RETURN(auto bytes, ReadFile(SlotPath(static_cast<int>(other))));
  h_.slots[h_.active_slot].state = TML_SLOT_EMPTY;
  h_.slots[other].state = TML_SLOT_CONFIRMED;
  h_.active_slot = other;
  active_ = std::move(bytes);
  return Save();
}

}  // namespace tml
