// A throwaway PostgreSQL server for the tests: initdb in a temporary directory, started
// on 127.0.0.1 at a free port with trust auth and fsync off, stopped and removed when
// the test program exits. As root, the server runs as the `postgres` user (PostgreSQL
// refuses root). Where PostgreSQL is not installed, available() is false and the
// tests that need it report skipped.
//
//   PgServer& pg = PgServer::Shared();
//   if (!pg.available()) GTEST_SKIP() << pg.why();
//   TML_ASSIGN_OR_RETURN(std::string url, pg.NewDatabase());
#pragma once

#include <string>

#include "core/status.h"

namespace tml {

class PgServer {
 public:
  static PgServer& Shared();
  bool available() const { return port_ > 0; }
  const std::string& why() const { return why_; }
  // A fresh, empty database on the server; its postgresql:// URL.
  Result<std::string> NewDatabase();
  ~PgServer();

 private:
  PgServer();
  Status Start();
  std::string dir_, bin_, why_;
  bool as_postgres_ = false;
  int port_ = 0, databases_ = 0;
};

// For tests parameterized by backend ("sqlite" or "postgres"): the metadata store to
// open: "" (the workspace's SQLite file) or a fresh PostgreSQL database. `skip` is set
// when PostgreSQL is not available here.
std::string TestDatabase(const std::string& backend, std::string* skip);

}  // namespace tml
