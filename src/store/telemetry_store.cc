#include "store/telemetry_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/clock.h"

namespace tml {

namespace {

using nlohmann::json;

constexpr size_t kRowsPerStatement = 400;

// "(?, ?, ?), (?, ?, ?)" for rows of n columns.
std::string Placeholders(size_t rows, size_t columns) {
  std::string one = "(";
  for (size_t c = 0; c < columns; ++c) one += c ? ", ?" : "?";
  one += ")";
  std::string out;
  for (size_t r = 0; r < rows; ++r) out += (r ? ", " : "") + one;
  return out;
}

std::vector<int64_t> Counts(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  std::vector<int64_t> out;
  if (!j.is_array()) return out;
  for (const json& v : j) out.push_back(v.is_number_integer() ? v.get<int64_t>() : 0);
  return out;
}

constexpr const char* kMinuteColumns =
    "device, minute_ms, model_version, inferences, confidence_sum, ticks_sum, ticks_max, "
    "errors, resets, classes, confidences";

TelemetryMinute ReadMinute(const SqlRows& r, size_t i) {
  TelemetryMinute m;
  m.device = r.Text(i, 0);
  m.minute_ms = r.Int(i, 1);
  m.model_version = r.Int(i, 2);
  m.inferences = r.Int(i, 3);
  m.confidence_sum = r.Real(i, 4);
  m.ticks_sum = r.Int(i, 5);
  m.ticks_max = r.Int(i, 6);
  m.errors = r.Int(i, 7);
  m.resets = r.Int(i, 8);
  m.classes = Counts(r.Text(i, 9));
  m.confidences = Counts(r.Text(i, 10));
  return m;
}

void AddCounts(std::vector<int64_t>& into, const std::vector<int64_t>& add) {
  if (into.size() < add.size()) into.resize(add.size(), 0);
  for (size_t i = 0; i < add.size(); ++i) into[i] += add[i];
}

}  // namespace

void TelemetryMinute::Merge(const TelemetryMinute& b) {
  inferences += b.inferences;
  confidence_sum += b.confidence_sum;
  ticks_sum += b.ticks_sum;
  ticks_max = std::max(ticks_max, b.ticks_max);
  errors += b.errors;
  resets += b.resets;
  AddCounts(classes, b.classes);
  AddCounts(confidences, b.confidences);
}

Result<std::vector<bool>> InsertTelemetry(MetaStore& db,
                                          const std::vector<TelemetryRecord>& batch) {
  std::vector<bool> fresh(batch.size(), false);
  // A message twice in one batch is stored (and counted) once: its first copy.
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<size_t> rows;
  for (size_t i = 0; i < batch.size(); ++i)
    if (seen.emplace(batch[i].device, batch[i].msg).second) rows.push_back(i);
  const int64_t now = NowMs();
  for (size_t at = 0; at < rows.size(); at += kRowsPerStatement) {
    const size_t n = std::min(kRowsPerStatement, rows.size() - at);
    std::vector<SqlValue> p;
    p.reserve(n * 10);
    for (size_t k = at; k < at + n; ++k) {
      const TelemetryRecord& t = batch[rows[k]];
      p.insert(p.end(), {t.device, t.msg, t.kind, t.model_version, t.top_class,
                         std::isfinite(t.confidence) ? t.confidence : 0.0, t.ticks,
                         t.sent_ms ? t.sent_ms : now, t.stored_ms ? t.stored_ms : now,
                         t.data.empty() ? std::string("{}") : t.data});
    }
    TML_ASSIGN_OR_RETURN(SqlRows r,
                         db.Query("INSERT INTO telemetry(device, msg, kind, model_version, class, "
                                  "confidence, ticks, sent_ms, stored_ms, data) VALUES " +
                                      Placeholders(n, 10) +
                                      " ON CONFLICT(device, msg) DO NOTHING RETURNING device, msg",
                                  p));
    std::set<std::pair<std::string, std::string>> stored;
    for (size_t i = 0; i < r.size(); ++i) stored.emplace(r.Text(i, 0), r.Text(i, 1));
    for (size_t k = at; k < at + n; ++k)
      fresh[rows[k]] = stored.count({batch[rows[k]].device, batch[rows[k]].msg}) > 0;
  }
  return fresh;
}

Status PutTelemetryMinutes(MetaStore& db, const std::vector<TelemetryMinute>& minutes) {
  for (size_t at = 0; at < minutes.size(); at += kRowsPerStatement) {
    const size_t n = std::min(kRowsPerStatement, minutes.size() - at);
    std::vector<SqlValue> p;
    p.reserve(n * 11);
    for (size_t k = at; k < at + n; ++k) {
      const TelemetryMinute& m = minutes[k];
      p.insert(p.end(), {m.device, m.minute_ms, m.model_version, m.inferences, m.confidence_sum,
                         m.ticks_sum, m.ticks_max, m.errors, m.resets, json(m.classes).dump(),
                         json(m.confidences).dump()});
    }
    TML_RETURN_IF_ERROR(
        db.Query(fmt::format("INSERT INTO telemetry_minutes({}) VALUES {} ON CONFLICT(device, "
                             "minute_ms, model_version) DO UPDATE SET inferences = "
                             "excluded.inferences, confidence_sum = excluded.confidence_sum, "
                             "ticks_sum = excluded.ticks_sum, ticks_max = excluded.ticks_max, "
                             "errors = excluded.errors, resets = excluded.resets, classes = "
                             "excluded.classes, confidences = excluded.confidences",
                             kMinuteColumns, Placeholders(n, 11)),
                 p)
            .status());
  }
  return Status::Ok();
}

Result<std::optional<TelemetryMinute>> GetTelemetryMinute(MetaStore& db, const std::string& device,
                                                          int64_t minute_ms,
                                                          int64_t model_version) {
  TML_ASSIGN_OR_RETURN(SqlRows r,
                       db.Query(fmt::format("SELECT {} FROM telemetry_minutes WHERE device = ? AND "
                                            "minute_ms = ? AND model_version = ?",
                                            kMinuteColumns),
                                {device, minute_ms, model_version}));
  if (r.empty()) return std::optional<TelemetryMinute>();
  return std::optional<TelemetryMinute>(ReadMinute(r, 0));
}

Result<std::vector<TelemetryMinute>> GetTelemetryMinutes(MetaStore& db,
                                                         const std::vector<std::string>& devices,
                                                         int64_t minute_ms) {
  std::vector<TelemetryMinute> out;
  for (size_t at = 0; at < devices.size(); at += kRowsPerStatement) {
    const size_t n = std::min(kRowsPerStatement, devices.size() - at);
    std::vector<SqlValue> p = {minute_ms};
    p.insert(p.end(), devices.begin() + static_cast<long>(at),
             devices.begin() + static_cast<long>(at + n));
    TML_ASSIGN_OR_RETURN(
        SqlRows r, db.Query(fmt::format("SELECT {} FROM telemetry_minutes WHERE minute_ms = ? "
                                        "AND device IN {}",
                                        kMinuteColumns, Placeholders(1, n)),
                            p));
    for (size_t i = 0; i < r.size(); ++i) out.push_back(ReadMinute(r, i));
  }
  return out;
}

Result<std::vector<TelemetryMinute>> FindTelemetryMinutes(MetaStore& db, const TelemetryQuery& q) {
  const int64_t until = q.until_ms ? q.until_ms : NowMs();
  // Only the conditions asked for: "(? = '' OR t.device = ?)" would keep the store from
  // the (device, minute) key and read the whole table (a rollout asks once per device).
  std::string where = "t.minute_ms >= ? AND t.minute_ms <= ?";
  std::vector<SqlValue> p = {q.since_ms - q.since_ms % 60000, until};
  if (!q.device.empty()) {
    where += " AND t.device = ?";
    p.emplace_back(q.device);
  }
  if (!q.group.empty()) {
    where += " AND EXISTS (SELECT 1 FROM device_groups g WHERE g.device = t.device AND g.name = ?)";
    p.emplace_back(q.group);
  }
  if (q.model_version >= 0) {
    where += " AND t.model_version = ?";
    p.emplace_back(q.model_version);
  }
  TML_ASSIGN_OR_RETURN(SqlRows r,
                       db.Query(fmt::format("SELECT {} FROM telemetry_minutes t WHERE {} ORDER BY "
                                            "t.minute_ms, t.device, t.model_version",
                                            kMinuteColumns, where),
                                p));
  std::vector<TelemetryMinute> out;
  for (size_t i = 0; i < r.size(); ++i) out.push_back(ReadMinute(r, i));
  return out;
}

Result<std::vector<TelemetryRecord>> RecentTelemetry(MetaStore& db, const std::string& device,
                                                     const std::string& kind, int64_t limit) {
  TML_ASSIGN_OR_RETURN(
      SqlRows r, db.Query("SELECT id, device, msg, kind, model_version, class, confidence, ticks, "
                          "sent_ms, stored_ms, data FROM telemetry WHERE device = ? AND (? = '' "
                          "OR kind = ?) ORDER BY id DESC LIMIT ?",
                          {device, kind, kind, limit}));
  std::vector<TelemetryRecord> out;
  for (size_t i = 0; i < r.size(); ++i)
    out.push_back({r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.Int(i, 5),
                   r.Real(i, 6), r.Int(i, 7), r.Int(i, 8), r.Int(i, 9), r.Text(i, 10)});
  return out;
}

Result<int64_t> CountTelemetry(MetaStore& db, const std::string& device) {
  // Two statements: an OR in the condition would make every count a scan of the table.
  TML_ASSIGN_OR_RETURN(SqlRows r,
                       device.empty()
                           ? db.Query("SELECT COUNT(*) FROM telemetry", {})
                           : db.Query("SELECT COUNT(*) FROM telemetry WHERE device = ?", {device}));
  return r.Int(0, 0);
}

Result<std::map<std::string, int64_t>> CountTelemetryOf(MetaStore& db,
                                                        const std::vector<std::string>& devices) {
  std::map<std::string, int64_t> out;
  for (size_t at = 0; at < devices.size(); at += kRowsPerStatement) {
    const size_t n = std::min(kRowsPerStatement, devices.size() - at);
    const std::vector<SqlValue> p(devices.begin() + static_cast<long>(at),
                                  devices.begin() + static_cast<long>(at + n));
    TML_ASSIGN_OR_RETURN(SqlRows r, db.Query("SELECT device, COUNT(*) FROM telemetry WHERE device "
                                             "IN " +
                                                 Placeholders(1, n) + " GROUP BY device",
                                             p));
    for (size_t i = 0; i < r.size(); ++i) out[r.Text(i, 0)] = r.Int(i, 1);
  }
  return out;
}

Result<int64_t> PruneTelemetry(MetaStore& db, const std::string& device, int64_t keep) {
  TML_ASSIGN_OR_RETURN(
      SqlRows edge, db.Query("SELECT id FROM telemetry WHERE device = ? ORDER BY id DESC LIMIT 1 "
                             "OFFSET ?",
                             {device, keep}));
  if (edge.empty()) return int64_t{0};
  TML_ASSIGN_OR_RETURN(SqlRows r, db.Query("DELETE FROM telemetry WHERE device = ? AND id <= ?",
                                           {device, edge.Int(0, 0)}));
  return r.changes;
}

Result<int64_t> AddAlert(MetaStore& db, const AlertRecord& a) {
  TML_ASSIGN_OR_RETURN(
      SqlRows r,
      db.Query("INSERT INTO alerts(kind, subject, message, data, created_ms) VALUES(?, "
               "?, ?, ?, ?) RETURNING id",
               {a.kind, a.subject, a.message, a.data.empty() ? std::string("{}") : a.data,
                a.created_ms ? a.created_ms : NowMs()}));
  if (r.empty()) return Status::Internal("database: no id for the new alert");
  return r.Int(0, 0);
}

Result<std::vector<AlertRecord>> ListAlerts(MetaStore& db, const std::string& subject,
                                            int64_t limit) {
  TML_ASSIGN_OR_RETURN(
      SqlRows r, db.Query("SELECT id, kind, subject, message, data, created_ms FROM alerts WHERE "
                          "(? = '' OR subject = ?) ORDER BY id DESC LIMIT ?",
                          {subject, subject, limit}));
  std::vector<AlertRecord> out;
  for (size_t i = 0; i < r.size(); ++i)
    out.push_back(
        {r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4), r.Int(i, 5)});
  return out;
}

}  // namespace tml
