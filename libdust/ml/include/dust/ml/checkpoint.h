// Checkpoint codec: a model's architecture, parameters, optimizer state and training counters
// as one self-checking byte string (format: docs/protocol.md, "Checkpoint file").
//
// The codec is pure: no files here (the daemon writes the bytes with AtomicWriteFile). Decoding
// never trusts its input: every length is checked against caps and against the bytes present
// before anything is allocated, a BLAKE2b checksum covers every byte before it, and every float
// must be finite. A truncated, extended or altered checkpoint gives an error Status, never a
// crash or a half-filled result. Encoding is canonical: encode(decode(b)) == b for every b
// that decodes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "dust/ml/model.h"
#include "dust/ml/privacy.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr uint16_t kCheckpointVersion = 1;

struct Checkpoint {
  std::vector<uint32_t> layer_sizes;  // as Mlp::Create takes them
  uint64_t init_seed = 0;             // with layer_sizes, gives the model's Fingerprint
  uint64_t steps = 0;                 // SGD steps taken (Trainer::steps)
  uint64_t rounds = 0;                // gossip rounds completed (the engine's counter)
  uint64_t samples_seen = 0;          // training samples processed
  std::vector<float> params;          // ParamCount(layer_sizes) values, model.h layout
  std::vector<float> momentum;        // empty (no optimizer state) or the same size as params
  // Empty, or the engine's error-feedback accumulator (local progress not yet sent, node.h),
  // the same size as params: kept so that a restart loses none of the node's training.
  std::vector<float> residual;
  // The model's input scaling (identity: not stored) and the number of samples whose pooled
  // statistics it was computed from (the engine prefers the fleet scaling with more samples).
  InputScaling scaling;
  uint64_t scaling_samples = 0;
  // The engine's memory of absent peers (docs/engine.md, "Peers that sleep"), in key order:
  // each peer's average delta per unit of learning rate and the model when it was last heard.
  struct Peer {
    std::array<uint8_t, 32> key{};
    int64_t last_ms = 0;  // when its last update was merged
    float weight = 0;     // its weight then (finite, >= 0)
    uint32_t updates = 0;
    std::vector<float> delta, anchor;  // params.size() each
    bool operator==(const Peer&) const = default;
  };
  std::vector<Peer> peers;  // at most kMaxCheckpointPeers, keys strictly increasing
  // The privacy accountant's state (privacy.h): noisy steps composed and the RDP they spent at
  // each order, so a restart does not reset epsilon. Absent: no noisy step was ever taken.
  struct DpState {
    uint64_t steps = 0;
    RdpCurve rdp{};
    bool operator==(const DpState&) const = default;
  };
  std::optional<DpState> dp;

  bool operator==(const Checkpoint&) const = default;
};

inline constexpr uint32_t kMaxCheckpointPeers = 1024;

// Encodes `c`. Precondition: layer_sizes valid for Mlp::Create, params.size() ==
// ParamCount(layer_sizes), momentum and residual each empty or params.size(), all values finite; a
// checkpoint that breaks it still encodes, but DecodeCheckpoint refuses the bytes.
Bytes EncodeCheckpoint(const Checkpoint& c);

// The number of bytes EncodeCheckpoint gives for these layer sizes with `value_blocks` blocks of
// ParamCount floats: 1 (parameters), 2 (and momentum) or 3 (and residual).
uint64_t EncodedCheckpointSize(const std::vector<uint32_t>& layer_sizes, int value_blocks);

// Decodes bytes produced by EncodeCheckpoint. Errors: kCorrupt (bad magic, wrong length,
// checksum mismatch, non-finite value, reserved flag bits set, counts that disagree),
// kUnsupported (another version), kInvalidArgument (architecture outside the caps of model.h).
Result<Checkpoint> DecodeCheckpoint(ByteView bytes);

// The checkpoint of a model and its trainer (momentum and step count) with the given counters.
Checkpoint MakeCheckpoint(const Mlp& model, const Trainer& trainer, uint64_t init_seed,
                          uint64_t rounds, uint64_t samples_seen);

// Rebuilds the model a checkpoint describes (parameters copied; Init is not called).
Result<Mlp> ModelFromCheckpoint(const Checkpoint& c);

// Copies the checkpoint's momentum (zeros if it has none) and step count into a trainer built
// for the same architecture; InvalidArgument if the sizes differ.
Status RestoreTrainer(const Checkpoint& c, Trainer& trainer);

}  // namespace dust
