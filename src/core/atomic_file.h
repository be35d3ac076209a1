// A file written whole or not at all: the bytes go to PATH.tmp (created with `mode`),
// are flushed, then renamed over PATH, so a reader or a crash never sees half of it.
//
//   TML_RETURN_IF_ERROR(WriteFileAtomically("state.json", text.data(), text.size()));
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "core/status.h"

namespace tml {

Status WriteFileAtomically(const std::string& path, const void* data, size_t n, mode_t mode = 0644);

}  // namespace tml
