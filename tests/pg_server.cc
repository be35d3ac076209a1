#include "pg_server.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <pqxx/pqxx>

#include "core/process.h"
#include "fixtures.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

}  // namespace

PgServer& PgServer::Shared() {
  static PgServer server;
  return server;
}

PgServer::PgServer() {
  Status st = Start();
  if (!st.ok()) {
    why_ = "PostgreSQL test server: " + st.message();
    port_ = 0;
  }
}

Status PgServer::Start() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(e.path() / "bin/initdb") && (bin_.empty() || e.path().string() > bin_))
      bin_ = (e.path() / "bin").string();
  if (bin_.empty()) return Status::Error("not installed (no /usr/lib/postgresql/*/bin/initdb)");
  char tmpl[] = "/tmp/tml-pg-XXXXXX";
  if (!mkdtemp(tmpl)) return Status::Error("mkdtemp failed");
  dir_ = tmpl;
  as_postgres_ = geteuid() == 0;
  if (as_postgres_) {
    const passwd* pw = getpwnam("postgres");
    if (!pw) return Status::Error("running as root and there is no 'postgres' user");
    if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::Error("chown failed");
  }
  const auto run = [&](std::vector<std::string> argv) -> Status {
    if (as_postgres_) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    TML_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, 120));
    if (r.exit_code != 0)
      return Status::Errorf("{} failed (exit {}): {}", argv[as_postgres_ ? 4 : 0], r.exit_code,
                            r.output);
    return Status::Ok();
  };
  TML_RETURN_IF_ERROR(run({bin_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres",
                           "--no-sync", "-E", "UTF8"}));
  const int port = testing::FreeLoopbackPort();
  if (port <= 0) return Status::Error("no free port");
  TML_RETURN_IF_ERROR(run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/log", "-w", "-o",
                           fmt::format("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off "
                                       "-c full_page_writes=off -c max_connections=200",
                                       port, dir_),
                           "start"}));
  port_ = port;
  return Status::Ok();
}

PgServer::~PgServer() {
  if (dir_.empty()) return;
  if (port_ > 0) {
    std::vector<std::string> argv = {bin_ + "/pg_ctl", "-D",  dir_ + "/data", "-m",
                                     "immediate",      "stop"};
    if (as_postgres_) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    (void)RunProcess(argv, 60);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Result<std::string> PgServer::NewDatabase() {
  if (!available()) return Status::Error(why_);
  const std::string name = fmt::format("tml_{}_{}", getpid(), ++databases_);
  try {
    pqxx::connection c(fmt::format("postgresql://postgres@127.0.0.1:{}/postgres", port_));
    pqxx::nontransaction w(c);
    w.exec("CREATE DATABASE " + name);
  } catch (const std::exception& e) {
    return Status::Errorf("CREATE DATABASE {}: {}", name, e.what());
  }
  return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port_, name);
}

std::string TestDatabase(const std::string& backend, std::string* skip) {
  if (backend != "postgres") return "";
  PgServer& pg = PgServer::Shared();
  auto url = pg.NewDatabase();
  if (!url.ok()) *skip = url.status().message();
  return url.ok() ? *url : "";
}

}  // namespace tml
