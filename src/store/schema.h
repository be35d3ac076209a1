// The metadata schema, one list of numbered migrations for every backend: written in
// SQLite's dialect, rewritten for PostgreSQL by ForPostgres (INTEGER PRIMARY KEY
// AUTOINCREMENT -> BIGSERIAL PRIMARY KEY, INTEGER -> BIGINT, REAL -> DOUBLE PRECISION;
// a "-- postgres: " line is a comment to SQLite and a statement to PostgreSQL).
// Migration N is applied once, in a transaction, and recorded in schema_version.
#pragma once

#include <string>
#include <vector>

namespace tml {

const std::vector<std::string>& SchemaMigrations();
std::string ForPostgres(const std::string& sqlite_sql);
// A LIKE pattern matching `text` literally (%, _ and \ escaped; use ESCAPE '\').
std::string LikeLiteral(const std::string& text);

}  // namespace tml
