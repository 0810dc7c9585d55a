// Memory of absent peers' contributions (peer_memory.h).
#include "peer_memory.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace dust::internal {
namespace {

// The average's rate: about the last eight updates. A hybrid update carries the largest
// entries of the sender's accumulated progress, so a coordinate is sent every few rounds; the
// average must span several of them to estimate a round's progress, and stay recent enough to
// follow a peer whose data changes (engine.md measures the choice).
constexpr double kAverageRate = 1.0 / 8;

}  // namespace

PeerMemory::PeerMemory(size_t num_params, int64_t horizon_ms, size_t max_peers)
    : m_num_params(num_params), m_horizon_ms(horizon_ms), m_max_peers(max_peers) {}

void PeerMemory::Observe(const PublicKey& sender, float weight, const MergeInput& delta,
                         double factor, std::span<const float> params, int64_t now_ms) {
  if (!enabled() || m_max_peers == 0) return;
  auto it = m_peers.find(sender);
  if (it == m_peers.end()) {
    if (m_peers.size() >= m_max_peers) {
      auto oldest = std::min_element(
          m_peers.begin(), m_peers.end(),
          [](const auto& a, const auto& b) { return a.second.last_ms < b.second.last_ms; });
      m_peers.erase(oldest);
    }
    Entry e;
    e.key = sender;
    e.delta.assign(m_num_params, 0.0f);
    it = m_peers.emplace(sender, std::move(e)).first;
  }
  Entry& e = it->second;
  e.updates = e.updates == UINT32_MAX ? e.updates : e.updates + 1;
  const double rate = std::max(kAverageRate, 1.0 / e.updates);
  const float keep = static_cast<float>(1.0 - rate);
  for (float& v : e.delta) v *= keep;
  const double add = rate * factor;
  for (size_t k = 0; k < delta.index.size(); ++k) {
    const uint32_t i = delta.index[k];
    if (i < e.delta.size()) e.delta[i] += static_cast<float>(add * delta.value[k]);
  }
  if (!params.empty()) e.anchor.assign(params.begin(), params.end());
  e.last_ms = std::max(e.last_ms, now_ms);
  e.weight = weight;
}

double PeerMemory::Fade(int64_t age_ms) const {
  if (!enabled() || age_ms >= m_horizon_ms) return 0.0;
  const double half = static_cast<double>(m_horizon_ms) / 2;
  if (static_cast<double>(age_ms) <= half) return 1.0;
  return (static_cast<double>(m_horizon_ms) - static_cast<double>(age_ms)) / half;
}

std::vector<PeerMemory::Standin> PeerMemory::Absent(const TrustStore& trust, int64_t now_ms,
                                                    int64_t active_ms,
                                                    double present_weight) const {
  std::vector<Standin> out;
  if (!enabled()) return out;
  for (const auto& [key, e] : m_peers) {
    const int64_t age = now_ms - e.last_ms;
    if (age <= active_ms || !trust.Contains(key) || e.anchor.empty()) continue;
    const double fade = Fade(age);
    if (!(fade > 0)) continue;
    const double w = fade * std::max(e.weight, 1.0f) * Uniqueness(e, now_ms, active_ms);
    if (w > 0) out.push_back({&e.delta, &e.anchor, w});
  }
  const double total = TotalWeight(out);
  if (total > present_weight && total > 0) {
    const double scale = std::max(present_weight, 0.0) / total;
    for (Standin& s : out) s.weight *= scale;
  }
  return out;
}

double PeerMemory::Uniqueness(const Entry& absent, int64_t now_ms, int64_t active_ms) const {
  double bb = 0;
  for (float v : absent.delta) bb += double{v} * v;
  if (!(bb > 0)) return 1.0;
  double best = 0;
  for (const auto& [key, e] : m_peers) {
    if (now_ms - e.last_ms > active_ms || &e == &absent) continue;  // present ones only
    double ab = 0, aa = 0;
    for (size_t i = 0; i < absent.delta.size(); ++i) {
      ab += double{e.delta[i]} * absent.delta[i];
      aa += double{e.delta[i]} * e.delta[i];
    }
    if (aa > 0) best = std::max(best, ab / std::sqrt(aa * bb));
  }
  const double unique = 1.0 - std::clamp(best, 0.0, 1.0);
  return unique * unique;
}

double PeerMemory::TotalWeight(std::span<const Standin> standins) {
  double w = 0;
  for (const Standin& s : standins) w += s.weight;
  return w;
}

size_t PeerMemory::Forget(const std::function<bool(const PublicKey&)>& drop, int64_t now_ms) {
  return std::erase_if(m_peers, [&](const auto& kv) {
    return drop(kv.first) || now_ms - kv.second.last_ms >= m_horizon_ms;
  });
}

void PeerMemory::AppendVectors(std::vector<std::span<float>>* out) {
  for (auto& [key, e] : m_peers) {
    out->push_back(e.delta);
    if (!e.anchor.empty()) out->push_back(e.anchor);
  }
}

std::vector<PeerMemory::Entry> PeerMemory::Export() const {
  std::vector<Entry> out;
  out.reserve(m_peers.size());
  for (const auto& [key, e] : m_peers) out.push_back(e);
  return out;
}

void PeerMemory::Restore(std::vector<Entry> entries) {
  m_peers.clear();
  if (!enabled()) return;
  for (Entry& e : entries) {
    if (e.delta.size() != m_num_params || e.anchor.size() != m_num_params ||
        m_peers.size() >= m_max_peers) {
      continue;
    }
    const PublicKey key = e.key;
    m_peers.emplace(key, std::move(e));
  }
}

}  // namespace dust::internal
