// The updates received since the last merge (docs/engine.md, "What a node does"): absolute
// parts and delta parts with their senders, the filters they pass before the merge (a sender
// whose trust was removed; with a robust rule, a sender whose absolute values are outliers),
// and what the merge is fed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dust/engine/merge.h"
#include "dust/net/trust.h"
#include "dust/util/crypto.h"
#include "peer_table.h"

namespace dust::internal {

// Not thread-safe. One received update buffers at most one absolute and one delta part.
class RoundBuffer {
 public:
  // Room for max_updates updates' worth of parts (2 x max_updates parts).
  explicit RoundBuffer(size_t max_updates) : m_max_parts(2 * max_updates) {}

  // Whether the buffer refuses another received update (the caller counts it as pending_full).
  bool Full() const { return m_absolute.size() + m_delta.size() >= m_max_parts; }

  // Buffers a received update of `sender`: its absolute part and its delta part, each only if
  // it carries coordinates. Call only when !Full().
  void Add(MergeInput absolute, MergeInput delta, const PublicKey& sender);
  // Buffers the node's own delta for this round (`self` is the node's key; the filters below
  // never drop it). Not bounded by Full().
  void AddOwnDelta(MergeInput own, const PublicKey& self);

  // Drops the parts of every sender other than `self` that `trust` no longer holds, so a trust
  // removal takes effect at once, even for what arrived before it. Returns the updates dropped,
  // counting a sender's absolute and delta part of one update once.
  uint64_t DropRevoked(const TrustStore& trust, const PublicKey& self);

  // Robust rules, after the absolute parts were merged into `params`: the absolute block
  // doubles as a check on each sender. Honest nodes hold (nearly) the same model, so a sender
  // whose block lies far from the aggregate (more than a few times the median distance of this
  // round's senders) is an outlier this round; its outlier_score in `peers` (an exponential
  // average) moves towards 1, otherwise towards 0. Needs at least 3 absolute parts (no
  // median otherwise); does nothing with fewer.
  void ScoreOutliers(std::span<const float> params, PeerTable& peers) const;

  // Robust rules: drops the delta parts of senders whose outlier score is above one half
  // (deltas are sparse and differ honestly between peers, so no coordinate-wise rule can judge
  // them). Returns the parts dropped.
  uint64_t DropOutlierDeltas(const PeerTable& peers);
  // Whether DropOutlierDeltas drops this peer's deltas.
  static bool IsOutlier(const PeerInfo& peer);

  // What the merge is fed: absolute parts (Merger::Merge) and delta parts (MergeDeltas).
  std::span<const MergeInput> absolute() const { return m_absolute; }
  std::span<const MergeInput> deltas() const { return m_delta; }
  bool empty() const { return m_absolute.empty() && m_delta.empty(); }
  // Their senders (own key included for the node's own delta), index for index.
  std::span<const PublicKey> absolute_senders() const { return m_absolute_from; }
  std::span<const PublicKey> delta_senders() const { return m_delta_from; }

  // Empties the buffer (after a merge, or when a checkpoint replaces the model).
  void Clear();

 private:
  size_t m_max_parts;
  std::vector<MergeInput> m_absolute;  // absolute-value parts since the last merge
  std::vector<MergeInput> m_delta;     // delta parts since the last merge (own included)
  std::vector<PublicKey> m_absolute_from, m_delta_from;  // their senders
};

}  // namespace dust::internal
