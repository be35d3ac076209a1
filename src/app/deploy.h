// Deployment as a component, behind `tinymlaas deploy` and `tinymlaas devices`: the
// device registry brought up to date from the broker, then one model sent to devices
// through their gateway agents. Each device's HELLO decides whether a package fits
// (op set, formats, arena, scratch, slot size, no downgrade); each device gets the
// first of the candidate models that fits it, and what nothing fits is refused with the
// reasons and is never sent. Every attempt is a deployment record, and
// each one that took becomes a lineage artifact: model -> package -> deployment.
//
//   DeployRequest q;  q.model = "kws_int8.onnx";  q.group = "hall";
//   q.broker.broker_port = 1883;
//   TML_ASSIGN_OR_RETURN(DeployOutcome r, Deploy(ws, q, progress));
#pragma once

#include <string>
#include <vector>

#include "app/package.h"
#include "core/progress.h"
#include "data/dataset_store.h"
#include "fleet/control_plane.h"

namespace tml {

struct DeployRequest {
  std::string model;  // a model file (.onnx, .tflite), or a built package (.tmlp)
  // Further models in order of preference (a smaller variant, say): a device the first
  // does not fit gets the first of these that does.
  std::vector<std::string> alternatives;
  std::vector<std::string> devices;
  std::string group;        // or every device of a group
  uint32_t version = 0;     // 0: one above the highest version the devices confirmed
  std::string signing_key;  // "" -> WORKSPACE/keys/signing.key when it exists
  bool host_checks = true;  // false: send what the host would refuse (to see devices refuse)
  ControlOptions broker;
  int timeout_ms = 600000;  // per device
};

// One model packaged for the deployment.
struct DeployPackage {
  std::string model, digest, package_path, package_artifact, model_artifact;
  PackageInfo info;
};

struct DeviceDeployment {
  std::string device;
  std::string status;  // active (staged), refused, failed
  std::string message;
  int64_t deployment = 0;  // the record's id (0: nothing recorded)
  int64_t version = 0;
  bool from_cache = false;  // the agent had the package: only its hash crossed the broker
  bool unsent = false;      // failed before anything was sent: the broker is unreachable
  bool cancelled = false;   // failed because `progress` was cancelled while waiting
  std::string package;      // the package artifact it got (or, refused, the first's)
};

struct DeployOutcome {
  std::vector<DeployPackage> packages;  // the model, then the alternatives
  // The first package's (the model's).
  std::string package_path, package_artifact, model_artifact;
  PackageInfo info;
  std::vector<DeviceDeployment> devices;
  int active() const;
};

// Once progress.Cancelled() says so, the device being sent to stops waiting (its
// deployment is recorded failed, cancelled; the registry then shows what it runs), no
// other device is sent to, and the error is a cancelled one naming what was done.
Result<DeployOutcome> Deploy(Workspace& ws, const DeployRequest& request, Progress& progress);

// The pieces of Deploy, which rollouts use too.
// The model (and alternatives) packaged and signed as `version`, stored and recorded;
// bytes[i] is packages[i]'s.
Result<std::vector<DeployPackage>> BuildDeployPackages(Workspace& ws, const DeployRequest& q,
                                                       uint32_t version, Progress& progress,
                                                       std::vector<std::vector<uint8_t>>* bytes);
// Devices to send the packages to. Each gets the first package that fits it (host checks
// per q.host_checks), sent through its agent and recorded (a deployment row; a lineage
// artifact when it took). With stage, the same transfer without activation (status
// "staged", nothing recorded): the package waits in the device's inactive slot and runs
// as a shadow on its live inputs (docs/fleet-ops.md); a later send of it without stage
// transfers nothing again.
struct DeviceSend {
  DeviceRecord device;
  bool stage = false;
  std::string where;  // how progress names it ("rollout 3 stage 2: m4-1")
};
// Several devices at once (a rollout's wave): the checks and records in order on this
// thread, the transfers concurrently, one thread each (each waits for its own device's
// answer; progress is called under a lock). out[i] is sends[i]'s outcome. Refused and
// failed are outcomes, not errors; an error is the store's.
Result<std::vector<DeviceDeployment>> SendToDevices(Workspace& ws, ControlPlane& cp,
                                                    const std::vector<DeployPackage>& packages,
                                                    const std::vector<std::vector<uint8_t>>& bytes,
                                                    const std::vector<DeviceSend>& sends,
                                                    const DeployRequest& q, Progress& progress);
// One above the highest version the devices run or confirmed.
uint32_t NextVersion(const std::vector<DeviceRecord>& devices);

// The registry brought up to date from the broker.
Result<SyncReport> SyncRegistry(Workspace& ws, const ControlOptions& broker);

// A device's budget from its HELLO (the registry's capabilities JSON).
Result<DeviceBudget> BudgetFromHello(const nlohmann::json& hello);

// The deployment that put the device's active model there (its active slot's model id
// and version), if the registry knows one.
Result<std::optional<DeploymentRecord>> ActiveDeployment(MetaStore& db, const DeviceRecord& d);

// A device as the registry has it (DeviceJson) with its active model read from its
// HELLO: "active": {slot, version, state, model_id}, or null (no model).
nlohmann::json DeviceViewJson(const DeviceRecord& d);

// The one JSON form of a device (`devices show --json`, the API, the dashboard):
// {device, deployments (newest first: the device's version history), active_deployment}.
Result<nlohmann::json> DeviceDetailJson(MetaStore& db, const std::string& id);

}  // namespace tml
