// StreamRng (stream_rng.h): the DP noise and Poisson sampling stream.
#include "dust/util/stream_rng.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "dust/util/crypto.h"

namespace dust {
namespace {

TEST_CASE("StreamRng: seeded streams repeat, other seeds and OS keys differ", "[stream_rng]") {
  REQUIRE(InitCrypto().ok());
  StreamRng a = StreamRng::FromSeed(7), b = StreamRng::FromSeed(7), c = StreamRng::FromSeed(8);
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 2000; ++i) {  // crosses several keystream blocks of 512 words
    va.push_back(a.Next());
    vb.push_back(b.Next());
    vc.push_back(c.Next());
  }
  CHECK(va == vb);
  CHECK(va != vc);
  StreamRng o1 = StreamRng::FromOs(), o2 = StreamRng::FromOs();
  CHECK(o1.Next() != o2.Next());
}

TEST_CASE("StreamRng: normal deviates have mean 0 and variance 1; uniforms are in (0, 1)",
          "[stream_rng]") {
  StreamRng r = StreamRng::FromSeed(1);
  std::vector<float> x(200001);  // odd: the last one from half a pair
  r.FillNormal(x);
  double sum = 0, sq = 0;
  size_t beyond3 = 0;
  for (float v : x) {
    REQUIRE(std::isfinite(v));
    sum += v;
    sq += double{v} * v;
    beyond3 += std::abs(v) > 3;
  }
  const double n = static_cast<double>(x.size());
  // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance;
  // 5 of them each. P(|Z| > 3) = 0.0027: 540 expected, sd 23.
  CHECK(std::abs(sum / n) < 0.011);
  CHECK(std::abs(sq / n - 1) < 0.016);
  CHECK(beyond3 > 440);
  CHECK(beyond3 < 640);
  for (int i = 0; i < 100000; ++i) {
    const double u = r.UniformOpen();
    REQUIRE(u > 0.0);
    REQUIRE(u < 1.0);
  }
}

}  // namespace
}  // namespace dust
