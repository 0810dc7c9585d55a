// The node's peer table (peer_table.h).
#include "peer_table.h"

#include <algorithm>

namespace dust::internal {

PeerInfo& PeerTable::Touch(const PublicKey& key, int64_t now_ms) {
  auto it = m_peers.find(key);
  if (it == m_peers.end()) {
    if (m_peers.size() >= m_max_peers) {
      auto oldest =
          std::min_element(m_peers.begin(), m_peers.end(), [](const auto& a, const auto& b) {
            return a.second.last_seen_ms < b.second.last_seen_ms;
          });
      m_peers.erase(oldest);
    }
    PeerInfo p;
    p.key = key;
    p.first_seen_ms = now_ms;
    it = m_peers.emplace(key, p).first;
  }
  it->second.last_seen_ms = now_ms;
  return it->second;
}

PeerInfo* PeerTable::Find(const PublicKey& key) {
  auto it = m_peers.find(key);
  return it == m_peers.end() ? nullptr : &it->second;
}

const PeerInfo* PeerTable::Find(const PublicKey& key) const {
  auto it = m_peers.find(key);
  return it == m_peers.end() ? nullptr : &it->second;
}

double PeerTable::ExpectedDeltaWeight(double own_weight, bool robust, const TrustStore& trust,
                                      int64_t now_ms, int64_t send_interval_ms) const {
  double w = robust ? 1.0 : own_weight;
  for (const auto& [key, p] : m_peers) {
    if (p.updates_accepted == 0 || !trust.Contains(key) ||
        now_ms - p.last_update_ms > kActiveRounds * send_interval_ms)
      continue;
    w += robust ? 1.0 : std::max<double>(p.sample_weight, 1.0);
  }
  return w;
}

std::vector<PeerInfo> PeerTable::Snapshot(int64_t now_ms, int64_t stale_ms) const {
  std::vector<PeerInfo> out;
  for (const auto& [k, p] : m_peers) {
    PeerInfo q = p;
    q.stale = now_ms - p.last_seen_ms > stale_ms;
    out.push_back(q);
  }
  return out;
}

}  // namespace dust::internal
