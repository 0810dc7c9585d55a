// Memory of absent peers (peer_memory.h): the average it keeps, who counts as absent, the cap,
// the fade and forgetting.
#include "peer_memory.h"

#include <catch2/catch.hpp>
#include <vector>

#include "dust/net/trust.h"

namespace dust::internal {
namespace {

PublicKey MemoryKey(uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

MergeInput Sparse(std::vector<uint32_t> index, std::vector<float> value) {
  MergeInput m;
  m.index = std::move(index);
  m.value = std::move(value);
  m.weight = 1;
  return m;
}

TEST_CASE("peer memory averages a peer's deltas and keeps the model it was merged into") {
  PeerMemory mem(4, 10'000, 8);
  const std::vector<float> params = {1, 2, 3, 4};
  // The first update is the average; the second halves it; from the ninth on the rate is 1/8.
  mem.Observe(MemoryKey(1), 50, Sparse({0, 2}, {1.0f, -2.0f}), 0.5, params, 100);
  auto e = mem.Export();
  REQUIRE(e.size() == 1);
  CHECK(e[0].delta == std::vector<float>{0.5f, 0, -1.0f, 0});
  CHECK(e[0].anchor == params);
  CHECK(e[0].weight == 50);
  mem.Observe(MemoryKey(1), 60, Sparse({1}, {2.0f}), 1.0, params, 200);
  e = mem.Export();
  CHECK(e[0].delta == std::vector<float>{0.25f, 1.0f, -0.5f, 0});
  CHECK(e[0].weight == 60);
  CHECK(e[0].last_ms == 200);
  for (int k = 0; k < 7; ++k) mem.Observe(MemoryKey(1), 60, {}, 1.0, params, 300);
  const float before = mem.Export()[0].delta[1];
  mem.Observe(MemoryKey(1), 60, {}, 1.0, params, 400);  // the tenth: 1 - 1/8 of it stays
  CHECK(mem.Export()[0].delta[1] == Approx(before * 7 / 8));
}

TEST_CASE("absent peers are those silent past the active window, capped by the present weight") {
  TrustStore trust;
  PeerMemory mem(2, 10'000, 8);
  const std::vector<float> params = {0, 0};
  for (uint8_t k = 1; k <= 3; ++k) {
    REQUIRE(trust.Add(MemoryKey(k), "p", 0).ok());
    // Peers 1 and 2 move coordinate 0, peer 3 coordinate 1: nothing in common (Uniqueness 1).
    mem.Observe(MemoryKey(k), 100, Sparse({k == 3 ? 1u : 0u}, {1.0f}), 1.0, params, 1000 * k);
  }
  // At 4000 with an active window of 1500: peers 1 (3000 ms silent) and 2 (2000) are away,
  // peer 3 (1000) is not.
  auto absent = mem.Absent(trust, 4000, 1500, 1000.0);
  CHECK(absent.size() == 2);
  CHECK(PeerMemory::TotalWeight(absent) == Approx(200));
  // Their memory never outweighs the present senders: scaled down together to 150.
  absent = mem.Absent(trust, 4000, 1500, 150.0);
  REQUIRE(absent.size() == 2);
  CHECK(absent[0].weight == Approx(75));
  CHECK(absent[1].weight == Approx(75));
  // A peer no longer trusted stands in for nobody, and Forget drops it.
  REQUIRE(trust.Remove(MemoryKey(1)));
  CHECK(mem.Absent(trust, 4000, 1500, 1000.0).size() == 1);
  CHECK(mem.Forget([&](const PublicKey& k) { return !trust.Contains(k); }, 4000) == 1);
  CHECK(mem.size() == 2);
}

TEST_CASE("an absent peer counts for what no present peer contributes") {
  TrustStore trust;
  REQUIRE(trust.Add(MemoryKey(1), "away", 0).ok());
  REQUIRE(trust.Add(MemoryKey(2), "here", 0).ok());
  const std::vector<float> params = {0, 0};
  auto weight_with = [&](std::vector<float> present_delta) {
    PeerMemory mem(2, 10'000, 8);
    mem.Observe(MemoryKey(1), 100, Sparse({0}, {2.0f}), 1.0, params, 0);
    mem.Observe(MemoryKey(2), 100, Sparse({0, 1}, present_delta), 1.0, params, 5000);
    auto absent = mem.Absent(trust, 5000, 1000, 1e9);
    REQUIRE(absent.size() <= 1);
    return absent.empty() ? 0.0 : absent[0].weight;
  };
  CHECK(weight_with({0.0f, 3.0f}) == Approx(100));       // orthogonal: all of it is missing
  CHECK(weight_with({1.0f, 1.7320508f}) == Approx(25));  // 60 degrees: (1 - 1/2)^2
  CHECK(weight_with({5.0f, 0.0f}) == 0.0);               // the same direction: nothing is missing
  CHECK(weight_with({-1.0f, 0.0f}) == Approx(100));      // opposed counts as nothing in common
}

TEST_CASE("an absent peer fades from half the horizon and is forgotten at it") {
  TrustStore trust;
  REQUIRE(trust.Add(MemoryKey(1), "p", 0).ok());
  PeerMemory mem(1, 10'000, 8);
  CHECK(mem.Fade(0) == 1.0);
  CHECK(mem.Fade(5'000) == 1.0);
  CHECK(mem.Fade(7'500) == Approx(0.5));
  CHECK(mem.Fade(10'000) == 0.0);
  mem.Observe(MemoryKey(1), 10, Sparse({0}, {1.0f}), 1.0, std::vector<float>{0}, 0);
  auto absent = mem.Absent(trust, 7'500, 1000, 1e9);
  REQUIRE(absent.size() == 1);
  CHECK(absent[0].weight == Approx(5));
  CHECK(mem.Forget([](const PublicKey&) { return false; }, 9'999) == 0);
  CHECK(mem.Forget([](const PublicKey&) { return false; }, 10'000) == 1);
  // No horizon: nothing is remembered.
  PeerMemory off(1, 0, 8);
  off.Observe(MemoryKey(1), 10, Sparse({0}, {1.0f}), 1.0, std::vector<float>{0}, 0);
  CHECK(off.size() == 0);
}

TEST_CASE("peer memory is bounded: the peer heard from least recently makes room") {
  PeerMemory mem(1, 10'000, 2);
  const std::vector<float> params = {0};
  mem.Observe(MemoryKey(1), 1, {}, 1.0, params, 300);
  mem.Observe(MemoryKey(2), 1, {}, 1.0, params, 100);
  mem.Observe(MemoryKey(3), 1, {}, 1.0, params, 400);
  auto e = mem.Export();
  REQUIRE(e.size() == 2);
  CHECK(e[0].key == MemoryKey(1));
  CHECK(e[1].key == MemoryKey(3));
}

}  // namespace
}  // namespace dust::internal
