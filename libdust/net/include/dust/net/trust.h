// The trust store: the set of peer public keys whose signed datagrams this node accepts.
//
// Invariants: at most kMaxTrustedPeers entries; keys unique; every display name passes
// ValidateDisplayName. Lookup by key is O(1) and is done for every datagram by ingress.h, so
// removing a peer takes effect for the very next datagram. Not thread-safe (one owner, the
// engine or the daemon's event loop).
//
// Besides the paired peers (Add/Remove, persisted in the file below), the store holds peers
// trusted through a fleet certificate (fleet.h, FleetTrust): AddCertified/RemoveCertified,
// bounded by kMaxCertifiedPeers, not written to the file (certificates are re-verified from the
// network after a restart). Find/Contains answer for both, paired first, in two O(1) lookups,
// so the engine treats a certified peer exactly like a paired one. Revoked keys (MarkRevoked)
// are remembered only so ingress can count their datagrams as `revoked` rather than
// `untrusted`.
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
#include <unordered_set>
#include <vector>

#include "dust/net/endpoint.h"
#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kMaxTrustedPeers = 4096;
inline constexpr size_t kMaxCertifiedPeers = 4096;
inline constexpr size_t kMaxRevokedPeers = 4096;
inline constexpr size_t kMaxTrustFileBytes =
    16 + kMaxTrustedPeers * (32 + 8 + 1 + 64 + 1 + kMaxUriEndpoints * (1 + kMaxEndpointChars)) + 8;

// How a peer came to be trusted (dustctl status/peers show it).
enum class TrustKind : uint8_t { kPaired = 0, kCertificate = 1 };
const char* TrustKindName(TrustKind kind);  // "paired", "certificate"

struct TrustedPeer {
  PublicKey key{};
  std::string display_name;
  int64_t added_at_ms = 0;
  TrustKind kind = TrustKind::kPaired;
  // Certified peers: the certificate's expiry and the fleet that vouched (zero for paired).
  int64_t expires_at_ms = 0;
  PublicKey fleet{};
  // Where it can be reached by unicast, as its pairing URI (paired) or its certificate
  // (certified) said (endpoint.h; at most kMaxUriEndpoints, each valid, no repeats).
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

  // A peer trusted through a verified certificate (the caller, FleetTrust, verified it).
  // Replaces the certified entry of the same key (a renewed certificate). A paired entry of the
  // key wins: OK and nothing changes. kResourceExhausted when kMaxCertifiedPeers are held;
  // kInvalidArgument on a bad name (an empty name is allowed: the short node ID is shown).
  // `endpoints` are the certificate's (fleet.h, already validated), kept in the entry.
  Status AddCertified(const PublicKey& key, std::string display_name, int64_t added_at_ms,
                      int64_t expires_at_ms, const PublicKey& fleet,
                      std::vector<std::string> endpoints = {});
  // True if a certified entry was present.
  bool RemoveCertified(const PublicKey& key);
  // The certified entry of `key`, whether or not a paired entry hides it from Find; null if none.
  const TrustedPeer* FindCertified(const PublicKey& key) const;
  // The paired peers of `from` replace ours (a trust store file re-read); the certified and
  // revoked entries stay.
  void ReplacePaired(TrustStore&& from);
  // Removes every certified entry that expired at or before `now_ms`; returns how many.
  size_t ExpireCertified(int64_t now_ms);

  // Revoked keys (bounded; beyond kMaxRevokedPeers the oldest mark is not kept, so such a key
  // is counted `untrusted` instead, still dropped).
  void MarkRevoked(const PublicKey& key);
  bool IsRevoked(const PublicKey& key) const { return m_revoked.count(key) != 0; }

  // Null if not trusted (paired first, then certified). The pointer is valid until the next
  // change of the store.
  const TrustedPeer* Find(const PublicKey& key) const;
  bool Contains(const PublicKey& key) const { return Find(key) != nullptr; }
  const TrustedPeer* FindPaired(const PublicKey& key) const;
  // All paired peers sorted by public key (what the file holds).
  std::vector<TrustedPeer> List() const;
  // Certified peers that are not also paired, sorted by public key.
  std::vector<TrustedPeer> ListCertified() const;
  size_t size() const { return m_peers.size(); }  // paired peers
  size_t certified_size() const { return m_certified.size(); }
  bool empty() const { return m_peers.empty(); }

  // Incremented by every successful change; lets holders of per-peer state (replay windows)
  // notice removals cheaply.
  uint64_t generation() const { return m_generation; }

  bool operator==(const TrustStore& o) const { return List() == o.List(); }

 private:
  std::unordered_map<PublicKey, TrustedPeer, PublicKeyHash> m_peers;
  std::unordered_map<PublicKey, TrustedPeer, PublicKeyHash> m_certified;
  std::unordered_set<PublicKey, PublicKeyHash> m_revoked;
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
