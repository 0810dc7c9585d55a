// Differential privacy in the node (node.h DpOptions): the accountant composes every noisy step
// at q = batch / current samples, the budget stops local training but not merging, the
// checkpoint carries the accountant, announces carry the epsilon.
#include <catch2/catch.hpp>
#include <vector>

#include "dust/engine/node.h"
#include "dust/ml/checkpoint.h"
#include "dust/ml/privacy.h"
#include "dust/net/trust.h"
#include "dust/util/rng.h"

namespace dust {
namespace {

constexpr int64_t kDpT0 = 1'700'000'000'000;

Dataset DpData(size_t n, uint64_t seed) {
  Dataset d(16, 2);
  Rng rng(seed);
  std::vector<float> x(16);
  for (size_t i = 0; i < n; ++i) {
    for (float& v : x) v = rng.UniformFloat();
    d.AddDense(x, static_cast<uint8_t>(i % 2));
  }
  return d;
}

KeyPair DpKey(uint8_t n) {
  std::array<uint8_t, kSeedBytes> seed{};
  seed.fill(n);
  return KeyPairFromSeed(seed);
}

NodeOptions DpNode(double budget) {
  NodeOptions o;
  o.layers = {16, 8, 2};
  o.scaling = ScalingMode::kNone;
  o.sgd.batch_size = 10;
  o.announce_interval_ms = 1000;
  o.dp.noise_multiplier = 1.0f;
  o.dp.clip = 1.0f;
  o.dp.epsilon_budget = budget;
  o.dp.seed = 5;
  return o;
}

TEST_CASE("node DP: every noisy step is composed at q = batch / current samples") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  auto node = Node::Create(DpNode(0), DpKey(1), &trust, DpData(200, 1), 1);
  REQUIRE(node.ok());
  CHECK(node->dp_status().enabled);
  CHECK(node->dp_status().epsilon == 0.0);  // nothing spent before the first step
  for (int i = 0; i < 30; ++i) node->TrainUnit();
  RdpAccountant expect;
  expect.Compose(10.0 / 200.0, 1.0, 30);
  // Default delta: min(1e-5, 0.1 / 200) = 1e-5.
  CHECK(node->dp_status().delta == 1e-5);
  CHECK(node->dp_status().steps == 30);
  CHECK(node->dp_status().epsilon == Approx(expect.Spent(1e-5).epsilon).epsilon(1e-12));
  // A rescan with other data: the accountant keeps composing (no fresh budget), now at
  // q = 10 / 50.
  REQUIRE(node->SetDataset(DpData(50, 2)).ok());
  for (int i = 0; i < 5; ++i) node->TrainUnit();
  expect.Compose(10.0 / 50.0, 1.0, 5);
  CHECK(node->dp_status().steps == 35);
  CHECK(node->dp_status().epsilon == Approx(expect.Spent(1e-5).epsilon).epsilon(1e-12));
}

TEST_CASE("node DP: the budget stops local training before it is passed; merging goes on") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  // The epsilon after 20 steps is the budget: the 21st step would pass it.
  RdpAccountant at20;
  at20.Compose(10.0 / 200.0, 1.0, 20);
  const double budget = at20.Spent(1e-5).epsilon + 1e-9;
  auto node = Node::Create(DpNode(budget), DpKey(1), &trust, DpData(200, 1), 1);
  REQUIRE(node.ok());
  uint32_t trained = 0;
  for (int i = 0; i < 30; ++i) trained += node->TrainUnit().samples > 0 ? 1 : 0;
  CHECK(node->dp_status().steps == 20);
  CHECK(node->dp_status().exhausted);
  CHECK(node->dp_status().epsilon <= budget);
  CHECK(trained <= 20);
  const std::vector<float> before(node->model().params().begin(), node->model().params().end());
  CHECK(node->TrainUnit().samples == 0);
  CHECK(std::vector<float>(node->model().params().begin(), node->model().params().end()) == before);
  // Still gossiping: an update and an announce go out, the announce with the epsilon.
  std::vector<Bytes> out;
  node->OnTick(kDpT0, &out);
  CHECK(out.size() == 2);
}

TEST_CASE("node DP: the accountant survives a checkpoint; older checkpoints still load") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  auto node = Node::Create(DpNode(0), DpKey(1), &trust, DpData(200, 1), 1);
  REQUIRE(node.ok());
  const Bytes fresh = node->ExportCheckpoint();
  REQUIRE(DecodeCheckpoint(fresh).ok());
  CHECK_FALSE(DecodeCheckpoint(fresh)->dp.has_value());  // no noisy step: no block
  for (int i = 0; i < 12; ++i) node->TrainUnit();
  const Bytes cp = node->ExportCheckpoint();
  auto decoded = DecodeCheckpoint(cp);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->dp.has_value());
  CHECK(decoded->dp->steps == 12);
  auto restarted = Node::Create(DpNode(0), DpKey(1), &trust, DpData(200, 1), 1);
  REQUIRE(restarted.ok());
  REQUIRE(restarted->ImportCheckpoint(cp).ok());
  CHECK(restarted->dp_status().steps == 12);
  CHECK(restarted->dp_status().epsilon == node->dp_status().epsilon);
  // A node restarted without DP still reports what was spent.
  NodeOptions off = DpNode(0);
  off.dp = {};
  auto plain = Node::Create(off, DpKey(1), &trust, DpData(200, 1), 1);
  REQUIRE(plain.ok());
  REQUIRE(plain->ImportCheckpoint(cp).ok());
  CHECK_FALSE(plain->dp_status().enabled);
  CHECK(plain->dp_status().steps == 12);
  // A checkpoint without the block (an older version's) loads and leaves the accountant as is.
  auto again = Node::Create(DpNode(0), DpKey(1), &trust, DpData(200, 1), 1);
  REQUIRE(again.ok());
  REQUIRE(again->ImportCheckpoint(fresh).ok());
  CHECK(again->dp_status().steps == 0);
  // A damaged accountant (a negative RDP, checksum recomputed) is refused as corrupt.
  Checkpoint bad = *decoded;
  bad.dp->rdp[10] = -1.0;
  CHECK(DecodeCheckpoint(EncodeCheckpoint(bad)).status().code() == StatusCode::kCorrupt);
}

TEST_CASE("node DP: announces carry the epsilon and, by option, no private statistics") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  NodeOptions o = DpNode(4.0);
  o.announce_stats = false;
  auto a = Node::Create(o, DpKey(1), &trust, DpData(200, 1), 1);
  NodeOptions plain = DpNode(0);
  plain.dp = {};
  auto b = Node::Create(plain, DpKey(2), &trust, DpData(200, 2), 2);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(trust.Add(DpKey(1).public_key, "a", kDpT0).ok());
  a->set_accuracy_bp(9000);
  for (int i = 0; i < 7; ++i) a->TrainUnit();
  std::vector<Bytes> out;
  a->OnTick(kDpT0, &out);
  for (const Bytes& d : out) b->OnDatagram(d, SourceKey::FromIndex(1), kDpT0 + 1);
  const std::vector<PeerInfo> peers = b->Peers(kDpT0 + 2);
  REQUIRE(peers.size() == 1);
  REQUIRE(peers[0].dp_epsilon.has_value());
  CHECK(*peers[0].dp_epsilon == Approx(a->dp_status().epsilon).epsilon(1e-6));
  CHECK(peers[0].dp_epsilon_budget == 4.0f);
  CHECK(peers[0].accuracy_bp == kAccuracyUnknown);
}

}  // namespace
}  // namespace dust
