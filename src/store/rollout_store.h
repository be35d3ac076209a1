// Staged rollouts as the metadata store keeps them (app/rollout.h drives them): the
// rollout (its plan as JSON, status, current stage) and one row per device (its stage,
// where its install stands). One implementation over MetaStore::Query for both
// backends; every change of state is one statement, so a control plane that is killed
// and started again finds each device where it was.
//
//   TML_ASSIGN_OR_RETURN(int64_t id, AddRollout(db, rollout, devices));
//   TML_ASSIGN_OR_RETURN(RolloutRecord r, GetRollout(db, id));
//   TML_RETURN_IF_ERROR(UpdateRolloutDevice(db, d));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/meta_store.h"

namespace tml {

// status: running, paused, halted (no new installs), rolling_back, rolled_back, done.
struct RolloutRecord {
  int64_t id = 0;
  std::string group, model;
  std::string plan;  // JSON (app/rollout.h: RolloutPlan)
  std::string status = "running";
  int64_t stage = 0;
  std::string message;
  int64_t created_ms = 0, updated_ms = 0;
};

// status: pending (its stage has not come, or it was offline), staging and shadowing
// (a rollout with a shadow stage: the package sent without activation, then running
// beside the active model), sending, installed (running the new model), healthy
// (confirmed, and its telemetry passed), failed, rolled_back (back on its previous model).
struct RolloutDeviceRecord {
  int64_t rollout = 0;
  std::string device;
  int64_t stage = 0;
  std::string status = "pending";
  std::string package;     // the package artifact it gets
  int64_t deployment = 0;  // the deployment record of its install
  int64_t installed_ms = 0;
  int64_t attempts = 0;  // sends that broke off (no answer, the link lost) and were retried
  std::string message;
  int64_t updated_ms = 0;
  // The shadow stage's summary (JSON: since_ms, samples, agreement, confidence shift,
  // passed); "" before it.
  std::string shadow;
};

// The rollout and its devices in one transaction.
Result<int64_t> AddRollout(MetaStore& db, const RolloutRecord& r,
                           const std::vector<RolloutDeviceRecord>& devices);
Result<RolloutRecord> GetRollout(MetaStore& db, int64_t id);
// Newest first; status "" = any.
Result<std::vector<RolloutRecord>> ListRollouts(MetaStore& db, const std::string& status);
// Sets status, stage and message when the status is one of `from` (empty: any); false
// when it was not (someone else changed it first).
Result<bool> UpdateRollout(MetaStore& db, int64_t id, const std::vector<std::string>& from,
                           const std::string& status, int64_t stage, const std::string& message);
// In stage order, then device id.
Result<std::vector<RolloutDeviceRecord>> RolloutDevices(MetaStore& db, int64_t rollout);
Status UpdateRolloutDevice(MetaStore& db, const RolloutDeviceRecord& d);

}  // namespace tml
