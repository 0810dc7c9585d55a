// The trust store: the set of peer public keys whose signed datagrams this node accepts.
//
// Invariants: at most kMaxTrustedPeers entries; keys unique; every display name passes
// ValidateDisplayName. Lookup by key is O(1) and is done for every datagram by ingress.h, so
// removing a peer takes effect for the very next datagram. Not thread-safe (one owner, the
// engine or the daemon's event loop).
//
// File format (docs/protocol.md, "Trust store file"), little-endian:
//   "DSTT" | version u8 (1 or 2) | 3 zero bytes | count u32 |
//   count x ( public key 32 | added_at_ms i64 | name length u8 | name |
//             version 2 only: endpoint count u8 (0..4) | count x ( length u8 | endpoint ) ) |
//   Checksum64 (BLAKE2b-256 truncated, u64 LE) of every preceding byte.
// Entries are written sorted by public key, so equal stores encode to equal bytes. A store
// without any endpoint is written as version 1 (older daemons keep reading it), one with
// endpoints as version 2; a version 2 file without any endpoint is refused, so that each store
// still has exactly one encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dust/net/endpoint.h"
#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kMaxTrustedPeers = 4096;
inline constexpr size_t kMaxTrustFileBytes =
    16 + kMaxTrustedPeers * (32 + 8 + 1 + 64 + 1 + kMaxUriEndpoints * (1 + kMaxEndpointChars)) + 8;

struct TrustedPeer {
  PublicKey key{};
  std::string display_name;
  int64_t added_at_ms = 0;
  // Where it can be reached by unicast, as its pairing URI said (endpoint.h; at most
  // kMaxUriEndpoints, each valid, no repeats).
  std::vector<std::string> endpoints;

  bool operator==(const TrustedPeer&) const = default;
};

struct PublicKeyHash {
  size_t operator()(const PublicKey& k) const noexcept;  // keys are uniformly random already
};

class TrustStore {
 public:
  // kAlreadyExists if the key is present (use SetDisplayName to rename), kInvalidArgument on a
  // bad name, kResourceExhausted when full.
  Status Add(const PublicKey& key, std::string display_name, int64_t added_at_ms);
  // True if the key was present.
  bool Remove(const PublicKey& key);
  // kNotFound / kInvalidArgument.
  Status SetDisplayName(const PublicKey& key, std::string display_name);
  // Replaces the peer's endpoints. kNotFound / kInvalidArgument (too many, invalid, repeated).
  Status SetEndpoints(const PublicKey& key, std::vector<std::string> endpoints);

  // Null if not trusted. The pointer is valid until the next Add/Remove/SetDisplayName.
  const TrustedPeer* Find(const PublicKey& key) const;
  bool Contains(const PublicKey& key) const { return Find(key) != nullptr; }
  // All peers sorted by public key.
  std::vector<TrustedPeer> List() const;
  size_t size() const { return m_peers.size(); }
  bool empty() const { return m_peers.empty(); }

  // Incremented by every successful change; lets holders of per-peer state (replay windows)
  // notice removals cheaply.
  uint64_t generation() const { return m_generation; }

  bool operator==(const TrustStore& o) const { return List() == o.List(); }

 private:
  std::unordered_map<PublicKey, TrustedPeer, PublicKeyHash> m_peers;
  uint64_t m_generation = 0;
};

// Pure codec. Decode is strict (kCorrupt with a reason: magic, length, checksum, duplicate key,
// bad name, trailing bytes; kUnsupported: version; kResourceExhausted: too many entries).
Bytes EncodeTrustStore(const TrustStore& store);
Result<TrustStore> DecodeTrustStore(ByteView bytes);

// File access, kept small. Load: kNotFound if absent (caller decides: a first start has no
// file); errors name the path. Save: AtomicWriteFile with mode 0600.
Result<TrustStore> LoadTrustStore(const std::string& path);
Status SaveTrustStore(const std::string& path, const TrustStore& store);

}  // namespace dust
