// Scaling payload codec (scaling_wire.h; docs/protocol.md, "Scaling payload").
#include "dust/net/scaling_wire.h"

#include <cmath>
#include <string>

#include "dust/util/crypto.h"

namespace dust {
namespace {

Status Bad(const std::string& what) { return Status::Corrupt("scaling payload: " + what); }

// The rules shared by encode and decode.
Status CheckBlock(const ScalingBlock& b) {
  const bool local = b.kind == ScalingBlockKind::kLocalMoments;
  if (!local && b.kind != ScalingBlockKind::kFleetScaling) return Bad("unknown kind");
  const uint32_t max = local ? kMaxLocalFeaturesPerBlock : kMaxFleetFeaturesPerBlock;
  const uint32_t n = b.count();
  if (b.m2.size() != n || (local && (b.max_abs.size() != n || b.zeros.size() != n)) ||
      (!local && (!b.max_abs.empty() || !b.zeros.empty()))) {
    return Bad("value vectors of different lengths");
  }
  if (n > max)
    return Bad(std::to_string(n) + " features in one block, at most " + std::to_string(max));
  if (b.features == 0 || b.first >= b.features || b.features - b.first < n) {
    return Bad("block [" + std::to_string(b.first) + ", +" + std::to_string(n) +
               ") outside a model of " + std::to_string(b.features) + " inputs");
  }
  if (n == 0 && (local || b.first != 0)) return Bad("empty block");
  if (local ? b.id != 0 : b.id == 0) return Bad("id must be 0 for local moments, else not 0");
  for (uint32_t k = 0; k < n; ++k) {
    const bool finite = std::isfinite(b.mean[k]) && std::isfinite(b.m2[k]) &&
                        (!local || std::isfinite(b.max_abs[k]));
    if (!finite) return Bad("feature " + std::to_string(b.first + k) + " is not finite");
    if (local && (b.m2[k] < 0 || b.max_abs[k] < 0 || b.zeros[k] > b.samples)) {
      return Bad("feature " + std::to_string(b.first + k) + " has impossible moments");
    }
    if (!local && !(b.m2[k] > 0)) {
      return Bad("feature " + std::to_string(b.first + k) + " has a scale that is not > 0");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Bytes> EncodeScalingBlock(const ScalingBlock& b) {
  if (Status s = CheckBlock(b); !s.ok()) return Status::InvalidArgument(s.message());
  const bool local = b.kind == ScalingBlockKind::kLocalMoments;
  Bytes out;
  ByteWriter w(&out);
  w.U8(static_cast<uint8_t>(b.kind));
  w.U64(b.samples);
  w.U64(b.id);
  w.U32(b.features);
  w.U32(b.first);
  w.U16(static_cast<uint16_t>(b.count()));
  for (uint32_t k = 0; k < b.count(); ++k) {
    w.F32(b.mean[k]);
    w.F32(b.m2[k]);
    if (local) {
      w.F32(b.max_abs[k]);
      w.U32(b.zeros[k]);
    }
  }
  return out;
}

Result<ScalingBlock> DecodeScalingBlock(ByteView payload) {
  ByteReader r(payload);
  if (payload.size() < kScalingPreambleBytes) return Bad("too short");
  ScalingBlock b;
  const uint8_t kind = r.U8();
  if (kind != static_cast<uint8_t>(ScalingBlockKind::kLocalMoments) &&
      kind != static_cast<uint8_t>(ScalingBlockKind::kFleetScaling)) {
    return Bad("unknown kind " + std::to_string(kind));
  }
  b.kind = static_cast<ScalingBlockKind>(kind);
  const bool local = b.kind == ScalingBlockKind::kLocalMoments;
  b.samples = r.U64();
  b.id = r.U64();
  b.features = r.U32();
  b.first = r.U32();
  const uint32_t n = r.U16();
  const size_t each = local ? kLocalMomentBytes : kFleetValueBytes;
  if (r.remaining() != n * each) return Bad("length does not match its feature count");
  if (n > (local ? kMaxLocalFeaturesPerBlock : kMaxFleetFeaturesPerBlock)) {
    return Bad("too many features in one block");
  }
  for (uint32_t k = 0; k < n; ++k) {
    b.mean.push_back(r.F32());
    b.m2.push_back(r.F32());
    if (local) {
      b.max_abs.push_back(r.F32());
      b.zeros.push_back(r.U32());
    }
  }
  DUST_RETURN_IF_ERROR(CheckBlock(b));
  return b;
}

uint64_t ScalingId(uint64_t samples, uint32_t features, const std::vector<float>& center,
                   const std::vector<float>& scale) {
  Bytes b;
  ByteWriter w(&b);
  w.Raw(AsBytes("dust-scaling-v1"));
  w.U64(samples);
  w.U32(features);
  for (float c : center) w.F32(c);
  for (float s : scale) w.F32(s);
  const uint64_t id = Checksum64(b);
  return id == 0 ? 1 : id;
}

}  // namespace dust
