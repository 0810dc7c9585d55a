// The sealed-file envelope (dust/util/sealed_file.h): bytes against vectors computed without
// libdust, a round trip for each version field, and every refusal with its code and message.
#include "dust/util/sealed_file.h"

#include <catch2/catch.hpp>
#include <string>

#include "dust/util/crypto.h"

using namespace dust;

namespace {

// Variable-size body, u8 version and three reserved bytes (the shape of the 4-byte magics).
constexpr SealedFormat kSmall{.name = "test file", .magic = "TSTF", .min_body = 2, .max_body = 16};
// Fixed-size body, u16 version (the shape of checkpoint.h's DUSTCKPT).
constexpr SealedFormat kWide{.name = "wide file",
                             .magic = "TESTFILE",
                             .version_field = SealedVersionField::kU16,
                             .min_body = 2,
                             .max_body = 2};

Bytes Seal(const SealedFormat& format, uint16_t version, std::string_view body) {
  return SealFile(
      format, version, [&](ByteWriter& w) { w.Raw(AsBytes(body)); }, body.size());
}

std::string Body(const SealedFile& f) {
  return std::string(reinterpret_cast<const char*>(f.body.data()), f.body.size());
}

std::string Message(const Result<SealedFile>& r) { return r.status().message(); }

// Opens `b` as version 1 of `format` and checks that it is refused with `code` and `message`.
void CheckRefused(ByteView b, const SealedFormat& format, StatusCode code,
                  const std::string& message) {
  auto r = OpenSealedFile(b, format, {1});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == code);
  CHECK(r.status().message() == message);
}

// Rewrites the checksum, so that only a deliberate edit is wrong.
void Reseal(Bytes& b) {
  b.resize(b.size() - kSealChecksumBytes);
  ByteWriter(&b).U64(Checksum64(b));
}

}  // namespace

TEST_CASE("sealed files match vectors computed independently (python hashlib)") {
  REQUIRE(InitCrypto().ok());
  // b"TSTF" + bytes([3, 0, 0, 0]) + b"body", then blake2b(digest_size=32)[:8] of all of it.
  CHECK(ToHex(Seal(kSmall, 3, "body")) == "5453544603000000626f6479543147b8d061cd79");
  // b"TESTFILE" + struct.pack("<H", 258) + b"xy", then the same checksum.
  CHECK(ToHex(Seal(kWide, 258, "xy")) == "5445535446494c4502017879d2f9a60616879da5");
  CHECK(kSmall.header_bytes() == 8);
  CHECK(kWide.header_bytes() == 10);
  CHECK(kSmall.file_bytes(4) == 20);
}

TEST_CASE("a sealed file opens to its version and body, for both version fields") {
  REQUIRE(InitCrypto().ok());
  const Bytes small = Seal(kSmall, 3, "body");
  auto s = OpenSealedFile(small, kSmall, {3});
  REQUIRE(s.ok());
  CHECK(s->version == 3);
  CHECK(Body(*s) == "body");
  CHECK(s->body.data() == small.data() + 8);  // a view into the opened bytes, not a copy

  const Bytes wide = Seal(kWide, 258, "xy");
  auto w = OpenSealedFile(wide, kWide, {1, 258});
  REQUIRE(w.ok());
  CHECK(w->version == 258);
  CHECK(Body(*w) == "xy");

  // The smallest and largest bodies the format allows.
  CHECK(OpenSealedFile(Seal(kSmall, 1, "ab"), kSmall, {1}).ok());
  CHECK(OpenSealedFile(Seal(kSmall, 1, std::string(16, 'z')), kSmall, {1}).ok());
}

TEST_CASE("a short sealed file is refused by its size before anything else") {
  REQUIRE(InitCrypto().ok());
  const Bytes b = Seal(kSmall, 1, "body");
  for (size_t n = 0; n < b.size(); ++n) {
    auto r = OpenSealedFile(ByteView(b).first(n), kSmall, {1});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kCorrupt);
  }
  // Below the smallest body: named as too short, even though the magic is wrong too.
  Bytes tiny = Seal(kSmall, 1, "a");
  tiny[0] = 'X';
  CHECK(Message(OpenSealedFile(tiny, kSmall, {1})) ==
        "test file: 17 bytes is too short (at least 18)");
  CHECK(Message(OpenSealedFile(ByteView(b).first(3), kSmall, {1})) ==
        "test file: 3 bytes is too short (at least 18)");
  const Bytes wide = Seal(kWide, 1, "xy");
  CHECK(Message(OpenSealedFile(ByteView(wide).first(19), kWide, {1})) ==
        "wide file: 19 bytes, expected 20");
}

TEST_CASE("a sealed file with trailing bytes is refused") {
  REQUIRE(InitCrypto().ok());
  // Fixed size: one byte more is the wrong size.
  Bytes wide = Seal(kWide, 1, "xy");
  wide.push_back(0);
  CheckRefused(wide, kWide, StatusCode::kCorrupt, "wide file: 21 bytes, expected 20");
  // Variable size: a byte after the checksum moves where the checksum is read.
  Bytes small = Seal(kSmall, 1, "body");
  small.push_back(0);
  CheckRefused(small, kSmall, StatusCode::kCorrupt,
               "test file: checksum mismatch (file altered or damaged)");
  // Beyond the largest body, even with a valid checksum.
  CheckRefused(Seal(kSmall, 1, std::string(17, 'z')), kSmall, StatusCode::kCorrupt,
               "test file: 33 bytes is too long (at most 32)");
}

TEST_CASE("a sealed file with another magic is refused") {
  REQUIRE(InitCrypto().ok());
  for (const SealedFormat* f : {&kSmall, &kWide}) {
    const Bytes good = Seal(*f, 1, "xy");
    for (size_t i = 0; i < f->magic.size(); ++i) {
      Bytes b = good;
      b[i] ^= 0x20;
      auto r = OpenSealedFile(b, *f, {1});
      CHECK(r.status().code() == StatusCode::kCorrupt);
      CHECK(Message(r) ==
            std::string(f->name) + ": bad magic (not a " + std::string(f->name) + ")");
    }
  }
  // Another format's file, the same size.
  CHECK(Message(OpenSealedFile(Seal(kSmall, 1, "abcd"), kWide, {1})) ==
        "wide file: bad magic (not a wide file)");
  CHECK(HasSealedMagic(Seal(kSmall, 1, "ab"), kSmall));
  CHECK_FALSE(HasSealedMagic(Seal(kSmall, 1, "ab"), kWide));
  CHECK_FALSE(HasSealedMagic(AsBytes("TST"), kSmall));
}

TEST_CASE("a sealed file of another version is refused as unsupported") {
  REQUIRE(InitCrypto().ok());
  CheckRefused(Seal(kSmall, 2, "body"), kSmall, StatusCode::kUnsupported,
               "test file: version 2, this build reads version 1");
  auto several = OpenSealedFile(Seal(kWide, 0x0300, "xy"), kWide, {1, 2});
  CHECK(several.status().code() == StatusCode::kUnsupported);
  CHECK(Message(several) == "wide file: version 768, this build reads versions 1, 2");
  CHECK(OpenSealedFile(Seal(kSmall, 2, "body"), kSmall, {1, 2}).ok());
}

TEST_CASE("a sealed file with a reserved byte set is refused") {
  REQUIRE(InitCrypto().ok());
  const Bytes good = Seal(kSmall, 1, "body");
  for (size_t i = 5; i < 8; ++i) {
    Bytes b = good;
    b[i] = 1;
    Reseal(b);
    CheckRefused(b, kSmall, StatusCode::kCorrupt, "test file: reserved bytes set");
  }
}

TEST_CASE("a sealed file with any byte of its body or checksum altered is refused") {
  REQUIRE(InitCrypto().ok());
  const Bytes good = Seal(kSmall, 1, "body");
  for (size_t i = kSmall.header_bytes(); i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes b = good;
      b[i] ^= static_cast<uint8_t>(1u << bit);
      CheckRefused(b, kSmall, StatusCode::kCorrupt,
                   "test file: checksum mismatch (file altered or damaged)");
    }
  }
}

TEST_CASE("the body check runs after the header checks and before the checksum") {
  REQUIRE(InitCrypto().ok());
  const Bytes good = Seal(kSmall, 1, "body");
  int calls = 0;
  std::string seen;
  auto refuse = [&](ByteView body) {
    ++calls;
    seen.assign(reinterpret_cast<const char*>(body.data()), body.size());
    return Status::InvalidArgument("test file: body says no");
  };
  auto accept = [&](ByteView) {
    ++calls;
    return Status::Ok();
  };
  // Its error comes back as it is, and before the checksum's.
  Bytes damaged = good;
  damaged.back() ^= 1;
  auto r = OpenSealedFile(damaged, kSmall, {1}, refuse);
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(Message(r) == "test file: body says no");
  CHECK(seen == "body");
  // It passing does not skip the checksum.
  CHECK(Message(OpenSealedFile(damaged, kSmall, {1}, accept)) ==
        "test file: checksum mismatch (file altered or damaged)");
  CHECK(OpenSealedFile(good, kSmall, {1}, accept).ok());
  CHECK(calls == 3);
  // It is not called for a file whose header fails.
  Bytes bad_magic = good;
  bad_magic[0] = 'X';
  CHECK_FALSE(OpenSealedFile(bad_magic, kSmall, {1}, refuse).ok());
  CHECK_FALSE(OpenSealedFile(Seal(kSmall, 2, "body"), kSmall, {1}, refuse).ok());
  CHECK_FALSE(OpenSealedFile(ByteView(good).first(10), kSmall, {1}, refuse).ok());
  CHECK(calls == 3);
}
