// The dataset store: content-addressed blobs, metadata (SQLite and PostgreSQL), versions,
// splits.
#include "data/dataset_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "pg_server.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

// The storage tests run on SQLite and on PostgreSQL (a server started for the tests).
class Store : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string skip;
    db_ = TestDatabase(GetParam(), &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
  }
  Workspace Fresh(const std::string& name) {
    const std::string root = testing::WorkDir(name + "-" + GetParam());
    fs::remove_all(root);
    auto ws = OpenWorkspace(root, db_);
    EXPECT_TRUE(ws.ok()) << ws.status().message();
    return std::move(ws).value();
  }
  std::string db_;  // "": the workspace's SQLite file
};

// n samples of class `label` whose bytes depend on (label, i).
std::vector<NewSample> Samples(const std::string& label, int n, int salt = 0) {
  std::vector<NewSample> out;
  for (int i = 0; i < n; ++i) {
    NewSample s;
    s.bytes = label + ":" + std::to_string(i) + ":" + std::to_string(salt);
    s.shape = {static_cast<int64_t>(s.bytes.size())};
    s.source = "test#" + std::to_string(i);
    s.label = label;
    out.push_back(s);
  }
  return out;
}

TEST_P(Store, BlobsAreStoredOnceByContentAndBadIdsRejected) {
  Workspace ws = Fresh("blobs");
  auto a = ws.blobs.Put("hello", 5);
  auto b = ws.blobs.Put("hello", 5);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value(), b.value());
  EXPECT_EQ(ws.blobs.Get(a.value()).value(), "hello");
  EXPECT_FALSE(ws.blobs.Get("../../etc/passwd").ok());
  EXPECT_FALSE(ws.blobs.PathOf(std::string(64, 'g')).ok());
  auto missing = ws.blobs.Get(std::string(64, '0'));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos);
}

TEST_P(Store, ImportCreatesVersionsAndSkipsDuplicates) {
  Workspace ws = Fresh("import");
  auto batch = Samples("cat", 10);
  auto dogs = Samples("dog", 5);
  batch.insert(batch.end(), dogs.begin(), dogs.end());
  auto r1 = ImportSamples(ws, "pets", batch, {}, "first");
  ASSERT_TRUE(r1.ok()) << r1.status().message();
  EXPECT_EQ(r1->version.number, 1);
  EXPECT_EQ(r1->added, 15);
  EXPECT_EQ(r1->version.classes, (std::vector<std::string>{"cat", "dog"}));

  // Overlapping second import: five old cats again, three new birds.
  auto again = Samples("cat", 5);
  auto birds = Samples("bird", 3);
  again.insert(again.end(), birds.begin(), birds.end());
  auto r2 = ImportSamples(ws, "pets", again, {}, "second");
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  EXPECT_EQ(r2->version.number, 2);
  EXPECT_EQ(r2->added, 3);
  EXPECT_EQ(r2->duplicates, 5);
  EXPECT_EQ(r2->version.members, 18);
  EXPECT_EQ(r2->version.classes, (std::vector<std::string>{"cat", "dog", "bird"}));
  EXPECT_EQ(r2->version.parent_id, r1->version.id);
  // An explicit class order wins over natural order for new classes.
  auto r4 = ImportSamples(ws, "pets", Samples("ant", 1), {}, "fourth", {"zebra", "ant"});
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(r4->version.classes, (std::vector<std::string>{"cat", "dog", "bird", "ant"}));
  ASSERT_TRUE(ImportSamples(ws, "order", Samples("b", 1), {}, "", {"z", "b"}).ok());
  auto both = Samples("z", 1);
  both.push_back(Samples("a", 1)[0]);
  auto r5 = ImportSamples(ws, "order2", both, {}, "", {"z"});
  ASSERT_TRUE(r5.ok());
  EXPECT_EQ(r5->version.classes, (std::vector<std::string>{"z", "a"}));

  // Version 1 is unchanged (immutable).
  auto v1 = ws.db->GetVersion("pets", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->members, 15);
  auto list = ws.db->ListDatasets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);  // order, order2, pets: sorted by name
  EXPECT_EQ((*list)[2].name, "pets");
  EXPECT_EQ((*list)[2].latest_version, 3);

  // Same batch again: nothing new, an error, and no new version.
  auto r3 = ImportSamples(ws, "pets", again, {}, "again");
  EXPECT_FALSE(r3.ok());
  EXPECT_EQ(ws.db->GetVersion("pets", 0)->number, 3);
}

TEST_P(Store, FailedImportLeavesNoVersion) {
  Workspace ws = Fresh("failed");
  ASSERT_TRUE(ImportSamples(ws, "d", Samples("a", 4), {}, "ok").ok());
  // The blob store replaced by a plain file (fails even for root): the import stops
  // with an error naming the path, and no version appears.
  fs::rename(ws.blobs.root(), ws.blobs.root() + ".away");
  { std::ofstream(ws.blobs.root()) << "not a directory"; }
  auto r = ImportSamples(ws, "d", Samples("b", 4), {}, "fails");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("blobs"), std::string::npos) << r.status().message();
  EXPECT_EQ(ws.db->GetVersion("d", 0)->number, 1);
  EXPECT_EQ(ws.db->GetVersion("d", 0)->members, 4);
}

TEST_P(Store, TransactionRollsBackUncommittedVersion) {
  Workspace ws = Fresh("rollback");
  ASSERT_TRUE(ImportSamples(ws, "d", Samples("a", 4), {}, "ok").ok());
  {
    Transaction tx(*ws.db);
    ASSERT_TRUE(tx.status().ok());
    auto v = ws.db->AddVersion("d", 0, "never committed", {"a"}, {});
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->number, 2);
  }
  EXPECT_EQ(ws.db->GetVersion("d", 0)->number, 1);
}

TEST(DatasetStore, SplitsAreStratifiedAndDeterministic) {
  std::vector<Member> a, b;
  for (int i = 0; i < 1000; ++i) {
    Member m;
    m.sample = std::to_string(i);
    m.label = i % 4 == 0 ? "rare" : "common";
    a.push_back(m);
  }
  b = a;
  std::reverse(b.begin(), b.end());
  AssignSplits(a, {0.7, 0.2, 0.1, 3});
  AssignSplits(b, {0.7, 0.2, 0.1, 3});
  std::map<std::string, std::array<int, 3>> count;
  std::map<std::string, Split> where;
  for (const Member& m : a) {
    ++count[m.label][static_cast<size_t>(m.split)];
    where[m.sample] = m.split;
  }
  for (const Member& m : b) EXPECT_EQ(where[m.sample], m.split) << "order must not matter";
  EXPECT_EQ(count["rare"], (std::array<int, 3>{175, 50, 25}));
  EXPECT_EQ(count["common"], (std::array<int, 3>{525, 150, 75}));
  // Another seed moves samples between splits but keeps the counts.
  std::vector<Member> c = a;
  AssignSplits(c, {0.7, 0.2, 0.1, 4});
  int moved = 0;
  for (size_t i = 0; i < c.size(); ++i) moved += c[i].split != a[i].split;
  EXPECT_GT(moved, 100);
}

TEST_P(Store, ResplitKeepsTestAndMakesANewVersion) {
  Workspace ws = Fresh("resplit");
  auto batch = Samples("x", 40);
  for (int i = 0; i < 10; ++i) batch[static_cast<size_t>(i)].split = Split::kTest;
  for (int i = 10; i < 40; ++i) batch[static_cast<size_t>(i)].split = Split::kTrain;
  ASSERT_TRUE(ImportSamples(ws, "d", batch, {}, "import").ok());
  auto v = Resplit(ws, "d", 1, {0.8, 0.2, 0.0, 0}, true);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->number, 2);
  auto stats = ComputeStats(ws, "d", 2);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->per_split, (std::array<int64_t, 3>{24, 6, 10}));
  EXPECT_EQ(ComputeStats(ws, "d", 1)->per_split, (std::array<int64_t, 3>{30, 0, 10}));
  EXPECT_FALSE(Resplit(ws, "d", 1, {0.5, 0.2, 0.1, 0}, false).ok()) << "fractions must sum to 1";
  EXPECT_FALSE(Resplit(ws, "d", 7, {}, false).ok());
}

TEST_P(Store, BoxesAndPolygonsWithAuthorsAndConfidence) {
  Workspace ws = Fresh("annotations");
  auto r = ImportSamples(ws, "d", Samples("car", 1), {}, "import");
  ASSERT_TRUE(r.ok());
  const std::string id = ws.db->Members(r->version.id).value()[0].sample;
  AnnotationRecord box;
  box.sample = id;
  box.kind = "box";  // a quadrilateral: four corners
  box.label = "car";
  box.geometry = "[[1,2],[9,2],[9,7],[1,7]]";
  box.confidence = 0.87;
  box.author = "model:run-12";
  AnnotationRecord poly = box;
  poly.kind = "polygon";
  poly.geometry = "[[0,0],[4,1],[3,5]]";
  poly.confidence = 1.0;
  poly.author = "alice";
  ASSERT_TRUE(ws.db->AddAnnotation(box).ok());
  ASSERT_TRUE(ws.db->AddAnnotation(poly).ok());
  auto all = ws.db->Annotations(id);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 3u);  // the import's label, the box, the polygon
  EXPECT_EQ((*all)[0].kind, "label");
  EXPECT_EQ((*all)[0].author, "import");
  EXPECT_EQ((*all)[1].geometry, box.geometry);
  EXPECT_DOUBLE_EQ((*all)[1].confidence, 0.87);
  EXPECT_EQ((*all)[1].author, "model:run-12");
  EXPECT_EQ((*all)[2].kind, "polygon");
  EXPECT_GT((*all)[2].created_ms, 0);
  auto s = ws.db->GetSample(id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->source, "test#0");
  EXPECT_GT(s->created_ms, 0);
}

TEST(DatasetStore, ParsesReferences) {
  auto r = ParseDatasetRef("fashion@3@test");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "fashion");
  EXPECT_EQ(r->version, 3);
  EXPECT_EQ(r->split, Split::kTest);
  EXPECT_EQ(ParseDatasetRef("fashion")->version, 0);
  EXPECT_EQ(ParseDatasetRef("fashion@val")->split, Split::kVal);
  EXPECT_FALSE(ParseDatasetRef("@3").ok());
  EXPECT_FALSE(ParseDatasetRef("f@0").ok());
  EXPECT_FALSE(ParseDatasetRef("f@banana").ok());
}

TEST_P(Store, ReopenedWorkspaceSeesEverything) {
  const std::string root = testing::WorkDir("reopen-" + GetParam());
  fs::remove_all(root);
  {
    auto ws = OpenWorkspace(root, db_);
    ASSERT_TRUE(ws.ok());
    ASSERT_TRUE(ImportSamples(*ws, "d", Samples("a", 3), {}, "x").ok());
  }
  auto ws = OpenWorkspace(root, db_);
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  auto stats = ComputeStats(*ws, "d", 0);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->per_class["a"][0] + stats->per_class["a"][1] + stats->per_class["a"][2], 3);
  ASSERT_EQ(stats->shapes.size(), 1u);
  EXPECT_EQ(stats->shapes[0].second, 3);
}

TEST(DatasetStore, CorruptDatabaseIsAClearError) {
  const std::string root = testing::WorkDir("corrupt");
  fs::remove_all(root);
  fs::create_directories(root);
  {
    std::ofstream f(root + "/meta.db");
    f << "this is not an SQLite database, just text that is long enough to have a header";
  }
  auto ws = OpenWorkspace(root);
  ASSERT_FALSE(ws.ok());
  EXPECT_NE(ws.status().message().find("meta.db"), std::string::npos) << ws.status().message();
}

INSTANTIATE_TEST_SUITE_P(Backends, Store, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tml
