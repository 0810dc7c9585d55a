#include <catch2/catch.hpp>

#include "dust/util/bytes.h"
#include "dust/util/rng.h"
#include "dust/util/status.h"

using namespace dust;

TEST_CASE("byte reader fails sticky on a short read and reports nothing remaining") {
  const uint8_t raw[] = {1, 2, 3};
  ByteReader r(raw);
  CHECK(r.U16() == 0x0201);
  CHECK(r.U32() == 0);
  CHECK_FALSE(r.ok());
  CHECK(r.U8() == 0);  // still failed even though one byte is left
  CHECK(r.remaining() == 0);
}

TEST_CASE("byte writer and reader round-trip little-endian integers and floats") {
  Bytes b;
  ByteWriter w(&b);
  w.U8(0xab);
  w.U16(0x1234);
  w.U32(0xdeadbeef);
  w.U64(0x0102030405060708ULL);
  w.F32(-1.5f);
  REQUIRE(b.size() == 1 + 2 + 4 + 8 + 4);
  CHECK(b[1] == 0x34);  // little-endian on the wire
  ByteReader r(b);
  CHECK(r.U8() == 0xab);
  CHECK(r.U16() == 0x1234);
  CHECK(r.U32() == 0xdeadbeef);
  CHECK(r.U64() == 0x0102030405060708ULL);
  CHECK(r.F32() == -1.5f);
  CHECK(r.ok());
  CHECK(r.remaining() == 0);
}

TEST_CASE("hex decoding rejects odd lengths and non-hex characters") {
  Bytes out;
  CHECK(FromHex("00ff10", &out));
  CHECK(out == Bytes{0x00, 0xff, 0x10});
  CHECK_FALSE(FromHex("abc", &out));
  CHECK_FALSE(FromHex("zz", &out));
  CHECK(ToHex(out) == "00ff10");
}

TEST_CASE("rng is deterministic per seed and Below stays in range") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    CHECK(x == b.Next());
  }
  CHECK(a.Next() != c.Next());
  for (int i = 0; i < 1000; ++i) CHECK(a.Below(7) < 7);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) sum += a.Gamma(0.5);
  CHECK(sum / 10000 == Approx(0.5).margin(0.05));  // Gamma(k,1) has mean k
}

TEST_CASE("status carries context and result holds either a value or an error") {
  Status st = Status::Corrupt("bad magic").WithContext("/x/train-images");
  CHECK(st.message() == "/x/train-images: bad magic");
  CHECK(st.ToString() == "corrupt: /x/train-images: bad magic");
  Result<int> ok = 5;
  Result<int> err = Status::NotFound("nope");
  CHECK(ok.ok());
  CHECK(*ok == 5);
  CHECK_FALSE(err.ok());
  CHECK(err.status().code() == StatusCode::kNotFound);
}
