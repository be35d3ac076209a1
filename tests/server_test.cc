// The HTTP API end to end on a real socket: auth, input validation and limits (every
// bad request gets a 4xx JSON error and the server keeps serving), the OpenAPI
// document against the routes, many clients at once, and a job from submission
// through its live event stream to its lineage.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "app/rollout.h"
#include "core/clock.h"
#include "core/scratch_dir.h"
#include "data/image_io.h"
#include "jobs/job_spec.h"
#include "jobs/worker.h"
#include "pg_server.h"
#include "pipeline/pipeline_spec.h"
#include "server/http_server.h"
#include "store/telemetry_store.h"

namespace tml {
namespace {

using json = nlohmann::json;

// Every test runs with the metadata on SQLite and on PostgreSQL.
class Server : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string skip;
    db_ = TestDatabase(GetParam(), &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
  }
  void Start(int workers) {
    std::filesystem::create_directories(dir_.path());
    auto ws = OpenWorkspace(dir_.path(), db_);
    ASSERT_TRUE(ws.ok()) << ws.status().message();
    token_ = *NewToken();
    ASSERT_TRUE(ws->db->AddToken("test", TokenHash(token_)).ok());
    ServeOptions o;
    o.port = 0;
    o.workers = workers;
    o.lease_ms = lease_ms_;
    o.max_json = 64 * 1024;
    o.max_body = 1 << 20;
    o.check_responses = true;  // every response of every test must fit its documented schema
    o.event_poll_ms = event_poll_ms_;
    o.max_streams = max_streams_;
    const std::string root = dir_.path(), db = db_;
    server_ = std::make_unique<ApiServer>([root, db] { return OpenWorkspace(root, db); }, o);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::unique_ptr<httplib::Client> Client(bool with_token = true) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    c->set_read_timeout(60, 0);
    if (with_token) c->set_bearer_token_auth(token_.c_str());
    return c;
  }
  static json Body(const httplib::Result& r) { return json::parse(r->body, nullptr, false); }
  // Queues a job importing Fashion-MNIST's test files (from the folder fm) as dataset "fm".
  static void SubmitImport(httplib::Client& c, const std::string& fm, int64_t* id) {
    const json submit = {
        {"kind", "dataset"},
        {"params",
         {{"dataset", "fm"},
          {"idx", {fm + "t10k-images-idx3-ubyte.gz", fm + "t10k-labels-idx1-ubyte.gz"}}}}};
    auto r = c.Post("/api/jobs", submit.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    *id = Body(r)["id"];
  }

  ScratchDir dir_{"", "server-test"};
  std::string db_;  // "": SQLite in the workspace
  std::string token_;
  std::unique_ptr<ApiServer> server_;
  int64_t event_poll_ms_ = 1000;
  int max_streams_ = 48;
  int64_t lease_ms_ = 3000;
};

TEST_P(Server, BadRequestsGetJsonErrorsAndTheServerKeepsServing) {
  Start(0);
  auto c = Client();
  struct Case {
    std::string name, method, path, body, type;
    int status;
    std::string says;
    bool token = true;
  };
  const std::string big(200 * 1024, 'x');
  const Case cases[] = {
      {"no token", "GET", "/api/datasets", "", "", 401, "missing token", false},
      {"malformed JSON", "POST", "/api/datasets", "{\"name\": ", "application/json", 400,
       "malformed JSON"},
      {"wrong type", "POST", "/api/datasets", "{\"name\": 5}", "application/json", 400,
       "body.name: must be a string"},
      {"unknown field", "POST", "/api/datasets", "{\"name\": \"a\", \"x\": 1}", "application/json",
       400, "body.x: unknown field"},
      {"bad name", "POST", "/api/datasets", "{\"name\": \"../etc\"}", "application/json", 400,
       "body.name: must match"},
      {"missing field", "POST", "/api/jobs", "{\"kind\": \"train\"}", "application/json", 400,
       "body.params: missing"},
      {"unknown job kind", "POST", "/api/jobs", "{\"kind\": \"teleport\", \"params\": {}}",
       "application/json", 400, "must be one of"},
      {"job parameters checked at submission", "POST", "/api/jobs",
       "{\"kind\": \"train\", \"params\": {\"spec\": \"s.yaml\", \"epochs\": \"many\"}}",
       "application/json", 400, "'epochs' must be an integer"},
      {"a chain file outside the server's directories", "POST", "/api/jobs",
       "{\"kind\": \"split\", \"params\": {\"model\": \"/etc/m.onnx\", \"chain\": "
       "\"/etc/passwd\"}}",
       "application/json", 400, "chain '/etc/passwd' is outside the directories"},
      {"a chain name, not a path: the model is checked next", "POST", "/api/jobs",
       "{\"kind\": \"split\", \"params\": {\"model\": \"/etc/m.onnx\", \"chain\": "
       "\"mcu-gateway-cloud\"}}",
       "application/json", 400, "model '/etc/m.onnx' is outside the directories"},
      {"not JSON", "POST", "/api/datasets", "name=a", "text/plain", 415, "must be JSON"},
      {"JSON over the JSON limit", "POST", "/api/datasets", "{\"name\": \"" + big + "\"}",
       "application/json", 413, "the limit is"},
      {"body over the request limit", "POST", "/api/datasets", std::string(2 << 20, ' '),
       "application/json", 413, "too large"},
      {"unknown job", "GET", "/api/jobs/12345", "", "", 404, "no job 12345"},
      {"bad job id", "GET", "/api/jobs/abc", "", "", 400, "a positive number"},
      {"unknown run", "GET", "/api/runs/77", "", "", 404, "no run 77"},
      {"unknown dataset", "GET", "/api/datasets/nope", "", "", 404, "no dataset 'nope'"},
      {"unknown artifact", "GET", "/api/artifacts/model:ffff/lineage", "", "", 404, "no artifact"},
      {"unknown route", "GET", "/api/teleport", "", "", 404, "no such route"},
      {"bad version", "GET", "/api/datasets/a/versions/x/stats", "", "", 400, "positive number"},
  };
  for (const Case& k : cases) {
    auto cl = Client(k.token);
    if (!k.token) cl = Client(false);
    httplib::Result r = k.method == "GET" ? cl->Get(k.path.c_str())
                                          : cl->Post(k.path.c_str(), k.body, k.type.c_str());
    ASSERT_TRUE(r) << k.name << ": no response";
    EXPECT_EQ(r->status, k.status) << k.name << ": " << r->body;
    const json j = Body(r);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << k.name << ": " << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(k.says), std::string::npos)
        << k.name << ": " << r->body;
  }
  httplib::Client wrong("127.0.0.1", server_->port());
  wrong.set_bearer_token_auth("not-a-token");
  auto r = wrong.Get("/api/datasets");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Body(r)["error"], "invalid token");
  auto health = c->Get("/api/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ok = c->Post("/api/datasets", "{\"name\": \"after\"}", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201);
}

TEST_P(Server, ShippedChainsAreListed) {
  Start(0);
  auto c = Client();
  const json chains = Body(c->Get("/api/chains"));
  ASSERT_TRUE(chains.is_array()) << chains.dump();
  const auto it = std::find_if(chains.begin(), chains.end(),
                               [](const json& k) { return k["name"] == "mcu-gateway-cloud"; });
  ASSERT_NE(it, chains.end()) << chains.dump();
  ASSERT_EQ((*it)["nodes"].size(), 3u);
  EXPECT_EQ((*it)["nodes"][0]["target"], "cortex-m4");
  EXPECT_GT((*it)["nodes"][0]["ram_bytes"].get<int64_t>(), 0);  // the board's budget
  EXPECT_EQ((*it)["links"][0]["profile"], "ble-1m");
  EXPECT_EQ(Client(false)->Get("/api/chains")->status, 401);
}

TEST_P(Server, OpenApiDocumentDescribesEveryRoute) {
  Start(0);
  auto c = Client(false);  // the document needs no token
  auto r = c->Get("/api/openapi.json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const json doc = Body(r);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  size_t operations = 0;
  for (const auto& [path, ops] : doc["paths"].items()) operations += ops.size();
  EXPECT_EQ(operations, server_->routes().size());
  auto authed = Client();
  for (const Route& route : server_->routes()) {
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    ASSERT_TRUE(doc["paths"].contains(route.path)) << route.path;
    ASSERT_TRUE(doc["paths"][route.path].contains(method)) << route.method << " " << route.path;
    const json& op = doc["paths"][route.path][method];
    EXPECT_FALSE(op["summary"].get<std::string>().empty()) << route.path;
    EXPECT_EQ(op.contains("requestBody"), !route.body.is_null()) << route.path;
    // Every documented operation is served (its own errors are fine, "no such route" is not).
    std::string path = route.path;
    for (size_t p; (p = path.find('{')) != std::string::npos;)
      path.replace(p, path.find('}', p) - p + 1, "1");
    if (route.produces == "text/event-stream") continue;
    httplib::Result res = route.method == "GET" ? authed->Get(path.c_str())
                          : route.method == "PATCH"
                              ? authed->Patch(path.c_str(), "{}", "application/json")
                              : authed->Post(path.c_str(), "{}", "application/json");
    ASSERT_TRUE(res) << path;
    const json b = Body(res);
    if (b.is_object())
      EXPECT_EQ(b.value("error", "").find("no such route"), std::string::npos) << path;
  }
}

TEST_P(Server, ManyClientsAtOnceLoseAndDuplicateNothing) {
  Start(0);  // jobs stay queued: this is about the API and the database
  constexpr int kClients = 8, kEach = 10;
  std::atomic<int> created{0}, conflicts{0}, shared_wins{0}, jobs_ok{0};
  std::vector<std::vector<int64_t>> job_ids(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t)
    threads.emplace_back([&, t] {
      auto c = Client();
      for (int i = 0; i < kEach; ++i) {
        auto r = c->Post("/api/datasets", json{{"name", fmt::format("d{}-{}", t, i)}}.dump(),
                         "application/json");
        if (r && r->status == 201) ++created;
        auto s = c->Post("/api/datasets", "{\"name\": \"shared\"}", "application/json");
        if (s && s->status == 201) ++shared_wins;
        if (s && s->status == 409) ++conflicts;
        auto j =
            c->Post("/api/jobs",
                    json{{"kind", "compile"},
                         {"params", {{"model", dir_.path() + "/m.onnx"}, {"target", "cortex-m4"}}}}
                        .dump(),
                    "application/json");
        if (j && j->status == 202) {
          ++jobs_ok;
          job_ids[t].push_back(Body(j)["id"].get<int64_t>());
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(created, kClients * kEach);
  EXPECT_EQ(shared_wins, 1);
  EXPECT_EQ(conflicts, kClients * kEach - 1);
  EXPECT_EQ(jobs_ok, kClients * kEach);
  auto c = Client();
  const json datasets = Body(c->Get("/api/datasets"));
  std::set<std::string> names;
  for (const auto& d : datasets) names.insert(d["name"].get<std::string>());
  EXPECT_EQ(datasets.size(), static_cast<size_t>(kClients * kEach + 1));
  EXPECT_EQ(names.size(), datasets.size());
  const json jobs = Body(c->Get("/api/jobs?limit=1000"));
  std::set<int64_t> ids;
  for (const auto& j : jobs) ids.insert(j["id"].get<int64_t>());
  EXPECT_EQ(jobs.size(), static_cast<size_t>(kClients * kEach));
  EXPECT_EQ(ids.size(), jobs.size());
  for (const auto& per : job_ids)
    for (int64_t id : per) EXPECT_TRUE(ids.count(id)) << id;
}

TEST_P(Server, MutatedRequestBodiesNeverCrashIt) {
  Start(0);
  auto c = Client();
  const std::string good =
      json{{"kind", "train"},
           {"params", {{"spec", dir_.path() + "/s.yaml"}, {"data", "d@1"}, {"epochs", 2}}}}
          .dump();
  ASSERT_EQ(c->Post("/api/jobs", good, "application/json")->status, 202);  // before mutation
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 300; ++i) {
    std::string body = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      const size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.insert(at, 1, "{}[]\",:0\\"[rng() % 9]);
          break;
      }
      if (body.empty()) body = "{";
    }
    auto r = c->Post("/api/jobs", body, "application/json");
    ASSERT_TRUE(r) << "no response to: " << body;
    ASSERT_TRUE(r->status == 202 || (r->status >= 400 && r->status < 500))
        << r->status << " for " << body;
    const json j = Body(r);
    ASSERT_TRUE(j.is_object()) << r->body;
    accepted += r->status == 202;
  }
  auto health = c->Get("/api/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(accepted, 300);  // the mutations did break bodies
  EXPECT_GT(accepted, 0);    // and some left them valid
}

// The dashboard's charts come from the reports' chart code (core/svg_chart.h).
TEST_P(Server, ChartsAreDrawnByTheReportsChartCode) {
  Start(0);
  auto c = Client();
  const json line = {{"kind", "line"},
                     {"title", "loss"},
                     {"x_label", "epoch"},
                     {"integer_x", true},
                     {"series",
                      {{{"name", "train <loss>"},
                        {"color", "#1f77b4"},
                        {"points", {{1, 0.9}, {2, nullptr}, {3, 0.4}}}}}}};
  const json kinds[] = {
      line,
      {{"kind", "bars"},
       {"title", "samples per class"},
       {"rows", json::array({json::array({"cat", 3}), json::array({"dog", 5})})}},
      {{"kind", "scatter"},
       {"title", "accuracy vs instructions"},
       {"points", {{{"label", "a"}, {"x", 1000}, {"y", 0.8}, {"highlight", true}}}}},
      {{"kind", "arena"},
       {"title", "arena"},
       {"arena_bytes", 96},
       {"layers", {"conv", "fc"}},
       {"buffers", {{{"offset", 0}, {"bytes", 64}, {"first", 0}, {"last", 1}}}}},
      {{"kind", "lineage"},
       {"title", "lineage"},
       {"focus", "m:1"},
       {"link_prefix", "#/lineage/"},
       {"nodes",
        {{{"id", "m:1"}, {"kind", "model"}, {"label", "x"}},
         {{"id", "d:1"}, {"kind", "dataset"}, {"label", "y"}}}},
       {"edges", {{{"parent", "d:1"}, {"child", "m:1"}}}}}};
  const char* marks[] = {"data-series=\"train &lt;loss&gt;\"", ">dog<", "<circle",
                         "class=\"arena-buffer\"", "href=\"#/lineage/m%3A1\""};
  for (size_t k = 0; k < std::size(kinds); ++k) {
    auto r = c->Post("/api/charts", kinds[k].dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("image/svg+xml", 0), 0u);
    EXPECT_EQ(r->body.rfind("<svg", 0), 0u) << r->body;
    EXPECT_NE(r->body.find(marks[k]), std::string::npos) << marks[k] << " in " << r->body;
  }
  // Bad data: 400 naming the field.
  json bad_point = line;
  bad_point["series"][0]["points"][1] = {1};
  json bad_color = line;
  bad_color["series"][0]["color"] = "red\" onload=\"x";
  const std::pair<json, std::string> bad[] = {
      {bad_point, "series[0].points[1]: expected [x, y]"},
      {bad_color, "series[0].color: expected a colour"},
      {{{"kind", "pie"}, {"title", "x"}}, "body.kind"},
      {{{"kind", "lineage"}, {"title", "x"}, {"link_prefix", "javascript:"}}, "link_prefix"},
      {{{"kind", "arena"}, {"title", "x"}, {"arena_bytes", -1}}, "arena_bytes"}};
  for (const auto& [body, says] : bad) {
    auto r = c->Post("/api/charts", body.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body.dump();
    EXPECT_NE(Body(r).value("error", "").find(says), std::string::npos) << r->body;
  }
  // Mutated bodies: an SVG or a JSON error, never a crash.
  std::mt19937 rng(11);
  int drawn = 0;
  for (int i = 0; i < 200; ++i) {
    std::string body = kinds[i % std::size(kinds)].dump();
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
      const size_t at = rng() % body.size();
      if (rng() % 2)
        body.erase(at, 1 + rng() % 4);
      else
        body.insert(at, 1, "{}[]\",:-9e\\"[rng() % 11]);
      if (body.empty()) body = "[";
    }
    auto r = c->Post("/api/charts", body, "application/json");
    ASSERT_TRUE(r) << "no response to: " << body;
    ASSERT_TRUE(r->status == 200 || (r->status >= 400 && r->status < 500)) << body;
    if (r->status == 200) {
      ++drawn;
      EXPECT_EQ(r->body.rfind("<svg", 0), 0u);
    } else {
      EXPECT_TRUE(Body(r).is_object()) << r->body;
    }
  }
  EXPECT_GT(drawn, 0);
  EXPECT_LT(drawn, 200);
}

std::string PngBytes(const std::string& dir, int shade, int size) {
  Image im;
  im.width = im.height = size;
  im.channels = 1;
  im.pixels.assign(static_cast<size_t>(size * size), static_cast<uint8_t>(shade));
  im.pixels[0] = 255;  // not a flat image
  const std::string path = fmt::format("{}/p{}.png", dir, shade);
  EXPECT_TRUE(WritePng(path, im).ok());
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST_P(Server, UploadListRelabelAndThumbnails) {
  Start(0);
  auto c = Client();
  httplib::MultipartFormDataItems items;
  for (int i = 0; i < 6; ++i)
    items.push_back(
        {"files", PngBytes(dir_.path(), 10 * i, 40), fmt::format("img{}.png", i), "image/png"});
  items.push_back({"labels", R"(["cat", "cat", "cat", "dog", "dog", "dog"])", "", ""});
  items.push_back({"size", "28x28", "", ""});
  auto r = c->Post("/api/datasets/pets/samples", items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(Body(r)["added"], 6);
  EXPECT_EQ(Body(r)["version"]["classes"], (json{"cat", "dog"}));
  // The same files again: nothing new, a conflict.
  auto again = c->Post("/api/datasets/pets/samples", items);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409) << again->body;
  // Not an image: refused with the file's name.
  httplib::MultipartFormDataItems bad = {{"files", "not a png", "x.png", "image/png"}};
  auto b = c->Post("/api/datasets/pets/samples", bad);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 400);
  EXPECT_NE(Body(b)["error"].get<std::string>().find("x.png"), std::string::npos) << b->body;
  httplib::MultipartFormDataItems escape = {{"files", "x", "../../etc/passwd", "text/plain"}};
  auto e = c->Post("/api/datasets/pets/samples", escape);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);

  const json page = Body(c->Get("/api/datasets/pets/versions/latest/samples?limit=4"));
  EXPECT_EQ(page["total"], 6);
  ASSERT_EQ(page["samples"].size(), 4u);
  const std::string sample = page["samples"][0]["sample"];
  const json dogs = Body(c->Get("/api/datasets/pets/versions/1/samples?label=dog"));
  EXPECT_EQ(dogs["total"], 3);

  auto img = c->Get(fmt::format("/api/samples/{}/image.png", sample).c_str());
  ASSERT_TRUE(img);
  EXPECT_EQ(img->status, 200);
  EXPECT_EQ(img->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(img->body.substr(1, 3), "PNG");
  auto escape_id = c->Get("/api/samples/..%2F..%2Fmeta.db/image.png");
  ASSERT_TRUE(escape_id);
  EXPECT_EQ(escape_id->status, 404);  // decoded, it matches no route
  EXPECT_TRUE(Body(escape_id).contains("error"));
  auto bad_id = c->Get("/api/samples/meta.db/image.png");
  ASSERT_TRUE(bad_id);
  EXPECT_EQ(bad_id->status, 400);

  auto rl = c->Patch(fmt::format("/api/datasets/pets/samples/{}", sample).c_str(),
                     R"({"label": "fox"})", "application/json");
  ASSERT_TRUE(rl);
  ASSERT_EQ(rl->status, 200) << rl->body;
  EXPECT_EQ(Body(rl)["version"]["number"], 2);
  EXPECT_EQ(Body(rl)["version"]["classes"], (json{"cat", "dog", "fox"}));
  const json stats = Body(c->Get("/api/datasets/pets/versions/2/stats"));
  int64_t foxes = 0;
  for (const auto& k : stats["classes"])
    if (k["label"] == "fox")
      foxes = k["train"].get<int64_t>() + k["val"].get<int64_t>() + k["test"].get<int64_t>();
  EXPECT_EQ(foxes, 1);
  auto same = c->Patch(fmt::format("/api/datasets/pets/samples/{}", sample).c_str(),
                       R"({"label": "fox"})", "application/json");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 409);
  auto missing =
      c->Patch("/api/datasets/pets/samples/abc", R"({"label": "fox"})", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;

  // Bounding boxes (pixels of the 28x28 image): a new version, the label kept; a relabel
  // keeps them; boxes outside the image or malformed are refused with what is wrong.
  const std::string at = fmt::format("/api/datasets/pets/samples/{}", sample);
  auto bx = c->Patch(at.c_str(), R"({"boxes": [{"label": "eye", "box": [2, 3, 10, 12]}]})",
                     "application/json");
  ASSERT_TRUE(bx);
  ASSERT_EQ(bx->status, 200) << bx->body;
  EXPECT_EQ(Body(bx)["version"]["number"], 3);
  EXPECT_EQ(
      Body(c->Patch(at.c_str(), R"({"label": "wolf"})", "application/json"))["version"]["number"],
      4);
  const json boxed = Body(c->Get("/api/datasets/pets/versions/4/samples?label=wolf"));
  ASSERT_EQ(boxed["samples"].size(), 1u) << boxed.dump();
  EXPECT_EQ(boxed["samples"][0]["boxes"],
            (json::parse(R"([{"label": "eye", "box": [2, 3, 10, 12]}])")));
  EXPECT_EQ(Body(c->Get("/api/datasets/pets/versions/2/samples?label=fox"))["samples"][0]["boxes"],
            json::array());  // older versions as they were
  for (const char* wrong : {R"({"boxes": [{"label": "eye", "box": [2, 3, 29, 12]}]})",
                            R"({"boxes": [{"label": "eye", "box": [5, 3, 5, 12]}]})",
                            R"({"boxes": [{"label": "eye", "box": [1, 2, 3]}]})",
                            R"({"boxes": [{"label": "", "box": [1, 2, 3, 4]}]})",
                            R"({"label": "x", "boxes": []})", R"({})"}) {
    auto w = c->Patch(at.c_str(), wrong, "application/json");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->status, 400) << wrong << " " << w->body;
  }
  auto outside = c->Patch(at.c_str(), R"({"boxes": [{"label": "eye", "box": [2, 3, 29, 12]}]})",
                          "application/json");
  EXPECT_NE(outside->body.find("not inside the 28x28 image"), std::string::npos) << outside->body;
  auto cleared = c->Patch(at.c_str(), R"({"boxes": []})", "application/json");
  ASSERT_EQ(cleared->status, 200) << cleared->body;
  EXPECT_EQ(Body(c->Get("/api/datasets/pets/versions/5/samples?label=wolf"))["samples"][0]["boxes"],
            json::array());
}

TEST_P(Server, AJobStreamsItsProgressAndLeavesLineage) {
  const std::string fm = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(fm + "t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Start(1);
  auto c = Client();
  int64_t id = 0;
  ASSERT_NO_FATAL_FAILURE(SubmitImport(*c, fm, &id));
  std::string stream;
  auto s = c->Get(fmt::format("/api/jobs/{}/stream", id).c_str(), [&](const char* data, size_t n) {
    stream.append(data, n);
    return true;
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 200);
  EXPECT_NE(stream.find("\"status\":\"running\""), std::string::npos) << stream;
  EXPECT_NE(stream.find("dataset (dataset): done"), std::string::npos) << stream;
  EXPECT_NE(stream.find("event: end"), std::string::npos) << stream;
  const json job = Body(c->Get(fmt::format("/api/jobs/{}", id).c_str()));
  EXPECT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["progress"], 1.0);
  EXPECT_EQ(job["result"]["steps"][0]["outputs"]["dataset"], "fm@1");
  const json lineage = Body(c->Get("/api/artifacts/dataset:fm@1/lineage"));
  ASSERT_TRUE(lineage.contains("nodes")) << lineage.dump();
  EXPECT_EQ(lineage["nodes"].size(), 3u);  // the dataset version and its two IDX files
  // A token in a URL is refused; a browser session (the cookie POST /api/session sets)
  // authenticates streams and everything else, until it is ended.
  httplib::Client bare("127.0.0.1", server_->port());
  auto q = bare.Get(fmt::format("/api/jobs/{}/events?token={}", id, token_).c_str());
  ASSERT_TRUE(q);
  EXPECT_EQ(q->status, 401);
  auto login = c->Post("/api/session", "", "text/plain");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 201) << login->body;
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  const std::string session = cookie.substr(0, cookie.find(';'));  // tml_session=ID
  const httplib::Headers with_cookie = {{"Cookie", "theme=dark; " + session}};
  auto events = bare.Get(fmt::format("/api/jobs/{}/events", id).c_str(), with_cookie);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->status, 200);
  EXPECT_GE(Body(events).size(), 4u);
  auto who = bare.Get("/api/session", with_cookie);
  ASSERT_TRUE(who);
  EXPECT_EQ(Body(who)["user"], "test");
  auto out = bare.Delete("/api/session", with_cookie);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
  auto after = bare.Get(fmt::format("/api/jobs/{}/events", id).c_str(), with_cookie);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
  EXPECT_TRUE(Body(bare.Get("/api/session", with_cookie))["user"].is_null());
  auto forged = bare.Get("/api/jobs", {{"Cookie", "tml_session=0123"}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
}

// Cancel: a queued job at once; a running training job stops within a few seconds
// (its worker polls the flag, training checks it every batch) and its stream ends.
// Stopping the server puts a job in progress back in the queue, promptly.
// A job that throws (here a third-party exception, injected before its pipeline runs)
// fails with the exception's message; the worker goes on with the next job.
// Job streams wake on notifications, not on a timer: with the database looked at only
// every 10 minutes, a job's stream still follows it to its end, from an in-process
// worker (the server's own wake-ups) and, on PostgreSQL, from a worker the server knows
// nothing of (LISTEN/NOTIFY).
TEST_P(Server, JobStreamsWakeOnNotificationsNotOnATimer) {
  const std::string fm = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(fm + "t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  event_poll_ms_ = 600000;
  const bool other_process = GetParam() == "postgres";
  Start(other_process ? 0 : 1);
  auto c = Client();
  c->set_read_timeout(120, 0);  // far below the 10 minutes a timer would take
  int64_t id = 0;
  ASSERT_NO_FATAL_FAILURE(SubmitImport(*c, fm, &id));
  std::thread outside;
  // A worker with its own connection and no link to the server. Whether it starts before
  // or after the stream opens does not matter: a stream first sends every event so far.
  if (other_process) {
    const std::string root = dir_.path(), db = db_;
    outside = std::thread([root, db] {
      auto ws = OpenWorkspace(root, db);
      if (!ws.ok()) return;
      WorkerOptions o;
      o.name = "outside";
      StoreOpener open = [root, db]() -> Result<std::unique_ptr<MetaStore>> {
        TML_ASSIGN_OR_RETURN(Workspace w, OpenWorkspace(root, db));
        return std::move(w.db);
      };
      (void)RunOneJob(*ws, open, o);
    });
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::string stream;
  auto s = c->Get(fmt::format("/api/jobs/{}/stream", id).c_str(), [&](const char* data, size_t n) {
    stream.append(data, n);
    return true;
  });
  if (outside.joinable()) outside.join();
  ASSERT_TRUE(s);
  EXPECT_NE(stream.find("event: end"), std::string::npos) << stream;
  EXPECT_NE(stream.find("dataset (dataset): done"), std::string::npos) << stream;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(100));
}

TEST_P(Server, AnExceptionInAJobFailsThatJobAndNotTheWorker) {
  std::filesystem::create_directories(dir_.path());
  auto ws = OpenWorkspace(dir_.path(), db_);
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  const std::string params = R"({"model": "/nonexistent/model.onnx", "data": "nothing"})";
  auto first = ws->db->EnqueueJob("evaluate", params, 1);
  auto second = ws->db->EnqueueJob("evaluate", params, 1);
  ASSERT_TRUE(first.ok() && second.ok());
  WorkerOptions o;
  o.name = "test-worker";
  o.before_job = [&](const JobRecord& j) {
    if (j.id == *first) (void)json::parse("{}").at("no such key");  // throws json::out_of_range
  };
  const std::string root = dir_.path(), db = db_;
  StoreOpener open = [root, db]() -> Result<std::unique_ptr<MetaStore>> {
    TML_ASSIGN_OR_RETURN(Workspace w, OpenWorkspace(root, db));
    return std::move(w.db);
  };
  for (int k = 0; k < 2; ++k) {
    auto ran = RunOneJob(*ws, open, o);
    ASSERT_TRUE(ran.ok()) << ran.status().message();
    EXPECT_TRUE(*ran);
  }
  auto j1 = ws->db->GetJob(*first);
  auto j2 = ws->db->GetJob(*second);
  ASSERT_TRUE(j1.ok() && j2.ok());
  EXPECT_EQ(j1->status, "failed");
  EXPECT_NE(j1->message.find("failed with an exception"), std::string::npos) << j1->message;
  EXPECT_NE(j1->message.find("no such key"), std::string::npos) << j1->message;
  EXPECT_EQ(j2->status, "failed");  // its own, ordinary error
  EXPECT_NE(j2->message.find("'nothing' has no versions"), std::string::npos) << j2->message;
  EXPECT_EQ(j2->message.find("exception"), std::string::npos) << j2->message;
}

TEST_P(Server, JobsCanBeCancelledAndStoppingTheServerRequeuesWork) {
  const std::string fm = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(fm + "t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Start(1);
  auto c = Client();
  auto submit = [&](const json& j) {
    auto r = c->Post("/api/jobs", j.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 202) << (r ? r->body : "no response");
    return r ? Body(r)["id"].get<int64_t>() : 0;
  };
  auto wait_for = [&](int64_t id, const std::string& status, int seconds) {
    json j;
    for (int i = 0; i < seconds * 10; ++i) {
      j = Body(c->Get(fmt::format("/api/jobs/{}", id).c_str()));
      if (j["status"] == status) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return j;
  };
  const int64_t data =
      submit({{"kind", "dataset"},
              {"params",
               {{"dataset", "fm"},
                {"idx", {fm + "t10k-images-idx3-ubyte.gz", fm + "t10k-labels-idx1-ubyte.gz"}}}}});
  ASSERT_EQ(wait_for(data, "done", 120)["status"], "done");
  const json train = {{"kind", "train"},
                      {"params",
                       {{"spec", std::string(TML_SOURCE_DIR) + "/examples/models/tiny_cnn.yaml"},
                        {"data", "fm"},
                        {"epochs", 40},
                        {"batch", 32}}}};
  const int64_t running = submit(train);
  const int64_t queued = submit({{"kind", "train"}, {"params", train["params"]}});
  ASSERT_EQ(wait_for(running, "running", 60)["status"], "running");
  // The queued one goes at once; the running one after its next checkpoint.
  auto cq = c->Post(fmt::format("/api/jobs/{}/cancel", queued).c_str(), "", "application/json");
  ASSERT_TRUE(cq);
  EXPECT_EQ(cq->status, 200) << cq->body;
  EXPECT_EQ(Body(cq)["status"], "cancelled");
  std::this_thread::sleep_for(std::chrono::seconds(2));  // into training
  const auto t0 = std::chrono::steady_clock::now();
  auto cr = c->Post(fmt::format("/api/jobs/{}/cancel", running).c_str(), "", "application/json");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->status, 200) << cr->body;
  EXPECT_EQ(Body(cr)["cancel_requested"], true);
  const json ended = wait_for(running, "cancelled", 30);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ended["status"], "cancelled") << ended.dump();
  EXPECT_LT(took, 10.0);
  std::string stream;
  c->Get(fmt::format("/api/jobs/{}/stream", running).c_str(), [&](const char* d, size_t n) {
    stream.append(d, n);
    return true;
  });
  EXPECT_NE(stream.find("event: end"), std::string::npos);
  EXPECT_NE(stream.find("\"type\":\"cancel\""), std::string::npos);
  // Ended jobs cannot be cancelled (409); unknown ones are 404.
  auto twice = c->Post(fmt::format("/api/jobs/{}/cancel", running).c_str(), "", "application/json");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 409) << twice->body;
  auto none = c->Post("/api/jobs/9999/cancel", "", "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404) << none->body;
  // A job in progress when the server stops: the server stops promptly, the job is queued.
  const int64_t third = submit(train);
  ASSERT_EQ(wait_for(third, "running", 60)["status"], "running");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto s0 = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count(), 10.0);
  auto ws = OpenWorkspace(dir_.path(), db_);
  ASSERT_TRUE(ws.ok());
  auto j = ws->db->GetJob(third);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->status, "queued") << j->message;
  EXPECT_EQ(j->attempts, 0);
  EXPECT_NE(j->message.find("stopped; queued again"), std::string::npos) << j->message;
}

// A user's own spec: checked (errors name the line), stored by content in the
// workspace, listed beside the zoo, and accepted as a training job's spec.
TEST_P(Server, UploadedSpecsAreCheckedStoredAndTrainable) {
  Start(0);
  auto c = Client();
  const std::string yaml =
      "name: my_net\ninput: [8, 8, 1]\nclasses: 3\nlayers:\n"
      "  - conv2d: {filters: 4, kernel: 3, activation: relu}\n"
      "  - flatten: {}\n  - dense: {units: 3}\n";
  auto r = c->Post("/api/specs", json{{"yaml", yaml}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const json made = Body(r);
  EXPECT_EQ(made["name"], "my_net");
  EXPECT_EQ(made["uploaded"], true);
  EXPECT_EQ(made["macs"], 8 * 8 * 4 * 9 + 8 * 8 * 4 * 3);
  const std::string file = made["file"];
  EXPECT_EQ(std::filesystem::path(file).parent_path(),
            std::filesystem::absolute(dir_.path() + "/specs"));
  std::ifstream f(file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f), {}), yaml);
  // The same text again is the same file; the list has the zoo and one upload.
  EXPECT_EQ(Body(c->Post("/api/specs", json{{"yaml", yaml}}.dump(), "application/json"))["file"],
            file);
  const json all = Body(c->Get("/api/specs"));
  int uploaded = 0, zoo = 0;
  for (const json& s : all) (s["uploaded"] ? uploaded : zoo)++;
  EXPECT_EQ(uploaded, 1);
  EXPECT_GE(zoo, 5);
  // Bad specs: a 400 naming the line and what is wrong; nothing is stored.
  const std::pair<std::string, std::string> bad[] = {
      {"name: x\ninput: [8, 8, 1]\nclasses: 3\nlayers:\n  - dense: {units: 4}\n", "uploaded spec"},
      {"name: x\ninput: [8, 8, 1]\nclasses: 3\nlayers:\n  - warp: {}\n", "uploaded spec:5"},
      {"name: [oops\n", "uploaded spec:"},
      {"name: ../evil\ninput: [4]\nclasses: 2\nlayers:\n  - dense: {units: 2}\n", "name '../evil'"},
  };
  for (const auto& [text, says] : bad) {
    auto b = c->Post("/api/specs", json{{"yaml", text}}.dump(), "application/json");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->status, 400) << text;
    EXPECT_NE(Body(b)["error"].get<std::string>().find(says), std::string::npos) << b->body;
  }
  EXPECT_EQ(Body(c->Get("/api/specs")).size(), all.size());
  // Jobs may name files under the workspace, examples/ and /usr/share/datasets only.
  auto out =
      c->Post("/api/jobs",
              json{{"kind", "train"}, {"params", {{"spec", "/etc/passwd"}, {"data", "x"}}}}.dump(),
              "application/json");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 400);
  EXPECT_NE(Body(out)["error"].get<std::string>().find("spec '/etc/passwd' is outside"),
            std::string::npos)
      << out->body;
  // A training job takes the uploaded file as its spec (checked at submission).
  auto j = c->Post("/api/jobs",
                   json{{"kind", "train"}, {"params", {{"spec", file}, {"data", "none"}}}}.dump(),
                   "application/json");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, 202) << j->body;
}

// A sweep's cells run as jobs of their own that any worker claims: the parent job runs
// the shared steps (data, training), queues one job per cell, takes part in them, and
// collects the table once every cell is done, with every step then cached.
// A sweep of one model and two squeeze configs on cortex-m4: two cells.
std::string TwoCellSweep(const std::string& name, const std::string& fm, int train_steps,
                         int samples) {
  return fmt::format(
      "name: {2}\n"
      "steps:\n"
      "  - name: data\n"
      "    component: dataset\n"
      "    with: {{dataset: fm, idx: [{0}t10k-images-idx3-ubyte.gz, "
      "{0}t10k-labels-idx1-ubyte.gz]}}\n"
      "sweep:\n"
      "  data: \"${{data.dataset}}\"\n"
      "  models: [{1}/examples/models/tiny_cnn.yaml]\n"
      "  train: {{epochs: 1, max_steps: {3}, batch: 32}}\n"
      "  squeeze: [{{name: minmax}}, {{name: mse, method: mse, samples: {4}}}]\n"
      "  targets: [cortex-m4]\n"
      "  samples: {4}\n",
      fm, TML_SOURCE_DIR, name, train_steps, samples);
}

TEST_P(Server, SweepCellsRunAsJobsAnyWorkerClaims) {
  const std::string fm = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(fm + "t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  // A lease that slow sanitizer runs cannot outlast: a parent that lost its lease would be
  // run again by the other worker (and queue its cells again).
  lease_ms_ = 60000;
  Start(2);
  auto c = Client();
  const std::string yaml = TwoCellSweep("cells", fm, 10, 40);
  auto r = c->Post("/api/jobs", json{{"kind", "pipeline"}, {"params", {{"yaml", yaml}}}}.dump(),
                   "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const int64_t id = Body(r)["id"];
  json job;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    job = Body(c->Get(fmt::format("/api/jobs/{}", id).c_str()));
  } while (job["status"] != "done" && job["status"] != "failed" &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(job["status"], "done") << job.dump(2);
  ASSERT_EQ(job["result"]["sweep"].size(), 2u) << job["result"].dump(2);
  for (const json& step : job["result"]["steps"])
    EXPECT_TRUE(step["cached"].get<bool>()) << step["step"] << " ran again when collecting";
  std::vector<json> cells;
  for (const json& j : Body(c->Get("/api/jobs?limit=100")))
    if (j["params"].value("parent", int64_t{0}) == id) cells.push_back(j);
  ASSERT_EQ(cells.size(), 2u);
  std::set<std::string> measured;
  for (const json& cell : cells) {
    EXPECT_EQ(cell["status"], "done") << cell.dump(2);
    EXPECT_EQ(cell["kind"], "pipeline");
    for (const json& step : cell["result"]["steps"])
      if (!step["cached"].get<bool>()) measured.insert(step["step"].get<std::string>());
  }
  // Each cell computed its own squeeze, evaluation and firmware; the shared training
  // ran once, in the parent, before the cells.
  for (const char* step : {"tiny_cnn/minmax/int8", "tiny_cnn/mse/int8", "tiny_cnn/minmax/cortex-m4",
                           "tiny_cnn/mse/cortex-m4"})
    EXPECT_TRUE(measured.count(step)) << step << " was not computed by a cell job";
  EXPECT_FALSE(measured.count("tiny_cnn/train"));
}

// A sweep job that runs again (its worker's lease expired) adopts the cell jobs it
// queued the first time instead of queuing them twice.
TEST_P(Server, ARerunSweepAdoptsTheCellJobsItQueuedBefore) {
  const std::string fm = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(fm + "t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  std::filesystem::create_directories(dir_.path());
  auto ws = OpenWorkspace(dir_.path(), db_);
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  const std::string yaml = TwoCellSweep("adopt", fm, 5, 20);
  auto spec = ParsePipeline(yaml, "adopt.yaml");
  ASSERT_TRUE(spec.ok() && spec->sweep) << spec.status().message();
  const auto cells = SweepCellSteps(*spec->sweep);
  ASSERT_EQ(cells.size(), 2u);
  auto parent = ws->db->EnqueueJob("pipeline", json{{"yaml", yaml}}.dump(), 1);
  ASSERT_TRUE(parent.ok());
  // What the parent's first run left behind: its first cell, queued.
  auto earlier = ws->db->EnqueueJob(
      "pipeline", json{{"yaml", yaml}, {"only", cells[0]}, {"parent", *parent}}.dump(), 2);
  ASSERT_TRUE(earlier.ok());
  WorkerOptions o;
  o.name = "adopting-worker";
  const std::string root = dir_.path(), db = db_;
  StoreOpener open = [root, db]() -> Result<std::unique_ptr<MetaStore>> {
    TML_ASSIGN_OR_RETURN(Workspace w, OpenWorkspace(root, db));
    return std::move(w.db);
  };
  for (int k = 0; k < 4; ++k) {  // the parent runs the cells nobody else took
    auto ran = RunOneJob(*ws, open, o);
    ASSERT_TRUE(ran.ok()) << ran.status().message();
    if (!*ran) break;
  }
  auto done = ws->db->GetJob(*parent);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, "done") << done->message;
  auto jobs = ws->db->ListJobs("", 100);
  ASSERT_TRUE(jobs.ok());
  std::vector<int64_t> children;
  for (const JobRecord& j : *jobs) {
    const json p = json::parse(j.params);
    if (p.value("parent", int64_t{0}) == *parent) {
      children.push_back(j.id);
      EXPECT_EQ(j.status, "done") << j.id << ": " << j.message;
    }
  }
  EXPECT_EQ(children.size(), cells.size()) << "a cell was queued twice";
  EXPECT_NE(std::find(children.begin(), children.end(), *earlier), children.end());
}

// Each open event stream holds an HTTP thread: past max_streams a new one gets a 503
// while ordinary requests keep being served, and a stream that ends frees its place.
TEST_P(Server, EventStreamsAreBoundedAndRequestsKeepBeingServed) {
  max_streams_ = 2;
  Start(0);  // no worker: the job stays queued and its streams stay open
  auto c = Client();
  int64_t id = 0;
  ASSERT_NO_FATAL_FAILURE(SubmitImport(*c, "/usr/share/datasets/fashion-mnist/", &id));
  const std::string path = fmt::format("/api/jobs/{}/stream", id);
  std::atomic<int> opened{0};
  std::vector<std::thread> streams;
  for (int i = 0; i < 2; ++i)
    streams.emplace_back([&] {
      auto sc = Client();
      sc->Get(path.c_str(), [&](const char*, size_t) {
        ++opened;  // the first frame: the job's queued event
        return true;
      });
    });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (opened < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(opened, 2);
  auto third = c->Get(path.c_str());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 503) << third->body;
  EXPECT_NE(third->body.find("2 event streams are open"), std::string::npos) << third->body;
  auto list = c->Get("/api/jobs");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  // Cancelling the job ends both streams; then a stream is accepted again.
  ASSERT_EQ(c->Post(fmt::format("/api/jobs/{}/cancel", id).c_str(), "", "application/json")->status,
            200);
  for (std::thread& t : streams) t.join();
  int status = 0;
  std::string body;
  for (int i = 0; i < 100 && status != 200; ++i) {  // a slot is freed as its response ends
    auto again = c->Get(path.c_str());
    ASSERT_TRUE(again);
    status = again->status;
    body = again->body;
    if (status == 503) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("event: end"), std::string::npos);
}

// A part of a pipeline as a job (what a sweep queues for each cell): "only" names steps,
// which run with what they read; bad parts are refused when submitted.
TEST(JobSpec, APipelineJobCanRunAPartOfIt) {
  const std::string kSweep =
      "name: s\nsteps:\n  - name: data\n    component: dataset\n"
      "    with: {dataset: d, idx: [a.gz, b.gz]}\n"
      "sweep:\n  data: \"${data.dataset}\"\n  models: [m/a.yaml]\n"
      "  squeeze: [{name: int8}]\n  targets: [cortex-m4]\n";
  const std::vector<std::string> cell = {"a/float", "a/int8/int8-eval", "a/int8/cortex-m4"};
  const nlohmann::json job = {{"yaml", kSweep}, {"only", cell}, {"parent", 4}};
  auto j = JobPipeline("pipeline", job, 5);
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(j->steps.size(), 6u);  // data, a/train, a/float, a/int8/{int8,int8-eval,cortex-m4}
  EXPECT_FALSE(j->sweep);
  auto whole = JobPipeline("pipeline", {{"yaml", kSweep}}, 5);
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->sweep);
  // Bad parts are refused with what is wrong.
  const std::pair<nlohmann::json, std::string> bad[] = {
      {{{"yaml", kSweep}, {"only", {"a/nope"}}}, "job 5: only: no step 'a/nope' in pipeline 's'"},
      {{{"yaml", kSweep}, {"only", nlohmann::json::array()}}, "\"only\": [STEP, ...]"},
      {{{"yaml", kSweep}, {"only", {1}}}, "\"only\": [STEP, ...]"},
      {{{"yaml", kSweep}, {"parent", "x"}}, "\"parent\": JOB"},
      {{{"yaml", kSweep}, {"colour", 1}}, "a pipeline job takes"}};
  for (const auto& [params, says] : bad) {
    auto r = JobPipeline("pipeline", params, 5);
    ASSERT_FALSE(r.ok()) << params.dump();
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
  }
}

// The fleet's routes over what a control plane would have stored: the registry with a
// device's version history, its telemetry for the live charts, a rollout paused,
// resumed, halted and rolled back, drift against the rollout's reference, alerts; and
// their errors.
TEST_P(Server, FleetRoutesShowDevicesTelemetryRolloutsAndDrift) {
  Start(0);
  {
    auto ws = OpenWorkspace(dir_.path(), db_);
    ASSERT_TRUE(ws.ok());
    MetaStore& db = *ws->db;
    for (const char* id : {"m4-1", "m4-2"}) {
      ASSERT_TRUE(db.PutDevice({id, "gw1", R"({"core":"cortex-m4","slots":[]})", {}, true}).ok());
      ASSERT_TRUE(db.SetDeviceGroups(id, {"hall"}).ok());
    }
    ASSERT_TRUE(db.AddDeployment({0, "m4-1", "model:a", "package:a", 1, "active", "", 0, 0}).ok());
    ASSERT_TRUE(db.AddDeployment({0, "m4-1", "model:b", "package:b", 2, "active", "", 0, 0}).ok());
    const int64_t now = NowMs();
    std::vector<TelemetryRecord> raw;
    for (int i = 0; i < 40; ++i)
      raw.push_back({0, "m4-1", fmt::format("msg{}", i), i % 2 ? "result" : "telemetry", 2,
                     i % 4 == 0 ? 1 : 0, 0.9, 1000, now - 1000, now, "{}"});
    for (int i = 0; i < 3; ++i)  // keywords a listening device heard
      raw.push_back({0, "m4-1", fmt::format("heard{}", i), "detection", 2, 4 + i, 0.7, 0,
                     now - 900 + i, now, R"({"frame":59})"});
    ASSERT_TRUE(InsertTelemetry(db, raw).ok());
    TelemetryMinute m;
    m.device = "m4-1";
    m.minute_ms = now / 60000 * 60000;
    m.model_version = 2;
    m.inferences = 40;
    m.confidence_sum = 36;
    m.classes = {30, 10};
    m.confidences = std::vector<int64_t>(10, 0);
    m.confidences[9] = 40;
    ASSERT_TRUE(PutTelemetryMinutes(db, {m}).ok());
    const json plan = {{"version", 2},
                       {"stages", {1, 2}},
                       {"reference",
                        {{"data", "kws@1@test"},
                         {"predicted", {10, 30}},
                         {"confidence_bins", m.confidences},
                         {"confidence_mean", 0.9}}}};
    RolloutRecord r;
    r.group = "hall";
    r.model = "v2.onnx";
    r.plan = plan.dump();
    r.message = "stage 1 of 2";
    std::vector<RolloutDeviceRecord> members(2);
    members[0].device = "m4-1";
    members[1].device = "m4-2";
    members[1].stage = 1;
    ASSERT_TRUE(AddRollout(db, r, members).ok());
    ASSERT_TRUE(AddAlert(db, {0, "drift", "device:m4-1", "drifts", "{}", 0}).ok());
  }
  auto c = Client();
  const json devices = Body(c->Get("/api/devices?group=hall"));
  ASSERT_EQ(devices.size(), 2u) << devices.dump();
  EXPECT_EQ(devices[0]["capabilities"]["core"], "cortex-m4");
  EXPECT_TRUE(devices[0]["active"].is_null());  // no model in its HELLO
  const json one = Body(c->Get("/api/devices/m4-1"));
  ASSERT_EQ(one["deployments"].size(), 2u) << one.dump();
  EXPECT_EQ(one["deployments"][0]["version"], 2);  // newest first
  EXPECT_EQ(c->Get("/api/devices/nobody")->status, 404);
  const json tel = Body(c->Get("/api/devices/m4-1/telemetry?since_s=600&recent=5"));
  ASSERT_EQ(tel["minutes"].size(), 1u) << tel.dump();
  EXPECT_EQ(tel["minutes"][0]["inferences"], 40);
  EXPECT_EQ(tel["recent"].size(), 5u);
  for (const json& r : tel["recent"]) EXPECT_NE(r["kind"], "detection") << r.dump();
  ASSERT_EQ(tel["detections"].size(), 3u) << tel.dump();
  EXPECT_EQ(tel["detections"][0]["top_class"], 6);  // newest first
  EXPECT_EQ(tel["detections"][0]["kind"], "detection");
  EXPECT_EQ(c->Get("/api/devices/m4-1/telemetry?since_s=-4")->status, 400);
  EXPECT_EQ(c->Get("/api/devices/nobody/telemetry")->status, 404);

  const json list = Body(c->Get("/api/rollouts"));
  ASSERT_EQ(list.size(), 1u);
  const int64_t id = list[0]["id"];
  EXPECT_FALSE(list[0].contains("devices"));
  const std::string base = fmt::format("/api/rollouts/{}", id);
  EXPECT_EQ(Body(c->Get(base.c_str()))["devices"].size(), 2u);
  const auto act = [&](const std::string& a) { return c->Post((base + "/" + a).c_str(), "", ""); };
  auto paused = act("pause");
  ASSERT_EQ(paused->status, 200) << paused->body;
  EXPECT_EQ(Body(paused)["status"], "paused");
  EXPECT_EQ(act("pause")->status, 409);  // not running
  EXPECT_EQ(Body(act("resume"))["status"], "running");
  EXPECT_EQ(Body(act("halt"))["status"], "halted");
  EXPECT_EQ(Body(act("rollback"))["status"], "rolling_back");
  EXPECT_EQ(act("explode")->status, 404);
  EXPECT_EQ(c->Post("/api/rollouts/99/pause", "", "")->status, 404);
  EXPECT_EQ(c->Post("/api/rollouts/x/pause", "", "")->status, 400);

  // The live answers (class 0: 30, class 1: 10) against the reference's 10 / 30.
  const json drift = Body(c->Get(fmt::format("/api/drift?rollout={}&since_s=600", id).c_str()));
  ASSERT_TRUE(drift.contains("devices")) << drift.dump();
  EXPECT_EQ(drift["devices"][0]["subject"], "device:m4-1");
  EXPECT_TRUE(drift["devices"][0]["drift"]);
  EXPECT_GT(drift["devices"][0]["psi_classes"].get<double>(), 0.25);
  EXPECT_FALSE(drift["devices"][1]["judged"]);        // m4-2 said nothing
  EXPECT_EQ(Body(c->Get("/api/alerts")).size(), 1u);  // a look records no alert
  EXPECT_EQ(c->Get("/api/drift?group=hall")->status, 400);
  EXPECT_EQ(c->Get("/api/drift?rollout=1&threshold=abc")->status, 400);

  // Creating: a model outside the server's directories, unknown artifacts, bad plans.
  const auto create = [&](const json& b) {
    return c->Post("/api/rollouts", b.dump(), "application/json");
  };
  auto outside = create({{"model", "/etc/passwd"}, {"group", "hall"}});
  EXPECT_EQ(outside->status, 400) << outside->body;
  EXPECT_NE(outside->body.find("not a file under"), std::string::npos) << outside->body;
  EXPECT_EQ(create({{"model", "model:nothing"}, {"group", "hall"}})->status, 404);
  EXPECT_EQ(create({{"model", "x"}, {"group", "../hall"}})->status, 400);
  EXPECT_EQ(create({{"model", "x"}, {"group", "hall"}, {"shadow", "yes"}})->status, 400);
  const std::string file = dir_.path() + "/v3.onnx";
  std::ofstream(file) << "not a model";
  auto stages = create({{"model", file}, {"group", "hall"}, {"stages", "10,x"}});
  EXPECT_EQ(stages->status, 400);
  EXPECT_NE(stages->body.find("stages '10,x'"), std::string::npos) << stages->body;
  auto halt = create({{"model", file}, {"group", "hall"}, {"halt_on", "latency"}});
  EXPECT_EQ(halt->status, 400);
  auto busy = create({{"model", file}, {"group", "hall"}});  // m4-1 is rolling back
  EXPECT_EQ(busy->status, 409) << busy->body;
}

INSTANTIATE_TEST_SUITE_P(Backends, Server, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tml
