#include "endpoints.h"

#include <algorithm>

namespace dust::daemon {

const char* EndpointSourceName(EndpointSource source) {
  switch (source) {
    case EndpointSource::kUri:
      return "uri";
    case EndpointSource::kCertificate:
      return "certificate";
    case EndpointSource::kExchange:
      return "exchange";
    case EndpointSource::kRoaming:
      return "roaming";
    case EndpointSource::kSeen:
      return "seen";
  }
  return "unknown";
}

size_t EndpointSourceBound(EndpointSource source) {
  switch (source) {
    case EndpointSource::kUri:
    case EndpointSource::kCertificate:
    case EndpointSource::kExchange:
      return kMaxUriEndpoints;
    case EndpointSource::kRoaming:
    case EndpointSource::kSeen:
      return 1;
  }
  return 0;
}

namespace {

bool Expires(EndpointSource source) {
  return source == EndpointSource::kExchange || source == EndpointSource::kRoaming ||
         source == EndpointSource::kSeen;
}

}  // namespace

bool EndpointTable::Add(const PublicKey& peer, std::string_view endpoint, EndpointSource source,
                        int64_t now_ms, const PublicKey& informant) {
  if (!ValidateEndpoint(endpoint).ok()) return false;
  std::vector<KnownEndpoint>& list = m_peers[peer].endpoints;
  const int64_t expires = Expires(source) ? now_ms + m_options.ttl_ms : 0;
  for (KnownEndpoint& e : list) {
    if (e.source == source && e.endpoint == endpoint) {
      e.refreshed_ms = now_ms;
      e.expires_ms = expires;
      e.informant = informant;
      return true;
    }
  }
  // Make room: the source's oldest-confirmed endpoint goes (for roaming and seen, the one the
  // peer moved away from).
  size_t of_source = 0;
  auto oldest = list.end();
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->source != source) continue;
    ++of_source;
    if (oldest == list.end() || it->refreshed_ms < oldest->refreshed_ms) oldest = it;
  }
  if (of_source >= EndpointSourceBound(source)) list.erase(oldest);
  list.push_back(KnownEndpoint{std::string(endpoint), source, now_ms, now_ms, expires, informant});
  return true;
}

void EndpointTable::Replace(const PublicKey& peer, EndpointSource source,
                            const std::vector<std::string>& endpoints, int64_t now_ms) {
  auto it = m_peers.find(peer);
  if (it != m_peers.end()) {
    std::vector<KnownEndpoint>& list = it->second.endpoints;
    std::erase_if(list, [&](const KnownEndpoint& e) {
      return e.source == source &&
             std::find(endpoints.begin(), endpoints.end(), e.endpoint) == endpoints.end();
    });
  }
  size_t added = 0;
  for (const std::string& e : endpoints) {
    if (added == EndpointSourceBound(source)) break;
    if (Add(peer, e, source, now_ms)) ++added;
  }
  if (it == m_peers.end() && added == 0) m_peers.erase(peer);
}

void EndpointTable::HeardByBroadcast(const PublicKey& peer, int64_t now_ms) {
  m_peers[peer].heard_by_broadcast_ms = now_ms;
}

void EndpointTable::Prune(int64_t now_ms, const std::function<bool(const PublicKey&)>& keep) {
  for (auto it = m_peers.begin(); it != m_peers.end();) {
    std::erase_if(it->second.endpoints, [&](const KnownEndpoint& e) {
      return (e.expires_ms != 0 && e.expires_ms <= now_ms) ||
             (e.source == EndpointSource::kExchange && !keep(e.informant));
    });
    const bool heard = it->second.heard_by_broadcast_ms >= 0 &&
                       now_ms - it->second.heard_by_broadcast_ms < m_options.ttl_ms;
    if (!keep(it->first) || (it->second.endpoints.empty() && !heard)) {
      it = m_peers.erase(it);
    } else {
      ++it;
    }
  }
}

bool EndpointTable::Usable(const PeerEndpoints& p, const KnownEndpoint& e, int64_t now_ms) const {
  if (e.expires_ms != 0 && e.expires_ms <= now_ms) return false;
  const bool local = m_options.broadcasting && p.heard_by_broadcast_ms >= 0 &&
                     now_ms - p.heard_by_broadcast_ms < m_options.broadcast_window_ms;
  if (local) return false;
  switch (e.source) {
    case EndpointSource::kUri:
    case EndpointSource::kCertificate:
    case EndpointSource::kRoaming:
      return true;
    case EndpointSource::kExchange:
      return now_ms - e.learned_ms >= m_options.exchange_grace_ms;
    case EndpointSource::kSeen:
      return false;
  }
  return false;
}

std::vector<std::string> EndpointTable::Targets(int64_t now_ms) const {
  std::vector<std::string> out;
  for (const auto& [key, p] : m_peers) {
    for (const KnownEndpoint& e : p.endpoints) {
      if (Usable(p, e, now_ms) && std::find(out.begin(), out.end(), e.endpoint) == out.end()) {
        out.push_back(e.endpoint);
      }
    }
  }
  return out;
}

bool EndpointTable::IsTarget(const PublicKey& peer, int64_t now_ms) const {
  const PeerEndpoints* p = Find(peer);
  if (p == nullptr) return false;
  return std::any_of(p->endpoints.begin(), p->endpoints.end(),
                     [&](const KnownEndpoint& e) { return Usable(*p, e, now_ms); });
}

std::vector<PeerExchangeEntry> EndpointTable::FirstHand(int64_t now_ms) const {
  std::vector<PeerExchangeEntry> out;
  for (const auto& [key, p] : m_peers) {
    for (const KnownEndpoint& e : p.endpoints) {
      if (e.source == EndpointSource::kExchange) continue;
      if (e.expires_ms != 0 && e.expires_ms <= now_ms) continue;
      PeerExchangeEntry entry{key, e.endpoint};
      if (std::find(out.begin(), out.end(), entry) == out.end()) out.push_back(std::move(entry));
    }
  }
  return out;
}

const PeerEndpoints* EndpointTable::Find(const PublicKey& peer) const {
  auto it = m_peers.find(peer);
  return it == m_peers.end() ? nullptr : &it->second;
}

}  // namespace dust::daemon
