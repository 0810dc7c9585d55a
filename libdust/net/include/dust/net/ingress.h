// The receive pipeline: from raw datagram bytes to an authenticated header and payload view.
//
// Check order (docs/protocol.md, "Receive checks"), cheapest first, and no state changes before
// the signature verified except the bounded rate-limiter table:
//   1. structure     ParseDatagram (sizes, magic, version, lengths)       -> kMalformed
//   2. trust         sender key in the TrustStore (one hash lookup)      -> kUntrusted
//   3. model         header fingerprint == ours                         -> kIncompatibleModel
//   4. freshness     |timestamp_ms - now_ms| <= max_skew_ms, and
//                    timestamp_ms >= not_before_ms                       -> kStale
//   5. replay (read) ReplayWindow::Check of that trusted sender          -> kReplay
//   6. rate limit    one token from the source's bucket                  -> kRateLimited
//   7. signature     Ed25519 verify (the dominant cost)          -> kBadSignature
//   8. replay (move) ReplayWindow::CheckAndUpdate                         -> kReplay
// Steps 2-5 read state and change none, so running them before the signature is safe: a forger
// can get a datagram dropped for a different reason, never get one accepted or move a window.
// They are cheap and each one spares a verify (duplicates arriving on two paths, old datagrams
// replayed, other fleets' models). The rate limiter sits right before the verify because it
// exists to protect the verify budget: junk that never costs a verify (unknown keys, replays)
// does not drain the bucket of a source address an attacker shares or spoofs.
//
// Replay windows exist only for trusted senders (created at their first verified datagram) and
// are pruned when the trust store changes, so their number is bounded by the trust store size.
// Payload decoding is the caller's (the engine's codec, with hard caps); it reports payload-level
// drops with CountDrop(kBadPayload / kQuarantined) so all drops live in one DropCounters.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "dust/util/bytes.h"
#include "dust/net/ratelimit.h"
#include "dust/net/replay.h"
#include "dust/net/trust.h"
#include "dust/net/wire.h"

namespace dust {

// Explicit values: they index DropCounters and name metrics; never reorder or reuse.
enum class DropReason : uint8_t {
  kMalformed = 0,
  kUntrusted = 1,
  kIncompatibleModel = 2,
  kStale = 3,
  kReplay = 4,
  kRateLimited = 5,
  kBadSignature = 6,
  kBadPayload = 7,   // payload decoding failed (engine)
  kQuarantined = 8,  // decoded but refused by the merge (non-finite, absurd norm) (engine)
};
inline constexpr size_t kDropReasonCount = 9;

// "malformed", "untrusted", "incompatible_model", "stale", "replay", "rate_limited",
// "bad_signature", "bad_payload", "quarantined": stable, used as metric labels.
const char* DropReasonName(DropReason reason);

struct DropCounters {
  std::array<uint64_t, kDropReasonCount> by_reason{};

  void Add(DropReason r) { ++by_reason[static_cast<size_t>(r)]; }
  uint64_t Get(DropReason r) const { return by_reason[static_cast<size_t>(r)]; }
  uint64_t Total() const;
};

struct IngressOptions {
  WireFingerprint model{};              // our model's fingerprint (model.h Fingerprint)
  int64_t max_skew_ms = 5 * 60 * 1000;  // accepted |timestamp - now|
  int64_t not_before_ms = 0;            // refuse datagrams stamped earlier (e.g. process start,
                                        // so datagrams recorded before a restart, when the
                                        // replay windows were empty, cannot be replayed)
  RateLimiterOptions rate;
};

// An authenticated datagram. Views point into the bytes passed to Receive.
struct VerifiedDatagram {
  DatagramHeader header;
  ByteView payload;
  const TrustedPeer* peer = nullptr;  // valid until the trust store next changes
};

struct IngressResult {
  std::optional<DropReason> drop;  // nullopt: accepted, `datagram` is set
  VerifiedDatagram datagram;

  bool accepted() const { return !drop.has_value(); }
};

// Not thread-safe. Holds a pointer to the caller's TrustStore, which must outlive it; changes to
// the store apply to the next Receive.
class Ingress {
 public:
  Ingress(IngressOptions options, const TrustStore* trust);

  // Runs the checks above. Counts the drop (if any) in drops(), or counts an accept.
  IngressResult Receive(ByteView datagram, const SourceKey& source, int64_t now_ms);

  // For payload-level drops decided by the caller after Receive accepted.
  void CountDrop(DropReason reason) { m_drops.Add(reason); }

  const DropCounters& drops() const { return m_drops; }
  uint64_t accepted() const { return m_accepted; }
  size_t replay_windows() const { return m_windows.size(); }

  void SetModelFingerprint(const WireFingerprint& fp) { m_options.model = fp; }
  void SetNotBefore(int64_t not_before_ms) { m_options.not_before_ms = not_before_ms; }
  const IngressOptions& options() const { return m_options; }

 private:
  IngressResult Drop(DropReason r);
  void PruneWindowsIfTrustChanged();

  IngressOptions m_options;
  const TrustStore* m_trust;
  RateLimiter m_limiter;
  std::unordered_map<PublicKey, ReplayWindow, PublicKeyHash> m_windows;
  uint64_t m_trust_generation = 0;
  DropCounters m_drops;
  uint64_t m_accepted = 0;
};

}  // namespace dust
