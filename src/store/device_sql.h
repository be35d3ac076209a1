// Internal to the stores: the device registry's statements, written once with `?`
// placeholders (SQLite); the PostgreSQL store numbers them ($1, $2, ...) with
// NumberedParams.
#pragma once

#include <string>

namespace tml::device_sql {

inline constexpr const char* kPutDevice =
    "INSERT INTO devices(id, agent, capabilities, first_seen_ms, last_seen_ms) "
    "VALUES(?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET agent = excluded.agent, "
    "capabilities = excluded.capabilities, last_seen_ms = excluded.last_seen_ms";
inline constexpr const char* kPutAgent =
    "INSERT INTO agents(id, online, last_seen_ms) VALUES(?, ?, ?) ON CONFLICT(id) DO UPDATE "
    "SET online = excluded.online, last_seen_ms = excluded.last_seen_ms";
inline constexpr const char* kDeviceExists = "SELECT COUNT(*) FROM devices WHERE id = ?";
inline constexpr const char* kClearGroups = "DELETE FROM device_groups WHERE device = ?";
inline constexpr const char* kAddGroup =
    "INSERT INTO device_groups(device, name) VALUES(?, ?) ON CONFLICT DO NOTHING";
// Parameters: id, id, group, group ("" = any).
inline constexpr const char* kFindDevices =
    "SELECT d.id, d.agent, d.capabilities, COALESCE(a.online, 0), d.first_seen_ms, "
    "d.last_seen_ms FROM devices d LEFT JOIN agents a ON a.id = d.agent "
    "WHERE (? = '' OR d.id = ?) AND (? = '' OR EXISTS (SELECT 1 FROM device_groups g "
    "WHERE g.device = d.id AND g.name = ?)) ORDER BY d.id";
inline constexpr const char* kGroupsOf =
    "SELECT name FROM device_groups WHERE device = ? ORDER BY name";
inline constexpr const char* kAddDeployment =
    "INSERT INTO deployments(device, model, package, version, status, message, created_ms, "
    "finished_ms) VALUES(?, ?, ?, ?, ?, ?, ?, 0) RETURNING id";
inline constexpr const char* kFinishDeployment =
    "UPDATE deployments SET status = ?, message = ?, finished_ms = ? WHERE id = ?";
// Parameters: device, device ("" = all).
inline constexpr const char* kListDeployments =
    "SELECT id, device, model, package, version, status, message, created_ms, finished_ms "
    "FROM deployments WHERE (? = '' OR device = ?) ORDER BY id DESC";

inline std::string NumberedParams(const char* sql) {
  std::string out;
  int n = 0;
  for (const char* p = sql; *p; ++p) {
    if (*p == '?')
      out += "$" + std::to_string(++n);
    else
      out += *p;
  }
  return out;
}

}  // namespace tml::device_sql
