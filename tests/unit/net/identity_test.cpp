// Node IDs, pairing URIs and the secret key file.
#include "dust/net/identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "dust/util/file.h"
#include "testutil/source_file.h"
#include "testutil/temp_dir.h"
#include "testutil/vector_key.h"

namespace dust {
namespace {

// From tests/vectors/protocol_vectors.py (independent Python implementation of the spec).
constexpr const char* kVectorNodeId =
    "PG2VMLU-P4ZKPS5-QDYWEJO-RKMLU6Q-IB7BJ24-2K35V7S-A4OIQXL-IESZSAL";
constexpr const char* kVectorPairingUri =
    "dust://v1/PG2VMLU-P4ZKPS5-QDYWEJO-RKMLU6Q-IB7BJ24-2K35V7S-A4OIQXL-IESZSAL"
    "?name=lab%20node%20%231&check=3ac1dfed";

TEST_CASE("node ID test vector matches the independently computed text", "[identity]") {
  KeyPair key = testutil::VectorKey();
  CHECK(FormatNodeId(key.public_key) == kVectorNodeId);
  CHECK(ShortNodeId(key.public_key) == "PG2VMLU");
  Result<PublicKey> back = ParseNodeId(kVectorNodeId);
  REQUIRE(back.ok());
  CHECK(*back == key.public_key);
}

TEST_CASE("node ID parsing accepts lower case, no dashes, spaces and look-alike digits",
          "[identity]") {
  PublicKey key = testutil::VectorKey().public_key;
  std::string id = kVectorNodeId;
  std::string lower;
  for (char c : id) lower.push_back(static_cast<char>(std::tolower(c)));
  std::string nodash, spaced;
  for (char c : id) {
    if (c != '-') nodash.push_back(c);
    spaced.push_back(c == '-' ? ' ' : c);
  }
  for (const std::string& s : {lower, nodash, spaced}) {
    Result<PublicKey> r = ParseNodeId(s);
    REQUIRE(r.ok());
    CHECK(*r == key);
  }
  // 'O' typed as zero and 'I' typed as one (Syncthing accepts these too).
  std::string digits = id;
  for (char& c : digits) {
    if (c == 'O') c = '0';
    if (c == 'I') c = '1';
  }
  REQUIRE(digits != id);
  Result<PublicKey> r = ParseNodeId(digits);
  REQUIRE(r.ok());
  CHECK(*r == key);
}

TEST_CASE("every single-character typo in a node ID is detected", "[identity]") {
  // Random keys, every position, every other character of the alphabet: Luhn mod 32 catches all
  // single substitutions, either in the data (check mismatch) or in the check character itself.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  for (int trial = 0; trial < 4; ++trial) {
    std::string id = FormatNodeId(GenerateKeyPair().public_key);
    for (size_t pos = 0; pos < id.size(); ++pos) {
      if (id[pos] == '-') continue;
      for (char c : alphabet) {
        if (c == id[pos]) continue;
        std::string typo = id;
        typo[pos] = c;
        INFO(typo);
        CHECK(!ParseNodeId(typo).ok());
      }
    }
  }
}

TEST_CASE("swapping two different neighbouring characters of a node ID is mostly detected",
          "[identity]") {
  // Luhn mod N misses only the swap of two specific values; count what we catch.
  int swaps = 0, caught = 0;
  for (int trial = 0; trial < 20; ++trial) {
    std::string id = FormatNodeId(GenerateKeyPair().public_key);
    for (size_t pos = 0; pos + 1 < id.size(); ++pos) {
      if (id[pos] == '-' || id[pos + 1] == '-' || id[pos] == id[pos + 1]) continue;
      std::string typo = id;
      std::swap(typo[pos], typo[pos + 1]);
      ++swaps;
      if (!ParseNodeId(typo).ok()) ++caught;
    }
  }
  CHECK(caught >= swaps * 95 / 100);
}

TEST_CASE("node ID errors name the problem", "[identity]") {
  std::string id = kVectorNodeId;
  Result<PublicKey> short_id = ParseNodeId(id.substr(0, 20));
  CHECK(short_id.status().message().find("expected 56") != std::string::npos);
  std::string bad_char = id;
  bad_char[3] = '!';
  CHECK(ParseNodeId(bad_char).status().message().find("position 4") != std::string::npos);
  std::string typo = id;
  typo[0] = typo[0] == 'A' ? 'B' : 'A';
  CHECK(ParseNodeId(typo).status().message().find("typo in characters 1-14") != std::string::npos);
  CHECK(!ParseNodeId(id + "A").ok());
  CHECK(!ParseNodeId("").ok());
}

TEST_CASE("pairing URI test vector matches and parses back", "[identity]") {
  KeyPair key = testutil::VectorKey();
  Result<std::string> uri = FormatPairingUri(key.public_key, "lab node #1");
  REQUIRE(uri.ok());
  CHECK(*uri == kVectorPairingUri);
  Result<PairingInfo> info = ParsePairingUri(*uri);
  REQUIRE(info.ok());
  CHECK(info->key == key.public_key);
  CHECK(info->display_name == "lab node #1");
}

TEST_CASE("pairing URI round-trips a UTF-8 name", "[identity]") {
  PublicKey key = GenerateKeyPair().public_key;
  const std::string name =
      "K\xC3\xBC"
      "che / \xE5\x8F\xB0\xE6\x89\x80 & ?=%";
  Result<std::string> uri = FormatPairingUri(key, name);
  REQUIRE(uri.ok());
  Result<PairingInfo> info = ParsePairingUri(*uri);
  REQUIRE(info.ok());
  CHECK(info->display_name == name);
  CHECK(info->key == key);
}

TEST_CASE("pairing URI parsing rejects every kind of damage", "[identity]") {
  const std::string good = kVectorPairingUri;
  REQUIRE(ParsePairingUri(good).ok());
  auto rejects = [](const std::string& s) {
    INFO(s);
    CHECK(!ParsePairingUri(s).ok());
  };
  rejects("http" + good.substr(4));
  rejects("dust://v2/" + good.substr(10));
  std::string key_typo = good;
  key_typo[12] = key_typo[12] == 'A' ? 'B' : 'A';
  rejects(key_typo);
  const size_t lab = good.find("lab");
  REQUIRE(lab != std::string::npos);
  rejects(good.substr(0, lab) + "lap" + good.substr(lab + 3));  // check no longer matches
  std::string check_changed = good;
  check_changed.back() = check_changed.back() == '0' ? '1' : '0';
  rejects(check_changed);
  rejects(good.substr(0, good.find('&')));  // no check
  rejects(good + "&extra=1");               // unknown parameter
  rejects(good + "&name=x");                // duplicate
  rejects(good.substr(0, good.find('?')));  // no query
  const size_t esc = good.find("%20");
  REQUIRE(esc != std::string::npos);
  rejects(good.substr(0, esc) + " " + good.substr(esc + 3));  // must be percent-encoded
  rejects(good.substr(0, esc) + "%G0" + good.substr(esc + 3));
  rejects(good.substr(0, good.find('?')) + "?check=3ac1dfed&name=lab%2");  // truncated escape
  rejects(good.substr(0, good.find('?')) + "?check=3ac1dfed&name=lab%");
  // A control character in the name, with a correct check, is still refused.
  PublicKey key = testutil::VectorKey().public_key;
  CHECK(!FormatPairingUri(key, std::string("a\nb")).ok());
  CHECK(!FormatPairingUri(key, std::string(65, 'a')).ok());
}

TEST_CASE("display names must be 1..64 bytes of printable UTF-8", "[identity]") {
  CHECK(ValidateDisplayName("node-a").ok());
  CHECK(ValidateDisplayName(std::string(64, 'x')).ok());
  CHECK(!ValidateDisplayName(std::string(65, 'x')).ok());
  CHECK(!ValidateDisplayName("").ok());
  CHECK(!ValidateDisplayName("tab\there").ok());
  CHECK(!ValidateDisplayName("del\x7F").ok());
  CHECK(!ValidateDisplayName("\xC2\x85").ok());          // C1 control (NEL)
  CHECK(!ValidateDisplayName("\xC0\xAF").ok());          // overlong '/'
  CHECK(!ValidateDisplayName("\xED\xA0\x80").ok());      // surrogate
  CHECK(!ValidateDisplayName("\xF4\x90\x80\x80").ok());  // > U+10FFFF
  CHECK(!ValidateDisplayName("\xE2\x82").ok());          // truncated sequence
  CHECK(ValidateDisplayName("\xE2\x82\xAC").ok());       // euro sign
}

TEST_CASE("key file round-trips and detects corruption", "[identity]") {
  KeyPair key = testutil::VectorKey();
  Bytes file = EncodeKeyFile(key);
  REQUIRE(file.size() == kKeyFileBytes);
  Result<KeyPair> back = DecodeKeyFile(file);
  REQUIRE(back.ok());
  CHECK(back->public_key == key.public_key);
  CHECK(back->secret_key == key.secret_key);
  for (size_t i = 0; i < file.size(); ++i) {
    Bytes bad = file;
    bad[i] ^= 0x01;
    INFO("byte " << i);
    CHECK(!DecodeKeyFile(bad).ok());
  }
  CHECK(!DecodeKeyFile(ByteView(file.data(), file.size() - 1)).ok());
}

TEST_CASE("key file matches a vector computed independently", "[identity]") {
  // /usr/bin/python3: b = b"DSTK" + bytes([1, 0, 0, 0]) + bytes(range(1, 33)) + public key;
  // (b + hashlib.blake2b(b, digest_size=32).digest()[:8]).hex()
  const std::string kKeyFileHex =
      "4453544b01000000"
      "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
      "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
      "304627fc41dbad28";
  CHECK(ToHex(EncodeKeyFile(testutil::VectorKey())) == kKeyFileHex);
  Bytes b;
  REQUIRE(FromHex(kKeyFileHex, &b));
  Result<KeyPair> back = DecodeKeyFile(b);
  REQUIRE(back.ok());
  CHECK(back->secret_key == testutil::VectorKey().secret_key);
}

TEST_CASE("key file with group or world access is refused with the chmod fix", "[identity]") {
  CHECK(CheckKeyFileMode("/k", S_IFREG | 0600).ok());
  CHECK(CheckKeyFileMode("/k", S_IFREG | 0400).ok());
  for (mode_t bad : {0640, 0604, 0644, 0660, 0610, 0601}) {
    Status st = CheckKeyFileMode("/var/lib/dust/node.key", S_IFREG | bad);
    CHECK(st.code() == StatusCode::kPermission);
    CHECK(st.message().find("/var/lib/dust/node.key") != std::string::npos);
    CHECK(st.message().find("chmod 600 /var/lib/dust/node.key") != std::string::npos);
  }
}

TEST_CASE("saved identity is mode 0600 and loads back; a chmod 644 copy is refused", "[identity]") {
  testutil::TempDir dir("dust-identity");
  std::string path = dir.Path("node.key");
  KeyPair key = GenerateKeyPair();
  REQUIRE(SaveIdentity(path, key).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  Result<KeyPair> loaded = LoadIdentity(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->public_key == key.public_key);
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  Result<KeyPair> refused = LoadIdentity(path);
  CHECK(refused.status().code() == StatusCode::kPermission);
  CHECK(refused.status().message().find("chmod 600 " + path) != std::string::npos);
}

TEST_CASE("LoadOrCreateIdentity creates once, then loads the same key", "[identity]") {
  testutil::TempDir dir("dust-identity");
  std::string path = dir.Path("node.key");
  bool created = false;
  Result<KeyPair> first = LoadOrCreateIdentity(path, &created);
  REQUIRE(first.ok());
  CHECK(created);
  Result<KeyPair> second = LoadOrCreateIdentity(path, &created);
  REQUIRE(second.ok());
  CHECK(!created);
  CHECK(second->public_key == first->public_key);
}

TEST_CASE("LoadOrCreateIdentity never replaces a corrupt key file", "[identity]") {
  testutil::TempDir dir("dust-identity");
  std::string path = dir.Path("node.key");
  Bytes junk(kKeyFileBytes, 0x42);
  REQUIRE(AtomicWriteFile(path, junk, 0600).ok());
  bool created = true;
  Result<KeyPair> r = LoadOrCreateIdentity(path, &created);
  CHECK(r.status().code() == StatusCode::kCorrupt);
  CHECK(!created);
  Result<Bytes> still = ReadFile(path, 1000);
  REQUIRE(still.ok());
  CHECK(*still == junk);
}

// The test vectors in docs/protocol.md must be the ones checked here.
TEST_CASE("docs/protocol.md carries the node ID and pairing URI test vectors", "[identity]") {
  const std::string doc = testutil::SourceText("docs/protocol.md");
  CHECK(doc.find(kVectorNodeId) != std::string::npos);
  CHECK(doc.find(kVectorPairingUri) != std::string::npos);
}

}  // namespace
}  // namespace dust
