// fuzz_node's counter invariants: what it reads from NodeCounters and the identities between
// those counters, kept apart so a change of the engine's counters is adapted here alone.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dust/engine/node.h"

namespace dust::fuzz {

[[noreturn]] inline void Fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz_node: invariant violated (%s:%d): %s\n", file, line, what);
  __builtin_trap();
}
#define INVARIANT(cond)                                         \
  do {                                                          \
    if (!(cond)) ::dust::fuzz::Fail(#cond, __FILE__, __LINE__); \
  } while (0)

// Everything the invariants read from NodeCounters, in one place. Names and meanings derive
// from node.cpp/ingress.cpp: OnDatagram counts every datagram in datagrams_received and then
// exactly one of: updates_accepted, announces_accepted, scaling_accepted, others_accepted
// (peer exchange), fleet_accepted (fleet certificates and revocation lists), or one
// DropReason for which RefusesDatagram holds (bad_payload and quarantined included; a quarantine
// also counts its quarantined_<check> breakdown; pending_full). The other drops are not receive
// outcomes: ignored_outlier_delta counts buffered delta parts and revoked_before_merge buffered
// updates discarded at a merge, counter_unavailable an update never sent.
struct Tally {
  uint64_t received = 0, updates_accepted = 0, announces_accepted = 0, scaling_accepted = 0;
  uint64_t others_accepted = 0;
  uint64_t fleet_accepted = 0;
  uint64_t receive_drops = 0;           // sum of the receive-drop reasons
  uint64_t quarantined = 0;             // the "quarantined" receive drop
  uint64_t quarantine_breakdown = 0;    // sum of quarantined_<check>
  uint64_t rejected_authenticated = 0;  // bad_payload + quarantined + pending_full (PeerInfo)
  uint64_t revoked = 0, ignored_outlier = 0, counter_unavailable = 0;
  uint64_t merged = 0, merges = 0, sent = 0, bytes_sent = 0;
  // The outcome counters by name ("update", "announce", "scaling", "other", then every drop), in a
  // stable order.
  std::vector<std::pair<std::string, uint64_t>> by_name;
};

inline Tally ReadTally(const NodeCounters& c) {
  const DropCounters& d = c.drops;
  Tally t;
  t.received = c.datagrams_received;
  t.updates_accepted = c.updates_accepted;
  t.announces_accepted = c.announces_accepted;
  t.scaling_accepted = c.scaling_accepted;
  t.others_accepted = c.others_accepted;
  t.fleet_accepted = c.fleet_accepted;
  t.merged = c.updates_merged;
  t.merges = c.merges;
  t.sent = c.datagrams_sent;
  t.bytes_sent = c.bytes_sent;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (RefusesDatagram(static_cast<DropReason>(i))) t.receive_drops += d.by_reason[i];
  }
  t.quarantined = d.Get(DropReason::kQuarantined);
  t.quarantine_breakdown = d.Get(DropReason::kQuarantinedNonFinite) +
                           d.Get(DropReason::kQuarantinedAbsurdNorm) +
                           d.Get(DropReason::kQuarantinedIncompatible);
  t.rejected_authenticated =
      d.Get(DropReason::kBadPayload) + t.quarantined + d.Get(DropReason::kPendingFull);
  t.revoked = d.Get(DropReason::kRevokedBeforeMerge);
  t.ignored_outlier = d.Get(DropReason::kIgnoredOutlierDelta);
  t.counter_unavailable = d.Get(DropReason::kCounterUnavailable);
  t.by_name.reserve(kDropReasonCount + 4);
  t.by_name.emplace_back("update", c.updates_accepted);
  t.by_name.emplace_back("announce", c.announces_accepted);
  t.by_name.emplace_back("scaling", c.scaling_accepted);
  t.by_name.emplace_back("other", c.others_accepted);
  t.by_name.emplace_back("fleet", c.fleet_accepted);
  for (const auto& named : d) t.by_name.push_back(named);
  return t;
}

// The counter a delivery's outcome names: "update", "announce", "scaling" or "other" when
// accepted, else its drop reason's name (for a quarantine, the check's: "quarantined_non_finite",
// ...).
inline std::string OutcomeName(const DatagramOutcome& o) {
  if (o.drop) return DropReasonName(*o.drop);
  switch (o.type) {
    case MessageType::kAnnounce:
      return "announce";
    case MessageType::kScaling:
      return "scaling";
    case MessageType::kPeerExchange:
      return "other";
    default:
      return "update";
  }
}

// One delivery moved exactly one receive counter, the one its outcome names (a quarantine
// names its check: the "quarantined" and "quarantined_<check>" counters both move).
inline void CheckDeliveryCounters(const Tally& before, const Tally& after,
                                  const DatagramOutcome& o) {
  INVARIANT(after.received == before.received + 1);
  INVARIANT(after.by_name.size() == before.by_name.size());
  INVARIANT(o.accepted == !o.drop.has_value());
  std::vector<std::string_view> moved;
  for (size_t k = 0; k < after.by_name.size(); ++k) {
    const auto& [name, n] = after.by_name[k];
    const uint64_t was = before.by_name[k].second;
    INVARIANT(name == before.by_name[k].first && (n == was || n == was + 1));
    if (n != was) moved.push_back(name);
  }
  if (moved.size() == 2) {
    INVARIANT(!o.accepted && moved[0] == "quarantined");
    INVARIANT(moved[1] == OutcomeName(o) && moved[1].starts_with("quarantined_"));
  } else {
    INVARIANT(moved.size() == 1 && moved[0] == OutcomeName(o));
  }
  INVARIANT(after.sent == before.sent);  // merges: fuzz_node's MergeIfRescaled checks them
}

// The identities every node's counters satisfy at any time.
inline void CheckCounterTotals(const Tally& t) {
  INVARIANT(t.received == t.updates_accepted + t.announces_accepted + t.scaling_accepted +
                              t.others_accepted + t.fleet_accepted + t.receive_drops);
  INVARIANT(t.quarantined == t.quarantine_breakdown);
  INVARIANT(t.counter_unavailable == 0);  // no persist hook: counter marks never run out
}

}  // namespace dust::fuzz
