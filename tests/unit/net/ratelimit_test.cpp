// Token buckets per source in a bounded table.
#include "dust/net/ratelimit.h"

#include <catch2/catch.hpp>

namespace dust {
namespace {

RateLimiterOptions Opts(double rate, double burst, size_t capacity) {
  RateLimiterOptions o;
  o.tokens_per_s = rate;
  o.burst = burst;
  o.capacity = capacity;
  o.hash_seed = 12345;
  return o;
}

TEST_CASE("a source gets its burst, then is limited until tokens refill", "[ratelimit]") {
  RateLimiter rl(Opts(10, 5, 16));
  SourceKey a = SourceKey::FromIndex(1);
  for (int i = 0; i < 5; ++i) CHECK(rl.Allow(a, 1000));
  CHECK(!rl.Allow(a, 1000));
  CHECK(!rl.Allow(a, 1099));  // 0.99 tokens refilled: not yet
  CHECK(rl.Allow(a, 1100));   // 100 ms at 10/s = 1 token
  CHECK(!rl.Allow(a, 1100));
  // A long pause refills to the burst, not beyond.
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += rl.Allow(a, 100000) ? 1 : 0;
  CHECK(allowed == 5);
}

TEST_CASE("sources have independent buckets", "[ratelimit]") {
  RateLimiter rl(Opts(1, 2, 16));
  SourceKey a = SourceKey::FromBytes(Bytes{127, 0, 0, 1});
  SourceKey b = SourceKey::FromBytes(Bytes{127, 0, 0, 2});
  CHECK(rl.Allow(a, 0));
  CHECK(rl.Allow(a, 0));
  CHECK(!rl.Allow(a, 0));
  CHECK(rl.Allow(b, 0));
  CHECK(rl.size() == 2);
}

TEST_CASE("the table never grows past its capacity and evicts the least recently seen",
          "[ratelimit]") {
  RateLimiter rl(Opts(1, 1, 4));
  for (uint64_t i = 0; i < 4; ++i) CHECK(rl.Allow(SourceKey::FromIndex(i), 0));
  CHECK(!rl.Allow(SourceKey::FromIndex(0), 0));  // 0 is now the most recent, bucket empty
  for (uint64_t i = 100; i < 1100; ++i) {
    rl.Allow(SourceKey::FromIndex(i), 0);
    REQUIRE(rl.size() <= 4);
  }
  CHECK(rl.size() == 4);
  CHECK(rl.evictions() == 1000);
  // Source 0 was evicted long ago; coming back it gets a fresh bucket.
  CHECK(rl.Allow(SourceKey::FromIndex(0), 0));
}

TEST_CASE("a recently seen source survives eviction of idle ones", "[ratelimit]") {
  RateLimiter rl(Opts(1, 1, 3));
  SourceKey hot = SourceKey::FromIndex(7);
  CHECK(rl.Allow(hot, 0));
  for (uint64_t i = 0; i < 10; ++i) {
    rl.Allow(SourceKey::FromIndex(100 + i), 0);
    CHECK(!rl.Allow(hot, 0));  // touches hot: it stays in the table with its empty bucket
  }
}

TEST_CASE("IPv4 and IPv6 source keys differ from node indices of the same bytes", "[ratelimit]") {
  SourceKey v4 = SourceKey::FromBytes(Bytes{1, 0, 0, 0});
  SourceKey idx = SourceKey::FromIndex(1);
  CHECK(!(v4 == idx));  // lengths differ
  Bytes long_input(20, 9);
  CHECK(SourceKey::FromBytes(long_input).length == 16);
}

TEST_CASE("a clock going backwards refills nothing", "[ratelimit]") {
  RateLimiter rl(Opts(1000, 1, 4));
  SourceKey a = SourceKey::FromIndex(1);
  CHECK(rl.Allow(a, 10000));
  CHECK(!rl.Allow(a, 5000));
  CHECK(!rl.Allow(a, 10000));
  CHECK(rl.Allow(a, 10001));
}

}  // namespace
}  // namespace dust
