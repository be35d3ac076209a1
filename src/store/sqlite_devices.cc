// The device registry on SQLite (statements in store/device_sql.h).
#include "store/device_sql.h"
#include "store/sqlite_stmt.h"

namespace tml::sqlite {

using namespace device_sql;

Status SqlitePutDevice(sqlite3* db, const DeviceRecord& d) {
  if (d.id.empty()) return Status::Error("a device needs an id");
  const int64_t now = d.last_seen_ms ? d.last_seen_ms : NowMs();
  Stmt s(db, kPutDevice);
  s.Bind(1, d.id).Bind(2, d.agent).Bind(3, d.capabilities.empty() ? "{}" : d.capabilities);
  return s.Bind(4, d.first_seen_ms ? d.first_seen_ms : now).Bind(5, now).Run();
}

Status SqliteSetAgentOnline(sqlite3* db, const std::string& agent, bool online) {
  Stmt s(db, kPutAgent);
  return s.Bind(1, agent).Bind(2, static_cast<int64_t>(online)).Bind(3, NowMs()).Run();
}

Status SqliteSetDeviceGroups(sqlite3* db, const std::string& device,
                             const std::vector<std::string>& groups) {
  Stmt exists(db, kDeviceExists);
  TML_RETURN_IF_ERROR(exists.status());
  exists.Bind(1, device);
  TML_ASSIGN_OR_RETURN(bool row, exists.Step());
  if (!row || exists.Int(0) == 0) return Status::NotFound("no device '{}'", device);
  TML_RETURN_IF_ERROR(ExecSql(db, "SAVEPOINT groups"));
  Stmt clear(db, kClearGroups);
  Status st = clear.Bind(1, device).Run();
  Stmt add(db, kAddGroup);
  for (const std::string& g : groups) {
    if (!st.ok()) break;
    add.Reset();
    st = add.Bind(1, device).Bind(2, g).Run();
  }
  (void)ExecSql(db, st.ok() ? "RELEASE groups" : "ROLLBACK TO groups; RELEASE groups");
  return st;
}

Result<std::vector<DeviceRecord>> SqliteFindDevices(sqlite3* db, const std::string& id,
                                                    const std::string& group) {
  Stmt s(db, kFindDevices);
  TML_RETURN_IF_ERROR(s.status());
  s.Bind(1, id).Bind(2, id).Bind(3, group).Bind(4, group);
  std::vector<DeviceRecord> out;
  for (;;) {
    TML_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    DeviceRecord d;
    d.id = s.Text(0);
    d.agent = s.Text(1);
    d.capabilities = s.Text(2);
    d.online = s.Int(3) != 0;
    d.first_seen_ms = s.Int(4);
    d.last_seen_ms = s.Int(5);
    out.push_back(std::move(d));
  }
  Stmt g(db, kGroupsOf);
  TML_RETURN_IF_ERROR(g.status());
  for (DeviceRecord& d : out) {
    g.Reset();
    g.Bind(1, d.id);
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, g.Step());
      if (!row) break;
      d.groups.push_back(g.Text(0));
    }
  }
  return out;
}

Result<int64_t> SqliteAddDeployment(sqlite3* db, const DeploymentRecord& d) {
  Stmt s(db, kAddDeployment);
  TML_RETURN_IF_ERROR(s.status());
  s.Bind(1, d.device).Bind(2, d.model).Bind(3, d.package).Bind(4, d.version);
  s.Bind(5, d.status.empty() ? std::string("sending") : d.status).Bind(6, d.message);
  s.Bind(7, d.created_ms ? d.created_ms : NowMs());
  TML_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Status::Internal("database: no id for the new deployment");
  return s.Int(0);
}

Status SqliteFinishDeployment(sqlite3* db, int64_t id, const std::string& status,
                              const std::string& message) {
  Stmt s(db, kFinishDeployment);
  TML_RETURN_IF_ERROR(s.Bind(1, status).Bind(2, message).Bind(3, NowMs()).Bind(4, id).Run());
  if (sqlite3_changes(db) != 1) return Status::NotFound("no deployment {}", id);
  return Status::Ok();
}

Result<std::vector<DeploymentRecord>> SqliteListDeployments(sqlite3* db,
                                                            const std::string& device) {
  Stmt s(db, kListDeployments);
  TML_RETURN_IF_ERROR(s.status());
  s.Bind(1, device).Bind(2, device);
  std::vector<DeploymentRecord> out;
  for (;;) {
    TML_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4), s.Text(5), s.Text(6),
                   s.Int(7), s.Int(8)});
  }
  return out;
}

}  // namespace tml::sqlite
