// Datagram codec: test vectors (docs/protocol.md), hand-built field offsets, structural checks.
#include "dust/net/wire.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "dust/net/fleet.h"
#include "dust/util/crypto.h"
#include "testutil/source_file.h"
#include "testutil/vector_key.h"

namespace dust {
namespace {

// Computed by tests/vectors/protocol_vectors.py (Python struct + OpenSSL Ed25519, no libdust
// code) and printed in docs/protocol.md, "Test vectors".
constexpr const char* kUpdateHex =
    "4453540101004e00100079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642a0000"
    "000000000000e897b69a010000a1a2a3a4a5a6a7a8200000000700000000000000000102030405060708090a0b"
    "0c0d0e0f9b93d285c6fcd31d0b90219f6201d8ea15e4eda3df5dbc9e1c04b792c4303f1130c8be7d02716e15f3"
    "dc0b59bf3962b3d4c495fe594e1815887655583620d700";
constexpr const char* kAnnouncePayloadHex = "066e6f64652d6172b9be23f4010000";
// The same announce with extension tag 1: schedule position 5210.
constexpr const char* kAnnounceSchedulePayloadHex =
    "066e6f64652d6172b9be23f401000001085a14000000000000";
constexpr const char* kAnnounceHex =
    "4453540102004e000f0079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642b0000"
    "0000000000e8eb97b69a010000a1a2a3a4a5a6a7a8000000000700000000000000066e6f64652d6172b9be23f4"
    "010000a8bf96f500e465604945a0f1efa0cd39334f0f8264816b43761c5c55e9755b7a62b98b337cf5752819421f"
    "851b57fbf74c570028f361f4ed290d89b4ce891c09";
constexpr int64_t kTs = 1764000000000;

WireFingerprint VectorModel() {
  WireFingerprint fp{};
  for (size_t i = 0; i < fp.size(); ++i) fp[i] = static_cast<uint8_t>(0xA1 + i);
  return fp;
}

DatagramHeader VectorUpdateHeader() {
  DatagramHeader h;
  h.type = MessageType::kUpdate;
  h.counter = 42;
  h.timestamp_ms = kTs;
  h.model = VectorModel();
  h.sample_weight = 32;
  h.round = 7;
  return h;
}

Bytes VectorPayload() {
  Bytes p(16);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

Bytes Hex(const char* hex) {
  Bytes b;
  REQUIRE(FromHex(hex, &b));
  return b;
}

Bytes Sized(size_t payload) {
  KeyPair key = testutil::VectorKey();
  Bytes p(payload, 0x5a);
  Result<Bytes> d = EncodeDatagram(VectorUpdateHeader(), p, key);
  REQUIRE(d.ok());
  return *d;
}

TEST_CASE("update datagram test vector matches the independently computed hex", "[wire]") {
  KeyPair key = testutil::VectorKey();
  Result<Bytes> d = EncodeDatagram(VectorUpdateHeader(), VectorPayload(), key);
  REQUIRE(d.ok());
  CHECK(ToHex(*d) == kUpdateHex);
}

TEST_CASE("announce datagram test vector matches the independently computed hex", "[wire]") {
  KeyPair key = testutil::VectorKey();
  Announce a{"node-a", 47474, 9150, 500, std::nullopt, std::nullopt};
  Result<Bytes> payload = EncodeAnnounce(a);
  REQUIRE(payload.ok());
  CHECK(ToHex(*payload) == kAnnouncePayloadHex);
  DatagramHeader h = VectorUpdateHeader();
  h.type = MessageType::kAnnounce;
  h.counter = 43;
  h.timestamp_ms = kTs + 1000;
  h.sample_weight = 0;
  Result<Bytes> d = EncodeDatagram(h, *payload, key);
  REQUIRE(d.ok());
  CHECK(ToHex(*d) == kAnnounceHex);
  Result<ParsedDatagram> p = ParseDatagram(*d);
  REQUIRE(p.ok());
  Result<Announce> back = DecodeAnnounce(p->payload);
  REQUIRE(back.ok());
  CHECK(*back == a);
}

TEST_CASE("update datagram fields sit at the documented offsets", "[wire]") {
  // Built byte by byte from the offset table in wire.h / docs/protocol.md, not with ByteWriter.
  KeyPair key = testutil::VectorKey();
  Bytes d = Hex(kUpdateHex);
  REQUIRE(d.size() == 78 + 16 + 64);
  Bytes expect(78, 0);
  expect[0] = 'D', expect[1] = 'S', expect[2] = 'T', expect[3] = 1, expect[4] = 1, expect[5] = 0;
  expect[6] = 78, expect[7] = 0, expect[8] = 16, expect[9] = 0;
  for (size_t i = 0; i < 32; ++i) expect[10 + i] = key.public_key[i];
  expect[42] = 42;                                                                    // counter
  for (int i = 0; i < 8; ++i) expect[50 + i] = static_cast<uint8_t>(kTs >> (8 * i));  // timestamp
  for (size_t i = 0; i < 8; ++i) expect[58 + i] = static_cast<uint8_t>(0xA1 + i);     // model
  expect[66] = 32;  // sample weight
  expect[70] = 7;   // round
  for (uint8_t i = 0; i < 16; ++i) expect.push_back(i);
  CHECK(Bytes(d.begin(), d.begin() + 94) == expect);
  // The signature is libsodium's over exactly the first 94 bytes, checked without libdust.
  CHECK(crypto_sign_verify_detached(d.data() + 94, d.data(), 94, key.public_key.data()) == 0);
}

TEST_CASE("PeekSender reads the sender field of anything shaped like a datagram, nothing else",
          "[wire]") {
  Bytes d = Hex(kUpdateHex);
  CHECK(PeekSender(d) == testutil::VectorKey().public_key);
  d.back() ^= 1;  // unverified: a bad signature, or any other content, does not matter
  CHECK(PeekSender(d) == testutil::VectorKey().public_key);
  CHECK(PeekSender(Sized(0)) == testutil::VectorKey().public_key);
  CHECK_FALSE(PeekSender(ByteView(d.data(), kMinDatagramBytes - 1)).has_value());
  d[0] = 'X';
  CHECK_FALSE(PeekSender(d).has_value());
  CHECK_FALSE(PeekSender(Bytes{}).has_value());
}

TEST_CASE("parse then re-assemble gives the same bytes", "[wire]") {
  Bytes d = Hex(kUpdateHex);
  Result<ParsedDatagram> p = ParseDatagram(d);
  REQUIRE(p.ok());
  CHECK(p->header == [] {
    DatagramHeader h = VectorUpdateHeader();
    h.sender = testutil::VectorKey().public_key;
    return h;
  }());
  CHECK(Bytes(p->payload.begin(), p->payload.end()) == VectorPayload());
  CHECK(p->signed_region.size() == 94);
  CHECK(AssembleDatagram(p->header, p->payload, p->signature) == d);
  CHECK(Verify(p->signed_region, p->signature, p->header.sender));
}

TEST_CASE("the largest datagram is exactly 1452 bytes and one more payload byte is refused",
          "[wire]") {
  CHECK(kMaxPayloadBytes == 1310);
  Bytes d = Sized(kMaxPayloadBytes);
  CHECK(d.size() == kMaxDatagramBytes);
  CHECK(ParseDatagram(d).ok());
  Bytes too_big(kMaxPayloadBytes + 1);
  Result<Bytes> r = EncodeDatagram(VectorUpdateHeader(), too_big, testutil::VectorKey());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("an empty payload is a valid datagram of 142 bytes", "[wire]") {
  Bytes d = Sized(0);
  CHECK(d.size() == kMinDatagramBytes);
  Result<ParsedDatagram> p = ParseDatagram(d);
  REQUIRE(p.ok());
  CHECK(p->payload.empty());
}

TEST_CASE("truncated datagrams are refused at every length", "[wire]") {
  Bytes d = Sized(100);
  for (size_t n = 0; n < d.size(); ++n) {
    INFO("length " << n);
    CHECK(ParseDatagram(ByteView(d.data(), n)).status().code() == StatusCode::kCorrupt);
  }
}

TEST_CASE("extended datagrams are refused (trailing bytes, oversize)", "[wire]") {
  Bytes d = Sized(100);
  d.push_back(0);
  CHECK(ParseDatagram(d).status().code() == StatusCode::kCorrupt);
  Bytes big = Sized(kMaxPayloadBytes);
  big.push_back(0);
  CHECK(ParseDatagram(big).status().code() == StatusCode::kCorrupt);
}

TEST_CASE("bad magic, version, type, flags and header length are refused", "[wire]") {
  const Bytes good = Sized(10);
  auto with = [&](size_t offset, uint8_t v) {
    Bytes b = good;
    b[offset] = v;
    return ParseDatagram(b).status().code();
  };
  CHECK(with(0, 'X') == StatusCode::kCorrupt);
  CHECK(with(2, 'X') == StatusCode::kCorrupt);
  CHECK(with(3, 2) == StatusCode::kUnsupported);
  CHECK(with(4, 0) == StatusCode::kCorrupt);
  CHECK(with(4, 3) == StatusCode::kOk);  // scaling (structure only; its payload is the engine's)
  CHECK(with(4, 4) == StatusCode::kOk);  // certificate
  CHECK(with(4, 5) == StatusCode::kOk);  // revocation list
  CHECK(with(4, 7) == StatusCode::kCorrupt);
  CHECK(with(5, 0x02) == StatusCode::kCorrupt);
  CHECK(with(5, 0x80) == StatusCode::kCorrupt);
  CHECK(with(5, kFlagPayloadLz4) == StatusCode::kOk);  // structurally fine (signature aside)
  CHECK(with(6, 79) == StatusCode::kCorrupt);
  CHECK(with(8, 11) == StatusCode::kCorrupt);  // payload length disagrees with the size
  CHECK(with(9, 1) == StatusCode::kCorrupt);
}

TEST_CASE("fleet payloads longer than their formats' bounds are refused structurally", "[wire]") {
  for (auto [type, max] : {std::pair{uint8_t{4}, kMaxCertificateBytes},
                           std::pair{uint8_t{5}, kMaxRevocationListBytes}}) {
    for (size_t n : {max, max + 1}) {
      Bytes b = Sized(n);
      b[4] = type;
      CHECK(ParseDatagram(b).ok() == (n == max));
    }
  }
}

TEST_CASE("an announce payload longer than the announce cap is refused structurally", "[wire]") {
  DatagramHeader h = VectorUpdateHeader();
  h.type = MessageType::kAnnounce;
  Bytes p(kMaxAnnouncePayloadBytes + 1, 'a');
  Result<Bytes> d = EncodeDatagram(h, p, testutil::VectorKey());
  REQUIRE(d.ok());
  CHECK(ParseDatagram(*d).status().code() == StatusCode::kCorrupt);
}

TEST_CASE("encode refuses unknown flag bits and message types", "[wire]") {
  DatagramHeader h = VectorUpdateHeader();
  h.flags = 0x40;
  CHECK(!EncodeDatagram(h, {}, testutil::VectorKey()).ok());
  h.flags = 0;
  h.type = static_cast<MessageType>(9);
  CHECK(!EncodeDatagram(h, {}, testutil::VectorKey()).ok());
}

TEST_CASE("encode writes the signing key as sender whatever the header says", "[wire]") {
  DatagramHeader h = VectorUpdateHeader();
  h.sender.fill(0xEE);
  Result<Bytes> d = EncodeDatagram(h, {}, testutil::VectorKey());
  REQUIRE(d.ok());
  Result<ParsedDatagram> p = ParseDatagram(*d);
  REQUIRE(p.ok());
  CHECK(p->header.sender == testutil::VectorKey().public_key);
}

TEST_CASE("announce decoding is strict", "[wire]") {
  Bytes good = Hex(kAnnouncePayloadHex);
  REQUIRE(DecodeAnnounce(good).ok());
  Bytes longer = good;
  longer.push_back(0);
  CHECK(DecodeAnnounce(longer).status().code() == StatusCode::kCorrupt);
  CHECK(DecodeAnnounce(ByteView(good.data(), good.size() - 1)).status().code() ==
        StatusCode::kCorrupt);
  Bytes empty_name = good;
  empty_name[0] = 0;
  CHECK(!DecodeAnnounce(empty_name).ok());
  Bytes ctrl = good;
  ctrl[1] = 0x07;
  CHECK(!DecodeAnnounce(ctrl).ok());
  Bytes bad_acc = good;
  bad_acc[9] = 0x11, bad_acc[10] = 0x27;  // 10001 bp
  CHECK(!DecodeAnnounce(bad_acc).ok());
  Announce a{"x", 0, kAccuracyUnknown, 0, std::nullopt, std::nullopt};
  Result<Bytes> e = EncodeAnnounce(a);
  REQUIRE(e.ok());
  Result<Announce> back = DecodeAnnounce(*e);
  REQUIRE(back.ok());
  CHECK(*back == a);
  CHECK(!EncodeAnnounce({"", 0, 0, 0, std::nullopt, std::nullopt}).ok());
  CHECK(!EncodeAnnounce({"x", 0, 10001, 0, std::nullopt, std::nullopt}).ok());
}

TEST_CASE("announce schedule position: test vector, and an older peer's announce has none",
          "[wire]") {
  Announce a{"node-a", 47474, 9150, 500, 5210, std::nullopt};
  Result<Bytes> e = EncodeAnnounce(a);
  REQUIRE(e.ok());
  CHECK(ToHex(*e) == kAnnounceSchedulePayloadHex);
  Result<Announce> back = DecodeAnnounce(*e);
  REQUIRE(back.ok());
  CHECK(back->schedule_position == std::optional<uint64_t>(5210));
  CHECK(*back == a);
  // The announce of a version without extensions still decodes, without a position.
  Result<Announce> old = DecodeAnnounce(Hex(kAnnouncePayloadHex));
  REQUIRE(old.ok());
  CHECK(!old->schedule_position);
  CHECK(old->local_samples == 500);
}

TEST_CASE("announce extensions: unknown tags skipped, malformed ones refused", "[wire]") {
  const Bytes base = Hex(kAnnouncePayloadHex);
  const Bytes position = {0x01, 0x08, 0x5a, 0x14, 0, 0, 0, 0, 0, 0};
  auto with = [&](std::initializer_list<Bytes> parts) {
    Bytes p = base;
    for (const Bytes& part : parts) p.insert(p.end(), part.begin(), part.end());
    return p;
  };
  // A newer peer's tags, before none and after ours: skipped, ours still read.
  Result<Announce> a = DecodeAnnounce(with({position, {0x07, 0x03, 1, 2, 3}}));
  REQUIRE(a.ok());
  CHECK(a->schedule_position == std::optional<uint64_t>(5210));
  Result<Announce> b = DecodeAnnounce(with({{0x09, 0x00}}));
  REQUIRE(b.ok());
  CHECK(!b->schedule_position);
  // Refused: out of order, repeated, a known tag of another length, truncated, too long.
  CHECK(DecodeAnnounce(with({{0x07, 0x00}, position})).status().code() == StatusCode::kCorrupt);
  CHECK(DecodeAnnounce(with({position, position})).status().code() == StatusCode::kCorrupt);
  CHECK(DecodeAnnounce(with({{0x01, 0x04, 1, 2, 3, 4}})).status().code() == StatusCode::kCorrupt);
  CHECK(DecodeAnnounce(with({{0x01, 0x08, 1, 2}})).status().code() == StatusCode::kCorrupt);
  CHECK(DecodeAnnounce(with({{0x05}})).status().code() == StatusCode::kCorrupt);
  // One unknown extension one byte longer than the cap allows. (Built at its full size: GCC 12
  // at -O3 for aarch64 warns, wrongly, about growing a two-byte vector with resize.)
  Bytes big(kMaxAnnounceExtensionBytes + 1, 0);
  big[0] = 0x09;
  big[1] = static_cast<uint8_t>(kMaxAnnounceExtensionBytes - 1);
  CHECK(DecodeAnnounce(with({big})).status().code() == StatusCode::kCorrupt);
  big.pop_back();
  big[1] = static_cast<uint8_t>(kMaxAnnounceExtensionBytes - 2);
  CHECK(DecodeAnnounce(with({big})).ok());  // exactly the cap
  // The largest announce (64-byte name, every extension byte used) passes the structural cap.
  Announce longest{std::string(64, 'n'), 1, 2, 3, 4, std::nullopt};
  Result<Bytes> lp = EncodeAnnounce(longest);
  REQUIRE(lp.ok());
  Bytes full = *lp;
  full.push_back(0x09);
  full.push_back(static_cast<uint8_t>(kMaxAnnounceExtensionBytes - 12));
  full.resize(9 + 64 + kMaxAnnounceExtensionBytes, 0);
  REQUIRE(full.size() == kMaxAnnouncePayloadBytes);
  CHECK(DecodeAnnounce(full).ok());
  DatagramHeader h = VectorUpdateHeader();
  h.type = MessageType::kAnnounce;
  Result<Bytes> d = EncodeDatagram(h, full, testutil::VectorKey());
  REQUIRE(d.ok());
  CHECK(ParseDatagram(*d).ok());
}

// docs/protocol.md, "Announce payload".
constexpr const char* kPrivacyAnnounceHex = "066e6f64652d6172b9ffff0000000002080000204000000041";

TEST_CASE("announce privacy extension: round trip, strict values, unknown tags skipped", "[wire]") {
  Announce a{"node-a", 47474, kAccuracyUnknown, 0, std::nullopt, AnnouncedPrivacy{2.5f, 8.0f}};
  Result<Bytes> e = EncodeAnnounce(a);
  REQUIRE(e.ok());
  // The base fields, then tag 2, length 8, epsilon and budget as f32 (2.5 = 0x40200000,
  // 8 = 0x41000000): /usr/bin/python3 -c 'import struct; print(struct.pack("<BB2f", 2, 8, 2.5,
  // 8).hex())'
  CHECK(ToHex(*e) ==
        "066e6f64652d6172b9ffff00000000"
        "020800002040"
        "00000041");
  Result<Announce> back = DecodeAnnounce(*e);
  REQUIRE(back.ok());
  CHECK(*back == a);
  // An older peer's announce (no extension) decodes with no privacy.
  Announce old{"node-a", 47474, 9150, 500, std::nullopt, std::nullopt};
  Result<Announce> old_back = DecodeAnnounce(*EncodeAnnounce(old));
  REQUIRE(old_back.ok());
  CHECK(!old_back->dp.has_value());
  // A newer peer's unknown tag after ours is skipped; before ours (out of order) is refused.
  Bytes later = *e;
  for (uint8_t b : {0x09, 0x02, 0xAA, 0xBB}) later.push_back(b);
  Result<Announce> skipped = DecodeAnnounce(later);
  REQUIRE(skipped.ok());
  CHECK(*skipped == a);
  Bytes repeated = *e;
  for (uint8_t b : {0x02, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}) repeated.push_back(b);
  CHECK(!DecodeAnnounce(repeated).ok());
  // Wrong length, truncated, negative or non-finite values, too many extension bytes: refused.
  Bytes short_len = *e;
  short_len[16] = 4;
  CHECK(!DecodeAnnounce(short_len).ok());
  Bytes truncated(e->begin(), e->end() - 1);
  CHECK(!DecodeAnnounce(truncated).ok());
  Bytes negative = *e;
  negative[20] = 0xC0;  // epsilon -2.5
  CHECK(!DecodeAnnounce(negative).ok());
  Bytes inf = *e;
  inf[17] = 0, inf[18] = 0, inf[19] = 0x80, inf[20] = 0x7F;  // epsilon +inf
  CHECK(!DecodeAnnounce(inf).ok());
  Bytes big = *e;
  for (int i = 0; i < 60; ++i) big.push_back(i == 0 ? 0x10 : (i == 1 ? 58 : 0));
  CHECK(!DecodeAnnounce(big).ok());
  CHECK(!EncodeAnnounce({"x", 0, 0, 0, std::nullopt, AnnouncedPrivacy{-1.0f, 0.0f}}).ok());
  CHECK(!EncodeAnnounce({"x", 0, 0, 0, std::nullopt, AnnouncedPrivacy{1.0f, INFINITY}}).ok());
}

// The test vectors in docs/protocol.md must be the ones checked here.
TEST_CASE("docs/protocol.md carries the datagram test vectors this test checks", "[wire]") {
  const std::string doc = testutil::SourceText("docs/protocol.md");
  CHECK(doc.find(kUpdateHex) != std::string::npos);
  CHECK(doc.find(kAnnounceHex) != std::string::npos);
  CHECK(doc.find(kAnnouncePayloadHex) != std::string::npos);
  CHECK(doc.find(kAnnounceSchedulePayloadHex) != std::string::npos);
  CHECK(doc.find(kPrivacyAnnounceHex) != std::string::npos);
}

}  // namespace
}  // namespace dust
