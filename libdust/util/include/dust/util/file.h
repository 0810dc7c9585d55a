// Whole-file reads with a size cap, and crash-safe atomic replacement of a file.
//
// AtomicWriteFile writes to a temporary file in the same directory (created with the given
// mode, never wider), fsyncs it, renames it over the target and fsyncs the directory, so a
// crash or kill -9 at any moment leaves either the old file or the new one, never a torn one.
#pragma once

#include <sys/types.h>

#include <string>

#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

// Reads all of `path`. Fails with kNotFound if it does not exist, kResourceExhausted if it is
// larger than max_bytes (checked before reading), kIoError otherwise. Messages name the path.
Result<Bytes> ReadFile(const std::string& path, size_t max_bytes);

// Atomically replaces `path` with `data`; the new file has exactly `mode` (umask ignored).
Status AtomicWriteFile(const std::string& path, ByteView data, mode_t mode = 0644);

// Moves a bad file aside to "<path>.corrupt-<suffix>" so it is kept for inspection; returns
// the new name. Used when a state file fails its checks.
Result<std::string> MoveAside(const std::string& path, const std::string& suffix);

}  // namespace dust
