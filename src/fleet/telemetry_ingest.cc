#include "fleet/telemetry_ingest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "core/clock.h"
#include "core/sha256.h"
#include "store/telemetry_store.h"

namespace tml {

using nlohmann::json;

namespace {

constexpr int64_t kMaxClass = 4096;         // a class index above is not counted per class
constexpr size_t kMaxMessageBytes = 16384;  // a bigger message is not telemetry
constexpr size_t kLatencyBuckets = 10001;   // 1 ms each; the last: 10 s and more

// body[key] as a number, if it is one.
template <typename T>
bool Num(const json& body, const char* key, T* out) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_number()) return false;
  *out = it->get<T>();
  return true;
}

}  // namespace

struct TelemetryIngest::State {
  IngestOptions opt;
  std::unique_ptr<MetaStore> db;

  struct Item {
    std::string device, leaf;
    json body;
    int64_t arrived_ms = 0;  // handed to the ingest (the MQTT thread)
  };
  mutable std::mutex mu;
  std::condition_variable cv, written_cv;
  std::deque<Item> queue;
  uint64_t added = 0, consumed = 0;  // items handed in; items gone (written, ignored, dropped)
  bool stopping = false, flush_now = false;
  Status last_error;
  IngestStats stats;
  std::vector<int64_t> latency = std::vector<int64_t>(kLatencyBuckets, 0);
  std::vector<int64_t> store_latency = std::vector<int64_t>(kLatencyBuckets, 0);
  std::thread writer;

  // The writer's own: per device, what its last message said (to see resets and new
  // errors in counters), the minutes being filled, and how many raw records it has.
  struct Tracker {
    int64_t boots = -1, errors = -1, version = 0;
  };
  using MinuteKey = std::tuple<std::string, int64_t, int64_t>;
  std::map<std::string, Tracker> trackers;
  std::map<MinuteKey, TelemetryMinute> minutes;
  std::map<std::string, int64_t> raw_counts;

  void Run() {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      // Group commit: a batch starts once messages wait and the last one is committed
      // (what arrives while a batch is written is the next batch), gathering for up to
      // flush_ms after the first; a full batch or a flush starts at once.
      cv.wait(l, [&] { return stopping || flush_now || !queue.empty(); });
      if (opt.flush_ms > 0 && !stopping && !flush_now && queue.size() < opt.batch_max)
        cv.wait_for(l, std::chrono::milliseconds(opt.flush_ms),
                    [&] { return stopping || flush_now || queue.size() >= opt.batch_max; });
      flush_now = false;
      if (queue.empty()) {
        if (stopping) return;
        continue;
      }
      const size_t n = std::min(queue.size(), opt.batch_max);
      std::vector<Item> batch(std::make_move_iterator(queue.begin()),
                              std::make_move_iterator(queue.begin() + static_cast<long>(n)));
      queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
      l.unlock();
      IngestStats delta;
      std::vector<int64_t> latencies, store_latencies;
      Status st = Write(batch, &delta, &latencies, &store_latencies);
      l.lock();
      if (!st.ok()) {
        // Kept for the next attempt, in order (nothing was committed).
        ++stats.write_errors;
        last_error = st;
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue.push_front(std::move(*it));
        DropOverflow();
        if (stopping) return;
        cv.wait_for(l, std::chrono::milliseconds(std::max(opt.flush_ms, 200)),
                    [&] { return stopping; });
        continue;
      }
      last_error = Status::Ok();
      stats.stored += delta.stored;
      stats.duplicates += delta.duplicates;
      stats.ignored += delta.ignored;
      stats.pruned += delta.pruned;
      ++stats.batches;
      for (int64_t ms : latencies)
        ++latency[static_cast<size_t>(std::clamp<int64_t>(ms, 0, kLatencyBuckets - 1))];
      for (int64_t ms : store_latencies)
        ++store_latency[static_cast<size_t>(std::clamp<int64_t>(ms, 0, kLatencyBuckets - 1))];
      consumed += n;
      written_cv.notify_all();
    }
  }

  void DropOverflow() {
    while (queue.size() > opt.queue_max) {
      queue.pop_front();
      ++stats.dropped;
      ++consumed;
    }
  }

  // A message as a raw record; false when it is not telemetry (deploy progress) or is
  // malformed.
  static bool ToRecord(const Item& it, TelemetryRecord* r) {
    const json& b = it.body;
    r->device = it.device;
    if (it.leaf == "result" || it.leaf == "telemetry" || it.leaf == "shadow" ||
        it.leaf == "detection") {
      r->kind = it.leaf;
      if (!Num(b, "model_version", &r->model_version) || !Num(b, "class", &r->top_class) ||
          !Num(b, "confidence", &r->confidence))
        return false;
      Num(b, "ticks", &r->ticks);
    } else if (it.leaf == "events") {
      // Outcomes only: progress events carry no "ok".
      if (!b.contains("ok") || !b["ok"].is_boolean() || !b.contains("command") ||
          !b["command"].is_string())
        return false;
      r->kind = "event";
      Num(b, "model_version", &r->model_version);
    } else {
      return false;
    }
    json stored = b;
    stored.erase("output");  // an inference's output bytes are the device's business
    r->data = stored.dump();
    if (r->data.size() > kMaxMessageBytes) return false;
    const auto msg = b.find("msg");
    r->msg = msg != b.end() && msg->is_string() && !msg->get<std::string>().empty() &&
                     msg->get<std::string>().size() <= 128
                 ? msg->get<std::string>()
                 : "sha256:" + Sha256Hex(r->data.data(), r->data.size());
    Num(b, "sent_ms", &r->sent_ms);
    return true;
  }

  // One batch in one transaction: the raw records a message id had not stored, and the
  // minutes they fall in. The writer's caches change only once it committed.
  Status Write(const std::vector<Item>& batch, IngestStats* delta, std::vector<int64_t>* latencies,
               std::vector<int64_t>* store_latencies) {
    std::vector<TelemetryRecord> records;
    std::vector<int> record_of(batch.size(), -1);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].leaf == "hello") continue;
      TelemetryRecord r;
      if (!ToRecord(batch[i], &r)) {
        ++delta->ignored;
        continue;
      }
      record_of[i] = static_cast<int>(records.size());
      records.push_back(std::move(r));
    }
    const int64_t now = NowMs();
    for (TelemetryRecord& r : records) {
      r.stored_ms = now;
      if (r.sent_ms <= 0 || r.sent_ms > now + 600000) r.sent_ms = now;  // absent or absurd
    }
    Transaction tx(*db);
    TML_RETURN_IF_ERROR(tx.status());
    TML_ASSIGN_OR_RETURN(std::vector<bool> fresh, InsertTelemetry(*db, records));

    std::map<std::string, Tracker> t_trackers;
    std::map<MinuteKey, TelemetryMinute> t_minutes;
    const auto tracker = [&](const std::string& device) -> Tracker& {
      auto it = t_trackers.find(device);
      if (it != t_trackers.end()) return it->second;
      const auto known = trackers.find(device);
      return t_trackers[device] = known != trackers.end() ? known->second : Tracker{};
    };
    // The stored minutes these records fall in that the cache does not hold (a restart,
    // a new minute, a late message): one query per minute, not one per device.
    std::map<MinuteKey, TelemetryMinute> stored_minutes;
    std::set<std::pair<std::string, int64_t>> looked_up;  // (device, minute) read from the store
    {
      std::map<int64_t, std::set<std::string>> wanted;
      for (size_t k = 0; k < records.size(); ++k) {
        const TelemetryRecord& r = records[k];
        const int64_t m = r.sent_ms - r.sent_ms % 60000;
        if (fresh[k] && !minutes.count({r.device, m, r.model_version})) wanted[m].insert(r.device);
      }
      for (const auto& [m, devices] : wanted) {
        TML_ASSIGN_OR_RETURN(
            std::vector<TelemetryMinute> got,
            GetTelemetryMinutes(*db, std::vector<std::string>(devices.begin(), devices.end()), m));
        for (TelemetryMinute& t : got)
          stored_minutes[{t.device, t.minute_ms, t.model_version}] = std::move(t);
        for (const std::string& d : devices) looked_up.emplace(d, m);
      }
    }
    Status load = Status::Ok();
    const auto minute = [&](const std::string& device, int64_t t_ms,
                            int64_t version) -> TelemetryMinute& {
      const MinuteKey key{device, t_ms - t_ms % 60000, version};
      auto it = t_minutes.find(key);
      if (it != t_minutes.end()) return it->second;
      TelemetryMinute m;
      const auto s = stored_minutes.find(key);
      if (const auto c = minutes.find(key); c != minutes.end()) {
        m = c->second;
      } else if (s != stored_minutes.end()) {
        m = s->second;
      } else if (auto got = looked_up.count({device, std::get<1>(key)})
                                ? Result<std::optional<TelemetryMinute>>(std::nullopt)
                                : GetTelemetryMinute(*db, device, std::get<1>(key), version);
                 got.ok() && got->has_value()) {
        m = **got;
      } else {
        if (!got.ok()) load = got.status();
        m.device = device;
        m.minute_ms = std::get<1>(key);
        m.model_version = version;
        m.confidences.assign(kConfidenceBins, 0);
      }
      return t_minutes[key] = std::move(m);
    };

    for (size_t i = 0; i < batch.size(); ++i) {
      const Item& it = batch[i];
      if (it.leaf == "hello") {
        int64_t boots = -1;
        if (!Num(it.body, "boots", &boots)) continue;
        Tracker& tr = tracker(it.device);
        if (tr.boots >= 0 && boots > tr.boots)
          minute(it.device, now, tr.version).resets += boots - tr.boots;
        tr.boots = boots;
        continue;
      }
      if (record_of[i] < 0) continue;
      const TelemetryRecord& r = records[static_cast<size_t>(record_of[i])];
      if (!fresh[static_cast<size_t>(record_of[i])]) {
        ++delta->duplicates;
        continue;
      }
      ++delta->stored;
      latencies->push_back(r.stored_ms - r.sent_ms);
      store_latencies->push_back(r.stored_ms - it.arrived_ms);
      Tracker& tr = tracker(r.device);
      if (r.kind == "event") {
        if (r.model_version > 0) tr.version = r.model_version;
        if (!it.body["ok"].get<bool>()) ++minute(r.device, r.sent_ms, tr.version).errors;
        continue;
      }
      // A staged package's answers beside the active one: raw records for the rollout's
      // shadow judgement, not the device's inferences.
      // A keyword a listening device heard: a raw record; its inference is telemetry.
      if (r.kind == "shadow" || r.kind == "detection") continue;
      tr.version = r.model_version;
      TelemetryMinute& m = minute(r.device, r.sent_ms, r.model_version);
      ++m.inferences;
      m.confidence_sum += std::isfinite(r.confidence) ? r.confidence : 0.0;
      m.ticks_sum += r.ticks;
      m.ticks_max = std::max(m.ticks_max, r.ticks);
      if (r.top_class >= 0 && r.top_class < kMaxClass) {
        if (m.classes.size() <= static_cast<size_t>(r.top_class))
          m.classes.resize(static_cast<size_t>(r.top_class) + 1, 0);
        ++m.classes[static_cast<size_t>(r.top_class)];
      }
      if (m.confidences.size() < static_cast<size_t>(kConfidenceBins))
        m.confidences.resize(kConfidenceBins, 0);
      ++m.confidences[static_cast<size_t>(ConfidenceBin(r.confidence))];
      int64_t boots = -1, errors = -1;
      if (r.kind == "telemetry" && Num(it.body, "boots", &boots) &&
          Num(it.body, "errors", &errors)) {
        const bool restarted = tr.boots >= 0 && boots > tr.boots;
        if (restarted) m.resets += boots - tr.boots;
        // The error counter starts again at every boot.
        if (restarted)
          m.errors += errors;
        else if (tr.errors >= 0 && errors > tr.errors)
          m.errors += errors - tr.errors;
        tr.boots = boots;
        tr.errors = errors;
      }
    }
    TML_RETURN_IF_ERROR(load);
    std::vector<TelemetryMinute> touched;
    for (const auto& [key, m] : t_minutes) touched.push_back(m);
    TML_RETURN_IF_ERROR(PutTelemetryMinutes(*db, touched));
    TML_RETURN_IF_ERROR(tx.Commit());

    const int64_t committed = NowMs();
    for (int64_t& l : *latencies) l += committed - now;
    for (int64_t& l : *store_latencies) l += committed - now;
    for (auto& [d, t] : t_trackers) trackers[d] = t;
    int64_t newest = 0;
    for (auto& [key, m] : t_minutes) {
      newest = std::max(newest, std::get<1>(key));
      minutes[key] = std::move(m);
    }
    if (minutes.size() > 100000)  // a late message reads its minute from the store
      std::erase_if(minutes, [&](const auto& e) { return std::get<1>(e.first) < newest - 180000; });
    Prune(records, fresh, delta);
    return Status::Ok();
  }

  // The raw records of each device that grew past its bound (with some slack, so that
  // a prune is not a statement per message).
  void Prune(const std::vector<TelemetryRecord>& records, const std::vector<bool>& fresh,
             IngestStats* delta) {
    std::map<std::string, int64_t> added_now;
    for (size_t i = 0; i < records.size(); ++i)
      if (fresh[i]) ++added_now[records[i].device];
    // Devices first seen: counted in one query (their new records included).
    std::vector<std::string> unknown;
    for (const auto& [device, n] : added_now)
      if (!raw_counts.count(device)) unknown.push_back(device);
    if (!unknown.empty()) {
      auto counts = CountTelemetryOf(*db, unknown);
      if (!counts.ok()) return;  // counted when they send again
      for (const std::string& d : unknown) raw_counts[d] = counts->count(d) ? counts->at(d) : 0;
      for (const std::string& d : unknown) added_now[d] = 0;
    }
    for (const auto& [device, n] : added_now) {
      auto it = raw_counts.find(device);
      it->second += n;
      if (it->second <= opt.raw_per_device + opt.raw_per_device / 10) continue;
      auto pruned = PruneTelemetry(*db, device, opt.raw_per_device);
      if (!pruned.ok()) continue;  // tried again when it grows further
      delta->pruned += *pruned;
      it->second = opt.raw_per_device;
    }
  }
};

Result<std::unique_ptr<TelemetryIngest>> TelemetryIngest::Start(std::unique_ptr<MetaStore> db,
                                                                const IngestOptions& o) {
  if (!db) return Status::Error("telemetry ingest: no store");
  if (o.batch_max == 0 || o.flush_ms < 0 || o.raw_per_device <= 0)
    return Status::Error(
        "telemetry ingest: batch_max and raw_per_device must be > 0, flush_ms not negative");
  auto in = std::unique_ptr<TelemetryIngest>(new TelemetryIngest());
  in->s_ = std::make_unique<State>();
  in->s_->opt = o;
  in->s_->db = std::move(db);
  in->s_->writer = std::thread([s = in->s_.get()] { s->Run(); });
  return in;
}

TelemetryIngest::~TelemetryIngest() {
  if (!s_) return;
  {
    std::lock_guard<std::mutex> l(s_->mu);
    s_->stopping = true;
    s_->cv.notify_all();
  }
  s_->writer.join();
}

void TelemetryIngest::Add(const std::string& device, const std::string& leaf, const json& body) {
  std::lock_guard<std::mutex> l(s_->mu);
  const bool was_empty = s_->queue.empty();
  s_->queue.push_back({device, leaf, body, NowMs()});
  ++s_->added;
  ++s_->stats.received;
  s_->DropOverflow();
  if (was_empty || s_->queue.size() >= s_->opt.batch_max) s_->cv.notify_all();
}

std::function<void(const std::string&, const std::string&, const json&)> TelemetryIngest::Sink() {
  return [this](const std::string& d, const std::string& leaf, const json& b) { Add(d, leaf, b); };
}

Status TelemetryIngest::Flush(int timeout_ms) {
  std::unique_lock<std::mutex> l(s_->mu);
  const uint64_t target = s_->added;
  s_->flush_now = true;
  s_->cv.notify_all();
  if (!s_->written_cv.wait_for(l, std::chrono::milliseconds(timeout_ms),
                               [&] { return s_->consumed >= target; }))
    return s_->last_error.ok()
               ? Status::Unavailable("telemetry ingest: {} messages not written in {} ms",
                                     target - s_->consumed, timeout_ms)
               : s_->last_error.Wrap("telemetry ingest");
  return Status::Ok();
}

IngestStats TelemetryIngest::stats() const {
  std::lock_guard<std::mutex> l(s_->mu);
  IngestStats out = s_->stats;
  // The q-quantile of a histogram of 1 ms buckets (0 when it is empty).
  const auto quantile = [](const std::vector<int64_t>& h, double q) {
    int64_t total = 0, seen = 0;
    for (int64_t c : h) total += c;
    if (total == 0) return 0.0;
    const auto want = static_cast<int64_t>(q * static_cast<double>(total - 1)) + 1;
    for (size_t i = 0; i < h.size(); ++i)
      if ((seen += h[i]) >= want) return static_cast<double>(i);
    return 0.0;
  };
  out.latency_p50_ms = quantile(s_->latency, 0.5);
  out.latency_p99_ms = quantile(s_->latency, 0.99);
  out.latency_max_ms = quantile(s_->latency, 1.0);
  out.store_p50_ms = quantile(s_->store_latency, 0.5);
  out.store_p99_ms = quantile(s_->store_latency, 0.99);
  return out;
}

}  // namespace tml
