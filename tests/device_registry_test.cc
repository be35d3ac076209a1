// The device registry in the metadata store (SQLite and PostgreSQL): devices with their
// HELLO, agents' online state that their devices follow, groups, and deployments.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/dataset_store.h"
#include "fixtures.h"
#include "pg_server.h"
#include "store/meta_store.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

class Registry : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string skip;
    const std::string spec = TestDatabase(GetParam(), &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
    const std::string root = testing::WorkDir("registry-" + GetParam());
    fs::remove_all(root);
    auto ws = OpenWorkspace(root, spec);
    ASSERT_TRUE(ws.ok()) << ws.status().message();
    ws_ = std::make_unique<Workspace>(std::move(ws).value());
  }
  MetaStore& db() { return *ws_->db; }
  static DeviceRecord Device(const std::string& id, const std::string& agent,
                             const std::string& hello, int64_t seen) {
    DeviceRecord d;
    d.id = id;
    d.agent = agent;
    d.capabilities = hello;
    d.first_seen_ms = d.last_seen_ms = seen;
    return d;
  }
  std::unique_ptr<Workspace> ws_;
};

TEST_P(Registry, DevicesAreUpdatedInPlaceAndKeepTheirFirstSighting) {
  ASSERT_TRUE(db().PutDevice(Device("m4", "gw", R"({"core":"cortex-m4"})", 100)).ok());
  ASSERT_TRUE(db().PutDevice(Device("m7", "gw", R"({"core":"cortex-m7"})", 110)).ok());
  ASSERT_TRUE(db().PutDevice(Device("m4", "gw2", R"({"core":"cortex-m4","v":2})", 200)).ok());
  auto all = db().ListDevices("");
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  const DeviceRecord& m4 = (*all)[0];
  EXPECT_EQ(m4.id, "m4");
  EXPECT_EQ(m4.agent, "gw2");
  EXPECT_EQ(m4.capabilities, R"({"core":"cortex-m4","v":2})");
  EXPECT_EQ(m4.first_seen_ms, 100);
  EXPECT_EQ(m4.last_seen_ms, 200);
  EXPECT_FALSE(m4.online);  // no agent state seen yet
  EXPECT_EQ((*all)[1].id, "m7");

  auto missing = db().GetDevice("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no device 'nope'"), std::string::npos);
  EXPECT_FALSE(db().GetDevice("").ok());
}

TEST_P(Registry, DevicesFollowTheirAgentsOnlineState) {
  ASSERT_TRUE(db().PutDevice(Device("a1", "gw-a", "{}", 1)).ok());
  ASSERT_TRUE(db().PutDevice(Device("b1", "gw-b", "{}", 1)).ok());
  ASSERT_TRUE(db().SetAgentOnline("gw-a", true).ok());
  ASSERT_TRUE(db().SetAgentOnline("gw-b", true).ok());
  EXPECT_TRUE(db().GetDevice("a1")->online);
  ASSERT_TRUE(db().SetAgentOnline("gw-a", false).ok());  // its will message
  EXPECT_FALSE(db().GetDevice("a1")->online);
  EXPECT_TRUE(db().GetDevice("b1")->online);
  ASSERT_TRUE(db().SetAgentOnline("gw-a", true).ok());
  EXPECT_TRUE(db().GetDevice("a1")->online);
}

TEST_P(Registry, GroupsAreReplacedAndSelectDevices) {
  for (const char* id : {"d1", "d2", "d3"})
    ASSERT_TRUE(db().PutDevice(Device(id, "gw", "{}", 1)).ok());
  ASSERT_TRUE(db().SetDeviceGroups("d1", {"lab", "m4"}).ok());
  ASSERT_TRUE(db().SetDeviceGroups("d2", {"lab"}).ok());
  auto lab = db().ListDevices("lab");
  ASSERT_TRUE(lab.ok());
  ASSERT_EQ(lab->size(), 2u);
  EXPECT_EQ((*lab)[0].id, "d1");
  EXPECT_EQ((*lab)[0].groups, (std::vector<std::string>{"lab", "m4"}));
  EXPECT_EQ((*lab)[1].id, "d2");
  ASSERT_TRUE(db().SetDeviceGroups("d1", {"field"}).ok());
  EXPECT_EQ(db().ListDevices("lab")->size(), 1u);
  EXPECT_EQ(db().ListDevices("field")->size(), 1u);
  EXPECT_TRUE(db().ListDevices("none")->empty());
  // A HELLO later keeps the groups.
  ASSERT_TRUE(db().PutDevice(Device("d1", "gw", R"({"x":1})", 5)).ok());
  EXPECT_EQ(db().GetDevice("d1")->groups, (std::vector<std::string>{"field"}));
  // Groups of an unknown device are an error, not a dangling row.
  auto bad = db().SetDeviceGroups("ghost", {"lab"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("ghost"), std::string::npos) << bad.message();
}

TEST_P(Registry, DeploymentsAreRecordedAndFinished) {
  ASSERT_TRUE(db().PutDevice(Device("m4", "gw", "{}", 1)).ok());
  ASSERT_TRUE(db().PutDevice(Device("m7", "gw", "{}", 1)).ok());
  DeploymentRecord r;
  r.device = "m4";
  r.model = "model:abc";
  r.package = "package:def";
  r.version = 1;
  r.status = "sending";
  auto first = db().AddDeployment(r);
  ASSERT_TRUE(first.ok()) << first.status().message();
  r.device = "m7";
  r.version = 2;
  auto second = db().AddDeployment(r);
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);
  ASSERT_TRUE(db().FinishDeployment(*first, "active", "confirmed by self-test").ok());
  ASSERT_TRUE(db().FinishDeployment(*second, "refused", "needs 9000 B of arena").ok());
  auto all = db().ListDeployments("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, *second);  // newest first
  EXPECT_EQ((*all)[0].status, "refused");
  EXPECT_EQ((*all)[0].message, "needs 9000 B of arena");
  EXPECT_GT((*all)[0].finished_ms, 0);
  auto m4 = db().ListDeployments("m4");
  ASSERT_EQ(m4->size(), 1u);
  EXPECT_EQ((*m4)[0].status, "active");
  EXPECT_EQ((*m4)[0].package, "package:def");
  EXPECT_EQ((*m4)[0].version, 1);
  // The status is one of four; anything else is refused by the store.
  EXPECT_FALSE(db().FinishDeployment(*first, "exploded", "").ok());
  EXPECT_EQ(db().ListDeployments("m4").value()[0].status, "active");
}

INSTANTIATE_TEST_SUITE_P(Backends, Registry, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tml
