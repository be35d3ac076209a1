// Settings of a listening device (SENSE with TML_SENSE_STREAM, docs/protocol.md): how
// often the model runs, how its posteriors are smoothed and when a keyword counts as
// heard. As text for `tinymlaas agent --listen` and as JSON in a sense command's "stream":
//
//   hop=10,smooth=3,refractory=8,threshold=0.6,keywords=0-9
//   {"hop": 10, "smooth": 3, "refractory": 8, "threshold": 0.6, "keywords": [0, 1, ...]}
//
// Every field but keywords (the output classes that are keywords, below 32) has the
// default of StreamOptions (app/stream.h), so that the host and the device agree.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "tml_proto.h"

namespace tml {

Result<tml_proto_stream> ParseListenSpec(const std::string& spec);
Result<tml_proto_stream> ListenFromJson(const nlohmann::json& j);
nlohmann::json ListenJson(const tml_proto_stream& s);

}  // namespace tml
