// libFuzzer target for the scaling payload decoder (scaling_wire.h): a block of a peer's local
// moments or of a fleet scaling. Whatever decodes must satisfy every rule the decoder promises
// (a block inside the model, finite values, possible moments, positive scales) and re-encode to
// exactly the same bytes.
#include <cmath>
#include <cstdlib>

#include "dust/net/scaling_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  const ByteView payload(data, size);
  Result<ScalingBlock> b = DecodeScalingBlock(payload);
  if (!b.ok()) return 0;
  const bool local = b->kind == ScalingBlockKind::kLocalMoments;
  if (b->first >= b->features || b->features - b->first < b->count()) std::abort();
  if (b->count() > (local ? kMaxLocalFeaturesPerBlock : kMaxFleetFeaturesPerBlock)) std::abort();
  for (uint32_t k = 0; k < b->count(); ++k) {
    if (!std::isfinite(b->mean[k]) || !std::isfinite(b->m2[k])) std::abort();
    if (local && (b->m2[k] < 0 || !(b->max_abs[k] >= 0) || b->zeros[k] > b->samples)) {
      std::abort();
    }
    if (!local && !(b->m2[k] > 0)) std::abort();
  }
  Result<Bytes> again = EncodeScalingBlock(*b);
  if (!again.ok() || again->size() != size || !std::equal(again->begin(), again->end(), data)) {
    std::abort();
  }
  return 0;
}
