// The peers a node has heard from: one PeerInfo per authenticated sender, bounded, and who is
// expected to contribute a delta this round.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "dust/engine/node.h"
#include "dust/net/trust.h"
#include "dust/util/crypto.h"

namespace dust::internal {

// A peer counts as a present sender while its last update is at most this many send
// intervals old (a lost datagram or two is not an absence).
inline constexpr int64_t kActiveRounds = 4;

// Not thread-safe. Entries are created only for senders whose datagrams authenticated, so the
// table holds trusted keys (or keys trusted when they were last heard).
class PeerTable {
 public:
  explicit PeerTable(size_t max_peers) : m_max_peers(max_peers) {}

  // The entry of `key`, marked seen at now_ms. A new key gets a fresh entry (first seen now);
  // when the table is full, the least recently seen entry makes room for it.
  PeerInfo& Touch(const PublicKey& key, int64_t now_ms);

  // The entry of `key`, or nullptr if it has none.
  PeerInfo* Find(const PublicKey& key);
  const PeerInfo* Find(const PublicKey& key) const;

  // The weight of this round's delta senders: `own_weight` for ourselves plus every peer that
  // is still trusted and whose last update arrived within the last few send intervals before
  // now_ms (a peer whose datagram was lost still counts, so a loss only shrinks the step, it
  // never makes the others' deltas count more). With `robust` every sender weighs 1 (the
  // robust rules count senders); otherwise a peer weighs its sample weight (at least 1).
  double ExpectedDeltaWeight(double own_weight, bool robust, const TrustStore& trust,
                             int64_t now_ms, int64_t send_interval_ms) const;

  // Every entry in key order, `stale` set for those not seen within stale_ms before now_ms.
  std::vector<PeerInfo> Snapshot(int64_t now_ms, int64_t stale_ms) const;

 private:
  size_t m_max_peers;
  std::map<PublicKey, PeerInfo> m_peers;
};

}  // namespace dust::internal
