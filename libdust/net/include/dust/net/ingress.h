// The receive pipeline: from raw datagram bytes to an authenticated header and payload view.
//
// Check order (docs/protocol.md, "Receive checks"), cheapest first, and no state changes before
// the signature verified except the bounded rate-limiter table:
//   1. structure     ParseDatagram (sizes, magic, version, lengths)       -> kMalformed
//   2. trust         sender key in the TrustStore and not our own         -> kUntrusted
//                    (a key the TrustStore marked revoked                  -> kRevoked)
//                    Fleet messages (wire.h IsFleetMessage) skip this step when
//                    IngressOptions::fleet_messages is set, and steps 5 and 8: a
//                    certificate is how an unknown sender becomes trusted, both are
//                    idempotent (a replay changes nothing) and FleetTrust checks them.
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
// drops, and what it drops later, with CountDrop so all drops live in one DropCounters.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "dust/net/ratelimit.h"
#include "dust/net/replay.h"
#include "dust/net/trust.h"
#include "dust/net/wire.h"
#include "dust/util/bytes.h"

namespace dust {

// Why a datagram (or an update part, or an update we meant to send) was dropped: the receive
// checks above, and what the engine (engine/node.h) drops after Receive accepted, in one enum
// so every drop lives in one DropCounters. Explicit values: they index DropCounters and list
// the counters in this order (metrics); never reorder or reuse.
enum class DropReason : uint8_t {
  // Each of these refuses one received datagram (DropCounters::Total counts them).
  kMalformed = 0,
  kUntrusted = 1,
  kIncompatibleModel = 2,
  kStale = 3,
  kReplay = 4,
  kRateLimited = 5,
  kBadSignature = 6,
  kBadPayload = 7,   // payload decoding failed (engine)
  kQuarantined = 8,  // decoded but refused by the merge (non-finite, absurd norm) (engine)
  // Which quarantine check refused it: a breakdown of kQuarantined, counted beside it.
  kQuarantinedNonFinite = 9,
  kQuarantinedAbsurdNorm = 10,
  kQuarantinedIncompatible = 11,
  // An accepted datagram refused because the engine's round buffer was full (engine).
  kPendingFull = 12,
  // Not received datagrams (engine): a buffered delta of a peer whose absolute values are
  // outliers (robust aggregators), a buffered update whose sender's trust was removed before
  // the merge, an update or announce not sent because the counter mark could not be stored.
  kIgnoredOutlierDelta = 13,
  kRevokedBeforeMerge = 14,
  kCounterUnavailable = 15,
  // Refusing received datagrams again: a sender whose fleet certificate was revoked (step 2,
  // told apart from kUntrusted so an operator sees a revocation take effect), and a fleet
  // message (certificate, revocation list) that FleetTrust refused (its own counters say why).
  kRevoked = 16,
  kFleetRefused = 17,
};
inline constexpr size_t kDropReasonCount = 18;

// "malformed", "untrusted", "incompatible_model", "stale", "replay", "rate_limited",
// "bad_signature", "bad_payload", "quarantined", "quarantined_non_finite",
// "quarantined_absurd_norm", "quarantined_incompatible", "pending_full",
// "ignored_outlier_delta", "revoked_before_merge", "counter_unavailable", "revoked",
// "fleet_refused": stable, used as
// metric labels and JSON keys (docs/operations.md).
const char* DropReasonName(DropReason reason);

// Whether `reason` refuses one received datagram, each datagram counted under at most one such
// reason: kMalformed through kQuarantined, kPendingFull, kRevoked and kFleetRefused.
bool RefusesDatagram(DropReason reason);

struct DropCounters {
  std::array<uint64_t, kDropReasonCount> by_reason{};

  void Add(DropReason r, uint64_t n = 1) { by_reason[static_cast<size_t>(r)] += n; }
  uint64_t Get(DropReason r) const { return by_reason[static_cast<size_t>(r)]; }
  // Received datagrams dropped: the sum over the reasons that RefusesDatagram.
  uint64_t Total() const;

  // Every reason in enum order as a (name, count) pair, zero counts included: the form
  // metrics and JSON list them in (`for (const auto& [name, count] : drops)`).
  class Iterator {
   public:
    using value_type = std::pair<std::string, uint64_t>;
    Iterator(const DropCounters* counters, size_t i) : m_counters(counters), m_i(i) {}
    value_type operator*() const;
    Iterator& operator++() {
      ++m_i;
      return *this;
    }
    bool operator==(const Iterator&) const = default;

   private:
    const DropCounters* m_counters;
    size_t m_i;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, kDropReasonCount); }
};

struct IngressOptions {
  WireFingerprint model{};  // our model's fingerprint (model.h Fingerprint)
  // What an update's header must carry instead, when set: the model's fingerprint mixed with
  // its input scaling (model.h UpdateFingerprint). An update of another scaling is refused as
  // kIncompatibleModel like one of another model; announces and scaling messages carry `model`.
  std::optional<WireFingerprint> update_model;
  int64_t max_skew_ms = 5 * 60 * 1000;  // accepted |timestamp - now|
  int64_t not_before_ms = 0;            // refuse datagrams stamped earlier (e.g. process start,
                                        // so datagrams recorded before a restart, when the
                                        // replay windows were empty, cannot be replayed)
  RateLimiterOptions rate;
  // The receiver's own key, if it has one: a datagram it signed is ours, never a peer's, and is
  // refused as untrusted even if the trust store holds that key (a node must not merge its own
  // update as if a peer had sent it, and must not count it as a peer).
  std::optional<PublicKey> self;
  // Admit fleet messages from untrusted senders (a node configured with fleets).
  bool fleet_messages = false;
};

// An authenticated datagram. Views point into the bytes passed to Receive.
struct VerifiedDatagram {
  DatagramHeader header;
  ByteView payload;
  const TrustedPeer* peer = nullptr;  // valid until the trust store next changes; null for a
                                      // fleet message from a sender not trusted (yet)
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

  // For drops decided by the caller after Receive accepted (payload-level ones), or later
  // (the engine's round buffer and send path), `n` at once.
  void CountDrop(DropReason reason, uint64_t n = 1) { m_drops.Add(reason, n); }

  const DropCounters& drops() const { return m_drops; }
  uint64_t accepted() const { return m_accepted; }
  size_t replay_windows() const { return m_windows.size(); }

  void SetModelFingerprint(const WireFingerprint& fp) { m_options.model = fp; }
  void SetUpdateFingerprint(std::optional<WireFingerprint> fp) { m_options.update_model = fp; }
  void SetNotBefore(int64_t not_before_ms) { m_options.not_before_ms = not_before_ms; }
  void SetFleetMessages(bool on) { m_options.fleet_messages = on; }
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
