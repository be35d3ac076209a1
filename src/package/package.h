// Model packages (docs/package.md): a prepared graph written as the flat, aligned
// format the on-device runtime (runtime/package/) executes from a flash slot, and
// read back on the host with the same C code the device runs.
//
//   PackageOptions opt;  opt.model_version = 3;
//   TML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, WritePackage(graph, opt));  // unsigned
//   TML_ASSIGN_OR_RETURN(bytes, SignPackage(bytes, "keys/signing.key"));      // signing.h
//   TML_ASSIGN_OR_RETURN(PackageInfo info, InspectPackage(bytes, public_key));   // + self-test
//   TML_ASSIGN_OR_RETURN(std::vector<uint8_t> out, RunPackage(bytes, input_bytes));
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace tml {

struct PackageOptions {
  uint32_t model_version = 1;  // monotonic: devices refuse one below their confirmed version
  std::string model_id;        // default: SHA-256 of the graph's constants and calls (32 hex)
  std::string name;            // default: the graph's name
  // The self-test input (all inputs back to back); empty: a fixed pseudo-random one.
  std::vector<uint8_t> selftest_input;
};

struct PackageTensor {
  DType dtype = DType::kInt8;
  Shape shape;
  int64_t bytes = 0, arena_offset = 0;
  float scale = 0;  // 0: not quantized
  int32_t zero_point = 0;
};

// What a package declares (its header and tensor specs).
struct PackageInfo {
  uint32_t format = 0, kernel_abi = 0, model_version = 0;
  std::string model_id, name;
  int64_t bytes = 0, payload_bytes = 0, arena_bytes = 0, scratch_bytes = 0;
  int64_t weight_bytes = 0;          // blob bytes other than parameter structs and the self-test
  uint64_t opset = 0;                // bit k: kernel id k
  std::vector<std::string> kernels;  // the C names of the kernels it calls
  int calls = 0;
  bool recurrent_state = false;  // flag TML_PKG_FLAG_STATE: SVDF / LSTM state in the arena
  std::vector<PackageTensor> inputs, outputs;
  std::string digest;  // SHA-256 of the payload (hex)
  std::string key_id;  // signer's key id (16 hex), empty when unsigned
};

Result<std::vector<uint8_t>> WritePackage(const Graph& g, const PackageOptions& opt = {});

// Runs the device's checks on the host (digest, and the signature when a public key is
// given; structure; then the self-test vector) and reports what the package declares;
// errors name the check and the call or blob.
Result<PackageInfo> InspectPackage(const std::vector<uint8_t>& bytes,
                                   const std::vector<uint8_t>& public_key = {});

// Inferences with the on-device runtime compiled for the host, as a device runs them: the
// self-test, then one inference per input on the same arena (recurrent state carries over
// from one to the next); each input all inputs back to back, each output all outputs.
Result<std::vector<std::vector<uint8_t>>> RunPackageSequence(
    const std::vector<uint8_t>& bytes, const std::vector<std::vector<uint8_t>>& inputs);
// One inference (RunPackageSequence of one input).
Result<std::vector<uint8_t>> RunPackage(const std::vector<uint8_t>& bytes,
                                        const std::vector<uint8_t>& inputs);

// Appends the trailer (docs/package.md): the payload's SHA-256, and a signature when given.
void AppendTrailer(std::vector<uint8_t>& payload, const std::array<uint8_t, 8>& key_id,
                   const std::vector<uint8_t>& signature);
// The payload's length when bytes hold a payload and its trailer exactly.
Result<size_t> PayloadBytes(const std::vector<uint8_t>& bytes);

// "truncated: ...", the message for a runtime status (bad_index: the call, blob or tensor).
std::string PackageStatusMessage(int status, uint32_t bad_index);

}  // namespace tml
