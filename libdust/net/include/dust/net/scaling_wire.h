// Scaling payload (docs/protocol.md, "Scaling payload"): how peers agree on one input scaling.
//
// A message carries one block of consecutive features of either
//   - a node's LOCAL moments (its own training data: count, per feature mean, sum of squared
//     deviations, zero count, largest |x|), which peers pool during calibration, or
//   - a FLEET scaling (per feature center and scale, with the number of samples it was pooled
//     from and its id), which a node adopts when it is better than its own (docs/engine.md,
//     "Feature scaling"). The identity travels as one block without values.
// Values are float32 on the wire; a node pools its own moments as they would travel, so every
// node that heard the same peers computes the same bits.
#pragma once

#include <cstdint>
#include <vector>

#include "dust/net/wire.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

enum class ScalingBlockKind : uint8_t {
  kLocalMoments = 1,
  kFleetScaling = 2,
};

inline constexpr size_t kScalingPreambleBytes = 1 + 8 + 8 + 4 + 4 + 2;  // kind ... count
inline constexpr size_t kLocalMomentBytes = 16;  // mean, m2, max_abs f32, zeros u32
inline constexpr size_t kFleetValueBytes = 8;    // center, scale f32
// Features per block: as many as fit the payload cap (kMaxPayloadBytes).
inline constexpr uint32_t kMaxLocalFeaturesPerBlock =
    (kMaxPayloadBytes - kScalingPreambleBytes) / kLocalMomentBytes;  // 80
inline constexpr uint32_t kMaxFleetFeaturesPerBlock =
    (kMaxPayloadBytes - kScalingPreambleBytes) / kFleetValueBytes;  // 160

struct ScalingBlock {
  ScalingBlockKind kind = ScalingBlockKind::kLocalMoments;
  uint64_t samples = 0;   // local: the sender's training samples; fleet: pooled sample count
  uint64_t id = 0;        // fleet: the scaling's id (ScalingId); local: 0
  uint32_t features = 0;  // the model's input width
  uint32_t first = 0;     // first feature of this block
  // kLocalMoments: mean, m2, max_abs, zeros; kFleetScaling: center (in `mean`) and scale (in
  // `m2`), or no values at all for the identity. Same length, count <= the per-block maximum.
  std::vector<float> mean;
  std::vector<float> m2;
  std::vector<float> max_abs;
  std::vector<uint32_t> zeros;

  uint32_t count() const { return static_cast<uint32_t>(mean.size()); }
  bool operator==(const ScalingBlock&) const = default;
};

// Encodes a block; InvalidArgument if it breaks a rule DecodeScalingBlock checks.
Result<Bytes> EncodeScalingBlock(const ScalingBlock& block);
// Decodes and checks: known kind, exact length, first + count <= features, count in range
// (1..max, or 0 for a fleet identity, which must then be the block at feature 0), every float
// finite; local: m2 >= 0, max_abs >= 0, zeros <= samples; fleet: scale > 0, id != 0.
Result<ScalingBlock> DecodeScalingBlock(ByteView payload);

// The id of a fleet scaling: Checksum64 of "dust-scaling-v1", the sample count, the width and
// the float bits of every center and scale (none for the identity); never 0.
uint64_t ScalingId(uint64_t samples, uint32_t features, const std::vector<float>& center,
                   const std::vector<float>& scale);

}  // namespace dust
