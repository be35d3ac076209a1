// The HTTP API as data: each route has a method, a path with {parameters}, a summary,
// the JSON schema of its body and query parameters, and a handler. The router, the
// input validation and the OpenAPI document (/api/openapi.json) are all made from this
// one table, so the document cannot drift from what is served. Handlers hold no logic
// of their own: they call the library (dataset store, job queue, lineage).
//
//   Route r{"GET", "/api/runs/{id}", "One run", "runs"};
//   r.handler = [](ApiContext& c, const ApiRequest& q) { ... return Json(run); };
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset_store.h"
#include "data/workspace_pool.h"
#include "jobs/event_bus.h"
#include "server/session.h"

namespace tml {

struct UploadedFile {
  std::string field, filename, content_type, content;
};

struct ApiRequest {
  std::map<std::string, std::string> path;   // {name} -> value
  std::map<std::string, std::string> query;  // ?k=v
  nlohmann::json body;                       // validated against the route's schema
  std::string raw_body, content_type;
  std::vector<UploadedFile> files;          // multipart/form-data file parts
  std::map<std::string, std::string> form;  // multipart/form-data text parts
  std::string user;                         // the token's name ("local" without auth)
  std::string session;                      // the session cookie that authenticated it, if any
};

struct ApiResponse {
  int status = 200;
  nlohmann::json json;
  std::string raw, content_type;                             // raw bytes instead of JSON when set
  std::vector<std::pair<std::string, std::string>> headers;  // extra (Set-Cookie)
  // Server-Sent Events: called until it returns false; appends "data: ..." frames.
  std::function<bool(std::string& out)> stream;
};

ApiResponse Json(nlohmann::json j, int status = 200);
ApiResponse ApiError(int status, const std::string& message);
// A file's bytes as the response body (500 if it cannot be read).
ApiResponse FileBody(const std::string& path, const std::string& content_type);
// A library error as an HTTP error, its status from the error's code (never its text).
// The HTTP status of an error code: invalid argument 400, not found 404, already
// exists / failed precondition / cancelled 409, unavailable 503, internal 500.
int HttpStatus(StatusCode code);
ApiResponse FromStatus(const Status& st);
// A path or query id: a positive decimal number.
Result<int64_t> ParseId(const std::string& text);

// What handlers share: connections to the workspace's store (a handler leases one
// for what it reads and writes), the workspace's root, and how to reach the job queue.
struct ApiContext {
  WorkspacePool& pool;
  std::string root;
  std::string version;
  const std::atomic<bool>& stopping;    // the server is shutting down: end long responses
  std::vector<std::string> file_roots;  // where job parameters may name files
  SessionStore& sessions;               // browser sessions (session.h)
  JobEventBus& job_events;              // wakes job streams (event_bus.h)
  int64_t event_poll_ms;                // a stream's look at the database without a wake-up
  std::atomic<int>& open_streams;       // event streams open now
  int max_streams;                      // the most open at once (each holds an HTTP thread)
};

// One open event stream, counted while it lives (shared by the stream's copies).
class StreamSlot {
 public:
  // A slot, or null when `max` streams are open already.
  static std::shared_ptr<StreamSlot> Take(std::atomic<int>& open, int max) {
    if (open.fetch_add(1) >= max) {
      --open;
      return nullptr;
    }
    return std::shared_ptr<StreamSlot>(new StreamSlot(open));
  }
  ~StreamSlot() { --open_; }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

 private:
  explicit StreamSlot(std::atomic<int>& open) : open_(open) {}
  std::atomic<int>& open_;
};

struct QueryParam {
  std::string name, description;
  nlohmann::json schema;
  bool required = false;
};

struct Route {
  Route(std::string m, std::string p, std::string s, std::string t)
      : method(std::move(m)), path(std::move(p)), summary(std::move(s)), tag(std::move(t)) {}
  std::string method, path, summary, tag;
  nlohmann::json body;      // JSON schema of the request body; null: no JSON body
  nlohmann::json response;  // JSON schema of the success body (schemas.h); null: not JSON
  std::vector<QueryParam> query;
  int success = 200;
  bool auth = true;
  std::string produces = "application/json";
  // application/json: `body` is checked against the JSON; multipart/form-data: `body`
  // only documents the parts (the handler checks them).
  std::string consumes = "application/json";
  std::function<ApiResponse(ApiContext&, const ApiRequest&)> handler;
};

// Checks value against a JSON schema subset (type, properties, required,
// additionalProperties false, items, enum, minLength, maxLength, pattern, minimum,
// maximum, maxItems); "" when it conforms, else what is wrong and where.
std::string SchemaError(const nlohmann::json& schema, const nlohmann::json& value,
                        const std::string& where);

nlohmann::json OpenApiDocument(const std::vector<Route>& routes, const std::string& version);

// Every route of the API (src/server/routes_*.cc).
std::vector<Route> ApiRoutes();
void AddDataRoutes(std::vector<Route>& r);
void AddJobRoutes(std::vector<Route>& r);
void AddLineageRoutes(std::vector<Route>& r);
void AddChartRoutes(std::vector<Route>& r);
void AddSessionRoutes(std::vector<Route>& r);
void AddFleetRoutes(std::vector<Route>& r);
void AddSplitRoutes(std::vector<Route>& r);

}  // namespace tml
