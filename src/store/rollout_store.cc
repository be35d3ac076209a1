#include "store/rollout_store.h"

#include <fmt/format.h>

#include <chrono>

#include "core/clock.h"

namespace tml {

namespace {

constexpr const char* kRolloutColumns =
    "id, group_name, model, plan, status, stage, message, created_ms, updated_ms";

RolloutRecord ReadRollout(const SqlRows& r, size_t i) {
  return {r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4),
          r.Int(i, 5), r.Text(i, 6), r.Int(i, 7),  r.Int(i, 8)};
}

}  // namespace

Result<int64_t> AddRollout(MetaStore& db, const RolloutRecord& r,
                           const std::vector<RolloutDeviceRecord>& devices) {
  const int64_t now = NowMs();
  Transaction tx(db);
  TML_RETURN_IF_ERROR(tx.status());
  TML_ASSIGN_OR_RETURN(
      SqlRows id, db.Query("INSERT INTO rollouts(group_name, model, plan, status, stage, message, "
                           "created_ms, updated_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                           {r.group, r.model, r.plan, r.status, r.stage, r.message, now, now}));
  if (id.empty()) return Status::Internal("database: no id for the new rollout");
  const int64_t rollout = id.Int(0, 0);
  for (const RolloutDeviceRecord& d : devices)
    TML_RETURN_IF_ERROR(db.Query("INSERT INTO rollout_devices(rollout, device, stage, status, "
                                 "package, deployment, installed_ms, attempts, message, "
                                 "updated_ms, shadow) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 {rollout, d.device, d.stage, d.status, d.package, d.deployment,
                                  d.installed_ms, d.attempts, d.message, now, d.shadow})
                            .status());
  TML_RETURN_IF_ERROR(tx.Commit());
  return rollout;
}

Result<RolloutRecord> GetRollout(MetaStore& db, int64_t id) {
  TML_ASSIGN_OR_RETURN(
      SqlRows r,
      db.Query(fmt::format("SELECT {} FROM rollouts WHERE id = ?", kRolloutColumns), {id}));
  if (r.empty()) return Status::NotFound("no rollout {} (tinymlaas rollout list)", id);
  return ReadRollout(r, 0);
}

Result<std::vector<RolloutRecord>> ListRollouts(MetaStore& db, const std::string& status) {
  TML_ASSIGN_OR_RETURN(SqlRows r, db.Query(fmt::format("SELECT {} FROM rollouts WHERE (? = '' OR "
                                                       "status = ?) ORDER BY id DESC",
                                                       kRolloutColumns),
                                           {status, status}));
  std::vector<RolloutRecord> out;
  for (size_t i = 0; i < r.size(); ++i) out.push_back(ReadRollout(r, i));
  return out;
}

Result<bool> UpdateRollout(MetaStore& db, int64_t id, const std::vector<std::string>& from,
                           const std::string& status, int64_t stage, const std::string& message) {
  std::string sql =
      "UPDATE rollouts SET status = ?, stage = ?, message = ?, updated_ms = ? WHERE id = ?";
  std::vector<SqlValue> p = {status, stage, message, NowMs(), id};
  if (!from.empty()) {
    sql += " AND status IN (";
    for (size_t i = 0; i < from.size(); ++i) {
      sql += i ? ", ?" : "?";
      p.push_back(from[i]);
    }
    sql += ")";
  }
  TML_ASSIGN_OR_RETURN(SqlRows r, db.Query(sql, p));
  if (r.changes == 0) TML_RETURN_IF_ERROR(GetRollout(db, id).status());
  return r.changes == 1;
}

Result<std::vector<RolloutDeviceRecord>> RolloutDevices(MetaStore& db, int64_t rollout) {
  TML_ASSIGN_OR_RETURN(SqlRows r,
                       db.Query("SELECT rollout, device, stage, status, package, deployment, "
                                "installed_ms, attempts, message, updated_ms, shadow FROM "
                                "rollout_devices WHERE "
                                "rollout = ? ORDER BY stage, device",
                                {rollout}));
  std::vector<RolloutDeviceRecord> out;
  for (size_t i = 0; i < r.size(); ++i)
    out.push_back({r.Int(i, 0), r.Text(i, 1), r.Int(i, 2), r.Text(i, 3), r.Text(i, 4), r.Int(i, 5),
                   r.Int(i, 6), r.Int(i, 7), r.Text(i, 8), r.Int(i, 9), r.Text(i, 10)});
  return out;
}

Status UpdateRolloutDevice(MetaStore& db, const RolloutDeviceRecord& d) {
  TML_ASSIGN_OR_RETURN(
      SqlRows r,
      db.Query("UPDATE rollout_devices SET stage = ?, status = ?, package = ?, "
               "deployment = ?, installed_ms = ?, attempts = ?, message = ?, updated_ms = "
               "?, shadow = ? WHERE rollout = ? AND device = ?",
               {d.stage, d.status, d.package, d.deployment, d.installed_ms, d.attempts, d.message,
                NowMs(), d.shadow, d.rollout, d.device}));
  if (r.changes != 1) return Status::NotFound("rollout {} has no device '{}'", d.rollout, d.device);
  return Status::Ok();
}

}  // namespace tml
