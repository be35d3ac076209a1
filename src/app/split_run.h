// A split model run over the fleet path (docs/split.md): each chain node that names a
// device gets its part as a model package (deployed like any model: signed, checked,
// A/B slot), and each sample goes through the chain: the input to the first node's
// device (an emulated MCU through its gateway agent, over MQTT and the device protocol),
// the tensor it answers with to the next node, and so on; nodes without a device (the
// cloud) run their part in this process. The final output is compared with the whole
// model's, byte for byte, and the end-to-end latency is measured per sample.
//
//   SplitRunRequest q;  q.model = "fm_int8.onnx";  q.chain = "chain.yaml";
//   q.devices = {"m4-1", "gw1-host", ""};  q.broker = ...;
//   TML_ASSIGN_OR_RETURN(SplitRunOutcome r, RunSplitOnFleet(ws, q, progress));
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/split.h"
#include "core/progress.h"
#include "data/dataset_store.h"
#include "fleet/control_plane.h"

namespace tml {

struct SplitRunRequest {
  std::string model, chain;
  std::string objective = "latency";
  // Per chain node: the device that runs its part ("": this process runs it).
  std::vector<std::string> devices;
  // Layers per chain node, contiguous in execution order ("5,3,2"); empty: the best cut
  // (by the objective) whose device parts take one tensor in and send one out.
  std::vector<int> layers;
  ControlOptions broker;
  std::string signing_key;  // "" -> WORKSPACE/keys/signing.key
  int samples = 5;          // seeded random inputs
  int timeout_ms = 60000;   // per device answer
  std::string work_dir;
};

struct SplitRunOutcome {
  SplitOutcome split;                // the costed cuts
  CutCost cut;                       // the one run
  std::vector<std::string> runs_on;  // per part: "device m4-1" or "this process"
  int samples = 0;
  bool bit_exact = true;
  std::string first_difference;              // when not
  std::vector<double> latency_ms;            // per sample, end to end
  std::vector<std::vector<double>> part_ms;  // per sample, per part (a device's: its round trip)
  std::vector<int> predicted;                // per sample: the final output's top class
};

Result<SplitRunOutcome> RunSplitOnFleet(Workspace& ws, const SplitRunRequest& request,
                                        Progress& progress);

nlohmann::json SplitRunJson(const SplitRunOutcome& r);
std::string SplitRunText(const SplitRunOutcome& r);

}  // namespace tml
