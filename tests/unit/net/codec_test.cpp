// Update payload codec: round trips, canonical bytes, caps and corruption.
#include "dust/net/codec.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "dust/net/wire.h"
#include "dust/util/rng.h"

namespace dust {
namespace {

constexpr uint32_t kParams = 25450;

UpdatePayload SamplePayload(ValueCoding coding) {
  Rng rng(7);
  std::vector<float> block(100);
  for (float& v : block) v = static_cast<float>(rng.Normal() * 0.05);
  std::vector<uint32_t> idx;
  std::vector<float> val;
  // Random gaps of 1 to 2 varint bytes, so nothing here is compressible.
  for (uint32_t i = 5000; i < 25000; i += 50 + static_cast<uint32_t>(rng.Below(250))) {
    idx.push_back(i);
    val.push_back(static_cast<float>(rng.Normal() * 0.01));
  }
  UpdatePayload p;
  p.segments.push_back(MakeDenseSegment(100, block, coding));
  p.segments.push_back(MakeSparseSegment(idx, val, coding, /*delta=*/true));
  return p;
}

Bytes Encode(const UpdatePayload& p, bool* lz4) {
  Bytes out;
  REQUIRE(EncodeUpdate(p, &out, lz4).ok());
  return out;
}

TEST_CASE("update payload round trips in every coding and re-encodes to the same bytes") {
  for (ValueCoding c :
       {ValueCoding::kInt8, ValueCoding::kInt16, ValueCoding::kFp16, ValueCoding::kFp32}) {
    UpdatePayload p = SamplePayload(c);
    bool lz4 = false;
    Bytes bytes = Encode(p, &lz4);
    REQUIRE(bytes.size() <= kMaxPayloadBytes);
    auto d = DecodeUpdate(bytes, lz4, kParams);
    REQUIRE(d.ok());
    CHECK(*d == p);
    CHECK(d->segments[1].delta);
    CHECK_FALSE(d->segments[0].delta);
    bool lz4b = false;
    CHECK(Encode(*d, &lz4b) == bytes);
    CHECK(lz4b == lz4);
  }
}

TEST_CASE("quantized values stay within half a step of the input") {
  std::vector<float> v = {0.5f, -0.25f, 0.125f, -1.0f, 0.0f, 0.33f};
  UpdateSegment s = MakeDenseSegment(0, v, ValueCoding::kInt8);
  for (size_t k = 0; k < v.size(); ++k) CHECK(std::fabs(s.value(k) - v[k]) <= s.scale / 2 + 1e-7f);
  UpdateSegment h = MakeDenseSegment(0, v, ValueCoding::kFp16);
  for (size_t k = 0; k < v.size(); ++k) CHECK(std::fabs(h.value(k) - v[k]) <= 1e-3f);
}

TEST_CASE("LZ4 is used only when it shrinks the payload") {
  UpdatePayload random = SamplePayload(ValueCoding::kInt8);
  bool lz4 = true;
  Encode(random, &lz4);
  CHECK_FALSE(lz4);  // quantized noise does not compress
  std::vector<float> zeros(1200, 0.0f);
  zeros[5] = 1.0f;
  UpdatePayload sparse;
  sparse.segments.push_back(MakeDenseSegment(0, zeros, ValueCoding::kInt8));
  Bytes b = Encode(sparse, &lz4);
  CHECK(lz4);
  CHECK(b.size() < 1200);
  auto d = DecodeUpdate(b, true, kParams);
  REQUIRE(d.ok());
  CHECK(*d == sparse);
  CHECK_FALSE(DecodeUpdate(b, false, kParams).ok());  // header flag must agree
}

TEST_CASE("encoder refuses updates that do not fit or break the index rules") {
  bool lz4 = false;
  Bytes out;
  Rng rng(1);
  std::vector<float> big(2000);
  for (float& v : big) v = static_cast<float>(rng.Normal());
  UpdatePayload too_big;
  too_big.segments.push_back(MakeDenseSegment(0, big, ValueCoding::kInt8));
  CHECK_FALSE(EncodeUpdate(too_big, &out, &lz4).ok());
  UpdatePayload overlap;
  overlap.segments.push_back(MakeDenseSegment(10, std::vector<float>(5, 1.0f), ValueCoding::kInt8));
  overlap.segments.push_back(MakeDenseSegment(12, std::vector<float>(5, 1.0f), ValueCoding::kInt8));
  CHECK_FALSE(EncodeUpdate(overlap, &out, &lz4).ok());
  CHECK_FALSE(EncodeUpdate(UpdatePayload{}, &out, &lz4).ok());
}

TEST_CASE("decoder refuses indices beyond the model") {
  UpdatePayload p;
  p.segments.push_back(
      MakeDenseSegment(kParams - 2, std::vector<float>(4, 1.0f), ValueCoding::kInt8));
  bool lz4 = false;
  Bytes b = Encode(p, &lz4);
  CHECK_FALSE(DecodeUpdate(b, lz4, kParams).ok());
  CHECK(DecodeUpdate(b, lz4, kParams + 2).ok());
  std::vector<uint32_t> idx = {3, kParams};
  UpdatePayload s;
  s.segments.push_back(MakeSparseSegment(idx, std::vector<float>(2, 1.0f), ValueCoding::kFp32));
  CHECK_FALSE(DecodeUpdate(Encode(s, &lz4), lz4, kParams).ok());
}

TEST_CASE("decoder refuses non-finite values and bad scales") {
  UpdatePayload p;
  p.segments.push_back(MakeDenseSegment(0, std::vector<float>{1.0f, 2.0f}, ValueCoding::kFp32));
  bool lz4 = false;
  Bytes b = Encode(p, &lz4);
  // Layout: version, flags, kind, count u16, first u32, then two fp32 values.
  const size_t value0 = 2 + 1 + 2 + 4;
  Bytes nan = b;
  float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan[value0], &q, 4);
  CHECK_FALSE(DecodeUpdate(nan, false, kParams).ok());
  Bytes inf = b;
  float i = std::numeric_limits<float>::infinity();
  std::memcpy(&inf[value0 + 4], &i, 4);
  CHECK_FALSE(DecodeUpdate(inf, false, kParams).ok());

  UpdatePayload s;
  s.segments.push_back(MakeDenseSegment(0, std::vector<float>{1.0f, 2.0f}, ValueCoding::kInt8));
  Bytes sb = Encode(s, &lz4);
  const size_t scale = 2 + 1 + 2 + 4;
  for (float bad : {0.0f, -1.0f, q, i}) {
    Bytes c = sb;
    std::memcpy(&c[scale], &bad, 4);
    CHECK_FALSE(DecodeUpdate(c, false, kParams).ok());
  }
  Bytes fp16_inf;
  UpdatePayload h;
  h.segments.push_back(MakeDenseSegment(0, std::vector<float>{1.0f}, ValueCoding::kFp16));
  fp16_inf = Encode(h, &lz4);
  fp16_inf[fp16_inf.size() - 2] = 0x00;
  fp16_inf[fp16_inf.size() - 1] = 0x7C;
  CHECK_FALSE(DecodeUpdate(fp16_inf, false, kParams).ok());
}

TEST_CASE("decoder refuses every truncation and trailing bytes") {
  bool lz4 = false;
  UpdatePayload p = SamplePayload(ValueCoding::kInt8);
  Bytes b = Encode(p, &lz4);
  REQUIRE_FALSE(lz4);
  for (size_t n = 0; n < b.size(); ++n) {
    auto d = DecodeUpdate(ByteView(b.data(), n), false, kParams);
    // A cut exactly between segments is a valid shorter update; anything else must fail.
    if (d.ok()) CHECK(d->segments.size() < p.segments.size());
  }
  Bytes longer = b;
  longer.push_back(0);
  CHECK_FALSE(DecodeUpdate(longer, false, kParams).ok());
}

TEST_CASE("decoder refuses unknown versions, flags, codings and zero gaps") {
  bool lz4 = false;
  std::vector<uint32_t> idx = {5, 6, 9};
  UpdatePayload p;
  p.segments.push_back(MakeSparseSegment(idx, std::vector<float>(3, 1.0f), ValueCoding::kInt8));
  Bytes b = Encode(p, &lz4);
  Bytes v = b;
  v[0] = 2;
  CHECK_FALSE(DecodeUpdate(v, false, kParams).ok());
  Bytes f = b;
  f[1] = 0x80;
  CHECK_FALSE(DecodeUpdate(f, false, kParams).ok());
  Bytes k = b;
  k[2] = 0x51;  // coding 5
  CHECK_FALSE(DecodeUpdate(k, false, kParams).ok());
  Bytes l = b;
  l[2] = 0x22;  // layout 2
  CHECK_FALSE(DecodeUpdate(l, false, kParams).ok());
  // Gaps start after kind (1), count (2), first index (4): set the first gap to 0.
  Bytes g = b;
  g[2 + 1 + 2 + 4] = 0;
  CHECK_FALSE(DecodeUpdate(g, false, kParams).ok());
}

TEST_CASE("decoder refuses an LZ4 body that declares more than the cap or lies about its size") {
  std::vector<float> zeros(1000, 0.0f);
  UpdatePayload p;
  p.segments.push_back(MakeDenseSegment(0, zeros, ValueCoding::kInt8));
  bool lz4 = false;
  Bytes b = Encode(p, &lz4);
  REQUIRE(lz4);
  Bytes huge = b;
  huge[2] = 0xFF;
  huge[3] = 0xFF;  // 65535 > kMaxUpdateBodyBytes
  CHECK_FALSE(DecodeUpdate(huge, true, kParams).ok());
  Bytes off = b;
  off[2] = static_cast<uint8_t>(off[2] + 1);  // raw length one more than the real body
  CHECK_FALSE(DecodeUpdate(off, true, kParams).ok());
}

TEST_CASE("fp16 conversion rounds to nearest and keeps special values") {
  CHECK(HalfToFloat(FloatToHalf(1.0f)) == 1.0f);
  CHECK(HalfToFloat(FloatToHalf(-2.5f)) == -2.5f);
  CHECK(FloatToHalf(65520.0f) == 0x7C00);  // rounds up to infinity
  CHECK(HalfToFloat(FloatToHalf(5.96e-8f)) > 0.0f);
  CHECK(FloatToHalf(0.0f) == 0);
}

}  // namespace
}  // namespace dust

namespace dust {
namespace {

TEST_CASE("update payload test vector in docs/protocol.md encodes to the documented bytes") {
  UpdatePayload p;
  UpdateSegment a;
  a.layout = SegmentLayout::kDense;
  a.coding = ValueCoding::kInt8;
  a.first = 10;
  a.scale = 0.5f;
  a.codes = {1, -2};
  UpdateSegment d;
  d.layout = SegmentLayout::kSparse;
  d.delta = true;
  d.coding = ValueCoding::kInt8;
  d.indices = {20, 25};
  d.scale = 0.25f;
  d.codes = {3, 4};
  p.segments = {a, d};
  Bytes out;
  bool lz4 = true;
  REQUIRE(EncodeUpdate(p, &out, &lz4).ok());
  CHECK_FALSE(lz4);
  CHECK(ToHex(out) ==
        "0100"
        "2002000a0000000000003f01fe"
        "29020014000000050000803e0304");
}

}  // namespace
}  // namespace dust

namespace dust {
namespace {

TEST_CASE("decoder refuses a finite scale whose product with a code overflows") {
  // Found by fuzz_payload: int16 codes up to 32767 times a scale of ~1e37 are infinite.
  UpdatePayload p;
  p.segments.push_back(MakeDenseSegment(0, std::vector<float>{1.0f, -1.0f}, ValueCoding::kInt16));
  bool lz4 = false;
  Bytes b = Encode(p, &lz4);
  const size_t scale = 2 + 1 + 2 + 4;
  float huge = 1e37f;
  std::memcpy(&b[scale], &huge, 4);
  CHECK_FALSE(DecodeUpdate(b, false, kParams).ok());
  huge = 1e30f;  // 32767 * 1e30 is still finite: accepted
  std::memcpy(&b[scale], &huge, 4);
  CHECK(DecodeUpdate(b, false, kParams).ok());
}

}  // namespace
}  // namespace dust
