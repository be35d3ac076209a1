// The control plane under concurrent load, on SQLite and on PostgreSQL: C clients
// send API requests as fast as they can (reads of datasets, jobs and runs, one in ten
// a write that creates a dataset) while S browsers hold event streams open on jobs; a
// writer in another connection appends an event every 20 ms to the job the streams
// follow. Prints requests per second, p50 and p99 request latency, and p50 and p99
// delivery latency of the events (from the write to the stream's client).
//
//   build/bench/tml_api_bench [SECONDS]   (default 5 per configuration)
#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "core/scratch_dir.h"
#include "pg_server.h"
#include "server/http_server.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Figures {
  double rps = 0, p50_ms = 0, p99_ms = 0, event_p50_ms = 0, event_p99_ms = 0;
  int64_t requests = 0, errors = 0, events = 0;
};

tml::Result<Figures> Measure(const std::string& backend, int clients, int subscribers,
                             double seconds) {
  std::string skip;
  const std::string db = tml::TestDatabase(backend, &skip);
  if (!skip.empty()) return tml::Status::Unavailable("{}", skip);
  tml::ScratchDir dir("", "api-bench");
  std::filesystem::create_directories(dir.path());
  const std::string root = dir.path();
  tml::ServeOptions o;
  o.port = 0;
  o.auth = false;
  o.workers = 0;
  tml::ApiServer server([root, db] { return tml::OpenWorkspace(root, db); }, o);
  TML_RETURN_IF_ERROR(server.Start());
  httplib::Client setup("127.0.0.1", server.port());
  for (int i = 0; i < 20; ++i)
    setup.Post("/api/datasets", json{{"name", fmt::format("seed{}", i)}}.dump(),
               "application/json");
  const json job = {{"kind", "dataset"},
                    {"params",
                     {{"dataset", "fm"},
                      {"idx",
                       {"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                        "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"}}}}};
  auto queued = setup.Post("/api/jobs", job.dump(), "application/json");
  if (!queued || queued->status != 202) return tml::Status::Internal("cannot queue a job");
  const int64_t followed = json::parse(queued->body)["id"];

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> latencies, deliveries;
  int64_t errors = 0;
  // Event streams: each parses the stamp the writer put in every event.
  std::vector<std::thread> streams;
  std::atomic<int> open{0};
  for (int s = 0; s < subscribers; ++s)
    streams.emplace_back([&] {
      httplib::Client c("127.0.0.1", server.port());
      c.set_read_timeout(120, 0);
      std::string buffer;
      bool counted = false;
      c.Get(fmt::format("/api/jobs/{}/stream", followed).c_str(),
            [&](const char* data, size_t n) {
              if (!counted) ++open, counted = true;
              buffer.append(data, n);
              for (size_t at; (at = buffer.find("\n\n")) != std::string::npos;) {
                const std::string frame = buffer.substr(0, at);
                buffer.erase(0, at + 2);
                const size_t d = frame.find("data: ");
                if (d == std::string::npos) continue;
                const json e = json::parse(frame.substr(d + 6), nullptr, false);
                if (e.is_object() && e["data"].contains("t_us")) {
                  const double ms =
                      static_cast<double>(NowUs() - e["data"]["t_us"].get<int64_t>()) / 1000.0;
                  std::lock_guard<std::mutex> l(mu);
                  deliveries.push_back(ms);
                }
              }
              return !stop;
            });
    });
  const auto ready = Clock::now() + std::chrono::seconds(30);
  while (open < subscribers && Clock::now() < ready)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // The writer: another connection, as a `tinymlaas worker` process would write.
  std::thread writer([&] {
    auto ws = tml::OpenWorkspace(root, db);
    if (!ws.ok()) return;
    while (!stop) {
      (void)ws->db->AddJobEvent(followed, json{{"type", "log"}, {"t_us", NowUs()}}.dump());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const char* reads[] = {"/api/datasets", "/api/jobs?limit=20", "/api/runs", "/api/datasets/seed3"};
  std::atomic<int64_t> made{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> load;
  for (int k = 0; k < clients; ++k)
    load.emplace_back([&, k] {
      httplib::Client c("127.0.0.1", server.port());
      std::vector<double> mine;
      int64_t bad = 0;
      for (int64_t i = 0; !stop; ++i) {
        const auto a = Clock::now();
        httplib::Result r =
            i % 10 == 9
                ? c.Post("/api/datasets",
                         json{{"name", fmt::format("c{}-{}", k, made++)}}.dump(), "application/json")
                : c.Get(reads[i % 4]);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
        if (!r || r->status >= 300) ++bad;
      }
      std::lock_guard<std::mutex> l(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      errors += bad;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& t : load) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  writer.join();
  server.Stop();  // ends the streams
  for (std::thread& t : streams) t.join();
  Figures f;
  f.requests = static_cast<int64_t>(latencies.size());
  f.errors = errors;
  f.rps = static_cast<double>(f.requests) / elapsed;
  f.p50_ms = Percentile(latencies, 0.50);
  f.p99_ms = Percentile(latencies, 0.99);
  f.events = static_cast<int64_t>(deliveries.size());
  f.event_p50_ms = Percentile(deliveries, 0.50);
  f.event_p99_ms = Percentile(deliveries, 0.99);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  fmt::print("{:<10} {:>7} {:>11} {:>9} {:>8} {:>8} {:>7} {:>8} {:>11} {:>11}\n", "backend",
             "clients", "subscribers", "req/s", "p50 ms", "p99 ms", "errors", "events",
             "event p50", "event p99");
  for (const char* backend : {"sqlite", "postgres"})
    for (const auto& [clients, subscribers] :
         std::vector<std::pair<int, int>>{{1, 0}, {8, 0}, {8, 16}, {32, 32}}) {
      auto f = Measure(backend, clients, subscribers, seconds);
      if (!f.ok()) {
        fmt::print("{:<10} skipped: {}\n", backend, f.status().message());
        break;
      }
      fmt::print("{:<10} {:>7} {:>11} {:>9.0f} {:>8.2f} {:>8.2f} {:>7} {:>8} {:>11.1f} {:>11.1f}\n",
                 backend, clients, subscribers, f->rps, f->p50_ms, f->p99_ms, f->errors, f->events,
                 f->event_p50_ms, f->event_p99_ms);
      std::fflush(stdout);
    }
  return 0;
}
