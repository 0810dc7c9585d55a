// Nodes agree on one input scaling (docs/engine.md, "Feature scaling").
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dust/engine/node.h"
#include "dust/ml/checkpoint.h"
#include "dust/ml/scaling.h"
#include "dust/net/trust.h"
#include "dust/util/rng.h"

using namespace dust;

namespace {

constexpr uint32_t kReadings = 6, kKinds = 3;

// Raw-scale readings: feature f of class c is around (f + 1) * 100 + 10 c, spread (f + 1);
// `offset` shifts a node's readings so that its own statistics differ from its peers'.
Dataset RawData(size_t n, uint64_t seed, float offset) {
  Dataset d(kReadings, kKinds);
  Rng rng(seed);
  std::vector<float> x(kReadings);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = static_cast<uint8_t>(rng.Below(kKinds));
    for (uint32_t f = 0; f < kReadings; ++f) {
      x[f] =
          static_cast<float>((f + 1) * 100.0 + 10.0 * c + (f + 1) * (rng.Uniform() - 0.5)) + offset;
    }
    d.AddDense(x, c);
  }
  return d;
}

// Pixels in [0, 1] as images have (k / 255), every one set in most samples, at most
// `brightness`; the first sample has every pixel at `brightness`, so that is the maximum.
Dataset ImageData(size_t n, uint64_t seed, float brightness) {
  Dataset d(kReadings, kKinds);
  Rng rng(seed);
  std::vector<float> x(kReadings);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = static_cast<uint8_t>(rng.Below(kKinds));
    for (uint32_t f = 0; f < kReadings; ++f) {
      const float pixel = i == 0 ? 1.0f : static_cast<float>(rng.Below(256)) / 255.0f;
      x[f] = brightness * pixel;
    }
    d.AddDense(x, c);
  }
  return d;
}

KeyPair ScalingKey(uint8_t n) {
  std::array<uint8_t, kSeedBytes> seed{};
  seed.fill(n);
  return KeyPairFromSeed(seed);
}

struct ScalingFleet {
  TrustStore trust;
  std::vector<Node> nodes;

  Node& Add(uint8_t id, float offset, size_t samples) {
    return Add(id, RawData(samples, id, offset));
  }

  Node& Add(uint8_t id, Dataset data) {
    NodeOptions o;
    o.layers = {kReadings, 8, kKinds};
    o.send_interval_ms = 1000;
    o.announce_interval_ms = 0;
    o.scaling_calibration_rounds = 5;
    std::string name = "node";  // (built in two steps: GCC 12 warns on "n" + to_string)
    name += std::to_string(id);
    REQUIRE(trust.Add(ScalingKey(id).public_key, name, 0).ok());
    auto n = Node::Create(o, ScalingKey(id), &trust, std::move(data), id);
    REQUIRE(n.ok());
    nodes.push_back(std::move(*n));
    return nodes.back();
  }

  // One round at `round`: every node in `live` ticks and its datagrams reach the others.
  void Round(uint64_t round, const std::vector<size_t>& live) {
    const int64_t now = static_cast<int64_t>(round) * 1000;
    std::vector<std::vector<Bytes>> out(nodes.size());
    for (size_t i : live) {
      nodes[i].TrainUnit();
      nodes[i].OnTick(now, &out[i]);
    }
    for (size_t i : live) {
      for (const Bytes& d : out[i]) {
        for (size_t j : live) {
          if (j != i) nodes[j].OnDatagram(d, SourceKey::FromIndex(i), now + 1);
        }
      }
    }
  }
};

}  // namespace

TEST_CASE("nodes pool their statistics into one scaling, and a late joiner adopts it") {
  ScalingFleet f;
  f.Add(1, 0.0f, 100);
  f.Add(2, 5.0f, 60);
  f.Add(3, -5.0f, 40);
  // Before calibration ends each node uses its own data's scaling: three different ones.
  CHECK_FALSE(f.nodes[0].scaling_status().agreed);
  CHECK(f.nodes[0].update_fingerprint() != f.nodes[1].update_fingerprint());
  CHECK(f.nodes[0].update_fingerprint() != f.nodes[0].fingerprint());
  uint64_t round = 100;
  // Calibration: rounds 100-104; the scaling freezes at the start of round 105.
  for (int i = 0; i < 5; ++i) f.Round(round++, {0, 1, 2});
  CHECK_FALSE(f.nodes[0].scaling_status().agreed);
  f.Round(round++, {0, 1, 2});
  for (const Node& n : f.nodes) {
    const ScalingStatus s = n.scaling_status();
    CHECK(s.agreed);
    CHECK(s.samples == 200);
    CHECK(s.peers_pooled == 2);
    CHECK(s.id == f.nodes[0].scaling_status().id);
    CHECK(n.update_fingerprint() == f.nodes[0].update_fingerprint());
    CHECK(n.model().scaling() == f.nodes[0].model().scaling());
  }
  // The pooled scaling standardises feature 0 around the mean of all 200 samples (~110).
  const InputScaling& s = f.nodes[0].model().scaling();
  REQUIRE_FALSE(s.identity());
  CHECK(s.center()[0] > 100.0f);
  CHECK(s.center()[0] < 120.0f);

  // From now on updates merge: no model drops for the rest of the run.
  const uint64_t dropped = f.nodes[0].counters().drops.Get(DropReason::kIncompatibleModel);
  for (int i = 0; i < 8; ++i) f.Round(round++, {0, 1, 2});
  CHECK(f.nodes[0].counters().drops.Get(DropReason::kIncompatibleModel) == dropped);
  CHECK(f.nodes[0].counters().scaling_accepted > 0);

  // A late joiner with data of its own takes the fleet's scaling from the fleet's messages
  // (every scaling_announce_rounds rounds) well before its own calibration would end.
  Node& late = f.Add(4, 50.0f, 500);
  for (int i = 0; i < 5 && !late.scaling_status().agreed; ++i) f.Round(round++, {0, 1, 2, 3});
  CHECK(late.scaling_status().agreed);
  CHECK(late.scaling_status().id == f.nodes[0].scaling_status().id);
  CHECK(late.model().scaling() == f.nodes[0].model().scaling());
  CHECK(f.nodes[0].scaling_status().samples == 200);  // the fleet does not move for it

  // A checkpoint keeps the agreed scaling; a node restarted from it is agreed at once.
  NodeOptions o = f.nodes[1].options();
  auto restarted = Node::Create(o, ScalingKey(2), &f.trust, RawData(60, 2, 5.0f), 2);
  REQUIRE(restarted.ok());
  CHECK_FALSE(restarted->scaling_status().agreed);
  REQUIRE(restarted->ImportCheckpoint(f.nodes[1].ExportCheckpoint()).ok());
  CHECK(restarted->scaling_status().agreed);
  CHECK(restarted->scaling_status().id == f.nodes[1].scaling_status().id);
  CHECK(restarted->update_fingerprint() == f.nodes[1].update_fingerprint());
  const auto a = restarted->model().params();
  const auto b = f.nodes[1].model().params();
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
}

TEST_CASE("a checkpoint whose model cannot move to the node's scaling is refused whole") {
  // Found by fuzz_checkpoint: a checkpoint written in a scale of 1e-38 moved the first layer's
  // weights to inf when the node moved it to its own scaling; the next checkpoint it wrote
  // could not be read, and the refusal had already changed the optimizer state.
  TrustStore trust;
  NodeOptions o;
  o.layers = {kReadings, 4, kKinds};
  auto node = Node::Create(o, ScalingKey(1), &trust, RawData(40, 1, 0.0f), 1);
  REQUIRE(node.ok());
  const Bytes before = node->ExportCheckpoint();
  auto c = DecodeCheckpoint(before);
  REQUIRE(c.ok());
  std::vector<float> center(kReadings, 0.0f), scale(kReadings, 1.0f);
  scale[1] = 1e-38f;
  c->scaling = InputScaling(center, scale);
  c->params[1 * 4 + 0] = 10.0f;  // feature 1's first weight: 1e39 in raw units
  c->steps += 5;
  c->rounds += 5;
  const Status st = node->ImportCheckpoint(EncodeCheckpoint(*c));
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message().find("overflows") != std::string::npos);
  CHECK(node->ExportCheckpoint() == before);
  // The same checkpoint in a scale that fits is taken, and what it writes reads back.
  scale[1] = 1e-3f;
  c->scaling = InputScaling(center, scale);
  REQUIRE(node->ImportCheckpoint(EncodeCheckpoint(*c)).ok());
  const Bytes after = node->ExportCheckpoint();
  REQUIRE(node->ImportCheckpoint(after).ok());
  CHECK(node->ExportCheckpoint() == after);
}

TEST_CASE("two groups that froze different scalings converge on the one with more samples") {
  ScalingFleet f;
  f.Add(1, 0.0f, 100);
  f.Add(2, 3.0f, 100);
  f.Add(3, -20.0f, 30);
  uint64_t round = 10;
  // Calibrate apart: {0, 1} and {2}.
  for (int i = 0; i < 6; ++i) {
    f.Round(round, {0, 1});
    f.Round(round++, {2});
  }
  REQUIRE(f.nodes[0].scaling_status().agreed);
  REQUIRE(f.nodes[2].scaling_status().agreed);
  REQUIRE(f.nodes[0].scaling_status().id != f.nodes[2].scaling_status().id);
  // Heal: node 2 (30 samples) moves to the group's scaling (200 samples), not the reverse.
  for (int i = 0; i < 5; ++i) f.Round(round++, {0, 1, 2});
  CHECK(f.nodes[2].scaling_status().id == f.nodes[0].scaling_status().id);
  CHECK(f.nodes[2].scaling_status().samples == 200);
  CHECK(f.nodes[0].scaling_status().samples == 200);
  CHECK(f.nodes[2].scaling_status().changes >= 1);
}

TEST_CASE("nodes with [0, 1] data merge from the first round and keep the identity") {
  // Non-IID slices of images: node 1's pixels never reach 1. Scaled by its own data's rule,
  // it would divide them by 0.6 while node 2 kept them, and their updates could not merge
  // until calibration ended (what cost MNIST-like data accuracy, docs/benchmarks.md).
  Dataset dim = ImageData(100, 1, 0.6f);
  REQUIRE_FALSE(ScalingFor(FeatureMoments::Of(dim)).identity());
  ScalingFleet f;
  f.Add(1, std::move(dim));
  f.Add(2, ImageData(100, 2, 1.0f));
  for (const Node& n : f.nodes) CHECK(n.update_fingerprint() == n.fingerprint());
  uint64_t round = 1;
  for (int i = 0; i < 8; ++i) f.Round(round++, {0, 1});
  for (const Node& n : f.nodes) {
    const ScalingStatus s = n.scaling_status();
    CHECK(s.agreed);
    CHECK(s.samples == 200);
    CHECK(s.changes == 0);  // the pooled scaling is the identity too: the model never moved
    CHECK(n.model().scaling().identity());
    CHECK(n.counters().drops.Get(DropReason::kIncompatibleModel) == 0);
    CHECK(n.counters().updates_accepted >= 7);
  }
}
