#include "apps/cli_serve.h"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "apps/cli_common.h"
#include "jobs/worker.h"
#include "server/http_server.h"

namespace tml::cli {
namespace {

struct ServeArgs {
  std::string workspace, db, host = "127.0.0.1", token_name;
  int port = 8080, workers = 1;
  double lease_s = 30;
  bool no_auth = false;
  std::string web_dir;
  std::vector<std::string> allow_files;
};

OpenWorkspaceFn Opener(const ServeArgs& a) {
  return [w = a.workspace, db = a.db]() { return OpenWorkspace(w, db); };
}

// The dashboard the build put beside the executable (build/web), unless --web names one.
std::string DashboardDir(const ServeArgs& a) {
  if (!a.web_dir.empty()) return a.web_dir;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const auto dir = exe.parent_path() / "web";
  return std::filesystem::exists(dir / "index.html", ec) ? dir.string() : "";
}

int Serve(const ServeArgs& a) {
  ServeOptions o;
  o.host = a.host;
  o.port = a.port;
  o.auth = !a.no_auth;
  o.workers = a.workers;
  o.web_dir = DashboardDir(a);
  o.file_roots.insert(o.file_roots.end(), a.allow_files.begin(), a.allow_files.end());
  o.lease_ms = static_cast<int64_t>(a.lease_s * 1000);
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  ApiServer s(Opener(a), o);
  if (Status st = s.Start(); !st.ok()) return Fail(st);
  const std::atomic<bool>& stop = StopOnSignal();
  std::cout << fmt::format(
                   "serving http://{}:{}/ (API under /api, OpenAPI at /api/openapi.json; "
                   "{} worker{}{})\n",
                   a.host, s.port(), a.workers, a.workers == 1 ? "" : "s",
                   a.no_auth ? "; no auth" : "; token required")
            << std::flush;
  if (o.web_dir.empty())
    std::cerr << "no dashboard files beside " << std::filesystem::read_symlink("/proc/self/exe")
              << " (`make` builds them into build/web; --web DIR names another folder): the API "
                 "works, / answers 404\n";
  else
    std::cerr << "dashboard: " << o.web_dir << "\n";
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s.Stop();
  return 0;
}

int Worker(const ServeArgs& a) {
  auto ws = OpenWorkspace(a.workspace, a.db);
  if (!ws.ok()) return Fail(ws.status());
  const std::atomic<bool>& stop = StopOnSignal();
  WorkerOptions o;
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  o.name = fmt::format("{}/{}", host, getpid());
  o.lease_ms = static_cast<int64_t>(a.lease_s * 1000);
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  StoreOpener open = [opener = Opener(a)]() -> Result<std::unique_ptr<MetaStore>> {
    TML_ASSIGN_OR_RETURN(Workspace x, opener());
    return std::move(x.db);
  };
  std::cerr << "worker " << o.name << " on " << ws->root << "\n";
  if (Status st = RunWorker(*ws, open, o, stop); !st.ok()) return Fail(st);
  return 0;
}

int CreateToken(const ServeArgs& a) {
  auto ws = OpenWorkspace(a.workspace, a.db);
  if (!ws.ok()) return Fail(ws.status());
  auto token = NewToken();
  if (!token.ok()) return Fail(token.status());
  if (Status st = ws->db->AddToken(a.token_name, TokenHash(*token)); !st.ok()) return Fail(st);
  std::cout << *token << "\n";
  std::cerr << "token '" << a.token_name << "' created; it is shown only now (the workspace "
            << "stores its hash)\n";
  return 0;
}

}  // namespace

void AddServeCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* subs) {
  auto a = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand(
      "serve",
      "HTTP / JSON API over the workspace (OpenAPI document at /api/openapi.json), the job\n"
      "queue with in-process workers, and the web dashboard at / (the files `make` builds into\n"
      "build/web, or --web DIR). Requests need 'Authorization: Bearer TOKEN' (see\n"
      "`token create`) unless --no-auth on loopback");
  serve->add_option("--host", a->host, "Address to listen on")->capture_default_str();
  serve->add_option("--port", a->port, "Port (0: any free one)")->capture_default_str();
  serve->add_option("--workers", a->workers, "In-process job workers (0: only queue)")
      ->capture_default_str();
  serve->add_flag("--no-auth", a->no_auth, "No tokens (only with a loopback --host)");
  serve->add_option("--web", a->web_dir,
                    "Serve the dashboard from this folder instead of the build's (a `vite build` "
                    "output)");
  serve->add_option("--workspace", a->workspace, "Workspace directory");
  serve->add_option("--db", a->db,
                    "Metadata store: sqlite:PATH or postgresql://USER@HOST:PORT/DB (default: "
                    "$TINYMLAAS_DB, else the workspace's meta.db)");
  serve
      ->add_option("--allow-files", a->allow_files,
                   "Another directory whose files jobs may read (specs, models, data to "
                   "import); always allowed: the workspace, examples/ and /usr/share/datasets")
      ->check(CLI::ExistingDirectory);
  serve->add_option("--lease", a->lease_s, "Job lease of the in-process workers, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 3600.0));
  serve->callback([a, exit_code] { *exit_code = Serve(*a); });
  auto* openapi = app.add_subcommand(
      "openapi",
      "Print the HTTP API's OpenAPI 3 document (JSON, with request and response schemas), as\n"
      "/api/openapi.json serves it; the dashboard's TypeScript types are generated from it");
  openapi->callback([exit_code] {
    std::cout << OpenApiDocument(ApiRoutes(), TML_VERSION).dump(2) << "\n";
    *exit_code = 0;
  });
  auto* worker = app.add_subcommand(
      "worker", "Run queued jobs of the workspace's queue until stopped (scale-out beside serve)");
  worker->add_option("--workspace", a->workspace, "Workspace directory");
  worker->add_option("--db", a->db,
                     "Metadata store: sqlite:PATH or postgresql://USER@HOST:PORT/DB (default: "
                     "$TINYMLAAS_DB, else the workspace's meta.db)");
  worker
      ->add_option("--lease", a->lease_s,
                   "Seconds a claimed job stays this worker's without a heartbeat")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 3600.0));
  worker->callback([a, exit_code] { *exit_code = Worker(*a); });
  auto* token = app.add_subcommand("token", "API tokens");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "Create a token and print it (once)");
  create->add_option("NAME", a->token_name, "Who or what uses it")->required();
  create->add_option("--workspace", a->workspace, "Workspace directory");
  create->add_option("--db", a->db,
                     "Metadata store: sqlite:PATH or postgresql://USER@HOST:PORT/DB (default: "
                     "$TINYMLAAS_DB, else the workspace's meta.db)");
  create->callback([a, exit_code] { *exit_code = CreateToken(*a); });
  subs->insert(subs->end(), {serve, worker, token, openapi});
}

}  // namespace tml::cli
