#include "store/schema.h"

#include <regex>

namespace tml {

const std::vector<std::string>& SchemaMigrations() {
  static const std::vector<std::string> kAll = {
      R"sql(
  CREATE TABLE samples(
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, shape TEXT NOT NULL, dtype TEXT NOT NULL,
    source TEXT NOT NULL, created_ms INTEGER NOT NULL);
  CREATE TABLE annotations(
    id INTEGER PRIMARY KEY AUTOINCREMENT, sample TEXT NOT NULL REFERENCES samples(id),
    kind TEXT NOT NULL, label TEXT NOT NULL, geometry TEXT NOT NULL, confidence REAL NOT NULL,
    author TEXT NOT NULL, created_ms INTEGER NOT NULL);
  CREATE INDEX annotations_sample ON annotations(sample);
  CREATE TABLE datasets(
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);
  CREATE TABLE dataset_versions(
    id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    number INTEGER NOT NULL, parent_id INTEGER REFERENCES dataset_versions(id),
    note TEXT NOT NULL, classes TEXT NOT NULL, created_ms INTEGER NOT NULL,
    UNIQUE(dataset_id, number));
  CREATE TABLE version_members(
    version_id INTEGER NOT NULL REFERENCES dataset_versions(id),
    pos INTEGER NOT NULL, sample TEXT NOT NULL REFERENCES samples(id),
    annotation INTEGER REFERENCES annotations(id),
    split TEXT NOT NULL CHECK(split IN ('train', 'val', 'test')),
    PRIMARY KEY(version_id, pos), UNIQUE(version_id, sample));
  )sql",
      R"sql(
  CREATE TABLE runs(
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, status TEXT NOT NULL,
    config TEXT NOT NULL, dataset_version INTEGER REFERENCES dataset_versions(id),
    metrics TEXT NOT NULL, output TEXT NOT NULL, started_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL, tool_version TEXT NOT NULL);
  )sql",
      R"sql(
  CREATE TABLE steps(
    key TEXT PRIMARY KEY, pipeline TEXT NOT NULL, step TEXT NOT NULL, component TEXT NOT NULL,
    outputs TEXT NOT NULL, created_ms INTEGER NOT NULL);
  )sql",
      R"sql(
  CREATE TABLE artifacts(
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT NOT NULL, path TEXT NOT NULL,
    metadata TEXT NOT NULL, created_ms INTEGER NOT NULL);
  CREATE TABLE artifact_parents(
    child TEXT NOT NULL REFERENCES artifacts(id), parent TEXT NOT NULL REFERENCES artifacts(id),
    PRIMARY KEY(child, parent));
  CREATE INDEX artifact_parents_parent ON artifact_parents(parent);
  )sql",
      R"sql(
  CREATE TABLE jobs(
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('queued', 'running', 'done', 'failed')),
    progress REAL NOT NULL, message TEXT NOT NULL, result TEXT NOT NULL, worker TEXT NOT NULL,
    lease_until_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
    created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL);
  CREATE INDEX jobs_status ON jobs(status, id);
  CREATE TABLE job_events(
    job INTEGER NOT NULL REFERENCES jobs(id), seq INTEGER NOT NULL, time_ms INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY(job, seq));
  CREATE TABLE api_tokens(
    sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);
  )sql",
      // Jobs can be cancelled: a status 'cancelled' and a flag a running job's worker
      // polls. SQLite cannot change a CHECK in place, so both tables are rebuilt (the
      // events first: nothing may reference a dropped table).
      R"sql(
  CREATE TABLE jobs_v6(
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress REAL NOT NULL, message TEXT NOT NULL, result TEXT NOT NULL, worker TEXT NOT NULL,
    lease_until_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
    created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0);
  INSERT INTO jobs_v6 SELECT *, 0 FROM jobs;
  CREATE TABLE job_events_v6(
    job INTEGER NOT NULL REFERENCES jobs_v6(id), seq INTEGER NOT NULL, time_ms INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY(job, seq));
  INSERT INTO job_events_v6 SELECT * FROM job_events;
  DROP TABLE job_events;
  DROP TABLE jobs;
  ALTER TABLE jobs_v6 RENAME TO jobs;
  ALTER TABLE job_events_v6 RENAME TO job_events;
  CREATE INDEX jobs_status ON jobs(status, id);
  -- postgres: SELECT setval(pg_get_serial_sequence('jobs', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM jobs;
  )sql",
      // The device registry: gateway agents (online as their MQTT will says), the
      // devices they bridge with their last HELLO, groups, and deployments.
      R"sql(
  CREATE TABLE agents(
    id TEXT PRIMARY KEY, online INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);
  CREATE TABLE devices(
    id TEXT PRIMARY KEY, agent TEXT NOT NULL, capabilities TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);
  CREATE INDEX devices_agent ON devices(agent);
  CREATE TABLE device_groups(
    device TEXT NOT NULL REFERENCES devices(id), name TEXT NOT NULL, PRIMARY KEY(device, name));
  CREATE INDEX device_groups_name ON device_groups(name);
  CREATE TABLE deployments(
    id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL REFERENCES devices(id),
    model TEXT NOT NULL, package TEXT NOT NULL, version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('sending', 'active', 'refused', 'failed')),
    message TEXT NOT NULL, created_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL);
  CREATE INDEX deployments_device ON deployments(device, id);
  )sql",
      // Fleet operations: what devices report (raw messages, bounded per device, and
      // per-minute aggregates kept), staged rollouts and their devices.
      R"sql(
  CREATE TABLE telemetry(
    id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, msg TEXT NOT NULL,
    kind TEXT NOT NULL, model_version INTEGER NOT NULL, class INTEGER NOT NULL,
    confidence REAL NOT NULL, ticks INTEGER NOT NULL, sent_ms INTEGER NOT NULL,
    stored_ms INTEGER NOT NULL, data TEXT NOT NULL);
  CREATE UNIQUE INDEX telemetry_msg ON telemetry(device, msg);
  CREATE INDEX telemetry_device ON telemetry(device, id);
  CREATE TABLE telemetry_minutes(
    device TEXT NOT NULL, minute_ms INTEGER NOT NULL, model_version INTEGER NOT NULL,
    inferences INTEGER NOT NULL, confidence_sum REAL NOT NULL, ticks_sum INTEGER NOT NULL,
    ticks_max INTEGER NOT NULL, errors INTEGER NOT NULL, resets INTEGER NOT NULL,
    classes TEXT NOT NULL, confidences TEXT NOT NULL,
    PRIMARY KEY(device, minute_ms, model_version));
  CREATE INDEX telemetry_minutes_time ON telemetry_minutes(minute_ms);
  CREATE TABLE rollouts(
    id INTEGER PRIMARY KEY AUTOINCREMENT, group_name TEXT NOT NULL, model TEXT NOT NULL,
    plan TEXT NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('running', 'paused', 'halted', 'rolling_back',
                                          'rolled_back', 'done')),
    stage INTEGER NOT NULL, message TEXT NOT NULL, created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL);
  CREATE TABLE rollout_devices(
    rollout INTEGER NOT NULL REFERENCES rollouts(id), device TEXT NOT NULL,
    stage INTEGER NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('pending', 'sending', 'installed', 'healthy',
                                          'failed', 'rolled_back')),
    package TEXT NOT NULL, deployment INTEGER NOT NULL, installed_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL, message TEXT NOT NULL, updated_ms INTEGER NOT NULL,
    PRIMARY KEY(rollout, device));
  CREATE TABLE alerts(
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, subject TEXT NOT NULL,
    message TEXT NOT NULL, data TEXT NOT NULL, created_ms INTEGER NOT NULL);
  CREATE INDEX alerts_subject ON alerts(subject, id);
  )sql",
      // Shadow stages: a rollout's device can be staging its package and shadowing (the
      // package runs beside the active model), with the shadow's summary kept. The
      // devices' table is rebuilt for its CHECK, as jobs were in migration 6.
      R"sql(
  CREATE TABLE rollout_devices_v9(
    rollout INTEGER NOT NULL REFERENCES rollouts(id), device TEXT NOT NULL,
    stage INTEGER NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('pending', 'staging', 'shadowing', 'sending',
                                          'installed', 'healthy', 'failed', 'rolled_back')),
    package TEXT NOT NULL, deployment INTEGER NOT NULL, installed_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL, message TEXT NOT NULL, updated_ms INTEGER NOT NULL,
    shadow TEXT NOT NULL DEFAULT '', PRIMARY KEY(rollout, device));
  INSERT INTO rollout_devices_v9 SELECT *, '' FROM rollout_devices;
  DROP TABLE rollout_devices;
  ALTER TABLE rollout_devices_v9 RENAME TO rollout_devices;
  )sql",
  };
  return kAll;
}

std::string ForPostgres(const std::string& sql) {
  std::string s = std::regex_replace(sql, std::regex("INTEGER PRIMARY KEY AUTOINCREMENT"),
                                     "BIGSERIAL PRIMARY KEY");
  s = std::regex_replace(s, std::regex("\\bINTEGER\\b"), "BIGINT");
  s = std::regex_replace(s, std::regex("\\bREAL\\b"), "DOUBLE PRECISION");
  return std::regex_replace(s, std::regex("-- postgres: "), "");
}

std::string LikeLiteral(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace tml
