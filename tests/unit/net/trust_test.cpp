// Trust store: membership, codec, file.
#include "dust/net/trust.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "dust/util/file.h"
#include "testutil/source_file.h"
#include "testutil/temp_dir.h"

namespace dust {
namespace {

// tests/vectors/protocol_vectors.py: keys from seeds 01..20 and 21..40, names "lab node #1"
// (added 1764000000000) and "kiosk" (added 1764000000005).
constexpr const char* kTrustHex =
    "44535454010000000200000079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496640"
    "0e897b69a0100000b6c6162206e6f6465202331e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446"
    "c0685e2b17f2f005e897b69a010000056b696f736b3539afbc965f6309";

PublicKey KeyFromSeedStart(uint8_t start) {
  REQUIRE(InitCrypto().ok());
  std::array<uint8_t, kSeedBytes> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(start + i);
  return KeyPairFromSeed(seed).public_key;
}

TrustStore VectorStore() {
  TrustStore s;
  REQUIRE(s.Add(KeyFromSeedStart(0x01), "lab node #1", 1764000000000).ok());
  REQUIRE(s.Add(KeyFromSeedStart(0x21), "kiosk", 1764000000005).ok());
  return s;
}

TEST_CASE("trust store file test vector matches the independently computed hex", "[trust]") {
  CHECK(ToHex(EncodeTrustStore(VectorStore())) == kTrustHex);
  Bytes b;
  REQUIRE(FromHex(kTrustHex, &b));
  Result<TrustStore> decoded = DecodeTrustStore(b);
  REQUIRE(decoded.ok());
  CHECK(*decoded == VectorStore());
  CHECK(EncodeTrustStore(*decoded) == b);
}

TEST_CASE("trust store add, find, list, rename and remove", "[trust]") {
  TrustStore s;
  PublicKey a = GenerateKeyPair().public_key, b = GenerateKeyPair().public_key;
  CHECK(s.empty());
  REQUIRE(s.Add(a, "alpha", 10).ok());
  REQUIRE(s.Add(b, "beta", 20).ok());
  CHECK(s.Add(a, "again", 30).code() == StatusCode::kAlreadyExists);
  CHECK(s.Add(GenerateKeyPair().public_key, "", 1).code() == StatusCode::kInvalidArgument);
  REQUIRE(s.Find(a) != nullptr);
  CHECK(s.Find(a)->display_name == "alpha");
  CHECK(s.Find(a)->added_at_ms == 10);
  CHECK(s.size() == 2);
  std::vector<TrustedPeer> list = s.List();
  REQUIRE(list.size() == 2);
  CHECK(list[0].key < list[1].key);
  REQUIRE(s.SetDisplayName(b, "bravo").ok());
  CHECK(s.Find(b)->display_name == "bravo");
  CHECK(s.SetDisplayName(GenerateKeyPair().public_key, "x").code() == StatusCode::kNotFound);
  uint64_t gen = s.generation();
  CHECK(s.Remove(a));
  CHECK(s.generation() > gen);
  CHECK(!s.Remove(a));
  CHECK(s.Find(a) == nullptr);
  CHECK(!s.Contains(a));
  CHECK(s.Contains(b));
}

TEST_CASE("trust store refuses more than kMaxTrustedPeers", "[trust]") {
  TrustStore s;
  PublicKey k{};
  for (size_t i = 0; i < kMaxTrustedPeers; ++i) {
    k[0] = static_cast<uint8_t>(i), k[1] = static_cast<uint8_t>(i >> 8);
    REQUIRE(s.Add(k, "p", 0).ok());
  }
  k[2] = 1;
  CHECK(s.Add(k, "p", 0).code() == StatusCode::kResourceExhausted);
}

TEST_CASE("trust store decoding detects any flipped bit and any truncation", "[trust]") {
  Bytes good = EncodeTrustStore(VectorStore());
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = good;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      INFO("byte " << i << " bit " << bit);
      CHECK(!DecodeTrustStore(bad).ok());
    }
  }
  for (size_t n = 0; n < good.size(); ++n) CHECK(!DecodeTrustStore(ByteView(good.data(), n)).ok());
}

// Re-seals a modified body with a valid checksum, to reach the checks behind the checksum.
Bytes Reseal(Bytes body) {
  ByteWriter w(&body);
  w.U64(Checksum64(body));
  return body;
}

TEST_CASE(
    "trust store decoding refuses duplicates, bad names and trailing bytes even with a "
    "valid checksum",
    "[trust]") {
  Bytes good = EncodeTrustStore(VectorStore());
  Bytes body(good.begin(), good.end() - 8);
  REQUIRE(DecodeTrustStore(Reseal(body)).ok());
  // Trailing byte.
  Bytes trailing = body;
  trailing.push_back(0);
  CHECK(DecodeTrustStore(Reseal(trailing)).status().code() == StatusCode::kCorrupt);
  // Count says 3 with 2 entries.
  Bytes count = body;
  count[8] = 3;
  CHECK(DecodeTrustStore(Reseal(count)).status().code() == StatusCode::kCorrupt);
  // Same entry twice (count 2, entry 1 repeated).
  Bytes dup(body.begin(), body.begin() + 12);
  size_t entry1 = 32 + 8 + 1 + 11;
  dup.insert(dup.end(), body.begin() + 12, body.begin() + 12 + static_cast<long>(entry1));
  dup.insert(dup.end(), body.begin() + 12, body.begin() + 12 + static_cast<long>(entry1));
  CHECK(DecodeTrustStore(Reseal(dup)).status().code() == StatusCode::kCorrupt);
  // Control character in a name.
  Bytes name = body;
  name[12 + 32 + 8 + 1] = '\n';
  CHECK(DecodeTrustStore(Reseal(name)).status().code() == StatusCode::kCorrupt);
  // Unknown version (2 adds endpoints).
  Bytes version = body;
  version[4] = 3;
  CHECK(DecodeTrustStore(Reseal(version)).status().code() == StatusCode::kUnsupported);
  // Absurd count.
  Bytes huge = body;
  huge[11] = 0x7f;
  CHECK(!DecodeTrustStore(Reseal(huge)).ok());
}

TEST_CASE("empty trust store round-trips", "[trust]") {
  TrustStore empty;
  Result<TrustStore> back = DecodeTrustStore(EncodeTrustStore(empty));
  REQUIRE(back.ok());
  CHECK(back->empty());
}

TEST_CASE("trust store saves 0600 and loads back; a missing file is kNotFound", "[trust]") {
  testutil::TempDir dir("dust-trust");
  std::string path = dir.Path("trust");
  CHECK(LoadTrustStore(path).status().code() == StatusCode::kNotFound);
  TrustStore s = VectorStore();
  REQUIRE(SaveTrustStore(path, s).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  Result<TrustStore> back = LoadTrustStore(path);
  REQUIRE(back.ok());
  CHECK(*back == s);
  Bytes junk = {1, 2, 3};
  REQUIRE(AtomicWriteFile(path, junk, 0600).ok());
  Result<TrustStore> bad = LoadTrustStore(path);
  CHECK(bad.status().code() == StatusCode::kCorrupt);
  CHECK(bad.status().message().find(path) != std::string::npos);
}

// The test vectors in docs/protocol.md must be the ones checked here.
TEST_CASE("docs/protocol.md carries the trust store test vector", "[trust]") {
  CHECK(testutil::SourceText("docs/protocol.md").find(kTrustHex) != std::string::npos);
}

// tests/vectors/protocol_vectors.py "trust_store_v2": the kiosk's pairing URI carried two
// endpoints.
constexpr const char* kTrustV2Hex =
    "44535454020000000200000079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496640"
    "0e897b69a0100000b6c6162206e6f646520233100e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb4"
    "46c0685e2b17f2f005e897b69a010000056b696f736b020f3139322e302e322e373a3438363230135b3230303"
    "13a6462383a3a375d3a34383632307c3f28355ca85182";

TEST_CASE("trust store with endpoints is version 2 and matches its vector", "[trust]") {
  TrustStore s = VectorStore();
  const std::vector<std::string> eps{"192.0.2.7:48620", "[2001:db8::7]:48620"};
  REQUIRE(s.SetEndpoints(KeyFromSeedStart(0x21), eps).ok());
  CHECK(ToHex(EncodeTrustStore(s)) == kTrustV2Hex);
  Bytes b;
  REQUIRE(FromHex(kTrustV2Hex, &b));
  Result<TrustStore> back = DecodeTrustStore(b);
  REQUIRE(back.ok());
  CHECK(*back == s);
  CHECK(back->Find(KeyFromSeedStart(0x21))->endpoints == eps);
  // Without endpoints the same store is written as version 1, the format older daemons read.
  REQUIRE(s.SetEndpoints(KeyFromSeedStart(0x21), {}).ok());
  CHECK(ToHex(EncodeTrustStore(s)) == kTrustHex);
}

TEST_CASE("trust store endpoints are validated and bounded", "[trust]") {
  TrustStore s = VectorStore();
  const PublicKey k = KeyFromSeedStart(0x21);
  CHECK(!s.SetEndpoints(k, {"no-port"}).ok());
  CHECK(!s.SetEndpoints(k, {"a.example:1", "a.example:1"}).ok());
  CHECK(!s.SetEndpoints(k, {"a.b:1", "a.c:1", "a.d:1", "a.e:1", "a.f:1"}).ok());
  CHECK(s.SetEndpoints(KeyFromSeedStart(0x61), {"a.b:1"}).code() == StatusCode::kNotFound);
  CHECK(s.Find(k)->endpoints.empty());
  // Reseal (above) after a change to the body, so that only the change is refused, not the
  // checksum.
  Bytes v2;
  REQUIRE(FromHex(kTrustV2Hex, &v2));
  v2.resize(v2.size() - 8);
  REQUIRE(DecodeTrustStore(Reseal(v2)).ok());
  // The kiosk's endpoint count (after the header, the first entry and the kiosk's key, time and
  // name) raised to 5: refused before anything is read for them.
  const size_t kiosk_count = 12 + (32 + 8 + 1 + 11 + 1) + (32 + 8 + 1 + 5);
  REQUIRE(v2[kiosk_count] == 2);
  Bytes five = v2;
  five[kiosk_count] = 5;
  Result<TrustStore> r = DecodeTrustStore(Reseal(five));
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("5 endpoints") != std::string::npos);
  // A version 2 file whose entries carry no endpoint is refused: it has a version 1 encoding.
  Bytes none(v2.begin(), v2.begin() + static_cast<std::ptrdiff_t>(kiosk_count) + 1);
  none[kiosk_count] = 0;
  r = DecodeTrustStore(Reseal(none));
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("without any endpoint") != std::string::npos);
}

}  // namespace
}  // namespace dust
