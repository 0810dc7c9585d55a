#include "dust/net/fleet.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "dust/net/endpoint.h"
#include "dust/net/identity.h"

namespace dust {
namespace {

constexpr uint8_t kFleetVersion = 1;
constexpr std::array<uint8_t, 4> kCertMagic = {'D', 'S', 'F', 'C'};
constexpr std::array<uint8_t, 4> kRevMagic = {'D', 'S', 'F', 'R'};

void WriteEnvelope(const std::array<uint8_t, 4>& magic, ByteWriter& w) {
  w.Raw(magic);
  w.U8(kFleetVersion);
  w.U8(0);
  w.U16(0);
}

// Magic, version and reserved bytes; `what` starts every message.
Status ReadEnvelope(const std::array<uint8_t, 4>& magic, const char* what, ByteReader& r) {
  if (r.Array<4>() != magic) return Status::Corrupt(std::string(what) + ": bad magic");
  uint8_t version = r.U8();
  if (version != kFleetVersion) {
    return Status::Unsupported(std::string(what) + ": version " + std::to_string(version));
  }
  if (r.U8() != 0 || r.U16() != 0) return Status::Corrupt(std::string(what) + ": reserved bytes");
  return Status::Ok();
}

Bytes WithContext(std::string_view context, ByteView signed_bytes) {
  Bytes msg;
  msg.reserve(context.size() + signed_bytes.size());
  ByteWriter w(&msg);
  w.Raw(AsBytes(context));
  w.Raw(signed_bytes);
  return msg;
}

}  // namespace

Status ValidateCertificateEndpoint(std::string_view ep) {
  if (ep.empty() || ep.size() > kMaxEndpointBytes) {
    return Status::InvalidArgument("endpoint: must be 1.." + std::to_string(kMaxEndpointBytes) +
                                   " bytes");
  }
  return ValidateEndpoint(ep);
}

Result<Bytes> EncodeCertificate(const Certificate& c, const KeyPair& fleet_key) {
  if (!c.display_name.empty()) DUST_RETURN_IF_ERROR(ValidateDisplayName(c.display_name));
  if (c.expires_at_ms <= c.issued_at_ms) {
    return Status::InvalidArgument("certificate: expiry must be after issue");
  }
  if (c.endpoints.size() > kMaxCertificateEndpoints) {
    return Status::InvalidArgument("certificate: at most " +
                                   std::to_string(kMaxCertificateEndpoints) + " endpoints");
  }
  for (const std::string& ep : c.endpoints) DUST_RETURN_IF_ERROR(ValidateCertificateEndpoint(ep));
  Certificate to_sign = c;
  to_sign.fleet = fleet_key.public_key;
  Bytes out = CertificateSignedBytes(to_sign);
  Signature sig = Sign(WithContext(kCertificateContext, out), fleet_key);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

Bytes CertificateSignedBytes(const Certificate& c) {
  Bytes out;
  out.reserve(kMaxCertificateBytes);
  ByteWriter w(&out);
  WriteEnvelope(kCertMagic, w);
  w.Raw(c.fleet);
  w.Raw(c.device);
  w.I64(c.issued_at_ms);
  w.I64(c.expires_at_ms);
  w.U8(static_cast<uint8_t>(c.display_name.size()));
  w.Raw(AsBytes(c.display_name));
  w.U8(static_cast<uint8_t>(c.endpoints.size()));
  for (const std::string& ep : c.endpoints) {
    w.U8(static_cast<uint8_t>(ep.size()));
    w.Raw(AsBytes(ep));
  }
  return out;
}

Result<Parsed<Certificate>> ParseCertificate(ByteView bytes) {
  if (bytes.size() < kMinCertificateBytes || bytes.size() > kMaxCertificateBytes) {
    return Status::Corrupt("certificate: " + std::to_string(bytes.size()) + " bytes, not " +
                           std::to_string(kMinCertificateBytes) + ".." +
                           std::to_string(kMaxCertificateBytes));
  }
  ByteReader r(bytes);
  DUST_RETURN_IF_ERROR(ReadEnvelope(kCertMagic, "certificate", r));
  Parsed<Certificate> p;
  Certificate& c = p.value;
  c.fleet = r.Array<kPublicKeyBytes>();
  c.device = r.Array<kPublicKeyBytes>();
  c.issued_at_ms = r.I64();
  c.expires_at_ms = r.I64();
  const uint8_t n = r.U8();
  if (n > kMaxDisplayNameBytes) return Status::Corrupt("certificate: name too long");
  ByteView name = r.Raw(n);
  const uint8_t e = r.U8();
  if (!r.ok()) return Status::Corrupt("certificate: truncated");
  if (e > kMaxCertificateEndpoints) return Status::Corrupt("certificate: too many endpoints");
  if (c.expires_at_ms <= c.issued_at_ms) {
    return Status::Corrupt("certificate: expiry not after issue");
  }
  c.display_name.assign(reinterpret_cast<const char*>(name.data()), name.size());
  if (n != 0) {
    Status st = ValidateDisplayName(c.display_name);
    if (!st.ok()) return Status::Corrupt("certificate: " + st.message());
  }
  c.endpoints.reserve(e);
  for (uint8_t i = 0; i < e; ++i) {
    const uint8_t len = r.U8();
    ByteView ep = r.Raw(len);
    if (!r.ok()) return Status::Corrupt("certificate: truncated endpoint");
    std::string text(reinterpret_cast<const char*>(ep.data()), ep.size());
    Status st = ValidateCertificateEndpoint(text);
    if (!st.ok()) return Status::Corrupt("certificate: " + st.message());
    c.endpoints.push_back(std::move(text));
  }
  const size_t signed_len = r.position();
  p.signature = r.Array<kSignatureBytes>();
  if (!r.ok()) return Status::Corrupt("certificate: truncated signature");
  if (r.remaining() != 0) return Status::Corrupt("certificate: trailing bytes");
  p.signed_bytes = bytes.subspan(0, signed_len);
  return p;
}

Result<Bytes> EncodeRevocationList(const RevocationList& list, const KeyPair& fleet_key) {
  if (list.serial == 0) return Status::InvalidArgument("revocation list: serial must be >= 1");
  if (list.revoked.size() > kMaxRevokedKeys) {
    return Status::InvalidArgument("revocation list: at most " + std::to_string(kMaxRevokedKeys) +
                                   " keys (a list must fit one datagram)");
  }
  std::vector<PublicKey> keys = list.revoked;
  std::sort(keys.begin(), keys.end());
  if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
    return Status::InvalidArgument("revocation list: a key is listed twice");
  }
  RevocationList to_sign = list;
  to_sign.fleet = fleet_key.public_key;
  to_sign.revoked = std::move(keys);
  Bytes out = RevocationListSignedBytes(to_sign);
  Signature sig = Sign(WithContext(kRevocationContext, out), fleet_key);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

Bytes RevocationListSignedBytes(const RevocationList& list) {
  Bytes out;
  out.reserve(kMaxRevocationListBytes);
  ByteWriter w(&out);
  WriteEnvelope(kRevMagic, w);
  w.Raw(list.fleet);
  w.U64(list.serial);
  w.I64(list.issued_at_ms);
  w.U16(static_cast<uint16_t>(list.revoked.size()));
  for (const PublicKey& k : list.revoked) w.Raw(k);
  return out;
}

Result<Parsed<RevocationList>> ParseRevocationList(ByteView bytes) {
  if (bytes.size() < kMinRevocationListBytes || bytes.size() > kMaxRevocationListBytes) {
    return Status::Corrupt("revocation list: " + std::to_string(bytes.size()) + " bytes, not " +
                           std::to_string(kMinRevocationListBytes) + ".." +
                           std::to_string(kMaxRevocationListBytes));
  }
  ByteReader r(bytes);
  DUST_RETURN_IF_ERROR(ReadEnvelope(kRevMagic, "revocation list", r));
  Parsed<RevocationList> p;
  RevocationList& l = p.value;
  l.fleet = r.Array<kPublicKeyBytes>();
  l.serial = r.U64();
  l.issued_at_ms = r.I64();
  const uint16_t n = r.U16();
  if (l.serial == 0) return Status::Corrupt("revocation list: serial 0");
  if (n > kMaxRevokedKeys) return Status::Corrupt("revocation list: too many keys");
  // The size is exact, so a count that disagrees with it is refused before reading the keys.
  if (bytes.size() != kMinRevocationListBytes + size_t{n} * kPublicKeyBytes) {
    return Status::Corrupt("revocation list: " + std::to_string(n) + " keys do not match its size");
  }
  l.revoked.reserve(n);
  for (uint16_t i = 0; i < n; ++i) {
    PublicKey k = r.Array<kPublicKeyBytes>();
    if (!l.revoked.empty() && !(l.revoked.back() < k)) {
      return Status::Corrupt("revocation list: keys not sorted or duplicated at " +
                             std::to_string(i));
    }
    l.revoked.push_back(k);
  }
  const size_t signed_len = r.position();
  p.signature = r.Array<kSignatureBytes>();
  if (!r.ok() || r.remaining() != 0) return Status::Corrupt("revocation list: bad size");
  p.signed_bytes = bytes.subspan(0, signed_len);
  return p;
}

bool VerifyCertificate(const Parsed<Certificate>& cert) {
  return Verify(WithContext(kCertificateContext, cert.signed_bytes), cert.signature,
                cert.value.fleet);
}

bool VerifyRevocationList(const Parsed<RevocationList>& list) {
  return Verify(WithContext(kRevocationContext, list.signed_bytes), list.signature,
                list.value.fleet);
}

Result<Certificate> DecodeCertificate(ByteView bytes) {
  Result<Parsed<Certificate>> p = ParseCertificate(bytes);
  if (!p.ok()) return p.status();
  if (!VerifyCertificate(*p)) return Status::Corrupt("certificate: bad signature");
  return std::move(p->value);
}

Result<RevocationList> DecodeRevocationList(ByteView bytes) {
  Result<Parsed<RevocationList>> p = ParseRevocationList(bytes);
  if (!p.ok()) return p.status();
  if (!VerifyRevocationList(*p)) return Status::Corrupt("revocation list: bad signature");
  return std::move(p->value);
}

FleetFileKind FleetFileKindOf(ByteView bytes) {
  if (bytes.size() < 4) return FleetFileKind::kUnknown;
  if (std::equal(kCertMagic.begin(), kCertMagic.end(), bytes.begin())) {
    return FleetFileKind::kCertificate;
  }
  if (std::equal(kRevMagic.begin(), kRevMagic.end(), bytes.begin())) {
    return FleetFileKind::kRevocationList;
  }
  return FleetFileKind::kUnknown;
}

}  // namespace dust
