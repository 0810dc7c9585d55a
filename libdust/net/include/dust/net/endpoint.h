// Endpoints: where a peer can be reached by unicast, as "host:port" text, and the peer-exchange
// payload that lists endpoints of trusted peers (docs/protocol.md, "Endpoints" and "Peer
// exchange payload").
//
// An endpoint is text rather than an address because an operator may give a DNS name (a
// pairing URI, a certificate); the daemon resolves it. The grammar is strict and bounded so
// that every endpoint that parses here is something the resolver can be handed as it is:
//   IPv4   dotted quad, each octet 0..255 without leading zeros, e.g. 192.0.2.7:48620
//   IPv6   in brackets, hex digits, ':' and '.', at least two ':', no zone: [2001:db8::7]:48620
//   name   DNS labels of [A-Za-z0-9-] (1..63, no '-' first or last) joined by '.', not all
//          labels numeric (that would be a malformed IPv4 address): dust-a.example.org:48620
// then ':' and a port 1..65535 in decimal without leading zeros; at most kMaxEndpointChars.
//
// Peer exchange payload (MessageType::kPeerExchange), little-endian:
//   0  1  entry count N (0..kMaxPeerExchangeEntries)
//   1  .  N entries: public key (32) | endpoint length L (u8, 1..kMaxEndpointChars) | L bytes
// No trailing bytes; no entry twice (same key and endpoint); every endpoint valid as above.
// The datagram around it is signed, so a receiver knows which trusted peer vouches for the
// list; it takes entries only for keys it trusts itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kMaxEndpointChars = 96;
// Endpoints a pairing URI (and so a trust store entry) may carry.
inline constexpr size_t kMaxUriEndpoints = 4;
inline constexpr size_t kMaxPeerExchangeEntries = 32;

enum class EndpointKind : uint8_t { kIpv4, kIpv6, kName };

struct ParsedEndpoint {
  EndpointKind kind = EndpointKind::kIpv4;
  std::string host;  // without brackets
  uint16_t port = 0;
};

// kInvalidArgument naming what is wrong.
Result<ParsedEndpoint> ParseEndpoint(std::string_view text);
inline Status ValidateEndpoint(std::string_view text) { return ParseEndpoint(text).status(); }

struct PeerExchangeEntry {
  PublicKey key{};
  std::string endpoint;
  bool operator==(const PeerExchangeEntry&) const = default;
};

// Bytes an entry takes in the payload.
inline size_t PeerExchangeEntryBytes(const PeerExchangeEntry& e) {
  return kPublicKeyBytes + 1 + e.endpoint.size();
}

// kInvalidArgument on too many entries, an invalid endpoint or a duplicate; the caller keeps the
// result within a datagram (kMaxPayloadBytes) by choosing the entries.
Result<Bytes> EncodePeerExchange(const std::vector<PeerExchangeEntry>& entries);
// Strict, bounded before any allocation (the count is checked against kMaxPeerExchangeEntries
// and the remaining bytes first). kCorrupt with a reason otherwise.
Result<std::vector<PeerExchangeEntry>> DecodePeerExchange(ByteView payload);

}  // namespace dust
