// `tinymlaas serve`: the API routes (src/server/api.h) over HTTP with cpp-httplib,
// token auth, body limits and JSON errors, the dashboard's static files, and
// in-process job workers.
//
//   ApiServer s(ws, open_workspace, opts);
//   TML_RETURN_IF_ERROR(s.Start());   // s.port() when opts.port == 0
//   ...; s.Stop();
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset_store.h"
#include "data/workspace_pool.h"
#include "server/api.h"

namespace httplib {
class Server;
}

namespace tml {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;              // 0: any free port
  bool auth = true;             // false only on a loopback address
  size_t max_body = 64u << 20;  // any request body
  size_t max_json = 1u << 20;   // JSON bodies
  int workers = 1;              // in-process job workers
  int64_t lease_ms = 30000;
  std::string web_dir;  // the dashboard's built files ("" = none)
  // Files a job may read (specs, models, data to import) lie under these or the
  // workspace; nothing else on the server can be named through the API.
  std::vector<std::string> file_roots = {std::string(TML_SOURCE_DIR) + "/examples",
                                         "/usr/share/datasets"};
  // Refuse (500) a success response that does not fit its route's schema (tests).
  bool check_responses = false;
  int64_t session_ms = 12 * 3600 * 1000;  // browser sessions (POST /api/session) last this long
  // Job streams wake on notifications (in-process workers, PostgreSQL NOTIFY) and look at
  // the database after this long without one (SQLite with `tinymlaas worker` processes).
  int64_t event_poll_ms = 1000;
  int db_connections = 8;  // the API threads' store connections (a pool)
  int http_threads = 64;   // threads serving requests; an open event stream holds one
  int max_streams = 48;    // event streams open at once (more get 503), below http_threads
  std::function<void(const std::string&)> log;
};

// Opens another handle on the same workspace (its own database connection).
using OpenWorkspaceFn = std::function<Result<Workspace>()>;

class ApiServer {
 public:
  ApiServer(OpenWorkspaceFn open, ServeOptions o);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;
  Status Start();
  void Stop();
  int port() const { return port_; }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  // auth_header: the Authorization header; cookies: the Cookie header (a session).
  ApiResponse Handle(const Route& route, const std::string& auth_header, const std::string& cookies,
                     const std::string& content_type, const std::string& body, ApiRequest req);
  OpenWorkspaceFn open_;
  ServeOptions o_;
  std::vector<Route> routes_;
  std::unique_ptr<WorkspacePool> pool_;  // the API threads' connections
  std::unique_ptr<SessionStore> sessions_;
  JobEventBus job_events_;
  std::thread event_listener_;  // PostgreSQL LISTEN for events of other processes
  std::unique_ptr<ApiContext> ctx_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<int> open_streams_{0};
  int port_ = 0;
};

// A random API token (64 hex characters from /dev/urandom) and its stored form.
Result<std::string> NewToken();
std::string TokenHash(const std::string& token);

}  // namespace tml
