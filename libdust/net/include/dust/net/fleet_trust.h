// FleetTrust: the policy that turns verified fleet certificates into trust (trust.h
// AddCertified) and revocation lists into its withdrawal, for the fleets a node is configured
// with (docs/operations.md, "A fleet").
//
// A certificate is accepted when, checked cheapest first:
//   structure (fleet.h ParseCertificate)                    else kMalformed
//   its fleet is one of ours                                else kUnknownFleet
//   its device key is the sender of the datagram carrying it  else kWrongKey
//   not expired at now                                      else kExpired
//   its device is not in our newest list of that fleet      else kRevoked
//   the operator did not `trust remove` that device         else kExcluded
//   the fleet key's signature verifies                      else kBadSignature
//   room for one more certified peer                        else kFull
// and a refused one changes nothing. A certificate whose bytes equal the one already accepted
// for that device (the periodic re-send) costs a hash, not a verify.
//
// A revocation list is accepted when its structure is valid, its fleet is ours, its serial is
// higher than the newest held for that fleet (lower: kLowerSerial; equal: nothing to do, not a
// drop) and the signature verifies (kBadSignature). Accepting it removes every listed device's
// certified trust at once (the engine then drops what it had buffered from them, and ingress
// counts their next datagram `revoked`), and refuses their certificates from then on. A list
// needs no sender: it is the fleet's own statement, so any node may relay it.
//
// Memory: certified peers are bounded by the TrustStore (kMaxCertifiedPeers), the per-device
// certificate hashes by the same bound, lists by kMaxFleets x kMaxRevocationListBytes, the
// exclusions by kMaxExcludedPeers. Not thread-safe (one owner, like the TrustStore).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dust/net/fleet.h"
#include "dust/net/trust.h"

namespace dust {

inline constexpr size_t kMaxFleets = 16;
inline constexpr size_t kMaxExcludedPeers = 4096;

// Explicit values: they index FleetCounters and name the metrics; never reorder or reuse.
enum class FleetDrop : uint8_t {
  kMalformed = 0,
  kUnknownFleet = 1,
  kWrongKey = 2,
  kExpired = 3,
  kRevoked = 4,
  kExcluded = 5,
  kBadSignature = 6,
  kFull = 7,
  kLowerSerial = 8,
};
inline constexpr size_t kFleetDropCount = 9;
// "malformed", "unknown_fleet", "wrong_key", "expired", "revoked", "excluded",
// "bad_signature", "full", "lower_serial": metric labels and JSON keys.
const char* FleetDropName(FleetDrop drop);

struct FleetCounters {
  std::array<uint64_t, kFleetDropCount> certificate_drops{};
  std::array<uint64_t, kFleetDropCount> revocation_drops{};
  uint64_t certificates_accepted = 0;  // first sight or renewal (not the re-sends)
  uint64_t revocations_accepted = 0;
};

class FleetTrust {
 public:
  // `trust` is not owned and must outlive this. More than kMaxFleets fleets: the rest ignored
  // (the daemon refuses such a configuration first).
  FleetTrust(std::vector<PublicKey> fleets, TrustStore* trust);

  bool enabled() const { return !m_fleets.empty(); }
  bool IsFleet(const PublicKey& fleet) const;
  const std::vector<PublicKey>& fleets() const { return m_fleets; }

  // A certificate carried by a datagram that `sender` signed (the caller verified that).
  std::optional<FleetDrop> OnCertificate(ByteView cert, const PublicKey& sender, int64_t now_ms);
  // A revocation list from anywhere. nullopt: accepted, or the very serial already held.
  std::optional<FleetDrop> OnRevocationList(ByteView list, int64_t now_ms);
  // Withdraws the trust of certificates that have expired.
  void Tick(int64_t now_ms);

  // `dustctl trust remove` of a certified peer: its certificates are refused until Include.
  // Returns false when the exclusion list is full (kMaxExcludedPeers).
  bool Exclude(const PublicKey& device);
  void Include(const PublicKey& device) { m_excluded.erase(device); }
  bool IsExcluded(const PublicKey& device) const { return m_excluded.count(device) != 0; }
  std::vector<PublicKey> Excluded() const;  // sorted

  // The newest list held of each fleet (encoded), to gossip and persist; and its serial (0: none).
  std::vector<ByteView> RevocationLists() const;
  uint64_t Serial(const PublicKey& fleet) const;

  const FleetCounters& counters() const { return m_counters; }

 private:
  struct HeldList {
    Bytes bytes;
    RevocationList list;
  };
  std::optional<FleetDrop> CheckCertificate(ByteView cert, const PublicKey& sender, int64_t now_ms);
  bool IsRevokedBy(const PublicKey& fleet, const PublicKey& device) const;

  std::vector<PublicKey> m_fleets;
  TrustStore* m_trust;
  std::map<PublicKey, HeldList> m_lists;  // by fleet, at most kMaxFleets
  std::unordered_map<PublicKey, Hash256, PublicKeyHash> m_cert_hashes;  // certified devices
  std::unordered_set<PublicKey, PublicKeyHash> m_excluded;
  FleetCounters m_counters;
};

}  // namespace dust
