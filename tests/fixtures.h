// Model files that tests and CLI tests need, generated (never downloaded).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tml::testing {

// int8 model with three unsupported operator types (LSTM, CUSTOM, HARD_SWISH)
// among supported ones.
std::vector<uint8_t> UnsupportedOpsTflite();
// ONNX model with unsupported operator types (LSTM x2, NonMaxSuppression, a custom domain op).
std::vector<uint8_t> UnsupportedOpsOnnx();
// A small valid int8 model: FC -> RELU -> SOFTMAX.
std::vector<uint8_t> TinyFcTflite();
// SVDF (TFLite's SVDF with a variable state): x [1, input] -> filters of rank `rank` over
// `memory` frames -> y [1, filters / rank], seeded weights; float (ReLU fused), or int8 with
// int16 time weights and state (TFLite's integer scheme).
std::vector<uint8_t> SvdfTflite(bool int8, uint32_t seed, int input = 8, int filters = 6,
                                int memory = 5, int rank = 2);
// A one-operator UNIDIRECTIONAL_SEQUENCE_LSTM model with TFLite's 24 inputs (no peepholes,
// projection or layer norm; tanh) and random weights. form 0: float; 1: int8 ("8x8_16",
// one scale per gate); 2: int16 activations ("16x8", int64 bias). Input [batch, time,
// input] or [time, batch, input]. unsupported: a form the importer must refuse (peephole,
// projection, layer_norm, cifg, relu, const_state).
std::vector<uint8_t> LstmTflite(int form, uint32_t seed, int time = 3, int batch = 1, int input = 5,
                                int units = 4, bool time_major = false, float cell_clip = 0.0f,
                                const std::string& unsupported = "");
// Applies 1..max_edits random bit flips, byte overwrites or truncations.
void MutateBytes(std::vector<uint8_t>& m, std::mt19937_64& rng, int max_edits);
// A scratch directory for one test, private to this process (parallel runs of
// the suite do not collide) and removed when the test program ends.
std::string WorkDir(const std::string& name);
// WorkDir(name), emptied and created.
std::string EmptyWorkDir(const std::string& name);
// A TCP port on 127.0.0.1 free a moment ago (0 if none): for servers a test starts.
int FreeLoopbackPort();
// The published models in ../shared/models the suites check (file names).
const std::vector<std::string>& PublishedModelFiles();
// Path of a published model in ../shared/models, or "" when that folder is absent.
std::string SharedModel(const std::string& file);

}  // namespace tml::testing
