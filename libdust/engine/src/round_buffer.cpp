// The round buffer and its filters (round_buffer.h).
#include "round_buffer.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace dust::internal {
namespace {

// Robust rules: a sender whose absolute block is this many times the median distance from
// the aggregate is an outlier for the round; above this outlier score its deltas are ignored.
constexpr double kOutlierFactor = 4.0;
constexpr float kOutlierScore = 0.5f;
constexpr double kOutlierFloor = 0.25;

// Removes the parts (and their senders) for which drop(sender) holds, keeping the others in
// order, and returns the senders of the removed ones.
template <typename Drop>
std::vector<PublicKey> RemoveParts(std::vector<MergeInput>& parts, std::vector<PublicKey>& from,
                                   Drop drop) {
  std::vector<PublicKey> dropped;
  size_t keep = 0;
  for (size_t j = 0; j < parts.size(); ++j) {
    if (drop(from[j])) {
      dropped.push_back(from[j]);
      continue;
    }
    if (keep != j) {
      parts[keep] = std::move(parts[j]);
      from[keep] = from[j];
    }
    ++keep;
  }
  parts.resize(keep);
  from.resize(keep);
  return dropped;
}

}  // namespace

void RoundBuffer::Add(MergeInput absolute, MergeInput delta, const PublicKey& sender) {
  if (!absolute.index.empty()) {
    m_absolute.push_back(std::move(absolute));
    m_absolute_from.push_back(sender);
  }
  if (!delta.index.empty()) {
    m_delta.push_back(std::move(delta));
    m_delta_from.push_back(sender);
  }
}

void RoundBuffer::AddOwnDelta(MergeInput own, const PublicKey& self) {
  m_delta.push_back(std::move(own));
  m_delta_from.push_back(self);
}

uint64_t RoundBuffer::DropRevoked(const TrustStore& trust, const PublicKey& self) {
  auto revoked = [&](const PublicKey& k) { return k != self && !trust.Contains(k); };
  std::vector<PublicKey> dropped_absolute = RemoveParts(m_absolute, m_absolute_from, revoked);
  std::vector<PublicKey> dropped_delta = RemoveParts(m_delta, m_delta_from, revoked);
  // Count updates, not parts, by pairing each dropped delta with a dropped absolute part of
  // the same sender.
  uint64_t updates = dropped_absolute.size();
  for (const PublicKey& k : dropped_delta) {
    auto pair = std::find(dropped_absolute.begin(), dropped_absolute.end(), k);
    if (pair == dropped_absolute.end()) {
      ++updates;
    } else {
      dropped_absolute.erase(pair);
    }
  }
  return updates;
}

void RoundBuffer::ScoreOutliers(std::span<const float> params, PeerTable& peers) const {
  if (m_absolute.size() < 3) return;
  std::vector<double> dist(m_absolute.size()), scale(m_absolute.size());
  for (size_t j = 0; j < m_absolute.size(); ++j) {
    const MergeInput& u = m_absolute[j];
    double s2 = 0, x2 = 0;
    for (size_t k = 0; k < u.index.size(); ++k) {
      double xv = params[u.index[k]];
      double dv = double{u.value[k]} - xv;
      s2 += dv * dv;
      x2 += xv * xv;
    }
    double n = static_cast<double>(u.index.size());
    dist[j] = std::sqrt(s2 / n);
    scale[j] = std::sqrt(x2 / n);
  }
  std::vector<double> tmp = dist;
  std::nth_element(tmp.begin(), tmp.begin() + static_cast<long>(tmp.size() / 2), tmp.end());
  const double median = tmp[tmp.size() / 2];
  for (size_t j = 0; j < m_absolute.size(); ++j) {
    PeerInfo* peer = peers.Find(m_absolute_from[j]);
    if (peer == nullptr) continue;
    // Floor: honest peers in near-perfect agreement differ by quantization noise only, so a
    // multiple of a tiny median would flag them; a quarter of the values' own RMS is far below
    // what sign flips (2x), scaling or noise produce.
    double limit = std::max(kOutlierFactor * median, kOutlierFloor * scale[j]) + 1e-6;
    float out = dist[j] > limit ? 1.0f : 0.0f;
    peer->outlier_score = 0.7f * peer->outlier_score + 0.3f * out;
  }
}

bool RoundBuffer::IsOutlier(const PeerInfo& peer) { return peer.outlier_score > kOutlierScore; }

uint64_t RoundBuffer::DropOutlierDeltas(const PeerTable& peers) {
  return RemoveParts(m_delta, m_delta_from,
                     [&](const PublicKey& k) {
                       const PeerInfo* peer = peers.Find(k);
                       return peer != nullptr && IsOutlier(*peer);
                     })
      .size();
}

void RoundBuffer::Clear() {
  m_absolute.clear();
  m_delta.clear();
  m_absolute_from.clear();
  m_delta_from.clear();
}

}  // namespace dust::internal
