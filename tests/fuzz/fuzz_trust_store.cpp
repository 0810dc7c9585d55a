// libFuzzer target for the trust-store file decoder: whatever decodes must re-encode to the
// same bytes (one encoding per store). Seed corpus: tests/fuzz/corpus/trust_store/.
#include <cstdlib>

#include "dust/net/trust.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  const ByteView in(data, size);
  Result<TrustStore> store = DecodeTrustStore(in);
  if (!store.ok()) return 0;
  if (store->size() > kMaxTrustedPeers) std::abort();
  Bytes again = EncodeTrustStore(*store);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  for (const TrustedPeer& p : store->List()) {
    if (store->Find(p.key) == nullptr) std::abort();
  }
  return 0;
}
