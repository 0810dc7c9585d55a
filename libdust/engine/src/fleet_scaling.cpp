// Agreeing on one input scaling (fleet_scaling.h).
#include "fleet_scaling.h"

#include <algorithm>

namespace dust::internal {
namespace {

uint32_t Blocks(uint32_t features, uint32_t per_block) {
  return (features + per_block - 1) / per_block;
}

uint64_t IdOf(const InputScaling& s, uint64_t samples, uint32_t features) {
  return ScalingId(samples, features, s.center(), s.scale());
}

}  // namespace

FeatureMoments AsSent(const FeatureMoments& m) {
  FeatureMoments out = m;
  for (uint32_t j = 0; j < m.features(); ++j) {
    out.mean[j] = static_cast<float>(m.mean[j]);
    out.m2[j] = static_cast<float>(m.m2[j]);
    out.zeros[j] = std::min<uint64_t>(m.zeros[j], UINT32_MAX);
  }
  return out;
}

FleetScaling::FleetScaling(uint32_t features, uint32_t calibration_rounds, uint32_t announce_rounds)
    : m_features(features),
      m_calibration_rounds(calibration_rounds),
      m_announce_rounds(std::max<uint32_t>(announce_rounds, 1)),
      m_own(FeatureMoments::Empty(features)) {}

uint32_t FleetScaling::LocalBlocks() const { return Blocks(m_features, kMaxLocalFeaturesPerBlock); }

uint32_t FleetScaling::FleetBlocks() const {
  return m_scaling.identity() ? 1 : Blocks(m_features, kMaxFleetFeaturesPerBlock);
}

void FleetScaling::Set(InputScaling scaling, uint64_t samples, bool agreed) {
  const bool changed = !(scaling == m_scaling);
  m_scaling = std::move(scaling);
  m_samples = samples;
  m_id = IdOf(m_scaling, samples, m_features);
  m_agreed = agreed;
  m_changed = m_changed || changed;
}

void FleetScaling::SetOwnMoments(const FeatureMoments& own) {
  m_own = AsSent(own);
  if (!m_agreed) Set(ProvisionalScalingFor(m_own), m_own.count, false);
}

void FleetScaling::Restore(const InputScaling& scaling, uint64_t samples) {
  Set(scaling, samples, true);
  m_candidate.reset();
}

bool FleetScaling::Better(uint64_t samples, uint64_t id) const {
  if (!m_agreed) return true;
  if (samples != m_samples) return samples > m_samples;
  return id < m_id;
}

void FleetScaling::OnBlock(const PublicKey& sender, const ScalingBlock& b) {
  if (b.features != m_features) return;
  if (b.kind == ScalingBlockKind::kLocalMoments) {
    if (m_agreed) return;  // only calibration pools local moments
    PeerMoments& p = m_peers[sender];
    if (p.moments.count != b.samples || p.got.size() != LocalBlocks()) {
      // A first block, or the peer's data changed: start over.
      p.moments = FeatureMoments::Empty(m_features);
      p.moments.count = b.samples;
      p.got.assign(LocalBlocks(), false);
      p.blocks = 0;
    }
    for (uint32_t k = 0; k < b.count(); ++k) {
      const uint32_t j = b.first + k;
      p.moments.mean[j] = b.mean[k];
      p.moments.m2[j] = b.m2[k];
      p.moments.max_abs[j] = b.max_abs[k];
      p.moments.zeros[j] = b.zeros[k];
    }
    // Blocks are aligned to kMaxLocalFeaturesPerBlock; a block that is not is still stored but
    // completes nothing.
    if (b.first % kMaxLocalFeaturesPerBlock == 0) {
      const uint32_t block = b.first / kMaxLocalFeaturesPerBlock;
      if (!p.got[block]) {
        p.got[block] = true;
        ++p.blocks;
      }
    }
    return;
  }
  // A fleet scaling: worth receiving only if it would win.
  if (b.id == m_id || !Better(b.samples, b.id)) return;
  const bool identity = b.count() == 0;
  if (!m_candidate || m_candidate->id != b.id || m_candidate->samples != b.samples) {
    if (m_candidate && (m_candidate->samples > b.samples ||
                        (m_candidate->samples == b.samples && m_candidate->id < b.id))) {
      return;  // already receiving a better one
    }
    Candidate c;
    c.samples = b.samples;
    c.id = b.id;
    c.identity = identity;
    if (!identity) {
      c.center.assign(m_features, 0.0f);
      c.scale.assign(m_features, 1.0f);
      c.got.assign(Blocks(m_features, kMaxFleetFeaturesPerBlock), false);
    }
    m_candidate = std::move(c);
  }
  Candidate& c = *m_candidate;
  if (!identity && !c.identity && b.first % kMaxFleetFeaturesPerBlock == 0) {
    for (uint32_t k = 0; k < b.count(); ++k) {
      c.center[b.first + k] = b.mean[k];
      c.scale[b.first + k] = b.m2[k];
    }
    const uint32_t block = b.first / kMaxFleetFeaturesPerBlock;
    if (!c.got[block]) {
      c.got[block] = true;
      ++c.blocks;
    }
  }
  if (c.identity != identity) return;
  if (!identity && c.blocks < c.got.size()) return;
  InputScaling s = identity ? InputScaling{} : InputScaling(c.center, c.scale);
  // Adopt only what we can check: the id must be that of the values received.
  const bool valid = s.Check(m_features).ok() && IdOf(s, c.samples, m_features) == c.id;
  m_candidate.reset();
  if (valid) Set(std::move(s), b.samples, true);
}

void FleetScaling::OnRound(uint64_t round, const TrustStore& trust, const PublicKey& self) {
  if (!m_started) {
    m_started = true;
    m_calibration_start = round;
    m_calibration_end = round + std::max<uint64_t>(m_calibration_rounds, 3 * LocalBlocks());
  }
  if (m_agreed || round < m_calibration_end) return;
  // Freeze: our own moments and every trusted peer's complete ones, in key order (std::map).
  FeatureMoments pooled = FeatureMoments::Empty(m_features);
  bool own_pooled = false;
  size_t peers = 0;
  for (const auto& [key, p] : m_peers) {
    if (!own_pooled && self < key) {
      (void)pooled.Merge(m_own);
      own_pooled = true;
    }
    if (p.blocks < p.got.size() || trust.Find(key) == nullptr) continue;
    (void)pooled.Merge(p.moments);
    ++peers;
  }
  if (!own_pooled) (void)pooled.Merge(m_own);
  m_peers.clear();
  m_peers_pooled = peers;
  Set(ScalingFor(pooled), pooled.count, true);
}

std::optional<ScalingBlock> FleetScaling::BlockToSend(uint64_t round) const {
  if (!m_started) return std::nullopt;
  ScalingBlock b;
  b.features = m_features;
  if (!m_agreed) {
    if (m_own.count == 0) return std::nullopt;  // nothing to pool yet
    const uint32_t block = static_cast<uint32_t>((round - m_calibration_start) % LocalBlocks());
    b.kind = ScalingBlockKind::kLocalMoments;
    b.samples = m_own.count;
    b.first = block * kMaxLocalFeaturesPerBlock;
    const uint32_t end = std::min(m_features, b.first + kMaxLocalFeaturesPerBlock);
    for (uint32_t j = b.first; j < end; ++j) {
      b.mean.push_back(static_cast<float>(m_own.mean[j]));
      b.m2.push_back(static_cast<float>(m_own.m2[j]));
      b.max_abs.push_back(m_own.max_abs[j]);
      b.zeros.push_back(static_cast<uint32_t>(m_own.zeros[j]));
    }
    return b;
  }
  if (round % m_announce_rounds != 0) return std::nullopt;
  const uint32_t block = static_cast<uint32_t>((round / m_announce_rounds) % FleetBlocks());
  b.kind = ScalingBlockKind::kFleetScaling;
  b.samples = m_samples;
  b.id = m_id;
  if (!m_scaling.identity()) {
    b.first = block * kMaxFleetFeaturesPerBlock;
    const uint32_t end = std::min(m_features, b.first + kMaxFleetFeaturesPerBlock);
    for (uint32_t j = b.first; j < end; ++j) {
      b.mean.push_back(m_scaling.center()[j]);
      b.m2.push_back(m_scaling.scale()[j]);
    }
  }
  return b;
}

std::optional<InputScaling> FleetScaling::TakeChange() {
  if (!m_changed) return std::nullopt;
  m_changed = false;
  return m_scaling;
}

}  // namespace dust::internal
