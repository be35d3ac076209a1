// Streaming keyword spotting (docs/frontends.md#streaming), behind `tinymlaas stream`:
// a model with an attached front end listens to a long recording. Samples arrive one
// stride at a time; each new feature frame is computed once (tml_mfcc_stream), every
// `hop` frames the model runs on the last window, its posteriors are smoothed and a
// detection fires when a keyword's mean reaches the threshold (tml_kws_detector). On an
// emulated board the firmware does all of it (firmware/common/stream_main.c, the audio read
// from a file as from a microphone); on the host the same C blocks and the reference
// interpreter do, so both must report the same detections.
//
//   StreamRequest q;  q.model = "kws_int8.onnx";  q.classes = {...};  q.target = "cortex-m4";
//   TML_ASSIGN_OR_RETURN(StreamRun r, RunStream(q, audio));
//   StreamScore s = ScoreStream(r, truth, 16000, 320, 0.75);   // hits, misses, false alarms
#pragma once

#include <string>
#include <vector>

#include "data/dataset_store.h"
#include "data/synth_speech.h"
#include "graph/graph.h"

namespace tml {

struct StreamOptions {
  int hop = 10;        // frames between inferences (10 x 20 ms: five per second)
  int smooth = 3;      // posteriors averaged
  int refractory = 8;  // inferences without a detection after one
  float threshold = 0.6f;
};

struct StreamRequest {
  Graph model;                       // int8 output, a front end attached
  std::vector<std::string> classes;  // the output's; silence and unknown are not keywords
  std::string target = "host";       // host, or an emulated board
  StreamOptions options;
  std::string work_dir;  // the firmware build (default: a scratch folder)
};

struct StreamEvent {
  int64_t frame = 0;  // frames computed when it fired
  int cls = 0;
  float score = 0;
  bool operator==(const StreamEvent& o) const {
    return frame == o.frame && cls == o.cls && score == o.score;
  }
};

struct StreamRun {
  std::vector<StreamEvent> events;
  int64_t frames = 0, inferences = 0;
  int64_t feature_instructions = 0, model_instructions = 0;  // emulated boards only
};

Result<StreamRun> RunStream(const StreamRequest& q, const std::vector<float>& audio);

// A long recording for a stream: takes of the keywords (and other words) with noise-only
// gaps between them, and where each word is.
struct TruthWord {
  std::string label;
  double start_s = 0, end_s = 0;
};
struct KeywordStream {
  std::vector<float> audio;  // -1..1
  std::vector<TruthWord> truth;
};
// The samples of speech in order, each followed by a gap of gap_s seconds of quiet noise.
KeywordStream MakeKeywordStream(const std::vector<NewSample>& takes, int rate, double gap_s,
                                uint64_t seed);

// The stream of up to `words` samples spread over a dataset split (DATASET[@V][@SPLIT],
// default split test) with its classes, at `rate` (the front end's); silence samples are
// left out.
struct DatasetStream {
  KeywordStream stream;
  std::vector<std::string> classes;
};
Result<DatasetStream> StreamFromDataset(Workspace& ws, const std::string& ref, int64_t words,
                                        int rate, double gap_s, uint64_t seed);

struct StreamScore {
  int hits = 0, misses = 0, false_alarms = 0, keywords = 0;
  double hours = 0;
  double false_alarms_per_hour() const { return hours > 0 ? false_alarms / hours : 0; }
};
// A detection at time t (the end of the frame it fired on) is a hit when it names a truth
// keyword whose centre lies in [t - window_s, t] that no earlier detection took; anything
// else is a false alarm; truth keywords never hit are misses.
StreamScore ScoreStream(const StreamRun& run, const std::vector<TruthWord>& truth,
                        const std::vector<std::string>& classes, int rate, int frame_step,
                        int frame_length, double window_s);

bool IsKeywordClass(const std::string& c);

}  // namespace tml
