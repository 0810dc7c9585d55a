// libFuzzer target for the update payload decoder (codec.h). The first input byte selects the
// header's LZ4 flag (bit 0); the rest is the payload. Whatever decodes must: hold at most
// kMaxUpdateEntries finite values at strictly increasing indices below the model size, and
// re-encode to a payload that decodes to the same update (and, when neither side compressed,
// to the same bytes).
#include <cmath>
#include <cstdlib>

#include "dust/net/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  if (size < 1) return 0;
  constexpr uint32_t kParams = 25450;  // the default 784-32-10 model
  const bool lz4 = (data[0] & 1) != 0;
  const ByteView payload(data + 1, size - 1);
  Result<UpdatePayload> u = DecodeUpdate(payload, lz4, kParams);
  if (!u.ok()) return 0;
  if (u->entries() > kMaxUpdateEntries || u->segments.empty()) std::abort();
  int64_t prev = -1;
  for (const auto& s : u->segments) {
    for (size_t k = 0; k < s.size(); ++k) {
      if (static_cast<int64_t>(s.index(k)) <= prev || s.index(k) >= kParams) std::abort();
      prev = s.index(k);
      if (!std::isfinite(s.value(k))) std::abort();
    }
  }
  Bytes again;
  bool again_lz4 = false;
  if (!EncodeUpdate(*u, &again, &again_lz4).ok()) std::abort();
  Result<UpdatePayload> u2 = DecodeUpdate(again, again_lz4, kParams);
  if (!u2.ok() || !(*u2 == *u)) std::abort();
  if (!lz4 && !again_lz4 &&
      (again.size() != payload.size() ||
       !std::equal(again.begin(), again.end(), payload.begin()))) {
    std::abort();
  }
  return 0;
}
