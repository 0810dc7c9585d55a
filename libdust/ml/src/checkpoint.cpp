// Checkpoint codec (see checkpoint.h and docs/protocol.md, "Checkpoint file").
#include "dust/ml/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "dust/util/sealed_file.h"

namespace dust {
namespace {

constexpr uint16_t kFlagMomentum = 1;  // bit 0: a momentum block follows the parameters
constexpr uint16_t kFlagResidual = 2;  // bit 1: a residual block follows (after the momentum)
constexpr uint16_t kFlagScaling = 4;   // bit 2: the input scaling follows (after the residual)
constexpr uint16_t kFlagPeers = 8;     // bit 3: the engine's peer memory follows
constexpr uint16_t kFlagDp = 16;       // bit 4: the privacy accountant follows (last)
constexpr uint16_t kKnownFlags =
    kFlagMomentum | kFlagResidual | kFlagScaling | kFlagPeers | kFlagDp;
// One remembered peer before its two blocks of floats: key, last_ms, weight, updates.
constexpr uint64_t kPeerHeaderBytes = 32 + 8 + 4 + 4;
// The accountant: its step count, then the RDP at every tracked order as f64.
constexpr size_t kDpBytes = 8 + 8 * kRdpOrders;
// The body starts with flags u16 and the layer count u32.
constexpr SealedFormat kFormat{.name = "checkpoint",
                               .magic = "DUSTCKPT",
                               .version_field = SealedVersionField::kU16,
                               .min_body = 2 + 4};
// magic, version, flags, layer count
constexpr size_t kFixedHeader = kFormat.header_bytes() + kFormat.min_body;
// seed, steps, rounds, samples_seen, param_count after the layer sizes
constexpr size_t kCountersBytes = 5 * 8;

// What the fields before the values say, and where the values are.
struct Layout {
  uint16_t flags = 0;
  uint64_t param_count = 0;
  ByteView values;  // the parameter, momentum and residual blocks
};

void PutFloats(ByteWriter& w, const std::vector<float>& v) {
  for (float f : v) w.F32(f);
}

// Reads n floats (the caller has checked the length), refusing any that is not finite.
Status GetFloats(ByteReader& r, size_t n, const char* what, std::vector<float>* out) {
  out->resize(n);
  for (size_t i = 0; i < n; ++i) {
    const float f = r.F32();
    if (!std::isfinite(f)) {
      return Status::Corrupt(std::string("checkpoint: ") + what + " value " + std::to_string(i) +
                             " is not finite");
    }
    (*out)[i] = f;
  }
  return Status::Ok();
}

// Decodes the fields before the values into `c` and `layout`, checking them against the caps of
// model.h and the body's length. Runs before the checksum (docs/protocol.md gives the order), so
// that a truncated or extended file is named as such and nothing is allocated for a size the
// bytes do not hold.
Status DecodeLayout(ByteView body, Checkpoint* c, Layout* layout) {
  ByteReader r(body);
  layout->flags = r.U16();
  if ((layout->flags & ~kKnownFlags) != 0) {
    return Status::Corrupt("checkpoint: unknown flag bits " + std::to_string(layout->flags));
  }
  const uint32_t layer_count = r.U32();
  if (layer_count < 2 || layer_count > kMaxLayers + 1) {
    return Status::InvalidArgument("checkpoint: " + std::to_string(layer_count) +
                                   " layer sizes, must be 2 to " + std::to_string(kMaxLayers + 1));
  }
  if (r.remaining() < 4 * size_t{layer_count} + kCountersBytes) {
    return Status::Corrupt("checkpoint: truncated header");
  }
  c->layer_sizes.resize(layer_count);
  for (uint32_t& s : c->layer_sizes) {
    s = r.U32();
    if (s == 0 || s > kMaxLayerWidth) {
      return Status::InvalidArgument("checkpoint: layer width " + std::to_string(s) +
                                     " outside [1, " + std::to_string(kMaxLayerWidth) + "]");
    }
  }
  // Widths <= 2^16 and at most 16 layers: the count fits easily in 64 bits.
  const uint64_t expected_params = ParamCount(c->layer_sizes);
  if (expected_params > kMaxParams) {
    return Status::InvalidArgument(
        "checkpoint: architecture has " + std::to_string(expected_params) +
        " parameters, more than the cap of " + std::to_string(kMaxParams));
  }
  c->init_seed = r.U64();
  c->steps = r.U64();
  c->rounds = r.U64();
  c->samples_seen = r.U64();
  layout->param_count = r.U64();
  if (layout->param_count != expected_params) {
    return Status::Corrupt("checkpoint: says " + std::to_string(layout->param_count) +
                           " parameters but its layer sizes need " +
                           std::to_string(expected_params));
  }
  const int blocks =
      1 + ((layout->flags & kFlagMomentum) != 0) + ((layout->flags & kFlagResidual) != 0);
  uint64_t float_bytes = 4 * layout->param_count * static_cast<uint64_t>(blocks);
  // The scaling: its sample count, then center and scale of every input.
  if (layout->flags & kFlagScaling) float_bytes += 8 + 8 * uint64_t{c->layer_sizes[0]};
  if (layout->flags & kFlagPeers) {
    // The count sits after every block before it; read it there without consuming.
    if (r.remaining() < float_bytes + 4) return Status::Corrupt("checkpoint: truncated");
    ByteReader count(r.rest().subspan(float_bytes, 4));
    const uint32_t peers = count.U32();
    if (peers == 0 || peers > kMaxCheckpointPeers) {
      return Status::Corrupt("checkpoint: " + std::to_string(peers) +
                             " remembered peers, must be 1 to " +
                             std::to_string(kMaxCheckpointPeers));
    }
    float_bytes += 4 + uint64_t{peers} * (kPeerHeaderBytes + 8 * layout->param_count);
  }
  if (layout->flags & kFlagDp) float_bytes += kDpBytes;
  if (r.remaining() != float_bytes) {
    return Status::Corrupt("checkpoint: " + std::to_string(kFormat.file_bytes(body.size())) +
                           " bytes, expected " +
                           std::to_string(kFormat.file_bytes(r.position()) + float_bytes) +
                           " (truncated or extended)");
  }
  layout->values = r.rest();
  return Status::Ok();
}

// The scaling block is written for a non-identity scaling, or for the identity when it is a
// fleet's agreed scaling (scaling_samples > 0), with explicit centers 0 and scales 1.
bool HasScalingBlock(const Checkpoint& c) { return !c.scaling.identity() || c.scaling_samples > 0; }

size_t ScalingBytes(const Checkpoint& c) {
  return HasScalingBlock(c) ? 8 + 8 * size_t{c.layer_sizes[0]} : 0;
}

size_t PeerBytes(const Checkpoint& c) {
  if (c.peers.empty()) return 0;
  return 4 + c.peers.size() * (kPeerHeaderBytes + 8 * c.params.size());
}

}  // namespace

uint64_t EncodedCheckpointSize(const std::vector<uint32_t>& layer_sizes, int value_blocks) {
  return kFixedHeader + 4 * uint64_t{layer_sizes.size()} + kCountersBytes +
         4 * ParamCount(layer_sizes) * static_cast<uint64_t>(value_blocks) + kSealChecksumBytes;
}

Bytes EncodeCheckpoint(const Checkpoint& c) {
  const size_t body_bytes = kFormat.min_body + 4 * c.layer_sizes.size() + kCountersBytes +
                            4 * (c.params.size() + c.momentum.size() + c.residual.size()) +
                            ScalingBytes(c) + PeerBytes(c) + (c.dp ? kDpBytes : 0);
  return SealFile(
      kFormat, kCheckpointVersion,
      [&](ByteWriter& w) {
        w.U16(static_cast<uint16_t>((c.momentum.empty() ? 0 : kFlagMomentum) |
                                    (c.residual.empty() ? 0 : kFlagResidual) |
                                    (HasScalingBlock(c) ? kFlagScaling : 0) |
                                    (c.peers.empty() ? 0 : kFlagPeers) | (c.dp ? kFlagDp : 0)));
        w.U32(static_cast<uint32_t>(c.layer_sizes.size()));
        for (uint32_t s : c.layer_sizes) w.U32(s);
        w.U64(c.init_seed);
        w.U64(c.steps);
        w.U64(c.rounds);
        w.U64(c.samples_seen);
        w.U64(c.params.size());
        PutFloats(w, c.params);
        PutFloats(w, c.momentum);
        PutFloats(w, c.residual);
        if (HasScalingBlock(c)) {
          const size_t in = c.layer_sizes[0];
          w.U64(c.scaling_samples);
          PutFloats(w, c.scaling.identity() ? std::vector<float>(in, 0.0f) : c.scaling.center());
          PutFloats(w, c.scaling.identity() ? std::vector<float>(in, 1.0f) : c.scaling.scale());
        }
        if (!c.peers.empty()) {
          w.U32(static_cast<uint32_t>(c.peers.size()));
          for (const Checkpoint::Peer& p : c.peers) {
            w.Raw(p.key);
            w.U64(static_cast<uint64_t>(p.last_ms));
            w.F32(p.weight);
            w.U32(p.updates);
            PutFloats(w, p.delta);
            PutFloats(w, p.anchor);
          }
        }
        if (c.dp) {
          w.U64(c.dp->steps);
          for (double v : c.dp->rdp) w.F64(v);
        }
      },
      body_bytes);
}

Result<Checkpoint> DecodeCheckpoint(ByteView bytes) {
  Checkpoint c;
  Layout layout;
  Result<SealedFile> file =
      OpenSealedFile(bytes, kFormat, {kCheckpointVersion},
                     [&](ByteView body) { return DecodeLayout(body, &c, &layout); });
  if (!file.ok()) return file.status();
  ByteReader r(layout.values);
  DUST_RETURN_IF_ERROR(GetFloats(r, layout.param_count, "parameter", &c.params));
  if (layout.flags & kFlagMomentum) {
    DUST_RETURN_IF_ERROR(GetFloats(r, layout.param_count, "momentum", &c.momentum));
  }
  if (layout.flags & kFlagResidual) {
    DUST_RETURN_IF_ERROR(GetFloats(r, layout.param_count, "residual", &c.residual));
  }
  if (layout.flags & kFlagScaling) {
    c.scaling_samples = r.U64();
    const size_t in = c.layer_sizes[0];
    std::vector<float> center, scale;
    DUST_RETURN_IF_ERROR(GetFloats(r, in, "scaling center", &center));
    DUST_RETURN_IF_ERROR(GetFloats(r, in, "scaling scale", &scale));
    const bool identity =
        std::all_of(center.begin(), center.end(),
                    [](float v) { return v == 0.0f && !std::signbit(v); }) &&
        std::all_of(scale.begin(), scale.end(), [](float v) { return v == 1.0f; });
    c.scaling = InputScaling(std::move(center), std::move(scale));
    if (Status s = c.scaling.Check(c.layer_sizes[0]); !s.ok()) {
      return Status::Corrupt("checkpoint: " + s.message());
    }
    if (identity) {
      // Canonical: an identity scaling is stored only with the fleet's sample count.
      if (c.scaling_samples == 0) {
        return Status::Corrupt("checkpoint: identity scaling block without a sample count");
      }
      c.scaling = InputScaling{};
    }
  }
  if (layout.flags & kFlagPeers) {
    c.peers.resize(r.U32());  // checked against the caps and the length by DecodeLayout
    for (size_t j = 0; j < c.peers.size(); ++j) {
      Checkpoint::Peer& p = c.peers[j];
      p.key = r.Array<32>();
      if (j > 0 && !(c.peers[j - 1].key < p.key)) {
        return Status::Corrupt("checkpoint: remembered peers out of key order");
      }
      p.last_ms = r.I64();
      p.weight = r.F32();
      if (!std::isfinite(p.weight) || p.weight < 0) {
        return Status::Corrupt("checkpoint: a remembered peer's weight is not finite and >= 0");
      }
      p.updates = r.U32();
      DUST_RETURN_IF_ERROR(GetFloats(r, layout.param_count, "remembered delta", &p.delta));
      DUST_RETURN_IF_ERROR(GetFloats(r, layout.param_count, "remembered anchor", &p.anchor));
    }
  }
  if (layout.flags & kFlagDp) {
    Checkpoint::DpState dp;
    dp.steps = r.U64();
    for (double& v : dp.rdp) {
      v = r.F64();
      // RDP is finite and >= 0 after any number of noisy steps; anything else is damage, and
      // must not be read as budget handed back.
      if (!std::isfinite(v) || v < 0) return Status::Corrupt("checkpoint: bad privacy RDP value");
    }
    if (dp.steps == 0) return Status::Corrupt("checkpoint: privacy block without a step");
    c.dp = dp;
  }
  if (!r.ok() || r.remaining() != 0) {
    return Status::Corrupt("checkpoint: internal length mismatch");  // unreachable by the checks
  }
  return c;
}

Checkpoint MakeCheckpoint(const Mlp& model, const Trainer& trainer, uint64_t init_seed,
                          uint64_t rounds, uint64_t samples_seen) {
  Checkpoint c;
  c.layer_sizes = model.layer_sizes();
  c.init_seed = init_seed;
  c.steps = trainer.steps();
  c.rounds = rounds;
  c.samples_seen = samples_seen;
  c.params.assign(model.params().begin(), model.params().end());
  c.momentum.assign(trainer.momentum().begin(), trainer.momentum().end());
  c.scaling = model.scaling();
  return c;
}

Result<Mlp> ModelFromCheckpoint(const Checkpoint& c) {
  auto m = Mlp::Create(c.layer_sizes);
  if (!m.ok()) return m.status().WithContext("checkpoint");
  if (c.params.size() != m->num_params()) {
    return Status::InvalidArgument("checkpoint: " + std::to_string(c.params.size()) +
                                   " parameters for a model of " + std::to_string(m->num_params()));
  }
  std::copy(c.params.begin(), c.params.end(), m->params().begin());
  if (Status s = m->SetScaling(c.scaling); !s.ok()) return s.WithContext("checkpoint");
  return m;
}

Status RestoreTrainer(const Checkpoint& c, Trainer& trainer) {
  std::span<float> v = trainer.momentum();
  if (c.layer_sizes != trainer.layer_sizes() ||
      (!c.momentum.empty() && c.momentum.size() != v.size())) {
    return Status::InvalidArgument("checkpoint: optimizer state does not fit this trainer");
  }
  if (c.momentum.empty()) {
    std::fill(v.begin(), v.end(), 0.0f);
  } else {
    std::copy(c.momentum.begin(), c.momentum.end(), v.begin());
  }
  trainer.set_steps(c.steps);
  return Status::Ok();
}

}  // namespace dust
