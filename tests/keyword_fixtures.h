// Keyword-spotting fixtures shared by the streaming tests (tests/stream_test.cc) and the
// listening device (tests/device_test.cc): the MLPerf ten with silence and unknown, a
// synthesized stream of keywords, and the zoo's seeded int8 DS-CNN behind a front end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/stream.h"
#include "graph/graph.h"

namespace tml::testing {

std::vector<std::string> KwsClasses();
// One take per fourth synthesized sample of `speakers` voices, 0.5 s of quiet between.
KeywordStream SynthKeywordStream(int speakers, uint64_t seed);
// Seeded weights (seed 3): detections mean nothing, but host and device must agree.
Graph KwsModel(const std::string& frontend);

}  // namespace tml::testing
