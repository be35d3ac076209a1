// Fleet operations in the metadata store (SQLite and PostgreSQL): the telemetry ingest
// (each message once, per-minute aggregates, resets and errors, raw records bounded,
// a restart that sees old messages again) and the rollout records.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "app/drift.h"
#include "app/rollout.h"
#include "core/distribution.h"
#include "data/dataset_store.h"
#include "fixtures.h"
#include "fleet/telemetry_ingest.h"
#include "pg_server.h"
#include "store/rollout_store.h"
#include "store/telemetry_store.h"

namespace tml {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FleetStore : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string skip;
    spec_ = TestDatabase(GetParam(), &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
    const std::string root = testing::WorkDir("fleet-store-" + GetParam());
    fs::remove_all(root);
    if (spec_.empty()) spec_ = "sqlite:" + root + "/meta.db";
    auto ws = OpenWorkspace(root, spec_);
    ASSERT_TRUE(ws.ok()) << ws.status().message();
    ws_ = std::make_unique<Workspace>(std::move(ws).value());
  }
  MetaStore& db() { return *ws_->db; }
  std::unique_ptr<TelemetryIngest> Ingest(IngestOptions o = {}) {
    auto conn = OpenStore(spec_);
    EXPECT_TRUE(conn.ok()) << conn.status().message();
    auto in = TelemetryIngest::Start(std::move(conn).value(), o);
    EXPECT_TRUE(in.ok()) << in.status().message();
    return std::move(in).value();
  }
  static json Telemetry(const std::string& msg, int64_t sent_ms, int version, int cls,
                        double confidence, int ticks, int boots, int errors) {
    return {{"device", "m4"},           {"msg", msg},   {"sent_ms", sent_ms},
            {"model_version", version}, {"class", cls}, {"confidence", confidence},
            {"ticks", ticks},           {"sample", 0},  {"boots", boots},
            {"errors", errors}};
  }
  std::string spec_;
  std::unique_ptr<Workspace> ws_;
};

// The start of a minute an hour ago (a message from the future is given the time it
// arrived).
const int64_t kMinute = [] {
  const int64_t t = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count() -
                    3600000;
  return t - t % 60000;
}();

TEST_P(FleetStore, TelemetryIsStoredOnceAndAggregatedPerMinute) {
  auto in = Ingest();
  in->Add("m4", "hello", {{"agent", "gw"}, {"boots", 3}});
  in->Add("m4", "telemetry", Telemetry("a-1", kMinute + 1000, 2, 1, 0.95, 1000, 3, 0));
  in->Add("m4", "telemetry", Telemetry("a-2", kMinute + 2000, 2, 1, 0.55, 3000, 3, 1));
  in->Add("m4", "telemetry", Telemetry("a-2", kMinute + 2000, 2, 1, 0.55, 3000, 3, 1));  // again
  in->Add("m4", "result",
          {{"msg", "a-3"},
           {"sent_ms", kMinute + 3000},
           {"model_version", 2},
           {"class", 0},
           {"confidence", 0.05},
           {"ticks", 2000},
           {"output", "00ff"}});
  // Deploy progress is not telemetry; a failed command is an error of the model it ran.
  in->Add("m4", "events", {{"msg", "a-4"}, {"command", "deploy"}, {"done", 0}, {"total", 9}});
  in->Add("m4", "events",
          {{"msg", "a-5"},
           {"sent_ms", kMinute + 4000},
           {"command", "infer"},
           {"ok", false},
           {"error", "input of the wrong size"}});
  in->Add("m4", "telemetry", {{"msg", "a-6"}, {"class", "one"}});  // malformed
  // The device restarted (boot 4): one reset; its error counter starts again.
  in->Add("m4", "telemetry", Telemetry("a-7", kMinute + 5000, 2, 1, 0.85, 1000, 4, 2));
  // The next minute, the next version.
  in->Add("m4", "telemetry", Telemetry("a-8", kMinute + 61000, 3, 2, 1.0, 500, 4, 2));
  // A staged package's answer beside the active model: kept raw, not an inference.
  json shadow = Telemetry("a-10", kMinute + 5500, 4, 0, 0.4, 900, 4, 2);
  shadow["active_version"] = 2;
  shadow["active_class"] = 1;
  shadow["active_confidence"] = 0.85;
  in->Add("m4", "shadow", shadow);
  // A keyword a listening device heard: kept raw; its inference came as telemetry.
  json heard = Telemetry("a-11", kMinute + 5600, 2, 3, 0.7, 0, 4, 2);
  heard["frame"] = 59;
  in->Add("m4", "detection", heard);
  ASSERT_TRUE(in->Flush(20000).ok());

  const IngestStats st = in->stats();
  EXPECT_EQ(st.received, 12);
  EXPECT_EQ(st.stored, 8);
  EXPECT_EQ(st.duplicates, 1);
  EXPECT_EQ(st.ignored, 2);
  EXPECT_EQ(CountTelemetry(db(), "m4").value(), 8);
  auto detections = RecentTelemetry(db(), "m4", "detection", 10);
  ASSERT_EQ(detections->size(), 1u);
  EXPECT_EQ((*detections)[0].top_class, 3);
  EXPECT_EQ(json::parse((*detections)[0].data)["frame"], 59);
  auto shadows = RecentTelemetry(db(), "m4", "shadow", 10);
  ASSERT_EQ(shadows->size(), 1u);
  EXPECT_EQ((*shadows)[0].model_version, 4);
  EXPECT_EQ(json::parse((*shadows)[0].data)["active_class"], 1);
  EXPECT_TRUE(FindTelemetryMinutes(db(), {"m4", "", 0, 0, 4})->empty());

  auto minutes = FindTelemetryMinutes(db(), {"m4", "", kMinute, kMinute + 120000});
  ASSERT_TRUE(minutes.ok()) << minutes.status().message();
  ASSERT_EQ(minutes->size(), 2u);
  const TelemetryMinute& a = (*minutes)[0];
  EXPECT_EQ(a.minute_ms, kMinute);
  EXPECT_EQ(a.model_version, 2);
  EXPECT_EQ(a.inferences, 4);
  EXPECT_NEAR(a.confidence_sum, 0.95 + 0.55 + 0.05 + 0.85, 1e-6);
  EXPECT_EQ(a.ticks_sum, 7000);
  EXPECT_EQ(a.ticks_max, 3000);
  EXPECT_EQ(a.classes, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(a.confidences, (std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 0, 1, 1}));
  EXPECT_EQ(a.resets, 1);
  EXPECT_EQ(a.errors, 1 + 1 + 2);  // the counter rose by 1, a failed command, 2 after the boot
  const TelemetryMinute& b = (*minutes)[1];
  EXPECT_EQ(b.model_version, 3);
  EXPECT_EQ(b.inferences, 1);
  EXPECT_EQ(b.confidences.back(), 1);
  EXPECT_EQ(b.errors, 0);

  // What is stored raw: the message without the output bytes, its id, its kind.
  auto raw = RecentTelemetry(db(), "m4", "result", 10);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 1u);
  EXPECT_EQ((*raw)[0].msg, "a-3");
  EXPECT_EQ((*raw)[0].top_class, 0);
  EXPECT_EQ((*raw)[0].sent_ms, kMinute + 3000);
  EXPECT_GE((*raw)[0].stored_ms, (*raw)[0].sent_ms);
  EXPECT_EQ(json::parse((*raw)[0].data).count("output"), 0u);

  // A control plane started again meets old messages again (a broker redelivering, an
  // agent's buffer): nothing is stored or counted twice.
  in.reset();
  auto again = Ingest();
  again->Add("m4", "telemetry", Telemetry("a-1", kMinute + 1000, 2, 1, 0.95, 1000, 3, 0));
  again->Add("m4", "telemetry", Telemetry("a-9", kMinute + 6000, 2, 0, 0.15, 1000, 4, 2));
  ASSERT_TRUE(again->Flush(20000).ok());
  EXPECT_EQ(again->stats().duplicates, 1);
  EXPECT_EQ(CountTelemetryOf(db(), {"m4", "nobody"}).value(),
            (std::map<std::string, int64_t>{{"m4", 9}}));
  EXPECT_EQ(CountTelemetry(db(), "").value(), 9);
  auto after = FindTelemetryMinutes(db(), {"m4", "", kMinute, kMinute + 59000});
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].inferences, 5);
  EXPECT_EQ((*after)[0].classes, (std::vector<int64_t>{2, 3}));
}

TEST_P(FleetStore, RawRecordsAreBoundedPerDeviceAndAggregatesKept) {
  IngestOptions o;
  o.raw_per_device = 20;
  o.batch_max = 7;  // many small batches
  auto in = Ingest(o);
  for (int i = 0; i < 100; ++i) {
    in->Add("m4", "telemetry",
            Telemetry("b-" + std::to_string(i), kMinute + i, 1, i % 3, 0.5, 10, 1, 0));
    in->Add("m7", "telemetry",
            Telemetry("b-" + std::to_string(i), kMinute + i, 1, 0, 0.5, 10, 1, 0));
  }
  ASSERT_TRUE(in->Flush(60000).ok());
  EXPECT_EQ(in->stats().stored, 200);  // one id on two devices is two messages
  EXPECT_LE(CountTelemetry(db(), "m4").value(), 22);
  EXPECT_GE(CountTelemetry(db(), "m4").value(), 20);
  EXPECT_GT(in->stats().pruned, 150);
  auto newest = RecentTelemetry(db(), "m4", "", 1);
  EXPECT_EQ((*newest)[0].msg, "b-99");
  auto m = FindTelemetryMinutes(db(), {"m4", "", kMinute, kMinute});
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].inferences, 100);
  EXPECT_EQ((*m)[0].classes, (std::vector<int64_t>{34, 33, 33}));
  // By group: only members.
  ASSERT_TRUE(db().PutDevice({"m7", "gw", "{}", {}, false, 0, 0}).ok());
  ASSERT_TRUE(db().SetDeviceGroups("m7", {"hall"}).ok());
  auto hall = FindTelemetryMinutes(db(), {"", "hall", kMinute, kMinute});
  ASSERT_EQ(hall->size(), 1u);
  EXPECT_EQ((*hall)[0].device, "m7");
}

TEST_P(FleetStore, RolloutsKeepTheirStateAndDevices) {
  RolloutRecord r;
  r.group = "hall";
  r.model = "kws.onnx";
  r.plan = R"({"stages":[25,100]})";
  std::vector<RolloutDeviceRecord> devices = {{0, "m4-1", 0, "pending", "package:a"},
                                              {0, "m4-2", 1, "pending", "package:a"}};
  auto id = AddRollout(db(), r, devices);
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto got = GetRollout(db(), *id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "running");
  EXPECT_EQ(got->plan, r.plan);
  EXPECT_GT(got->created_ms, 0);

  // A conditional change: pause only what runs.
  EXPECT_TRUE(UpdateRollout(db(), *id, {"running"}, "paused", 0, "paused by ana").value());
  EXPECT_FALSE(UpdateRollout(db(), *id, {"running"}, "halted", 0, "").value());
  EXPECT_EQ(GetRollout(db(), *id)->status, "paused");
  EXPECT_EQ(GetRollout(db(), *id)->message, "paused by ana");
  EXPECT_FALSE(UpdateRollout(db(), *id, {}, "exploded", 0, "").ok());  // CHECK
  EXPECT_FALSE(UpdateRollout(db(), *id + 100, {}, "done", 0, "").ok());
  EXPECT_EQ(ListRollouts(db(), "paused")->size(), 1u);
  EXPECT_TRUE(ListRollouts(db(), "running")->empty());

  auto ds = RolloutDevices(db(), *id);
  ASSERT_EQ(ds->size(), 2u);
  RolloutDeviceRecord d = (*ds)[1];
  EXPECT_EQ(d.device, "m4-2");
  // A shadow stage, then the install.
  d.status = "shadowing";
  d.shadow = R"({"since_ms":5})";
  ASSERT_TRUE(UpdateRolloutDevice(db(), d).ok());
  EXPECT_EQ(RolloutDevices(db(), *id)->at(1).status, "shadowing");
  EXPECT_EQ(RolloutDevices(db(), *id)->at(1).shadow, d.shadow);
  d.status = "installed";
  d.deployment = 7;
  d.installed_ms = 123;
  ASSERT_TRUE(UpdateRolloutDevice(db(), d).ok());
  auto ds2 = RolloutDevices(db(), *id);
  EXPECT_EQ((*ds2)[1].status, "installed");
  EXPECT_EQ((*ds2)[1].deployment, 7);
  EXPECT_EQ((*ds2)[1].installed_ms, 123);
  EXPECT_EQ((*ds2)[1].shadow, R"({"since_ms":5})");
  d.status = "exploded";
  EXPECT_FALSE(UpdateRolloutDevice(db(), d).ok());  // CHECK
  d.status = "installed";
  d.device = "nope";
  EXPECT_FALSE(UpdateRolloutDevice(db(), d).ok());
}

// --halt-on: each key into its condition; bad keys and values named.
TEST(Rollout, HaltOnConditionsParse) {
  RolloutConditions c;
  ASSERT_TRUE(ParseHaltOn("failed=20,latency=1.5,disagreement=25,confidence-shift=0.1,"
                          "shadow-samples=40",
                          &c)
                  .ok());
  EXPECT_DOUBLE_EQ(c.max_failed_share, 0.2);
  EXPECT_DOUBLE_EQ(c.max_latency_ratio, 1.5);
  EXPECT_DOUBLE_EQ(c.min_agreement, 0.75);
  EXPECT_DOUBLE_EQ(c.max_confidence_shift, 0.1);
  EXPECT_EQ(c.shadow_samples, 40);
  EXPECT_EQ(c.max_resets, 0);  // untouched
  for (const char* bad : {"disagreement=120", "colour=3", "latency", "resets=-1", "failed=x"}) {
    const Status s = ParseHaltOn(bad, &c);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find(bad), std::string::npos) << s.message();
  }
}

// Drift: the population stability index of live histograms against the evaluation's.
TEST(Distribution, PopulationStabilityIndex) {
  EXPECT_DOUBLE_EQ(PopulationStability({10, 20, 30}, {1, 2, 3}), 0.0);  // same shares
  EXPECT_EQ(PopulationStability({}, {1, 2}), 0.0);
  // Shares (0.5, 0.5) against (0.9, 0.1): 0.4 ln 1.8 + (-0.4) ln 0.2.
  EXPECT_NEAR(PopulationStability({50, 50}, {90, 10}), 0.4 * std::log(1.8) - 0.4 * std::log(0.2),
              1e-12);
  // An empty bin on one side counts as half an observation: finite, and large.
  const double psi = PopulationStability({100, 0}, {0, 100});
  EXPECT_TRUE(std::isfinite(psi));
  EXPECT_GT(psi, 5.0);
  EXPECT_EQ(ConfidenceBin(-1), 0);
  EXPECT_EQ(ConfidenceBin(0.55), 5);
  EXPECT_EQ(ConfidenceBin(1.0), 9);
  EXPECT_EQ(ConfidenceBin(std::nan("")), 0);
}

TEST_P(FleetStore, DriftFlagsTheShiftedDeviceAndRecordsAnAlert) {
  // The model answers classes 0..3 evenly on its evaluation set, mostly confidently.
  DriftReference ref{"speech@1@test", {25, 25, 25, 25}, {0, 0, 0, 0, 0, 5, 5, 10, 30, 50}, 0.85};
  TelemetryMinute like;  // a device that sees what the evaluation set holds
  like.device = "m4";
  like.minute_ms = kMinute;
  like.model_version = 2;
  like.inferences = 100;
  like.confidence_sum = 85;
  like.classes = {24, 26, 25, 25};
  like.confidences = {0, 0, 0, 0, 0, 6, 4, 10, 31, 49};
  TelemetryMinute shifted = like;  // one whose inputs moved: one class, unsure
  shifted.device = "m7";
  shifted.confidence_sum = 40;
  shifted.classes = {90, 4, 3, 3};
  shifted.confidences = {0, 0, 5, 30, 40, 20, 5, 0, 0, 0};
  TelemetryMinute few = like;  // too few to tell
  few.device = "m3";
  few.inferences = 5;
  ASSERT_TRUE(PutTelemetryMinutes(db(), {like, shifted, few}).ok());
  for (const char* id : {"m3", "m4", "m7"}) {
    ASSERT_TRUE(db().PutDevice({id, "gw", "{}", {}, false, 0, 0}).ok());
    ASSERT_TRUE(db().SetDeviceGroups(id, {"hall"}).ok());
  }
  DriftQuery q;
  q.group = "hall";
  q.since_ms = kMinute;
  auto r = MeasureDrift(db(), ref, q);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->devices.size(), 4u);  // three devices, then the group
  EXPECT_EQ(r->devices[0].subject, "device:m3");
  EXPECT_FALSE(r->devices[0].judged);
  EXPECT_FALSE(r->devices[1].drift)
      << r->devices[1].psi_classes << " " << r->devices[1].psi_confidence;
  EXPECT_LT(r->devices[1].psi_classes, 0.01);
  EXPECT_TRUE(r->devices[2].drift);
  EXPECT_GT(r->devices[2].psi_classes, 0.25);
  EXPECT_EQ(r->devices[3].subject, "group:hall");
  EXPECT_EQ(r->devices[3].inferences, 200);  // the devices judged: m3's five are too few
  auto alerts = ListAlerts(db(), "", 10);
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(static_cast<int>(alerts->size()), r->drifting);
  EXPECT_EQ(alerts->back().subject, "device:m7");
  EXPECT_NE(alerts->back().message.find("speech@1@test"), std::string::npos);
  EXPECT_EQ(ListAlerts(db(), "device:m4", 10)->size(), 0u);
  EXPECT_TRUE(r->devices[2].alerted);
  // A check on a schedule: a subject alerted within quiet_ms is not alerted again.
  q.quiet_ms = 3600000;
  auto again = MeasureDrift(db(), ref, q);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->devices[2].drift);
  EXPECT_FALSE(again->devices[2].alerted);
  EXPECT_EQ(static_cast<int>(ListAlerts(db(), "", 10)->size()), r->drifting);
  // Only another version's telemetry: nothing to judge.
  q.model_version = 3;
  EXPECT_FALSE(MeasureDrift(db(), ref, q)->devices[2].judged);
}

INSTANTIATE_TEST_SUITE_P(Backends, FleetStore, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tml
