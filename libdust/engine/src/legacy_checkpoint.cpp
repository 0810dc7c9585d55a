// The 0.1.0 node checkpoint decoder (legacy_checkpoint.h).
#include "legacy_checkpoint.h"

#include <cmath>

#include "dust/ml/model.h"
#include "dust/util/sealed_file.h"

namespace dust::internal {
namespace {

// The layout Node::ExportCheckpoint wrote in 0.1.0, before it used checkpoint.h (still read, so
// an upgrade keeps the model): a sealed file "DSTN", version u8 = 1, whose body is
// layer count u32 | sizes u32... | init_seed u64 | round u64 | samples_seen u64 | steps u64 |
// num_params u32 | params f32[n] | momentum f32[n]. No residual.
constexpr SealedFormat kLegacyFormat{.name = "node checkpoint (0.1.0 layout)", .magic = "DSTN"};

}  // namespace

bool IsLegacyCheckpoint(ByteView bytes) { return HasSealedMagic(bytes, kLegacyFormat); }

Result<Checkpoint> DecodeLegacyCheckpoint(ByteView bytes) {
  Result<SealedFile> file = OpenSealedFile(bytes, kLegacyFormat, {1});
  if (!file.ok()) return file.status();
  ByteReader r(file->body);
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
