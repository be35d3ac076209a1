// Keyword datasets without a recording studio (`tinymlaas data synth-speech`): espeak-ng
// speaks every word in many voices (an English accent with a voice variant: en-us+f3,
// en-gb-scotland+m2, ...) at varied speed and pitch; each take is resampled (libsoxr),
// trimmed to the spoken part, placed in the clip with a random time shift and gain, and
// mixed with background noise (generated white, pink or brown noise, or clips from a
// folder) at a random signal-to-noise ratio; a share of the takes goes through a synthetic
// room (a decaying echo tail). Two more classes: `unknown` (other words, same voices) and
// `silence` (noise alone). Speakers are split, not takes: every take of a voice lands in
// one split, so validation and test voices are never heard in training.
//
//   SynthSpeechOptions o;  o.words = KeywordSet("mlperf-ten");
//   TML_ASSIGN_OR_RETURN(SynthSpeech s, SynthesizeSpeech(o, progress));
//   // s.samples: int16 [16000] audio, split set; s.speakers[Split::kTest]: the test voices
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/dataset_store.h"

namespace tml {

struct SynthSpeechOptions {
  std::vector<std::string> words;          // the keyword classes
  std::vector<std::string> unknown_words;  // empty: a built-in list of other words
  int speakers = 24;                       // voices, drawn from every accent x variant
  int takes = 2;                           // per word and speaker
  double val = 0.15, test = 0.15;          // shares of the speakers
  int rate = 16000;
  double seconds = 1.0;
  double speed_min = 130, speed_max = 200;  // words per minute
  int pitch_min = 25, pitch_max = 75;       // espeak-ng 0..99
  double gain_min = 0.25, gain_max = 0.9;   // peak of the spoken part, of full scale
  double snr_min_db = 10, snr_max_db = 40;
  double max_shift_s = 0.15;  // the word's centre moves up to this much from the clip's
  double reverb = 0.3;        // share of takes through the synthetic room
  std::string noise_dir;      // WAV files of background noise (else generated noise only)
  // Samples of `unknown` and of `silence` per split, as a share of one keyword's.
  double unknown_share = 1.0, silence_share = 1.0;
  uint64_t seed = 1;
};

struct SynthSpeech {
  std::vector<NewSample> samples;    // int16 audio, kind "audio", split set
  std::vector<std::string> classes;  // words, then silence, unknown
  std::map<Split, std::vector<std::string>> speakers;
};

// "mlperf-ten" (yes no up down left right on off stop go) or "digits" (zero .. nine).
Result<std::vector<std::string>> KeywordSet(const std::string& name);
// Every voice espeak-ng offers for the synthesis: accent+variant, sorted.
Result<std::vector<std::string>> SynthVoices();
Status CheckSynthSpeechOptions(const SynthSpeechOptions& o);
Result<SynthSpeech> SynthesizeSpeech(const SynthSpeechOptions& o, Progress& progress);

// The speaker ("espeak-ng:VOICE") a synthesized sample's source names, or "".
std::string SynthSpeaker(const std::string& source);

}  // namespace tml
