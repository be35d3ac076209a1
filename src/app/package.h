// Model packages as components, behind `tinymlaas keys create`, `tinymlaas package` and
// `package --check`: signing keys, and a model written, signed and checked against a
// target's device image (op set, arena, slot size) as a device would check it.
//
//   PackageRequest q;  q.model = "kws_int8.tflite";  q.target = "cortex-m4";
//   q.out = "kws.tmlp";  q.signing_key = "keys/signing.key";  q.version = 3;
//   TML_ASSIGN_OR_RETURN(PackageOutcome r, MakePackage(q, progress));
//   TML_ASSIGN_OR_RETURN(PackageInfo info, CheckPackage({"kws.tmlp", "keys/signing.pub"}));
#pragma once

#include <string>

#include "core/progress.h"
#include "package/package.h"
#include "package/signing.h"
#include "tml_package.h"

namespace tml {

// The key folder by default: WORKSPACE/keys.
Result<KeyFiles> CreateKeys(const std::string& dir);
std::string DefaultKeyDir(const std::string& workspace);

// What a device offers a package: its runtime's op set and formats, arena, kernel
// scratch and model slot (from a target's default device image, or a device's HELLO).
struct DeviceBudget {
  int64_t arena = 0, scratch = 0, slot = 0;
  uint64_t opset = 0;
  uint32_t format = TML_PKG_FORMAT, kernel_abi = TML_PKG_KERNEL_ABI;
};
Result<DeviceBudget> BudgetOf(const std::string& target);
// The device's fit checks; `device` names it in the refusal ("arena: ... m4-1 has ...").
Status CheckFit(const PackageInfo& info, const std::string& device, const DeviceBudget& b);

struct PackageRequest {
  std::string model;        // model file (.onnx or .tflite)
  std::string target;       // a target profile: the package must fit its device image
  std::string out;          // package file to write
  std::string signing_key;  // private key (PEM); empty: an unsigned package (development)
  uint32_t version = 1;
};

struct PackageOutcome {
  std::string path;
  PackageInfo info;
  int64_t device_arena_bytes = 0, device_slot_bytes = 0;  // what the target's image offers
};

Result<PackageOutcome> MakePackage(const PackageRequest& request, Progress& progress);

struct CheckRequest {
  std::string package;     // package file
  std::string public_key;  // signer's public key (PEM); empty: digest only
  std::string target;      // empty: no fit check
};

// The device's checks on the host: digest and signature, structure, self-test, and with
// a target the fit (op set, arena, scratch, slot size) of its default device image.
Result<PackageInfo> CheckPackage(const CheckRequest& request);

// The package's JSON form (--json and the API).
nlohmann::json PackageInfoJson(const PackageInfo& info);

}  // namespace tml
