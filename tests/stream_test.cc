// Streaming keyword spotting (src/app/stream): the emulated board, fed a long recording
// one stride at a time, computes each frame once, runs the model every hop frames and
// reports the same detections as the host; the published KWS model finds synthesized
// keywords in a stream (hits, misses, false alarms against the stream's truth).
#include "app/stream.h"

#include <gtest/gtest.h>

#include "fixtures.h"
#include "formats/import.h"
#include "frontend/frontend.h"
#include "keyword_fixtures.h"
#include "zoo/mlperf_models.h"
#include "zoo/streaming_models.h"

namespace tml {
namespace {

using testing::KwsClasses;
using testing::KwsModel;

KeywordStream Stream(int speakers, uint64_t seed) {
  return testing::SynthKeywordStream(speakers, seed);
}

struct HostAndBoard {
  StreamRun host, board;
};

// r on the host, then on target: both runs, after checking that the board made the same
// frames, inferences and (at least one) detections as the host.
HostAndBoard RunBoth(StreamRequest r, const std::vector<float>& audio, const std::string& target,
                     const std::string& dir) {
  HostAndBoard out;
  auto host = RunStream(r, audio);
  EXPECT_TRUE(host.ok()) << host.status().message();
  r.target = target;
  r.work_dir = testing::EmptyWorkDir(dir);
  auto board = RunStream(r, audio);
  EXPECT_TRUE(board.ok()) << board.status().message();
  if (!host.ok() || !board.ok()) return out;
  EXPECT_EQ(board->frames, host->frames);
  EXPECT_EQ(board->inferences, host->inferences);
  EXPECT_GT(host->events.size(), 0u) << "no detection to compare";
  EXPECT_EQ(board->events, host->events);
  out.host = std::move(*host);
  out.board = std::move(*board);
  return out;
}

// Seeded weights: the detections mean nothing, but they must be the same on the board.
TEST(Stream, TheBoardDetectsWhatTheHostDetects) {
  const Graph model = KwsModel("mlperf-kws");
  const KeywordStream k = Stream(3, 5);
  ASSERT_GT(k.audio.size(), 5u * 16000);
  StreamRequest r;
  r.model = model;
  r.classes = KwsClasses();
  r.options.threshold = 0.2f;  // the seeded model's posteriors are flat
  r.options.refractory = 2;
  const HostAndBoard runs = RunBoth(r, k.audio, "cortex-m4", "stream_m4");
  const StreamRun *host = &runs.host, *board = &runs.board;
  EXPECT_EQ(board->frames, static_cast<int64_t>((k.audio.size() - 480) / 320 + 1));
  // One frame per stride: the features cost about one frame's work per stride, not 49.
  const double per_frame =
      static_cast<double>(board->feature_instructions) / static_cast<double>(board->frames);
  std::cout << board->frames << " frames, " << board->inferences
            << " inferences on cortex-m4: " << per_frame << " feature instructions per frame, "
            << board->model_instructions / std::max<int64_t>(1, board->inferences)
            << " per inference; " << host->events.size() << " detections, equal to the host's\n";
  EXPECT_GT(per_frame, 10000);
  EXPECT_LT(per_frame, 120000);
  EXPECT_GT(board->model_instructions, board->inferences * 1000000);
  StreamRequest bad = r;
  bad.classes.pop_back();
  EXPECT_FALSE(RunStream(bad, k.audio).ok());
  StreamRequest no_front = r;
  auto body = DetachFrontEnd(model);
  ASSERT_TRUE(body.ok());
  no_front.model = body->body;
  auto refused = RunStream(no_front, k.audio);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("attached front end"), std::string::npos);
}

// The fixed-point front end streams on the Cortex-M3 (no FPU): int16 samples in, integer
// features, the same detections as the host, at a fraction of the float variant's cost.
TEST(Stream, AFixedPointFrontEndStreamsOnTheM3AsOnTheHost) {
  KeywordStream k = Stream(3, 7);
  k.audio.resize(std::min<size_t>(k.audio.size(), 6 * 16000));
  StreamRequest r;
  r.model = KwsModel("mlperf-kws-fixed");
  r.classes = KwsClasses();
  r.options.threshold = 0.2f;
  r.options.refractory = 2;
  const HostAndBoard runs = RunBoth(r, k.audio, "cortex-m3", "stream_m3_fixed");
  const StreamRun& board = runs.board;
  ASSERT_GT(board.frames, 0);
  const double per_frame =
      static_cast<double>(board.feature_instructions) / static_cast<double>(board.frames);
  std::cout << board.frames << " frames on cortex-m3 (fixed point): " << per_frame
            << " feature instructions per frame\n";
  EXPECT_LT(per_frame, 120000) << "the soft-float variant takes 900 k";
}

// A streaming SVDF model: one frame of features per invocation (a front end whose clip is
// one frame), every stride, its layers' state carrying the last second; the board keeps
// that state in its arena as the host does and reports the same detections.
TEST(Stream, AnSvdfModelKeepsItsStateAcrossFramesOnTheBoard) {
  auto fe = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(fe.ok());
  fe->samples = fe->frame_length;  // one frame per inference
  auto f = zoo::SvdfKws(3);
  ASSERT_TRUE(f.ok()) << f.status().message();
  auto q = zoo::QuantizeSynthetic(*f, 3, 16);
  ASSERT_TRUE(q.ok()) << q.status().message();
  int int8_svdf = 0;
  for (const Node& n : q->nodes)
    int8_svdf += n.op == OpType::kSvdf && q->tensor(n.inputs[4]).dtype == DType::kInt16;
  EXPECT_EQ(int8_svdf, 2);
  auto model = AttachFrontEnd(*q, *fe);
  ASSERT_TRUE(model.ok()) << model.status().message();
  KeywordStream k = Stream(3, 9);
  k.audio.resize(std::min<size_t>(k.audio.size(), 5 * 16000));
  StreamRequest r;
  r.model = *model;
  r.classes = KwsClasses();
  r.options.hop = 1;
  r.options.smooth = 5;
  r.options.threshold = 0.1f;
  r.options.refractory = 10;
  const HostAndBoard runs = RunBoth(r, k.audio, "cortex-m4", "stream_svdf");
  EXPECT_EQ(runs.host.inferences, runs.host.frames) << "one inference per frame";
  const StreamRun& board = runs.board;
  std::cout << board.inferences << " SVDF inferences on cortex-m4: "
            << board.model_instructions / std::max<int64_t>(1, board.inferences)
            << " instructions each; " << board.events.size() << " detections, as the host's\n";
}

TEST(Stream, ThePublishedModelFindsSynthesizedKeywordsInAStream) {
  const std::string path = testing::SharedModel("kws_ref_model.tflite");
  if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
  auto m = LoadModel(path);
  ASSERT_TRUE(m.ok());
  auto fe = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(fe.ok());
  auto model = AttachFrontEnd(*m, *fe);
  ASSERT_TRUE(model.ok());
  const KeywordStream k = Stream(6, 8);
  StreamRequest r;
  r.model = *model;
  r.classes = KwsClasses();
  r.options.hop = 5;
  auto host = RunStream(r, k.audio);
  ASSERT_TRUE(host.ok()) << host.status().message();
  const StreamScore s = ScoreStream(*host, k.truth, r.classes, 16000, 320, 480, 1.0);
  std::cout << "stream of " << k.audio.size() / 16000.0 << " s, " << s.keywords
            << " keywords: " << s.hits << " hits, " << s.misses << " misses, " << s.false_alarms
            << " false alarms (" << s.false_alarms_per_hour() << " per hour)\n";
  EXPECT_GE(s.keywords, 10);
  EXPECT_GT(s.hits, s.keywords / 3);
  EXPECT_LT(s.false_alarms, s.hits);
}

}  // namespace
}  // namespace tml
