// libFuzzer target for the daemon's history file (DecodeHistoryFile, daemon/history.h). The
// first byte picks the mode: even = the rest as it is; odd = the rest sealed as a version-1
// history file (header and Checksum64 added), so the fuzzer explores the body behind the
// checksum instead of only the checksum test. A file that decodes must encode to bytes that
// decode again and encode identically, and fit the read cap. Seed corpus:
// tests/fuzz/corpus/history/.
#include <cstdlib>

#include "dust/util/sealed_file.h"
#include "history.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  using namespace dust::daemon;
  if (size == 0) return 0;
  static const std::vector<std::string> kNames = {"malformed", "replay", "own"};
  const ByteView rest(data + 1, size - 1);
  Bytes input(rest.begin(), rest.end());
  if (data[0] & 1) {
    static constexpr SealedFormat kFormat{"history file", "DSHI"};
    input = SealFile(kFormat, 1, [&](ByteWriter& w) { w.Raw(rest); });
  }
  auto h = DecodeHistoryFile(input, kNames);
  if (!h.ok()) return 0;
  Bytes again = EncodeHistoryFile(*h);
  if (again.size() > MaxHistoryFileBytes()) std::abort();
  auto h2 = DecodeHistoryFile(again, kNames);
  if (!h2.ok()) std::abort();
  if (EncodeHistoryFile(*h2) != again) std::abort();
  return 0;
}
