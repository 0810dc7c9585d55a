#include "dust/net/scaling_wire.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <iterator>

using namespace dust;

namespace {

ScalingBlock Local() {
  ScalingBlock b;
  b.kind = ScalingBlockKind::kLocalMoments;
  b.samples = 100;
  b.features = 90;
  b.first = 80;
  for (int k = 0; k < 10; ++k) {
    b.mean.push_back(1000.0f + k);
    b.m2.push_back(4.0f * k);
    b.max_abs.push_back(1010.0f + k);
    b.zeros.push_back(static_cast<uint32_t>(k));
  }
  return b;
}

ScalingBlock Fleet() {
  ScalingBlock b;
  b.kind = ScalingBlockKind::kFleetScaling;
  b.samples = 500;
  b.id = 77;
  b.features = 3;
  b.mean = {1000.0f, 0.0f, 0.0f};
  b.m2 = {20.0f, 5.0f, 1.0f};
  return b;
}

}  // namespace

TEST_CASE("scaling blocks round-trip, byte for byte", "[scaling_wire]") {
  for (const ScalingBlock& b : {Local(), Fleet()}) {
    auto bytes = EncodeScalingBlock(b);
    REQUIRE(bytes.ok());
    const size_t each = b.kind == ScalingBlockKind::kLocalMoments ? 16 : 8;
    CHECK(bytes->size() == kScalingPreambleBytes + each * b.count());
    auto back = DecodeScalingBlock(*bytes);
    REQUIRE(back.ok());
    CHECK(*back == b);
  }
  ScalingBlock identity = Fleet();
  identity.mean.clear();
  identity.m2.clear();
  auto bytes = EncodeScalingBlock(identity);
  REQUIRE(bytes.ok());
  CHECK(DecodeScalingBlock(*bytes).ok());
  // A full block fits one datagram's payload.
  CHECK(kScalingPreambleBytes + 16 * kMaxLocalFeaturesPerBlock <= kMaxPayloadBytes);
  CHECK(kScalingPreambleBytes + 8 * kMaxFleetFeaturesPerBlock <= kMaxPayloadBytes);
}

TEST_CASE("scaling blocks that break a rule are refused", "[scaling_wire]") {
  auto refused = [](ScalingBlock b) {
    CHECK_FALSE(EncodeScalingBlock(b).ok());
    return true;
  };
  ScalingBlock b = Local();
  b.first = 85;  // runs past the model's 90 inputs
  refused(b);
  b = Local();
  b.m2[3] = -1;
  refused(b);
  b = Local();
  b.zeros[2] = 101;  // more zeros than samples
  refused(b);
  b = Local();
  b.mean[0] = NAN;
  refused(b);
  b = Local();
  b.id = 5;  // local moments have no id
  refused(b);
  b = Fleet();
  b.m2[1] = 0;  // a scale must be > 0
  refused(b);
  b = Fleet();
  b.id = 0;
  refused(b);
  b = Fleet();
  b.first = 1;
  b.mean.clear();
  b.m2.clear();  // the identity is one block at feature 0
  refused(b);

  // The decoder checks the same rules on bytes: a valid block altered in place.
  Bytes good = *EncodeScalingBlock(Local());
  Bytes bad = good;
  bad[0] = 3;  // unknown kind
  CHECK_FALSE(DecodeScalingBlock(bad).ok());
  bad = good;
  bad.push_back(0);  // trailing byte
  CHECK_FALSE(DecodeScalingBlock(bad).ok());
  bad = good;
  bad.resize(bad.size() - 1);
  CHECK_FALSE(DecodeScalingBlock(bad).ok());
  CHECK_FALSE(DecodeScalingBlock(ByteView(good.data(), 5)).ok());
}

TEST_CASE("the fuzz seed corpus decodes", "[scaling_wire]") {
  for (const char* name : {"local", "fleet", "identity"}) {
    std::ifstream f(std::string(DUST_SOURCE_DIR) + "/tests/fuzz/corpus/scaling/" + name,
                    std::ios::binary);
    REQUIRE(f.good());
    const Bytes bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    INFO(name);
    CHECK(DecodeScalingBlock(bytes).ok());
  }
}

TEST_CASE("a scaling's id depends on every value and is never 0", "[scaling_wire]") {
  const uint64_t a = ScalingId(10, 2, {1.0f, 2.0f}, {3.0f, 4.0f});
  CHECK(a != 0);
  CHECK(ScalingId(11, 2, {1.0f, 2.0f}, {3.0f, 4.0f}) != a);
  CHECK(ScalingId(10, 2, {1.0f, 2.5f}, {3.0f, 4.0f}) != a);
  CHECK(ScalingId(10, 2, {1.0f, 2.0f}, {3.0f, 4.5f}) != a);
  CHECK(ScalingId(10, 2, {1.0f, 2.0f}, {3.0f, 4.0f}) == a);
  // docs/protocol.md's vector, computed independently:
  // /usr/bin/python3 -c 'import struct,hashlib;
  // b=b"dust-scaling-v1"+struct.pack("<QI4f",10,2,1.0,2.0,3.0,4.0);
  // print(hex(struct.unpack("<Q",hashlib.blake2b(b,digest_size=32).digest()[:8])[0]))'
  CHECK(a == 0x3d349e4579490c12ULL);
}
