#include "dust/net/fleet_trust.h"

#include <algorithm>

namespace dust {

const char* FleetDropName(FleetDrop drop) {
  switch (drop) {
    case FleetDrop::kMalformed:
      return "malformed";
    case FleetDrop::kUnknownFleet:
      return "unknown_fleet";
    case FleetDrop::kWrongKey:
      return "wrong_key";
    case FleetDrop::kExpired:
      return "expired";
    case FleetDrop::kRevoked:
      return "revoked";
    case FleetDrop::kExcluded:
      return "excluded";
    case FleetDrop::kBadSignature:
      return "bad_signature";
    case FleetDrop::kFull:
      return "full";
    case FleetDrop::kLowerSerial:
      return "lower_serial";
  }
  return "unknown";
}

FleetTrust::FleetTrust(std::vector<PublicKey> fleets, TrustStore* trust) : m_trust(trust) {
  std::sort(fleets.begin(), fleets.end());
  fleets.erase(std::unique(fleets.begin(), fleets.end()), fleets.end());
  if (fleets.size() > kMaxFleets) fleets.resize(kMaxFleets);
  m_fleets = std::move(fleets);
}

bool FleetTrust::IsFleet(const PublicKey& fleet) const {
  return std::binary_search(m_fleets.begin(), m_fleets.end(), fleet);
}

bool FleetTrust::IsRevokedBy(const PublicKey& fleet, const PublicKey& device) const {
  auto it = m_lists.find(fleet);
  if (it == m_lists.end()) return false;
  const std::vector<PublicKey>& keys = it->second.list.revoked;
  return std::binary_search(keys.begin(), keys.end(), device);
}

std::optional<FleetDrop> FleetTrust::CheckCertificate(ByteView bytes, const PublicKey& sender,
                                                      int64_t now_ms) {
  Result<Parsed<Certificate>> parsed = ParseCertificate(bytes);
  if (!parsed.ok()) return FleetDrop::kMalformed;
  const Certificate& c = parsed->value;
  if (!IsFleet(c.fleet)) return FleetDrop::kUnknownFleet;
  if (c.device != sender) return FleetDrop::kWrongKey;
  if (c.expires_at_ms <= now_ms) return FleetDrop::kExpired;
  if (IsRevokedBy(c.fleet, c.device)) return FleetDrop::kRevoked;
  if (IsExcluded(c.device)) return FleetDrop::kExcluded;

  // The periodic re-send of the certificate already accepted: same bytes, same verdict.
  const Hash256 hash = Blake2b256(bytes);
  auto known = m_cert_hashes.find(c.device);
  const TrustedPeer* peer = m_trust->Find(c.device);
  if (known != m_cert_hashes.end() && known->second == hash && peer != nullptr &&
      peer->kind == TrustKind::kCertificate) {
    return std::nullopt;
  }
  if (!VerifyCertificate(*parsed)) return FleetDrop::kBadSignature;
  if (peer != nullptr && peer->kind == TrustKind::kPaired) {
    // Paired wins; nothing to record, and no hash kept for a key the certified table lacks.
    return std::nullopt;
  }
  Status st = m_trust->AddCertified(c.device, c.display_name, now_ms, c.expires_at_ms, c.fleet,
                                    c.endpoints);
  if (!st.ok()) return FleetDrop::kFull;
  m_cert_hashes[c.device] = hash;
  m_counters.certificates_accepted += 1;
  return std::nullopt;
}

std::optional<FleetDrop> FleetTrust::OnCertificate(ByteView cert, const PublicKey& sender,
                                                   int64_t now_ms) {
  std::optional<FleetDrop> drop = CheckCertificate(cert, sender, now_ms);
  if (drop) m_counters.certificate_drops[static_cast<size_t>(*drop)] += 1;
  return drop;
}

std::optional<FleetDrop> FleetTrust::OnRevocationList(ByteView bytes, int64_t now_ms) {
  (void)now_ms;  // a list does not expire: a revocation stands until the fleet key is replaced
  auto drop = [&](FleetDrop d) {
    m_counters.revocation_drops[static_cast<size_t>(d)] += 1;
    return d;
  };
  Result<Parsed<RevocationList>> parsed = ParseRevocationList(bytes);
  if (!parsed.ok()) return drop(FleetDrop::kMalformed);
  const RevocationList& l = parsed->value;
  if (!IsFleet(l.fleet)) return drop(FleetDrop::kUnknownFleet);
  const uint64_t held = Serial(l.fleet);
  if (l.serial < held) return drop(FleetDrop::kLowerSerial);
  if (l.serial == held) return std::nullopt;  // the list we have, re-sent
  if (!VerifyRevocationList(*parsed)) return drop(FleetDrop::kBadSignature);

  HeldList& h = m_lists[l.fleet];
  h.bytes.assign(bytes.begin(), bytes.end());
  h.list = l;
  for (const PublicKey& k : l.revoked) {
    m_trust->MarkRevoked(k);
    // Only the fleet's own certificates are withdrawn: a paired peer stays (paired wins), and
    // another configured fleet's certificate for the same key is that fleet's to revoke. The
    // certified entry goes even when a pairing hides it, or removing the pairing later (a
    // trust file reload) would bring the revoked certificate back.
    const TrustedPeer* peer = m_trust->FindCertified(k);
    if (peer != nullptr && peer->fleet == l.fleet) {
      m_trust->RemoveCertified(k);
      m_cert_hashes.erase(k);
    }
  }
  m_counters.revocations_accepted += 1;
  return std::nullopt;
}

void FleetTrust::Tick(int64_t now_ms) {
  if (m_trust->ExpireCertified(now_ms) == 0) return;
  std::erase_if(m_cert_hashes, [&](const auto& kv) {
    const TrustedPeer* p = m_trust->Find(kv.first);
    return p == nullptr || p->kind != TrustKind::kCertificate;
  });
}

bool FleetTrust::Exclude(const PublicKey& device) {
  if (m_excluded.size() >= kMaxExcludedPeers && !IsExcluded(device)) return false;
  m_excluded.insert(device);
  if (m_trust->RemoveCertified(device)) m_cert_hashes.erase(device);
  return true;
}

std::vector<PublicKey> FleetTrust::Excluded() const {
  std::vector<PublicKey> out(m_excluded.begin(), m_excluded.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ByteView> FleetTrust::RevocationLists() const {
  std::vector<ByteView> out;
  out.reserve(m_lists.size());
  for (const auto& [fleet, held] : m_lists) out.emplace_back(held.bytes);
  return out;
}

uint64_t FleetTrust::Serial(const PublicKey& fleet) const {
  auto it = m_lists.find(fleet);
  return it == m_lists.end() ? 0 : it->second.list.serial;
}

}  // namespace dust
