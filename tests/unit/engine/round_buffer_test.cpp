// The round buffer and the peer table (libdust/engine/src/round_buffer.h, peer_table.h): what
// the next merge is fed, and the filters in front of it.
#include "round_buffer.h"

#include <catch2/catch.hpp>
#include <vector>

#include "dust/net/trust.h"
#include "peer_table.h"

namespace dust::internal {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

PublicKey K(uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

MergeInput Part(std::vector<uint32_t> index, std::vector<float> value, float weight = 1.0f) {
  MergeInput m;
  m.weight = weight;
  m.index = std::move(index);
  m.value = std::move(value);
  return m;
}

TEST_CASE("the round buffer holds max updates' worth of parts and skips empty parts") {
  RoundBuffer b(2);
  CHECK(b.empty());
  b.Add(Part({0, 1}, {1, 1}), MergeInput{}, K(1));  // absolute part only
  CHECK(b.absolute().size() == 1);
  CHECK(b.deltas().empty());
  CHECK_FALSE(b.Full());
  b.Add(Part({2}, {1}), Part({5}, {0.1f}), K(2));
  CHECK_FALSE(b.Full());  // 3 parts of 4
  b.Add(Part({3}, {1}), MergeInput{}, K(3));
  CHECK(b.Full());
  b.AddOwnDelta(Part({7}, {0.2f}), K(9));
  CHECK(b.deltas().size() == 2);  // the own delta is not bounded
  b.Clear();
  CHECK(b.empty());
  CHECK_FALSE(b.Full());
}

TEST_CASE("a revoked sender's update counts once, and the node's own delta always stays") {
  TrustStore trust;
  REQUIRE(trust.Add(K(1), "a", kNow).ok());
  REQUIRE(trust.Add(K(2), "b", kNow).ok());
  RoundBuffer b(8);
  b.Add(Part({0}, {1}), Part({3}, {0.1f}), K(1));  // one update, two parts
  b.Add(MergeInput{}, Part({4}, {0.1f}), K(1));    // one update, delta only
  b.Add(Part({1}, {1}), Part({5}, {0.1f}), K(2));
  b.AddOwnDelta(Part({6}, {0.1f}), K(9));  // our own key is never in the trust store
  REQUIRE(trust.Remove(K(1)));
  CHECK(b.DropRevoked(trust, K(9)) == 2);
  REQUIRE(b.absolute().size() == 1);
  CHECK(b.absolute()[0].index == std::vector<uint32_t>{1});
  REQUIRE(b.deltas().size() == 2);
  CHECK(b.deltas()[0].index == std::vector<uint32_t>{5});
  CHECK(b.deltas()[1].index == std::vector<uint32_t>{6});
  CHECK(b.DropRevoked(trust, K(9)) == 0);
}

TEST_CASE("an outlier's absolute block raises its score until its deltas are left out") {
  PeerTable peers(16);
  for (uint8_t n = 1; n <= 4; ++n) peers.Touch(K(n), kNow);
  const std::vector<float> params = {1.0f, -1.0f, 0.5f, -0.5f};
  int rounds_until_ignored = 0;
  for (int round = 1; round <= 5 && rounds_until_ignored == 0; ++round) {
    RoundBuffer b(8);
    for (uint8_t n = 1; n <= 3; ++n) {  // honest: near the model
      b.Add(Part({0, 1, 2, 3}, {1.01f, -1.0f, 0.5f, -0.49f}), Part({0}, {0.1f}), K(n));
    }
    b.Add(Part({0, 1, 2, 3}, {-1.0f, 1.0f, -0.5f, 0.5f}), Part({0}, {-5.0f}), K(4));  // flipped
    b.ScoreOutliers(params, peers);
    if (b.DropOutlierDeltas(peers) == 1) rounds_until_ignored = round;
  }
  CHECK(rounds_until_ignored == 2);  // score 0.3 after one round, 0.51 after two
  for (uint8_t n = 1; n <= 3; ++n) CHECK(peers.Find(K(n))->outlier_score == 0.0f);
}

TEST_CASE("scoring needs three absolute blocks: with two there is no median to judge by") {
  PeerTable peers(16);
  peers.Touch(K(1), kNow);
  peers.Touch(K(2), kNow);
  RoundBuffer b(8);
  b.Add(Part({0}, {1.0f}), MergeInput{}, K(1));
  b.Add(Part({0}, {-100.0f}), MergeInput{}, K(2));
  b.ScoreOutliers(std::vector<float>{1.0f}, peers);
  CHECK(peers.Find(K(2))->outlier_score == 0.0f);
}

TEST_CASE("the peer table evicts the least recently seen peer when full") {
  PeerTable peers(2);
  peers.Touch(K(1), kNow);
  peers.Touch(K(2), kNow + 1);
  peers.Touch(K(1), kNow + 2);  // K(2) is now the least recently seen
  peers.Touch(K(3), kNow + 3);
  CHECK(peers.Find(K(1)) != nullptr);
  CHECK(peers.Find(K(2)) == nullptr);
  REQUIRE(peers.Find(K(3)) != nullptr);
  CHECK(peers.Find(K(3))->first_seen_ms == kNow + 3);
  std::vector<PeerInfo> s = peers.Snapshot(kNow + 10, 7);
  REQUIRE(s.size() == 2);
  CHECK(s[0].stale);        // K(1), seen 8 ms ago
  CHECK_FALSE(s[1].stale);  // K(3), seen 7 ms ago
}

TEST_CASE("expected delta senders: trusted peers with a recent update, and ourselves") {
  TrustStore trust;
  PeerTable peers(16);
  const int64_t interval = 1000;
  for (uint8_t n = 1; n <= 4; ++n) {
    REQUIRE(trust.Add(K(n), "p", kNow).ok());
    PeerInfo& p = peers.Touch(K(n), kNow);
    p.updates_accepted = 1;
    p.sample_weight = 10 * n;
    p.last_update_ms = kNow;
  }
  peers.Find(K(2))->last_update_ms = kNow - 5 * interval;  // silent for five rounds
  peers.Find(K(3))->updates_accepted = 0;                  // never sent an update
  REQUIRE(trust.Remove(K(4)));                             // no longer trusted
  CHECK(peers.ExpectedDeltaWeight(100.0, false, trust, kNow, interval) == 100.0 + 10.0);
  CHECK(peers.ExpectedDeltaWeight(100.0, true, trust, kNow, interval) == 2.0);
}

}  // namespace
}  // namespace dust::internal
