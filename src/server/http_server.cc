#include "server/http_server.h"

#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "core/sha256.h"
#include "jobs/worker.h"

namespace tml {

using json = nlohmann::json;

Result<std::string> NewToken() {
  std::ifstream f("/dev/urandom", std::ios::binary);
  unsigned char b[32];
  if (!f.read(reinterpret_cast<char*>(b), sizeof b))
    return Status::Error("/dev/urandom: read failed");
  std::string hex;
  for (unsigned char c : b) hex += fmt::format("{:02x}", c);
  return hex;
}

std::string TokenHash(const std::string& token) {
  return Sha256Hex(token);
}

ApiServer::ApiServer(OpenWorkspaceFn open, ServeOptions o)
    : open_(std::move(open)), o_(std::move(o)), routes_(ApiRoutes()) {}

ApiServer::~ApiServer() {
  Stop();
}

namespace {

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

std::string PathRegex(const std::string& path) {
  return std::regex_replace(path, std::regex(R"(\{[a-z_]+\})"), "([^/]+)");
}

std::vector<std::string> PathNames(const std::string& path) {
  std::vector<std::string> names;
  static const std::regex kParam(R"(\{([a-z_]+)\})");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), kParam);
       it != std::sregex_iterator(); ++it)
    names.push_back((*it)[1].str());
  return names;
}

void Write(const ApiResponse& r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k.c_str(), v.c_str());
  if (r.stream) {
    auto stream = r.stream;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(r.content_type, [stream](size_t, httplib::DataSink& sink) {
      std::string out;
      const bool more = stream(out);
      if (!out.empty() && !sink.write(out.data(), out.size())) return false;
      if (!more) sink.done();
      return true;
    });
    return;
  }
  if (!r.raw.empty() || !r.content_type.empty())
    res.set_content(r.raw, r.content_type.empty() ? "application/octet-stream" : r.content_type);
  else
    // Invalid UTF-8 from a request (echoed in an error) is replaced, not thrown on.
    res.set_content(r.json.dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
}

}  // namespace

ApiResponse ApiServer::Handle(const Route& route, const std::string& auth_header,
                              const std::string& cookies, const std::string& content_type,
                              const std::string& body, ApiRequest req) {
  // A token comes only in the Authorization header, a browser session only in its
  // cookie: never in a URL (URLs end up in logs and histories).
  req.session = CookieValue(cookies, kSessionCookie);
  if (route.auth && o_.auth) {
    if (auth_header.rfind("Bearer ", 0) == 0) {
      WorkspacePool::Lease ws = pool_->Acquire();
      auto name = ws->db->TokenName(TokenHash(auth_header.substr(7)));
      if (!name.ok()) return FromStatus(name.status());
      if (!*name) return ApiError(401, "invalid token");
      req.user = **name;
    } else if (!req.session.empty()) {
      auto user = sessions_->User(req.session);
      if (!user) return ApiError(401, "the session has expired or is unknown: log in again");
      req.user = *user;
    } else {
      return ApiError(401,
                      "missing token: send the header 'Authorization: Bearer TOKEN' (create one "
                      "with `tinymlaas token create NAME`), or log in (POST /api/session)");
    }
  } else if (!o_.auth) {
    req.user = "local";
  } else if (auto user = sessions_->User(req.session)) {
    req.user = *user;  // an open route that says who is asking (GET /api/session)
  }
  if (route.consumes == "multipart/form-data" && content_type.rfind("multipart/form-data", 0) != 0)
    return ApiError(415, "the body must be multipart/form-data");
  if (!route.body.is_null() && route.consumes == "application/json") {
    if (content_type.rfind("application/json", 0) != 0)
      return ApiError(415, "the body must be JSON (Content-Type: application/json)");
    if (body.size() > o_.max_json)
      return ApiError(
          413, fmt::format("JSON body of {} bytes; the limit is {}", body.size(), o_.max_json));
    try {
      req.body = json::parse(body);
    } catch (const json::parse_error& e) {
      return ApiError(400, fmt::format("malformed JSON at byte {}: {}", e.byte, e.what()));
    }
    if (std::string e = SchemaError(route.body, req.body, "body"); !e.empty())
      return ApiError(400, e);
  }
  req.raw_body = body;
  req.content_type = content_type;
  try {
    ApiResponse res = route.handler(*ctx_, req);
    if (o_.check_responses && res.status == route.success && !res.stream && res.raw.empty() &&
        !route.response.is_null())
      if (std::string e = SchemaError(route.response, res.json, "response"); !e.empty())
        return ApiError(500, fmt::format("{} {}: the response does not fit its schema: {}",
                                         route.method, route.path, e));
    return res;
  } catch (const std::exception& e) {
    return ApiError(500, std::string("internal error: ") + e.what());
  }
}

Status ApiServer::Start() {
  if (!o_.auth && !IsLoopback(o_.host))
    return Status::Errorf("--no-auth only on a loopback address (127.0.0.1), not {}", o_.host);
  pool_ = std::make_unique<WorkspacePool>(open_, o_.db_connections);
  TML_RETURN_IF_ERROR(pool_->Start());
  const std::string root = pool_->Acquire()->root;
  std::vector<std::string> roots = {root};
  roots.insert(roots.end(), o_.file_roots.begin(), o_.file_roots.end());
  sessions_ = std::make_unique<SessionStore>(o_.session_ms);
  if (o_.max_streams >= o_.http_threads)
    return Status::Errorf(
        "max_streams ({}) must stay below http_threads ({}): each stream holds a "
        "thread",
        o_.max_streams, o_.http_threads);
  ctx_ = std::make_unique<ApiContext>(ApiContext{*pool_, root, TML_VERSION, stop_, roots,
                                                 *sessions_, job_events_, o_.event_poll_ms,
                                                 open_streams_, o_.max_streams});
  const json doc = OpenApiDocument(routes_, TML_VERSION);
  for (Route& r : routes_)
    if (r.path == "/api/openapi.json")
      r.handler = [doc](ApiContext&, const ApiRequest&) { return Json(doc); };
  http_ = std::make_unique<httplib::Server>();
  const size_t threads = static_cast<size_t>(o_.http_threads);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(o_.max_body);
  // A client silent for 10 s mid-request is dropped (a POST without a length waits that
  // long before its 400, since the library reads its body until the connection idles).
  http_->set_read_timeout(10, 0);
  for (const Route& route : routes_) {
    const auto names = PathNames(route.path);
    auto handler = [this, &route, names](const httplib::Request& q, httplib::Response& res) {
      ApiRequest req;
      for (size_t i = 0; i < names.size() && i + 1 < q.matches.size(); ++i)
        req.path[names[i]] = q.matches[i + 1].str();
      for (const auto& [k, v] : q.params) req.query[k] = v;
      for (const auto& [field, part] : q.files) {
        if (part.filename.empty())
          req.form[field] = part.content;
        else
          req.files.push_back({field, part.filename, part.content_type, part.content});
      }
      Write(Handle(route, q.get_header_value("Authorization"), q.get_header_value("Cookie"),
                   q.get_header_value("Content-Type"), q.body, std::move(req)),
            res);
    };
    const std::string re = PathRegex(route.path);
    if (route.method == "GET")
      http_->Get(re, handler);
    else if (route.method == "POST")
      http_->Post(re, handler);
    else if (route.method == "PUT")
      http_->Put(re, handler);
    else if (route.method == "PATCH")
      http_->Patch(re, handler);
    else if (route.method == "DELETE")
      http_->Delete(re, handler);
  }
  if (!o_.web_dir.empty() && !http_->set_mount_point("/", o_.web_dir))
    return Status::Errorf("{}: no such directory (the dashboard's files)", o_.web_dir);
  http_->set_error_handler([](const httplib::Request& q, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route's own JSON error
    // The HTTP library refuses a request with a body but no length before any route
    // runs (e.g. `curl -X POST` without -d): say what to send.
    const bool no_length = res.status == 400 && q.method != "GET" &&
                           !q.has_header("Content-Length") && !q.has_header("Transfer-Encoding");
    std::string m = fmt::format("HTTP {}", res.status);
    if (res.status == 413)
      m = "request body too large";
    else if (res.status == 404)
      m = "no such route: " + q.method + " " + q.path;
    else if (no_length)
      m = q.method + " " + q.path +
          ": send a Content-Length header (an empty body is fine, e.g. curl -d '')";
    res.set_content(json{{"error", m}, {"status", res.status}}.dump(-1, ' ', false,
                                                                    json::error_handler_t::replace),
                    "application/json");
  });
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) {
    res.status = 500;
    res.set_content(json{{"error", "internal error"}, {"status", 500}}.dump(), "application/json");
  });
  if (o_.port == 0) {
    port_ = http_->bind_to_any_port(o_.host);
    if (port_ <= 0) return Status::Errorf("cannot bind {}", o_.host);
  } else {
    if (!http_->bind_to_port(o_.host, o_.port))
      return Status::Errorf("cannot listen on {}:{} (in use?)", o_.host, o_.port);
    port_ = o_.port;
  }
  listener_ = std::thread([this] { http_->listen_after_bind(); });
  for (int i = 0; i < o_.workers; ++i) {
    TML_ASSIGN_OR_RETURN(Workspace wws, open_());
    auto wsp = std::make_shared<Workspace>(std::move(wws));
    WorkerOptions wo;
    char host[256] = "host";
    gethostname(host, sizeof host - 1);
    wo.name = fmt::format("{}/{}/{}", host, getpid(), i);
    wo.lease_ms = o_.lease_ms;
    wo.log = o_.log;
    wo.on_event = [this] { job_events_.Notify(); };
    StoreOpener open_store = [this]() -> Result<std::unique_ptr<MetaStore>> {
      TML_ASSIGN_OR_RETURN(Workspace w, open_());
      return std::move(w.db);
    };
    workers_.emplace_back(
        [wsp, wo, open_store, this] { (void)RunWorker(*wsp, open_store, wo, stop_); });
  }
  // Events that other processes write (PostgreSQL): LISTEN on a connection of its own.
  auto listen_ws = open_();
  if (listen_ws.ok()) {
    auto db = std::make_shared<std::unique_ptr<MetaStore>>(std::move(listen_ws->db));
    event_listener_ = std::thread(
        [this, db] { (void)(*db)->ListenForJobEvents(stop_, [this] { job_events_.Notify(); }); });
  }
  return Status::Ok();
}

void ApiServer::Stop() {
  stop_ = true;
  job_events_.Notify();  // streams waiting for news see that the server stops
  if (http_) http_->stop();
  if (listener_.joinable()) listener_.join();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
  if (event_listener_.joinable()) event_listener_.join();
}

}  // namespace tml
