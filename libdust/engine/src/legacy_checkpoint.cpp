// The 0.1.0 node checkpoint decoder (legacy_checkpoint.h).
#include "legacy_checkpoint.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "dust/ml/model.h"
#include "dust/util/crypto.h"

namespace dust::internal {
namespace {

// The layout Node::ExportCheckpoint wrote in 0.1.0, before it used checkpoint.h (still read, so
// an upgrade keeps the model): "DSTN" | version u8 = 1 | 3 zero bytes | layer count u32 |
// sizes u32... | init_seed u64 | round u64 | samples_seen u64 | steps u64 | num_params u32 |
// params f32[n] | momentum f32[n] | Checksum64 of all preceding bytes. No residual.
constexpr std::array<uint8_t, 4> kLegacyMagic = {'D', 'S', 'T', 'N'};

}  // namespace

bool IsLegacyCheckpoint(ByteView bytes) {
  return bytes.size() >= 4 && std::equal(kLegacyMagic.begin(), kLegacyMagic.end(), bytes.begin());
}

Result<Checkpoint> DecodeLegacyCheckpoint(ByteView bytes) {
  if (bytes.size() < 8 + 8) return Status::Corrupt("node checkpoint (0.1.0 layout): truncated");
  ByteReader tail(bytes.subspan(bytes.size() - 8));
  if (Checksum64(bytes.first(bytes.size() - 8)) != tail.U64()) {
    return Status::Corrupt("node checkpoint (0.1.0 layout): checksum mismatch");
  }
  ByteReader r(bytes.first(bytes.size() - 8));
  r.Array<4>();
  const uint8_t version = r.U8();
  const uint8_t pad0 = r.U8();
  const uint16_t pad1 = r.U16();
  if (!r.ok() || version != 1 || pad0 != 0 || pad1 != 0) {
    return Status::Corrupt("node checkpoint (0.1.0 layout): bad version or reserved bytes");
  }
  const uint32_t layer_count = r.U32();
  if (!r.ok() || layer_count < 2 || layer_count > kMaxLayers + 1) {
    return Status::Corrupt("node checkpoint (0.1.0 layout): bad layer count");
  }
  Checkpoint c;
  c.layer_sizes.resize(layer_count);
  for (uint32_t& l : c.layer_sizes) {
    l = r.U32();
    if (l == 0 || l > kMaxLayerWidth) {
      return Status::Corrupt("node checkpoint (0.1.0 layout): bad layer width");
    }
  }
  c.init_seed = r.U64();
  c.rounds = r.U64();
  c.samples_seen = r.U64();
  c.steps = r.U64();
  const uint32_t n = r.U32();
  if (!r.ok() || n != ParamCount(c.layer_sizes) || r.remaining() != size_t{n} * 8) {
    return Status::Corrupt("node checkpoint (0.1.0 layout): bad length");
  }
  c.params.resize(n);
  c.momentum.resize(n);
  for (float& v : c.params) v = r.F32();
  for (float& v : c.momentum) v = r.F32();
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(c.params[i]) || !std::isfinite(c.momentum[i])) {
      return Status::Corrupt("node checkpoint (0.1.0 layout): non-finite value");
    }
  }
  return c;
}

}  // namespace dust::internal
