#include "dust/net/ingress.h"

namespace dust {

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kUntrusted:
      return "untrusted";
    case DropReason::kIncompatibleModel:
      return "incompatible_model";
    case DropReason::kStale:
      return "stale";
    case DropReason::kReplay:
      return "replay";
    case DropReason::kRateLimited:
      return "rate_limited";
    case DropReason::kBadSignature:
      return "bad_signature";
    case DropReason::kBadPayload:
      return "bad_payload";
    case DropReason::kQuarantined:
      return "quarantined";
    case DropReason::kQuarantinedNonFinite:
      return "quarantined_non_finite";
    case DropReason::kQuarantinedAbsurdNorm:
      return "quarantined_absurd_norm";
    case DropReason::kQuarantinedIncompatible:
      return "quarantined_incompatible";
    case DropReason::kPendingFull:
      return "pending_full";
    case DropReason::kIgnoredOutlierDelta:
      return "ignored_outlier_delta";
    case DropReason::kRevokedBeforeMerge:
      return "revoked_before_merge";
    case DropReason::kCounterUnavailable:
      return "counter_unavailable";
    case DropReason::kRevoked:
      return "revoked";
    case DropReason::kFleetRefused:
      return "fleet_refused";
  }
  return "unknown";
}

bool RefusesDatagram(DropReason reason) {
  return reason <= DropReason::kQuarantined || reason == DropReason::kPendingFull ||
         reason == DropReason::kRevoked || reason == DropReason::kFleetRefused;
}

uint64_t DropCounters::Total() const {
  uint64_t t = 0;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (RefusesDatagram(static_cast<DropReason>(i))) t += by_reason[i];
  }
  return t;
}

DropCounters::Iterator::value_type DropCounters::Iterator::operator*() const {
  return {DropReasonName(static_cast<DropReason>(m_i)), m_counters->by_reason[m_i]};
}

Ingress::Ingress(IngressOptions options, const TrustStore* trust)
    : m_options(options), m_trust(trust), m_limiter(options.rate) {
  m_trust_generation = m_trust->generation();
}

IngressResult Ingress::Drop(DropReason r) {
  m_drops.Add(r);
  IngressResult res;
  res.drop = r;
  return res;
}

void Ingress::PruneWindowsIfTrustChanged() {
  if (m_trust->generation() == m_trust_generation) return;
  m_trust_generation = m_trust->generation();
  for (auto it = m_windows.begin(); it != m_windows.end();) {
    if (m_trust->Contains(it->first))
      ++it;
    else
      it = m_windows.erase(it);
  }
}

IngressResult Ingress::Receive(ByteView datagram, const SourceKey& source, int64_t now_ms) {
  Result<ParsedDatagram> parsed = ParseDatagram(datagram);
  if (!parsed.ok()) return Drop(DropReason::kMalformed);
  const DatagramHeader& h = parsed->header;

  const TrustedPeer* peer = m_trust->Find(h.sender);
  if (h.sender == m_options.self) return Drop(DropReason::kUntrusted);
  const bool fleet = m_options.fleet_messages && IsFleetMessage(h.type);
  if (peer == nullptr && !fleet) {
    return Drop(m_trust->IsRevoked(h.sender) ? DropReason::kRevoked : DropReason::kUntrusted);
  }

  const bool scaled_update = h.type == MessageType::kUpdate && m_options.update_model;
  if (h.model != (scaled_update ? *m_options.update_model : m_options.model)) {
    return Drop(DropReason::kIncompatibleModel);
  }

  // Written to avoid overflow on hostile timestamps: compare in 128-bit-safe steps.
  const int64_t ts = h.timestamp_ms;
  const int64_t skew = m_options.max_skew_ms;
  bool too_old =
      ts<now_ms&& static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(ts)> static_cast<uint64_t>(
          skew);
  bool too_new = ts > now_ms && static_cast<uint64_t>(ts) - static_cast<uint64_t>(now_ms) >
                                    static_cast<uint64_t>(skew);
  if (too_old || too_new || ts < m_options.not_before_ms) return Drop(DropReason::kStale);

  // A sender not trusted yet (only a fleet message of one gets here) takes no replay window: it
  // must not get per-sender state, and its certificate changes nothing when replayed. A trusted
  // sender's fleet messages take the window like any other: a replayed copy must not move where
  // the daemon thinks the peer is (its source address is learned from every accepted datagram).
  const bool windowed = peer != nullptr;
  auto window = m_windows.end();
  if (windowed) {
    PruneWindowsIfTrustChanged();
    window = m_windows.find(h.sender);
    if (window != m_windows.end() && !window->second.Check(h.counter)) {
      return Drop(DropReason::kReplay);
    }
    if (h.counter >= kRejectAfterCounter) return Drop(DropReason::kReplay);
  }

  if (!m_limiter.Allow(source, now_ms)) return Drop(DropReason::kRateLimited);

  if (!Verify(parsed->signed_region, parsed->signature, h.sender)) {
    return Drop(DropReason::kBadSignature);
  }

  // Authenticated: only now may per-sender state be created or moved.
  if (windowed) {
    if (window == m_windows.end()) window = m_windows.try_emplace(h.sender).first;
    if (!window->second.CheckAndUpdate(h.counter)) return Drop(DropReason::kReplay);
  }

  ++m_accepted;
  IngressResult res;
  res.datagram.header = h;
  res.datagram.payload = parsed->payload;
  res.datagram.peer = peer;
  return res;
}

}  // namespace dust
