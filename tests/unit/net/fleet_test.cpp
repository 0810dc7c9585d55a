// Fleet certificates and revocation lists: the test vectors, round trips, every rejection of the
// codecs, and FleetTrust's policy (what is accepted, what is dropped and counted, what wins).
#include "dust/net/fleet.h"

#include <catch2/catch.hpp>
#include <string>

#include "dust/net/fleet_trust.h"
#include "dust/net/identity.h"
#include "dust/net/ingress.h"
#include "testutil/vector_key.h"

namespace dust {
namespace {

constexpr int64_t kIssued = 1764000000000;
constexpr int64_t kDay = 86400000;

// tests/vectors/protocol_vectors.py: fleet key from seed 41..60, device key from seed 01..20,
// revoked key from seed 21..40.
constexpr const char* kCertHex =
    "4453464301000000adc14011f82d1c56d956aa4f9d73d8858361a606048525e0d08c638dc75dd8c779b5562e8f"
    "e654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04966400e897b69a0100000014490ea20100000b6c"
    "6162206e6f6465202331020f3139322e302e322e373a3437343734135b323030313a6462383a3a375d3a343734"
    "373459a9fd17338eeab9e2aa83950f10e795f3646e39612f3409fd7b79b34b678fcbc36659aa5421ecc45f38c4"
    "3fd398ea27eb23fb9eba3f8de7cfdee830b3187c04";
constexpr const char* kRevHex =
    "4453465201000000adc14011f82d1c56d956aa4f9d73d8858361a606048525e0d08c638dc75dd8c70300000000"
    "0000000044bebb9a0100000100e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0"
    "98a51a5565353955db9ab497a8688c3fed196994a7c64e4466dc73fc9e303aa6bbae5f79f6d78868d83e79e0c3"
    "b603a4e8484862a8cb06bb7a777890f64c0203";

KeyPair SeedKey(uint8_t start) {
  testutil::VectorKey();  // initialises libsodium
  std::array<uint8_t, kSeedBytes> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(start + i);
  return KeyPairFromSeed(seed);
}

Bytes HexBytes(const char* hex) {
  Bytes b;
  REQUIRE(FromHex(hex, &b));
  return b;
}

Certificate VectorCert() {
  Certificate c;
  c.device = SeedKey(0x01).public_key;
  c.issued_at_ms = kIssued;
  c.expires_at_ms = kIssued + 365 * kDay;
  c.display_name = "lab node #1";
  c.endpoints = {"192.0.2.7:47474", "[2001:db8::7]:47474"};
  return c;
}

Bytes MakeCert(const KeyPair& fleet, const PublicKey& device, int64_t expires = kIssued + kDay,
               std::string name = "dev") {
  Certificate c;
  c.device = device;
  c.issued_at_ms = kIssued;
  c.expires_at_ms = expires;
  c.display_name = std::move(name);
  Result<Bytes> b = EncodeCertificate(c, fleet);
  REQUIRE(b.ok());
  return *b;
}

Bytes MakeList(const KeyPair& fleet, uint64_t serial, std::vector<PublicKey> keys) {
  Result<Bytes> b = EncodeRevocationList(
      RevocationList{.serial = serial, .issued_at_ms = kIssued, .revoked = std::move(keys)}, fleet);
  REQUIRE(b.ok());
  return *b;
}

TEST_CASE("certificate and revocation list test vectors match the independent implementation",
          "[fleet]") {
  const KeyPair fleet = SeedKey(0x41);
  CHECK(FormatNodeId(fleet.public_key) ==
        "VXAUAEP-YFUOFNX-WKWVJHZ-246YQW4-BWDJQGA-SCSLYGQ-QRRRY3R-253DDQR");
  Result<Bytes> cert = EncodeCertificate(VectorCert(), fleet);
  REQUIRE(cert.ok());
  CHECK(ToHex(*cert) == kCertHex);
  Result<Certificate> c = DecodeCertificate(HexBytes(kCertHex));
  REQUIRE(c.ok());
  Certificate want = VectorCert();
  want.fleet = fleet.public_key;
  CHECK(*c == want);

  Bytes list = MakeList(fleet, 3, {SeedKey(0x21).public_key});
  // issued_at differs from MakeList's: encode the vector's own fields.
  Result<Bytes> rev = EncodeRevocationList(
      RevocationList{
          .serial = 3, .issued_at_ms = kIssued + kDay, .revoked = {SeedKey(0x21).public_key}},
      fleet);
  REQUIRE(rev.ok());
  CHECK(ToHex(*rev) == kRevHex);
  Result<RevocationList> l = DecodeRevocationList(HexBytes(kRevHex));
  REQUIRE(l.ok());
  CHECK(l->serial == 3);
  CHECK(l->fleet == fleet.public_key);
  CHECK(l->revoked == std::vector<PublicKey>{SeedKey(0x21).public_key});
  CHECK(FleetFileKindOf(*cert) == FleetFileKind::kCertificate);
  CHECK(FleetFileKindOf(list) == FleetFileKind::kRevocationList);
  CHECK(FleetFileKindOf(Bytes{'D', 'S', 'T', 'K'}) == FleetFileKind::kUnknown);
}

TEST_CASE("certificates round trip at their bounds", "[fleet]") {
  const KeyPair fleet = SeedKey(0x41);
  Certificate c;
  c.device = SeedKey(0x01).public_key;
  c.issued_at_ms = -5;
  c.expires_at_ms = INT64_MAX;
  Result<Bytes> small = EncodeCertificate(c, fleet);
  REQUIRE(small.ok());
  CHECK(small->size() == kMinCertificateBytes);
  c.display_name = std::string(64, 'n');
  for (int i = 0; i < 4; ++i)
    c.endpoints.push_back(std::string(56, 'a') + ".b:6553" + char('0' + i));
  REQUIRE(c.endpoints[0].size() == 64);
  Result<Bytes> big = EncodeCertificate(c, fleet);
  REQUIRE(big.ok());
  CHECK(big->size() == kMaxCertificateBytes);
  Result<Certificate> back = DecodeCertificate(*big);
  REQUIRE(back.ok());
  c.fleet = fleet.public_key;
  CHECK(*back == c);
}

TEST_CASE("certificate encoding refuses fields out of bounds", "[fleet]") {
  const KeyPair fleet = SeedKey(0x41);
  Certificate c = VectorCert();
  c.expires_at_ms = c.issued_at_ms;
  CHECK(EncodeCertificate(c, fleet).status().code() == StatusCode::kInvalidArgument);
  c = VectorCert();
  c.display_name = std::string(65, 'x');
  CHECK(EncodeCertificate(c, fleet).status().code() == StatusCode::kInvalidArgument);
  c = VectorCert();
  c.endpoints = {"a:1", "b:2", "c:3", "d:4", "e:5"};
  CHECK(EncodeCertificate(c, fleet).status().code() == StatusCode::kInvalidArgument);
  c = VectorCert();
  c.endpoints = {"no-port"};
  CHECK(EncodeCertificate(c, fleet).status().code() == StatusCode::kInvalidArgument);
}

// Re-signs `body` (a certificate without its signature) so a structural rejection is tested
// with a valid signature, not caught by it.
Bytes Resign(Bytes body, const KeyPair& fleet, std::string_view context) {
  Bytes msg(context.begin(), context.end());
  msg.insert(msg.end(), body.begin(), body.end());
  Signature s = Sign(msg, fleet);
  body.insert(body.end(), s.begin(), s.end());
  return body;
}

TEST_CASE("every malformed certificate is refused with its reason", "[fleet]") {
  const KeyPair fleet = SeedKey(0x41);
  const Bytes good = HexBytes(kCertHex);
  const Bytes body(good.begin(), good.end() - kSignatureBytes);
  auto refuse = [&](Bytes bytes, StatusCode code, const std::string& reason) {
    Result<Parsed<Certificate>> p = ParseCertificate(bytes);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == code);
    CHECK_THAT(p.status().message(), Catch::Contains(reason));
  };
  auto edit = [&](size_t at, uint8_t v) {
    Bytes b = body;
    b[at] = v;
    return Resign(b, fleet, kCertificateContext);
  };
  refuse(Bytes(good.begin(), good.begin() + kMinCertificateBytes - 1), StatusCode::kCorrupt,
         "bytes");
  refuse(Bytes(kMaxCertificateBytes + 1, 0), StatusCode::kCorrupt, "bytes");
  refuse(edit(0, 'X'), StatusCode::kCorrupt, "magic");
  refuse(edit(4, 2), StatusCode::kUnsupported, "version 2");
  refuse(edit(5, 1), StatusCode::kCorrupt, "reserved");
  refuse(edit(7, 1), StatusCode::kCorrupt, "reserved");
  refuse(edit(88, 65), StatusCode::kCorrupt, "name too long");
  refuse(edit(89, 0x07), StatusCode::kCorrupt, "control");  // a control character in the name
  refuse(edit(89 + 11, 5), StatusCode::kCorrupt, "too many endpoints");
  refuse(edit(89 + 12, 0), StatusCode::kCorrupt, "endpoint");        // empty endpoint
  refuse(edit(89 + 12 + 4, '_'), StatusCode::kCorrupt, "endpoint");  // "192_0.2.7:47474"
  {
    Bytes b = body;  // expiry == issue
    std::copy(b.begin() + 72, b.begin() + 80, b.begin() + 80);
    refuse(Resign(b, fleet, kCertificateContext), StatusCode::kCorrupt, "expiry");
  }
  {
    Bytes b = good;  // trailing byte
    b.push_back(0);
    refuse(b, StatusCode::kCorrupt, "trailing");
  }
  {
    // The endpoint count says 2, one is missing: the signature's bytes are read as the second
    // endpoint and what is left is too short for a signature, whatever those bytes are.
    Bytes b = body;
    b.resize(89 + 12 + 16);
    refuse(Resign(b, fleet, kCertificateContext), StatusCode::kCorrupt, "certificate: ");
  }
  // The edits above verify (re-signed); the unedited body with a flipped signature bit does not.
  Bytes flipped = good;
  flipped.back() ^= 1;
  Result<Parsed<Certificate>> p = ParseCertificate(flipped);
  REQUIRE(p.ok());
  CHECK_FALSE(VerifyCertificate(*p));
  CHECK_THAT(DecodeCertificate(flipped).status().message(), Catch::Contains("bad signature"));
}

TEST_CASE("signatures are domain-separated: no certificate signature verifies as anything else",
          "[fleet]") {
  const KeyPair fleet = SeedKey(0x41);
  Bytes cert = HexBytes(kCertHex);
  Bytes body(cert.begin(), cert.end() - kSignatureBytes);
  Signature sig;
  std::copy(cert.end() - kSignatureBytes, cert.end(), sig.begin());
  // Not over the bare bytes (the form a datagram's signature takes) ...
  CHECK_FALSE(Verify(body, sig, fleet.public_key));
  // ... nor under the revocation list's context.
  Bytes as_list(kRevocationContext.begin(), kRevocationContext.end());
  as_list.insert(as_list.end(), body.begin(), body.end());
  CHECK_FALSE(Verify(as_list, sig, fleet.public_key));
  // A certificate signed without the context (e.g. a datagram-style signature) is refused.
  Bytes bare = body;
  Signature s = Sign(body, fleet);
  bare.insert(bare.end(), s.begin(), s.end());
  CHECK_FALSE(DecodeCertificate(bare).ok());
  // And a revocation list signed under the certificate context is refused.
  Bytes list = MakeList(fleet, 1, {});
  Bytes list_body(list.begin(), list.end() - kSignatureBytes);
  CHECK_FALSE(DecodeRevocationList(Resign(list_body, fleet, kCertificateContext)).ok());
  CHECK(DecodeRevocationList(Resign(list_body, fleet, kRevocationContext)).ok());
}

TEST_CASE("every malformed revocation list is refused with its reason", "[fleet]") {
  const KeyPair fleet = SeedKey(0x41);
  PublicKey a = SeedKey(0x01).public_key, b = SeedKey(0x21).public_key;
  const Bytes good = MakeList(fleet, 2, {b, a});
  const Bytes body(good.begin(), good.end() - kSignatureBytes);
  auto refuse = [&](Bytes bytes, StatusCode code, const std::string& reason) {
    Result<Parsed<RevocationList>> p = ParseRevocationList(bytes);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == code);
    CHECK_THAT(p.status().message(), Catch::Contains(reason));
  };
  auto edit = [&](size_t at, uint8_t v) {
    Bytes x = body;
    x[at] = v;
    return Resign(x, fleet, kRevocationContext);
  };
  REQUIRE(DecodeRevocationList(good).ok());
  CHECK(DecodeRevocationList(good)->revoked ==
        std::vector<PublicKey>{std::min(a, b), std::max(a, b)});
  refuse(Bytes(kMinRevocationListBytes - 1, 0), StatusCode::kCorrupt, "bytes");
  refuse(Bytes(kMaxRevocationListBytes + 1, 0), StatusCode::kCorrupt, "bytes");
  refuse(edit(0, 'X'), StatusCode::kCorrupt, "magic");
  refuse(edit(4, 9), StatusCode::kUnsupported, "version 9");
  refuse(edit(6, 1), StatusCode::kCorrupt, "reserved");
  {
    Bytes x = body;  // serial 0
    std::fill(x.begin() + 40, x.begin() + 48, 0);
    refuse(Resign(x, fleet, kRevocationContext), StatusCode::kCorrupt, "serial 0");
  }
  refuse(edit(56, 33), StatusCode::kCorrupt, "too many keys");
  refuse(edit(56, 1), StatusCode::kCorrupt, "do not match");
  refuse(edit(56, 3), StatusCode::kCorrupt, "do not match");
  {
    Bytes x = body;  // keys swapped: not sorted
    std::swap_ranges(x.begin() + 58, x.begin() + 90, x.begin() + 90);
    refuse(Resign(x, fleet, kRevocationContext), StatusCode::kCorrupt, "not sorted");
    std::copy(x.begin() + 58, x.begin() + 90, x.begin() + 90);  // duplicated
    refuse(Resign(x, fleet, kRevocationContext), StatusCode::kCorrupt, "duplicated");
  }
  {
    Bytes x = good;
    x.push_back(0);
    refuse(x, StatusCode::kCorrupt, "do not match");
  }
  Bytes flipped = good;
  flipped[50] ^= 1;  // issued_at: structure intact, signature broken
  REQUIRE(ParseRevocationList(flipped).ok());
  CHECK_THAT(DecodeRevocationList(flipped).status().message(), Catch::Contains("bad signature"));
  // Encoding refuses what decoding would.
  CHECK_FALSE(EncodeRevocationList(RevocationList{.serial = 0, .revoked = {}}, fleet).ok());
  CHECK_FALSE(
      EncodeRevocationList(RevocationList{.serial = 1, .issued_at_ms = 0, .revoked = {a, a}}, fleet)
          .ok());
  CHECK_FALSE(
      EncodeRevocationList(
          RevocationList{.serial = 1, .issued_at_ms = 0, .revoked = std::vector<PublicKey>(33)},
          fleet)
          .ok());
  std::vector<PublicKey> full;
  for (int i = 0; i < 32; ++i) full.push_back(SeedKey(static_cast<uint8_t>(i)).public_key);
  Bytes max = MakeList(fleet, 1, full);
  CHECK(max.size() == kMaxRevocationListBytes);
  CHECK(DecodeRevocationList(max).ok());
}

TEST_CASE("endpoints: IPv4, bracketed IPv6 and host names with a port", "[fleet]") {
  for (const char* ok :
       {"192.0.2.7:47474", "[2001:db8::7]:1", "[::1]:65535", "[::]:1", "gw.example.org:80", "a:1",
        "node-1.lan:47474", "0.0.0.0:1", "255.255.255.255:9", "[1:2:3:4:5:6:7:8]:1",
        "[::ffff:192.0.2.1]:5", "[1::]:2", "[fe80::1:2]:3", "[1:2:3:4:5:6:192.0.2.1]:4"}) {
    INFO(ok);
    CHECK(ValidateCertificateEndpoint(ok).ok());
  }
  for (const char* bad : {"",
                          "192.0.2.7",
                          "192.0.2.7:",
                          "192.0.2.7:0",
                          "192.0.2.7:65536",
                          "192.0.2.7:080",
                          "192.0.2.256:1",
                          "1.2.3:1",
                          "1.2.3.4.5:1",
                          "01.2.3.4:1",
                          "1..3.4:1",
                          "2001:db8::7:1",
                          "[2001:db8::7:1",
                          "[nonsense]:1",
                          "[1:2:3:4:5:6:7:8:9]:1",
                          "[1::2::3]:1",
                          "[12345::]:1",
                          "[1:2:3:4:5:6:7]:1",
                          "[1:2:3:4:5:6:7::8]:1",
                          "[fe80::1%eth0]:1",
                          "[::1.2.3]:1",
                          "[]:1",
                          ":1",
                          "-a.b:1",
                          "a-.b:1",
                          "a..b:1",
                          "a_b:1",
                          "a b:1",
                          "a:1x"}) {
    INFO(bad);
    CHECK(ValidateCertificateEndpoint(bad).code() == StatusCode::kInvalidArgument);
  }
  CHECK_FALSE(ValidateCertificateEndpoint(std::string(60, 'a') + ":1234").ok());  // 65 bytes
  CHECK(ValidateCertificateEndpoint(std::string(59, 'a') + ":1234").ok());        // 64
}

struct FleetFixture {
  KeyPair fleet = SeedKey(0x41), other_fleet = SeedKey(0x61);
  KeyPair dev = SeedKey(0x01), dev2 = SeedKey(0x21);
  TrustStore trust;
  FleetTrust ft{{fleet.public_key}, &trust};

  uint64_t CertDrops(FleetDrop d) const {
    return ft.counters().certificate_drops[static_cast<size_t>(d)];
  }
  uint64_t ListDrops(FleetDrop d) const {
    return ft.counters().revocation_drops[static_cast<size_t>(d)];
  }
};

TEST_CASE("a verified certificate of our fleet makes its device trusted as certificate",
          "[fleet]") {
  FleetFixture f;
  Bytes cert = MakeCert(f.fleet, f.dev.public_key);
  CHECK_FALSE(f.ft.OnCertificate(cert, f.dev.public_key, kIssued));
  const TrustedPeer* p = f.trust.Find(f.dev.public_key);
  REQUIRE(p != nullptr);
  CHECK(p->kind == TrustKind::kCertificate);
  CHECK(p->display_name == "dev");
  CHECK(p->fleet == f.fleet.public_key);
  CHECK(f.trust.size() == 0);  // the paired peers (the file) are untouched
  CHECK(f.trust.certified_size() == 1);
  CHECK(f.ft.counters().certificates_accepted == 1);
  // The periodic re-send changes nothing and counts nothing.
  const uint64_t gen = f.trust.generation();
  CHECK_FALSE(f.ft.OnCertificate(cert, f.dev.public_key, kIssued + 1));
  CHECK(f.trust.generation() == gen);
  CHECK(f.ft.counters().certificates_accepted == 1);
  // Expiry withdraws it.
  f.ft.Tick(kIssued + kDay);
  CHECK(f.trust.Find(f.dev.public_key) == nullptr);
}

TEST_CASE("bad certificates are dropped, counted by reason, and change nothing", "[fleet]") {
  FleetFixture f;
  auto dropped = [&](ByteView cert, const PublicKey& sender, int64_t now, FleetDrop why) {
    const uint64_t before = f.CertDrops(why), gen = f.trust.generation();
    std::optional<FleetDrop> d = f.ft.OnCertificate(cert, sender, now);
    REQUIRE(d);
    CHECK(*d == why);
    CHECK(f.CertDrops(why) == before + 1);
    CHECK(f.trust.generation() == gen);
    CHECK(f.trust.Find(sender) == nullptr);
  };
  Bytes good = MakeCert(f.fleet, f.dev.public_key);
  dropped(Bytes(good.begin(), good.end() - 1), f.dev.public_key, kIssued, FleetDrop::kMalformed);
  dropped(MakeCert(f.other_fleet, f.dev.public_key), f.dev.public_key, kIssued,
          FleetDrop::kUnknownFleet);
  dropped(good, f.dev2.public_key, kIssued, FleetDrop::kWrongKey);  // someone else's certificate
  dropped(good, f.dev.public_key, kIssued + kDay, FleetDrop::kExpired);
  Bytes forged = good;
  forged[forged.size() - 3] ^= 0x10;
  dropped(forged, f.dev.public_key, kIssued, FleetDrop::kBadSignature);
  // Excluded by the operator (trust remove), then included again.
  REQUIRE(f.ft.Exclude(f.dev.public_key));
  dropped(good, f.dev.public_key, kIssued, FleetDrop::kExcluded);
  f.ft.Include(f.dev.public_key);
  CHECK_FALSE(f.ft.OnCertificate(good, f.dev.public_key, kIssued));
  CHECK(f.trust.Find(f.dev.public_key) != nullptr);
}

TEST_CASE("excluding a certified peer withdraws it at once", "[fleet]") {
  FleetFixture f;
  REQUIRE_FALSE(f.ft.OnCertificate(MakeCert(f.fleet, f.dev.public_key), f.dev.public_key, kIssued));
  REQUIRE(f.ft.Exclude(f.dev.public_key));
  CHECK(f.trust.Find(f.dev.public_key) == nullptr);
  CHECK(f.ft.Excluded() == std::vector<PublicKey>{f.dev.public_key});
}

TEST_CASE("a paired peer wins over its certificate and over a revocation", "[fleet]") {
  FleetFixture f;
  REQUIRE(f.trust.Add(f.dev.public_key, "paired", kIssued).ok());
  CHECK_FALSE(f.ft.OnCertificate(MakeCert(f.fleet, f.dev.public_key), f.dev.public_key, kIssued));
  CHECK(f.trust.Find(f.dev.public_key)->kind == TrustKind::kPaired);
  CHECK(f.trust.certified_size() == 0);
  CHECK_FALSE(f.ft.OnRevocationList(MakeList(f.fleet, 1, {f.dev.public_key}), kIssued));
  REQUIRE(f.trust.Find(f.dev.public_key) != nullptr);
  CHECK(f.trust.Find(f.dev.public_key)->display_name == "paired");
}

TEST_CASE("a revocation removes a certificate that a pairing hid; unpairing does not bring it back",
          "[fleet]") {
  FleetFixture f;
  REQUIRE_FALSE(f.ft.OnCertificate(MakeCert(f.fleet, f.dev.public_key), f.dev.public_key, kIssued));
  REQUIRE(f.trust.Add(f.dev.public_key, "paired", kIssued).ok());
  REQUIRE(f.trust.FindCertified(f.dev.public_key) != nullptr);
  CHECK_FALSE(f.ft.OnRevocationList(MakeList(f.fleet, 1, {f.dev.public_key}), kIssued));
  CHECK(f.trust.Find(f.dev.public_key)->kind == TrustKind::kPaired);  // paired still wins
  CHECK(f.trust.FindCertified(f.dev.public_key) == nullptr);
  // The operator unpairs it (a trust file reload without it): nothing is left to trust it by.
  f.trust.ReplacePaired(TrustStore{});
  CHECK(f.trust.Find(f.dev.public_key) == nullptr);
}

TEST_CASE("a revocation list withdraws certified trust; serials only move up", "[fleet]") {
  FleetFixture f;
  REQUIRE_FALSE(f.ft.OnCertificate(MakeCert(f.fleet, f.dev.public_key), f.dev.public_key, kIssued));
  REQUIRE_FALSE(
      f.ft.OnCertificate(MakeCert(f.fleet, f.dev2.public_key), f.dev2.public_key, kIssued));
  Bytes l2 = MakeList(f.fleet, 2, {f.dev.public_key});
  CHECK_FALSE(f.ft.OnRevocationList(l2, kIssued));
  CHECK(f.ft.Serial(f.fleet.public_key) == 2);
  CHECK(f.trust.Find(f.dev.public_key) == nullptr);
  CHECK(f.trust.IsRevoked(f.dev.public_key));
  CHECK(f.trust.Find(f.dev2.public_key) != nullptr);
  CHECK(f.ft.counters().revocations_accepted == 1);
  // Its certificate is refused from now on.
  CHECK(f.ft.OnCertificate(MakeCert(f.fleet, f.dev.public_key, kIssued + 2 * kDay),
                           f.dev.public_key, kIssued) == FleetDrop::kRevoked);
  // A lower serial (even one revoking someone else) changes nothing.
  const uint64_t gen = f.trust.generation();
  CHECK(f.ft.OnRevocationList(MakeList(f.fleet, 1, {f.dev2.public_key}), kIssued) ==
        FleetDrop::kLowerSerial);
  CHECK(f.ListDrops(FleetDrop::kLowerSerial) == 1);
  CHECK(f.trust.Find(f.dev2.public_key) != nullptr);
  // The same serial again: nothing to do, not a drop.
  CHECK_FALSE(f.ft.OnRevocationList(l2, kIssued));
  CHECK(f.ft.counters().revocations_accepted == 1);
  CHECK(f.trust.generation() == gen);
  // Another fleet's list, a forged one, a malformed one.
  CHECK(f.ft.OnRevocationList(MakeList(f.other_fleet, 9, {f.dev2.public_key}), kIssued) ==
        FleetDrop::kUnknownFleet);
  Bytes forged = MakeList(f.fleet, 3, {f.dev2.public_key});
  forged[45] ^= 1;  // serial byte: 3 becomes 3 + 2^40, signature no longer covers it
  CHECK(f.ft.OnRevocationList(forged, kIssued) == FleetDrop::kBadSignature);
  CHECK(f.ft.OnRevocationList(Bytes(10, 0), kIssued) == FleetDrop::kMalformed);
  CHECK(f.trust.Find(f.dev2.public_key) != nullptr);
  CHECK(f.ft.Serial(f.fleet.public_key) == 2);
  REQUIRE(f.ft.RevocationLists().size() == 1);
  CHECK(Bytes(f.ft.RevocationLists()[0].begin(), f.ft.RevocationLists()[0].end()) == l2);
  // A higher serial can also un-revoke (the operator's lists are complete, not increments).
  CHECK_FALSE(f.ft.OnRevocationList(MakeList(f.fleet, 3, {}), kIssued));
  CHECK_FALSE(f.ft.OnCertificate(MakeCert(f.fleet, f.dev.public_key), f.dev.public_key, kIssued));
}

TEST_CASE("certified peers are bounded", "[fleet]") {
  TrustStore trust;
  const PublicKey fleet = SeedKey(0x41).public_key;
  PublicKey k{};
  for (size_t i = 0; i < kMaxCertifiedPeers; ++i) {
    k[0] = static_cast<uint8_t>(i);
    k[1] = static_cast<uint8_t>(i >> 8);
    REQUIRE(trust.AddCertified(k, "", kIssued, kIssued + 1, fleet).ok());
  }
  k.fill(0xEE);
  CHECK(trust.AddCertified(k, "", kIssued, kIssued + 1, fleet).code() ==
        StatusCode::kResourceExhausted);
  CHECK(trust.certified_size() == kMaxCertifiedPeers);
  CHECK(trust.ExpireCertified(kIssued + 1) == kMaxCertifiedPeers);
  CHECK(trust.certified_size() == 0);
}

TEST_CASE("ingress counts a revoked sender's datagrams as revoked and admits fleet messages",
          "[fleet]") {
  FleetFixture f;
  IngressOptions opt;
  opt.rate.tokens_per_s = 1000;
  opt.rate.burst = 1000;
  Ingress in(opt, &f.trust);
  auto datagram = [&](MessageType type, uint64_t counter, ByteView payload) {
    DatagramHeader h;
    h.type = type;
    h.counter = counter;
    h.timestamp_ms = kIssued;
    Result<Bytes> d = EncodeDatagram(h, payload, f.dev);
    REQUIRE(d.ok());
    return *d;
  };
  const SourceKey src = SourceKey::FromIndex(1);
  Bytes cert = datagram(MessageType::kCertificate, 1, MakeCert(f.fleet, f.dev.public_key));
  // Without fleets, a certificate from an unknown sender is untrusted like anything else.
  CHECK(*in.Receive(cert, src, kIssued).drop == DropReason::kUntrusted);
  in.SetFleetMessages(true);
  IngressResult r = in.Receive(cert, src, kIssued);
  REQUIRE(r.accepted());
  CHECK(r.datagram.peer == nullptr);
  CHECK(in.replay_windows() == 0);  // no state for a sender not trusted
  REQUIRE_FALSE(f.ft.OnCertificate(r.datagram.payload, r.datagram.header.sender, kIssued));
  Bytes update = datagram(MessageType::kUpdate, 2, Bytes(8, 0));
  CHECK(in.Receive(update, src, kIssued).accepted());
  // Trusted now: its fleet messages take the replay window like the rest, so a captured copy
  // re-sent (from anywhere) is refused and cannot move where the daemon sends to it.
  Bytes cert2 = datagram(MessageType::kCertificate, 3, MakeCert(f.fleet, f.dev.public_key));
  CHECK(in.Receive(cert2, src, kIssued).accepted());
  CHECK(*in.Receive(cert2, SourceKey::FromIndex(2), kIssued).drop == DropReason::kReplay);
  REQUIRE_FALSE(f.ft.OnRevocationList(MakeList(f.fleet, 1, {f.dev.public_key}), kIssued));
  CHECK(*in.Receive(datagram(MessageType::kUpdate, 4, Bytes(8, 0)), src, kIssued).drop ==
        DropReason::kRevoked);
  CHECK(in.drops().Get(DropReason::kRevoked) == 1);
  CHECK(RefusesDatagram(DropReason::kRevoked));
  CHECK(RefusesDatagram(DropReason::kFleetRefused));
}

}  // namespace
}  // namespace dust
