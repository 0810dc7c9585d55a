// The per-peer endpoint table: every unicast address the daemon knows for each trusted peer,
// where each came from, and which of them it sends to (docs/operations.md, "Across sites").
//
// Sources (EndpointSource), each with its own bound per peer:
//   uri          the peer's pairing URI (`trust add URI`), kept in the trust store; never expires
//   certificate  a fleet certificate's endpoint list (fed by the fleet code); never expires
//   exchange     a peer exchange from another trusted peer; expires after the TTL unless renewed
//   roaming      the source address of the peer's verified datagrams sent to us by unicast (as
//                WireGuard learns a peer's endpoint); one per peer, replaced when the peer moves,
//                expires after the TTL
//   seen         the source address of its verified datagrams that came by broadcast or
//                multicast; one per peer, replaced when the peer moves; never sent to (the
//                broadcast reaches it) but passed on in peer exchanges; expires after the TTL
//
// What is sent to: the uri, certificate, roaming and exchange endpoints of every peer that has
// not been heard by broadcast within `broadcast_window_ms` (a peer in our own broadcast domain
// is heard by broadcast every send interval, and hears ours: unicasting to it as well would only
// deliver every datagram twice), exchange endpoints only once learned `exchange_grace_ms` ago
// (time for a local peer to be heard by broadcast first). A daemon that broadcasts nowhere
// (`broadcasting` false) sends to every such endpoint.
//
// Bounded: only keys the caller trusts are added (Add's caller checks), and each source keeps at
// most its bound per peer (the oldest exchange endpoint makes room for a new one). Not
// thread-safe: the daemon's loop owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dust/net/endpoint.h"
#include "dust/util/crypto.h"

namespace dust::daemon {

enum class EndpointSource : uint8_t { kUri, kCertificate, kExchange, kRoaming, kSeen };
inline constexpr size_t kEndpointSourceCount = 5;

// "uri", "certificate", "exchange", "roaming", "seen": stable (JSON, docs).
const char* EndpointSourceName(EndpointSource source);
// Endpoints of one source kept per peer.
size_t EndpointSourceBound(EndpointSource source);

struct KnownEndpoint {
  std::string endpoint;  // host:port (endpoint.h)
  EndpointSource source = EndpointSource::kUri;
  int64_t learned_ms = 0;    // first learned from this source
  int64_t refreshed_ms = 0;  // last confirmed by this source
  int64_t expires_ms = 0;    // 0: never
  // Exchange endpoints: the trusted peer that named it. Pruned when that peer loses trust, so
  // a revoked device's claims about where the others are do not outlive it.
  PublicKey informant{};
};

struct PeerEndpoints {
  std::vector<KnownEndpoint> endpoints;
  int64_t heard_by_broadcast_ms = -1;  // last verified datagram that came by broadcast
};

struct EndpointTableOptions {
  int64_t ttl_ms = 600'000;              // exchange, roaming, seen
  int64_t broadcast_window_ms = 10'000;  // heard by broadcast this recently: no exchange unicast
  int64_t exchange_grace_ms = 2'000;     // an exchange endpoint waits this long before use
  bool broadcasting = true;              // we send to a broadcast address or multicast group
};

class EndpointTable {
 public:
  explicit EndpointTable(EndpointTableOptions options = {}) : m_options(options) {}
  void set_options(const EndpointTableOptions& options) { m_options = options; }

  // The one way in: adds `endpoint` for `peer` from `source` or renews it (refreshed, and its
  // expiry pushed back). Roaming and seen replace the peer's previous one of that source.
  // Returns false (changing nothing) for an invalid endpoint. The caller adds trusted keys only.
  bool Add(const PublicKey& peer, std::string_view endpoint, EndpointSource source, int64_t now_ms,
           const PublicKey& informant = {});
  // Makes `endpoints` the peer's whole list from `source` (uri from the trust store, certificate
  // from a verified certificate): the others of that source go. Invalid ones are skipped.
  void Replace(const PublicKey& peer, EndpointSource source,
               const std::vector<std::string>& endpoints, int64_t now_ms);
  // A verified datagram of `peer` arrived by broadcast or multicast.
  void HeardByBroadcast(const PublicKey& peer, int64_t now_ms);
  void Forget(const PublicKey& peer) { m_peers.erase(peer); }
  // Drops expired endpoints, exchange endpoints whose informant `keep` refuses, and every peer
  // `keep` refuses (no longer trusted).
  void Prune(int64_t now_ms, const std::function<bool(const PublicKey&)>& keep);

  // The endpoints to send to now (the rule above), each once, in a stable order.
  std::vector<std::string> Targets(int64_t now_ms) const;
  // Whether `peer` gets unicast now (some endpoint of it is a target).
  bool IsTarget(const PublicKey& peer, int64_t now_ms) const;
  // What a peer exchange passes on: every endpoint but those learned from an exchange (only
  // first-hand knowledge travels, so an endpoint cannot echo between peers after it died),
  // unexpired, as (peer, endpoint) pairs in a stable order.
  std::vector<PeerExchangeEntry> FirstHand(int64_t now_ms) const;

  const std::map<PublicKey, PeerEndpoints>& peers() const { return m_peers; }
  const PeerEndpoints* Find(const PublicKey& peer) const;

 private:
  bool Usable(const PeerEndpoints& p, const KnownEndpoint& e, int64_t now_ms) const;

  EndpointTableOptions m_options;
  std::map<PublicKey, PeerEndpoints> m_peers;
};

}  // namespace dust::daemon
