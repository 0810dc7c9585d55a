// SourceText: the text of a file in the source tree, for tests that check a document against
// the code (the test vectors in docs/protocol.md, the options in config/dustd.conf).
//
// Usage:
//   CHECK(SourceText("docs/protocol.md").find(kUpdateHex) != std::string::npos);
//
// `relative_path` is relative to the top of the source tree (DUST_SOURCE_DIR). A file that
// cannot be read throws std::runtime_error naming it (test code only: Catch2 reports the
// exception as a failed test).
#pragma once

#include <string>
#include <string_view>

namespace dust::testutil {

std::string SourceText(std::string_view relative_path);

// The whole text of the file at `path` (any path, e.g. a log a test's child process wrote), or ""
// if it cannot be read: for INFO() context and output checks, where a missing file shows up as
// the check's own failure.
std::string FileText(const std::string& path);

}  // namespace dust::testutil
