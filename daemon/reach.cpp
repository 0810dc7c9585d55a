// Reach beyond one broadcast domain (docs/operations.md, "Across sites"): the per-peer endpoint
// table fed from the trust store (pairing URIs), from peer exchanges and from the source
// addresses of verified datagrams (roaming), the unicast destinations it gives the socket, the
// peer exchange itself, and the timers that keep names and broadcast addresses fresh.
#include "daemon.h"
#include "dust/net/endpoint.h"
#include "dust/net/identity.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;

namespace {
// Interfaces come and go (DHCP, Wi-Fi): their broadcast addresses are read again this often.
// getifaddrs is cheap, and the destination list is only logged when it changes.
constexpr double kInterfaceRefreshSeconds = 5.0;
}  // namespace

EndpointTableOptions Daemon::EndpointOptions() const {
  EndpointTableOptions o;
  o.ttl_ms = static_cast<int64_t>(m_options.peer_exchange_ttl * 1000);
  // A peer of our broadcast domain is heard by broadcast every send interval (updates) and
  // announce interval: three of the longer one without it, and it is no longer local.
  o.broadcast_window_ms =
      static_cast<int64_t>(3000 * std::max(m_options.send_interval, m_options.announce_interval));
  // Long enough for a local peer to be heard by broadcast first (two send intervals).
  o.exchange_grace_ms = static_cast<int64_t>(2000 * m_options.send_interval);
  o.broadcasting = !m_options.broadcast.empty() || !m_options.multicast_group.empty();
  return o;
}

void Daemon::StartReachTimers() {
  m_exchange_timer.cancel();
  if (m_options.peer_exchange_interval > 0) {
    Every(m_exchange_timer, m_options.peer_exchange_interval, [this] { SendPeerExchange(); });
  }
  Every(m_resolve_timer, m_options.resolve_interval, [this] { m_gossip->ResolveNamesAgain(); });
  Every(m_interfaces_timer, kInterfaceRefreshSeconds,
        [this] { m_gossip->RefreshDestinations(m_options); });
}

void Daemon::TrustEndpointsChanged() {
  const int64_t now = NowMs();
  for (const TrustedPeer& p : m_trust.List()) {
    m_endpoints.Replace(p.key, EndpointSource::kUri, p.endpoints, now);
  }
  for (const TrustedPeer& p : m_trust.ListCertified()) {
    m_endpoints.Replace(p.key, EndpointSource::kCertificate, p.endpoints, now);
  }
  // A peer no longer paired (or no longer certified) but still trusted the other way keeps
  // no endpoint of the way it lost: those never expire, and Prune keeps trusted keys.
  std::vector<PublicKey> held;
  for (const auto& [key, unused] : m_endpoints.peers()) held.push_back(key);
  for (const PublicKey& k : held) {
    if (m_trust.FindPaired(k) == nullptr) m_endpoints.Replace(k, EndpointSource::kUri, {}, now);
    if (m_trust.FindCertified(k) == nullptr) {
      m_endpoints.Replace(k, EndpointSource::kCertificate, {}, now);
    }
  }
  ApplyEndpoints();
}

void Daemon::CertificateEndpointsOf(const PublicKey& peer) {
  const TrustedPeer* t = m_trust.Find(peer);
  if (t == nullptr || t->kind != TrustKind::kCertificate) return;
  // Certificates are re-sent with every announce: touch the table only when the certificate's
  // endpoints differ from what it holds (a first certificate, or a renewal that moved them).
  std::vector<std::string> held;
  if (const PeerEndpoints* pe = m_endpoints.Find(peer)) {
    for (const KnownEndpoint& e : pe->endpoints) {
      if (e.source == EndpointSource::kCertificate) held.push_back(e.endpoint);
    }
  }
  std::vector<std::string> wanted = t->endpoints;
  std::sort(held.begin(), held.end());
  std::sort(wanted.begin(), wanted.end());
  if (held == wanted) return;
  m_endpoints.Replace(peer, EndpointSource::kCertificate, t->endpoints, NowMs());
  ApplyEndpoints();
}

void Daemon::ApplyEndpoints() {
  const int64_t now = NowMs();
  m_endpoints.Prune(now, [this](const PublicKey& k) { return m_trust.Contains(k); });
  if (m_gossip) m_gossip->SetUnicast(m_endpoints.Targets(now));
}

void Daemon::LearnSource(const PublicKey& peer, const asio::ip::udp::endpoint& from,
                         bool broadcast) {
  const int64_t now = NowMs();
  const std::string text = EndpointText(from);
  if (broadcast) {
    m_endpoints.HeardByBroadcast(peer, now);
    m_endpoints.Add(peer, text, EndpointSource::kSeen, now);
    return;
  }
  // Sent to us by unicast: the peer reached us across routers, so we answer it the same way,
  // at the address it is at now (WireGuard's roaming).
  const PeerEndpoints* before = m_endpoints.Find(peer);
  const bool known =
      before != nullptr &&
      std::any_of(before->endpoints.begin(), before->endpoints.end(), [&](const KnownEndpoint& e) {
        return e.source == EndpointSource::kRoaming && e.endpoint == text;
      });
  m_endpoints.Add(peer, text, EndpointSource::kRoaming, now);
  if (!known) {
    LogInfo("peer {} reached us from {}: answering there", ShortNodeId(peer), text);
    ApplyEndpoints();
  }
}

void Daemon::SendPeerExchange() {
  if (m_stopping || !m_node) return;
  const int64_t now = NowMs();
  std::vector<PeerExchangeEntry> all;
  // Our own endpoints first: a peer that trusts us learns how to reach us from any exchange.
  for (const std::string& e : m_options.endpoints) all.push_back({m_identity.public_key, e});
  const size_t own = all.size();
  for (PeerExchangeEntry& e : m_endpoints.FirstHand(now)) {
    if (m_trust.Contains(e.key)) all.push_back(std::move(e));
  }
  if (all.empty()) return;
  // One datagram per exchange: when the list is longer than a datagram holds, each exchange
  // starts where the last one stopped, so every entry travels within a few intervals.
  std::vector<PeerExchangeEntry> chosen(all.begin(), all.begin() + static_cast<ptrdiff_t>(own));
  size_t bytes = 1;
  for (const auto& e : chosen) bytes += PeerExchangeEntryBytes(e);
  const size_t others = all.size() - own;
  size_t taken = 0;
  for (; taken < others && chosen.size() < kMaxPeerExchangeEntries; ++taken) {
    const PeerExchangeEntry& e = all[own + (m_exchange_cursor + taken) % others];
    if (bytes + PeerExchangeEntryBytes(e) > kMaxPayloadBytes) break;
    bytes += PeerExchangeEntryBytes(e);
    chosen.push_back(e);
  }
  m_exchange_cursor = others == 0 ? 0 : (m_exchange_cursor + taken) % others;
  Result<Bytes> payload = EncodePeerExchange(chosen);
  if (!payload.ok()) {
    LogWarn("peer exchange not sent: {}", payload.status().message());
    return;
  }
  std::vector<Bytes> out;
  m_node->SendOther(MessageType::kPeerExchange, *payload, now, &out);
  for (const Bytes& d : out) {
    m_gossip->SendToAll(d);
    ++m_exchange.sent;
  }
}

void Daemon::OnPeerExchange(const PublicKey& from, ByteView payload) {
  Result<std::vector<PeerExchangeEntry>> entries = DecodePeerExchange(payload);
  if (!entries.ok()) {
    ++m_exchange.dropped;
    LogDebug("peer exchange from {} dropped: {}", ShortNodeId(from), entries.status().message());
    return;
  }
  ++m_exchange.accepted;
  const int64_t now = NowMs();
  bool changed = false;
  for (const PeerExchangeEntry& e : *entries) {
    // Only keys we trust ourselves: an exchange can tell us where a peer is, never whom to
    // trust, and the table stays bounded by the trust store.
    if (e.key == m_identity.public_key || !m_trust.Contains(e.key)) {
      ++m_exchange.ignored;
      if (e.key != m_identity.public_key) IntroduceTo(e, now);
      continue;
    }
    const bool was_target = m_endpoints.IsTarget(e.key, now);
    if (m_endpoints.Add(e.key, e.endpoint, EndpointSource::kExchange, now, from))
      ++m_exchange.learned;
    changed = changed || was_target != m_endpoints.IsTarget(e.key, now);
  }
  if (changed) ApplyEndpoints();
}

// A trusted peer told us where a key we do not trust is. In a fleet, that key may be a device
// enrolled like us whose certificate never reached us: it is across a router, heard by neither
// broadcast, and neither side sends to a peer it does not trust yet. Our certificate, sent
// there by unicast, breaks the deadlock (Syncthing's introducer, with the fleet key as the
// introduction): if that device trusts our fleet it trusts us, answers at our source address
// (roaming), and its next announce brings us its certificate. Only with a certificate of ours
// and a fleet of our own to verify theirs; at most once an announce interval per key, so a
// trusted peer cannot make us a traffic source beyond one datagram per entry it sends.
void Daemon::IntroduceTo(const PeerExchangeEntry& entry, int64_t now) {
  if (m_certificate_bytes.empty() || !m_fleet->enabled() || m_certificate->expires_at_ms <= now) {
    return;
  }
  // A device the operator removed here (`trust remove`) is not invited back, nor one revoked.
  if (m_fleet->IsExcluded(entry.key) || m_trust.IsRevoked(entry.key)) return;
  const auto interval_ms = static_cast<int64_t>(m_options.announce_interval * 1000);
  auto it = m_introduced.find(entry.key);
  const bool first = it == m_introduced.end();
  if (!first && now - it->second < interval_ms) return;
  // Bounded like the trust store it stands in front of: forget introductions that are due
  // again; if every one is still recent, introduce no one new.
  constexpr size_t kMaxIntroduced = 1024;
  if (m_introduced.size() >= kMaxIntroduced) {
    std::erase_if(m_introduced, [&](const auto& kv) { return now - kv.second >= interval_ms; });
    if (m_introduced.size() >= kMaxIntroduced) return;
  }
  // Counted as an attempt before sending: a host name not resolved yet (SendTo starts its
  // lookup) is tried again an announce interval later, not at every exchange, so the lookups
  // a trusted peer can cause are bounded like the datagrams.
  m_introduced[entry.key] = now;
  std::vector<Bytes> out;
  m_node->SendOther(MessageType::kCertificate, m_certificate_bytes, now, &out);
  bool sent = false;
  for (const Bytes& d : out) sent = m_gossip->SendTo(d, entry.endpoint) || sent;
  if (!sent) return;
  ++m_exchange.introductions;
  // A key that never answers (not of our fleet, or gone) is introduced to again and again:
  // logged once at info.
  if (first) {
    LogInfo("fleet: introduced ourselves to {} at {} (known by peer exchange)",
            ShortNodeId(entry.key), entry.endpoint);
  } else {
    LogDebug("fleet: introduced ourselves to {} at {} again", ShortNodeId(entry.key),
             entry.endpoint);
  }
}

Json Daemon::EndpointsJson(const PublicKey& peer) const {
  Json list = Json::array();
  const PeerEndpoints* p = m_endpoints.Find(peer);
  if (p == nullptr) return list;
  for (const KnownEndpoint& e : p->endpoints) {
    list.push_back({{"endpoint", e.endpoint},
                    {"source", EndpointSourceName(e.source)},
                    {"learned_ms", e.learned_ms},
                    {"expires_ms", e.expires_ms ? Json(e.expires_ms) : Json(nullptr)}});
  }
  return list;
}

Json Daemon::ReachJson() const {
  Json unicast = Json::array();
  if (m_gossip) {
    for (const auto& e : m_gossip->unicast()) unicast.push_back(EndpointText(e));
  }
  return {{"endpoints", m_options.endpoints},
          {"unicast", unicast},
          {"peer_exchange",
           {{"sent", m_exchange.sent},
            {"accepted", m_exchange.accepted},
            {"dropped", m_exchange.dropped},
            {"entries_learned", m_exchange.learned},
            {"entries_ignored", m_exchange.ignored},
            {"introductions_sent", m_exchange.introductions}}}};
}

}  // namespace dust::daemon
