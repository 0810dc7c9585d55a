// Memory of absent peers' contributions (docs/engine.md, "Peers that sleep"): the latest
// per-round delta of every trusted peer, kept so that while a peer is away the fleet keeps
// applying it in its place (MIFA, Gu et al., NeurIPS 2021: the average of every device's
// latest update), instead of letting the present peers pull the shared model towards their
// own data only.
//
// What is remembered is what was merged: a delta part that passed the quarantine and, with a
// robust rule, scaled by its clip factor; a peer's memory is an exponential average over its
// updates (a delta is sparse, top-k with error feedback, so one update holds only part of a
// round's progress; an update without deltas counts as a round without progress). A peer is
// forgotten at once when it is no longer trusted or (robust rules) flagged as an outlier, and
// fades out when it stays away: full weight for the first half of the horizon, then linearly
// to nothing at the horizon.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "dust/engine/merge.h"
#include "dust/engine/node.h"
#include "dust/net/trust.h"
#include "dust/util/crypto.h"

namespace dust::internal {

// Not thread-safe.
class PeerMemory {
 public:
  // horizon_ms <= 0: nothing is remembered. At most max_peers are kept (the one heard from
  // least recently makes room).
  PeerMemory(size_t num_params, int64_t horizon_ms, size_t max_peers);

  bool enabled() const { return m_horizon_ms > 0; }

  // `sender`'s update was merged at now_ms with `weight` (its sample weight; 1 under a robust
  // rule) and this delta part (empty: no deltas), each value multiplied by `factor` (the
  // clip factor the merge applied), into the model `params` (empty: keep no anchor, for the
  // node's own entry, which is never absent).
  void Observe(const PublicKey& sender, float weight, const MergeInput& delta, double factor,
               std::span<const float> params, int64_t now_ms);

  // The peers away at now_ms (no update for more than `active_ms`, so a lost datagram or two
  // is not an absence) that are still trusted, with their weights: faded, times the share of
  // their contribution that no present peer makes (Uniqueness), and scaled down together if
  // needed so that they weigh at most `present_weight` (the senders expected this round: the
  // memory of absent peers never outweighs the present ones).
  struct Standin {
    const std::vector<float>* delta;
    const std::vector<float>* anchor;
    double weight;
  };
  std::vector<Standin> Absent(const TrustStore& trust, int64_t now_ms, int64_t active_ms,
                              double present_weight) const;
  // The total weight of Absent(...).
  static double TotalWeight(std::span<const Standin> standins);

  // Forgets the peers for which `drop(key)` holds (trust removed, outliers) and those gone past
  // the horizon. Returns how many were forgotten.
  size_t Forget(const std::function<bool(const PublicKey&)>& drop, int64_t now_ms);

  struct Entry {
    PublicKey key{};
    int64_t last_ms = 0;        // last update merged
    float weight = 0;           // its weight then
    uint32_t updates = 0;       // updates averaged (the average's start-up: 1/n until 1/n < rate)
    std::vector<float> delta;   // [num_params] average delta per update
    std::vector<float> anchor;  // [num_params] the model when it was last merged
    bool operator==(const Entry&) const = default;
  };
  // For checkpoints: every entry in key order, and back (entries of another size are refused
  // by the caller; Restore replaces everything).
  std::vector<Entry> Export() const;
  void Restore(std::vector<Entry> entries);

  // Every remembered vector (deltas and anchors), for a change of input scaling to move them
  // with the model (model.h ChangeScaling: the map is linear, so both move like parameters).
  void AppendVectors(std::vector<std::span<float>>* out);
  void Clear() { m_peers.clear(); }

  size_t size() const { return m_peers.size(); }
  bool Has(const PublicKey& key) const { return m_peers.count(key) != 0; }
  double Fade(int64_t age_ms) const;

 private:
  // How much of an absent peer's contribution the present ones (those heard within active_ms,
  // the node itself included) do not make: (1 - c)^2, c the largest cosine between its
  // remembered delta and a present one's, clipped to [0, 1]. A device whose classes others
  // hold too is mostly redundant (its steps are taken anyway, and replaying stale ones only
  // drags the fleet); one whose data nobody else has is unique.
  double Uniqueness(const Entry& absent, int64_t now_ms, int64_t active_ms) const;

  size_t m_num_params;
  int64_t m_horizon_ms;
  size_t m_max_peers;
  std::map<PublicKey, Entry> m_peers;
};

}  // namespace dust::internal
