// The engine's node state machine, driven directly (no simulator): exchange, trust, restart.
#include "dust/engine/node.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <optional>
#include <string>

#include "dust/ml/checkpoint.h"
#include "dust/ml/idx_reader.h"
#include "dust/net/trust.h"
#include "dust/net/wire.h"
#include "dust/util/crypto.h"
#include "dust/util/rng.h"

namespace dust {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr uint32_t kFeatures = 64, kClasses = 4;

// Class c lights up features [16c, 16c + 16) (plus noise), so classes are learnable and a node
// holding only some classes learns a model that differs from its peers'.
Dataset MakeData(std::vector<uint8_t> classes, size_t per_class, uint64_t seed) {
  Dataset d(kFeatures, kClasses);
  Rng rng(seed);
  std::vector<float> x(kFeatures);
  for (size_t i = 0; i < per_class; ++i) {
    for (uint8_t c : classes) {
      for (uint32_t f = 0; f < kFeatures; ++f) {
        bool on = f / 16 == c;
        x[f] = on ? 0.5f + 0.5f * rng.UniformFloat() : (rng.UniformFloat() < 0.1f ? 0.5f : 0.0f);
      }
      d.AddDense(x, c);
    }
  }
  return d;
}

KeyPair Key(uint8_t n) {
  std::array<uint8_t, kSeedBytes> seed{};
  seed.fill(n);
  return KeyPairFromSeed(seed);
}

NodeOptions Options() {
  NodeOptions o;
  o.layers = {kFeatures, 16, kClasses};
  o.init_seed = 3;
  o.sgd.learning_rate = 0.1f;
  o.send_interval_ms = 1000;
  o.announce_interval_ms = 0;
  // These tests are about gossip; scaling has its own tests (node_scaling_test.cpp), and each
  // node's data here would give it a slightly different scaling for its first rounds.
  o.scaling = ScalingMode::kNone;
  return o;
}

double Distance(const Node& a, const Node& b) {
  double s = 0;
  auto pa = a.model().params(), pb = b.model().params();
  for (size_t i = 0; i < pa.size(); ++i) s += (pa[i] - pb[i]) * (pa[i] - pb[i]);
  return std::sqrt(s);
}

// One round: everyone trains, sends, then every datagram reaches everyone else (unless
// `connected` is false), then everyone merges.
void Round(std::vector<Node*>& nodes, int64_t now, bool connected) {
  std::vector<std::vector<Bytes>> out(nodes.size());
  for (Node* n : nodes) n->TrainUnit();
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i]->OnTick(now, &out[i]);
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const Bytes& d : out[i]) {
      REQUIRE(d.size() <= kMaxDatagramBytes);
      if (!connected) continue;
      for (size_t j = 0; j < nodes.size(); ++j) {
        if (j != i) nodes[j]->OnDatagram(d, SourceKey::FromIndex(i), now + 1);
      }
    }
  }
  std::vector<Bytes> none;
  for (Node* n : nodes) n->OnTick(now + 500, &none);
}

struct Trio {
  TrustStore trust;
  std::vector<Node> nodes;
  Trio() {
    REQUIRE(InitCrypto().ok());
    std::vector<std::vector<uint8_t>> classes = {{0, 1}, {2, 3}, {0, 3}};
    for (uint8_t i = 0; i < 3; ++i) REQUIRE(trust.Add(Key(i + 1).public_key, "n", kT0).ok());
    for (uint8_t i = 0; i < 3; ++i) {
      auto n = Node::Create(Options(), Key(i + 1), &trust, MakeData(classes[i], 60, i), 10 + i);
      REQUIRE(n.ok());
      nodes.push_back(std::move(*n));
    }
  }
  std::vector<Node*> Ptrs() { return {&nodes[0], &nodes[1], &nodes[2]}; }
};

TEST_CASE("three nodes exchanging updates converge toward each other; isolated ones drift") {
  Trio linked, alone;
  auto lp = linked.Ptrs(), ap = alone.Ptrs();
  for (int r = 0; r < 60; ++r) {
    Round(lp, kT0 + r * 1000, true);
    Round(ap, kT0 + r * 1000, false);
  }
  double d_linked = Distance(linked.nodes[0], linked.nodes[1]);
  double d_alone = Distance(alone.nodes[0], alone.nodes[1]);
  INFO("linked " << d_linked << " alone " << d_alone);
  CHECK(d_alone > 0.1);
  CHECK(d_linked < 0.1 * d_alone);
  NodeCounters c = linked.nodes[0].counters();
  CHECK(c.updates_accepted == 2 * 60);
  CHECK(c.updates_merged > 0);
  CHECK(c.max_datagram_bytes <= kMaxDatagramBytes);
  auto peers = linked.nodes[0].Peers(kT0 + 60 * 1000);
  REQUIRE(peers.size() == 2);
  for (const auto& p : peers) {
    CHECK(p.updates_accepted == 60);
    CHECK_FALSE(p.stale);
  }
}

TEST_CASE("datagrams from an untrusted sender are dropped and never merged") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust_a;  // A trusts nobody
  TrustStore trust_b;
  REQUIRE(trust_b.Add(Key(1).public_key, "a", kT0).ok());
  auto a = Node::Create(Options(), Key(1), &trust_a, MakeData({0, 1}, 40, 1), 1);
  auto b = Node::Create(Options(), Key(2), &trust_b, MakeData({2, 3}, 40, 2), 2);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::vector<Bytes> out, none;
  for (int r = 0; r < 5; ++r) {
    b->TrainUnit();
    out.clear();
    b->OnTick(kT0 + r * 1000, &out);
    std::vector<float> before(a->model().params().begin(), a->model().params().end());
    for (const Bytes& d : out) {
      DatagramOutcome o = a->OnDatagram(d, SourceKey::FromIndex(2), kT0 + r * 1000);
      CHECK_FALSE(o.accepted);
      CHECK(o.drop == DropReason::kUntrusted);
    }
    a->OnTick(kT0 + r * 1000 + 500, &none);
    CHECK(std::equal(before.begin(), before.end(), a->model().params().begin()));
  }
  NodeCounters c = a->counters();
  CHECK(c.updates_accepted == 0);
  bool found = false;
  for (const auto& [name, n] : c.drops) {
    if (name == "untrusted") {
      CHECK(n == 5);
      found = true;
    }
  }
  CHECK(found);
  CHECK(a->Peers(kT0).empty());
}

uint64_t DropCount(const Node& n, const std::string& reason) {
  for (const auto& [name, count] : n.counters().drops) {
    if (name == reason) return count;
  }
  FAIL("no drop counter named " << reason);
  return 0;
}

TEST_CASE("a node's own datagrams are never a peer's, even when its trust store holds its key") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;  // shared, as in dust-sim: it holds every node's key, this node's included
  REQUIRE(trust.Add(Key(1).public_key, "self", kT0).ok());
  auto a = Node::Create(Options(), Key(1), &trust, MakeData({0, 1}, 40, 1), 1);
  REQUIRE(a.ok());
  a->TrainUnit();
  std::vector<Bytes> out, none;
  a->OnTick(kT0, &out);  // its update (and announce), as a broadcast would loop them back
  REQUIRE_FALSE(out.empty());
  for (const Bytes& d : out) {
    DatagramOutcome o = a->OnDatagram(d, SourceKey::FromIndex(1), kT0 + 10);
    CHECK_FALSE(o.accepted);
    CHECK(o.drop == DropReason::kUntrusted);
  }
  CHECK(a->counters().updates_accepted == 0);
  CHECK(a->counters().announces_accepted == 0);
  CHECK(a->Peers(kT0).empty());
}

TEST_CASE("a peer's announced schedule position reaches Peers(); one without clears it") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  REQUIRE(trust.Add(Key(1).public_key, "a", kT0).ok());
  REQUIRE(trust.Add(Key(2).public_key, "b", kT0).ok());
  NodeOptions o = Options();
  o.announce_interval_ms = 1000;
  auto a = Node::Create(o, Key(1), &trust, MakeData({0, 1}, 40, 1), 1);
  auto b = Node::Create(o, Key(2), &trust, MakeData({2, 3}, 40, 2), 2);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // Delivers a's datagrams of one tick at `now` to b; b's view of a afterwards.
  auto deliver = [&](int64_t now) {
    std::vector<Bytes> out;
    a->OnTick(now, &out);
    for (const Bytes& d : out) b->OnDatagram(d, SourceKey::FromIndex(1), now + 1);
    std::vector<PeerInfo> peers = b->Peers(now + 1);
    REQUIRE(peers.size() == 1);
    return peers[0];
  };
  a->set_schedule_position(5210);
  PeerInfo seen = deliver(kT0);
  CHECK(seen.announces == 1);
  CHECK(seen.schedule_position == std::optional<uint64_t>(5210));
  CHECK(seen.schedule_position_ms == kT0 + 1);
  a->set_schedule_position(std::nullopt);  // e.g. a peer downgraded to a version without it
  seen = deliver(kT0 + 1000);
  CHECK(seen.announces == 2);
  CHECK(!seen.schedule_position);
}

TEST_CASE("a node that listens first takes the fleet's model without pulling it, then speaks") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  REQUIRE(trust.Add(Key(1).public_key, "settled", kT0).ok());
  REQUIRE(trust.Add(Key(2).public_key, "joiner", kT0).ok());
  // Exchanges one round of updates between a and b (no training), then both merge.
  auto exchange = [](Node& a, Node& b, int64_t now) {
    std::vector<Bytes> out_a, out_b;
    a.OnTick(now, &out_a);
    b.OnTick(now, &out_b);
    for (const Bytes& d : out_a) b.OnDatagram(d, SourceKey::FromIndex(1), now + 1);
    for (const Bytes& d : out_b) a.OnDatagram(d, SourceKey::FromIndex(2), now + 1);
    a.OnTick(now + 2, &out_a);
    b.OnTick(now + 2, &out_b);
  };
  // How far the settled node's model moves in the first round with a fresh joiner that
  // listens or does not; and the joiner afterwards.
  auto join = [&](bool listen, double* settled_moved, std::optional<Node>* joiner_out,
                  std::optional<Node>* settled_out) {
    auto settled = Node::Create(Options(), Key(1), &trust, MakeData({0, 1}, 40, 1), 1);
    REQUIRE(settled.ok());
    // Far from the initial model, with no training pending (no deltas): only the absolute
    // values move models here.
    for (float& w : settled->mutable_model().params()) w += 0.5f;
    NodeOptions o = Options();
    o.listen_first = listen;
    auto joiner = Node::Create(o, Key(2), &trust, MakeData({2, 3}, 40, 2), 2);
    REQUIRE(joiner.ok());
    CHECK(joiner->listening() == listen);
    const std::vector<float> before(settled->model().params().begin(),
                                    settled->model().params().end());
    exchange(*settled, *joiner, kT0);
    double d = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      const double x = settled->model().params()[i] - before[i];
      d += x * x;
    }
    *settled_moved = std::sqrt(d);
    joiner_out->emplace(std::move(*joiner));
    settled_out->emplace(std::move(*settled));
  };
  double moved_listening = 0, moved_plain = 0;
  std::optional<Node> joiner, settled, plain_joiner, plain_settled;
  join(true, &moved_listening, &joiner, &settled);
  join(false, &moved_plain, &plain_joiner, &plain_settled);
  REQUIRE(moved_plain > 0);
  // The listening joiner's update was merged (weight 0 is counted as 1, not refused), with
  // weight 1 against 80 samples, where the plain joiner weighs 80 like the settled node.
  CHECK(settled->counters().updates_merged > 0);
  CHECK(moved_listening > 0);
  CHECK(moved_listening < moved_plain / 20);
  // The model here has two blocks of absolute values: two rounds cover it.
  const double gap_before = Distance(*joiner, *settled);
  for (int r = 1; r < 4 && joiner->listening(); ++r) exchange(*settled, *joiner, kT0 + r * 1000);
  CHECK_FALSE(joiner->listening());
  CHECK(Distance(*joiner, *settled) < gap_before / 20);
  // Once it has stopped listening, its updates carry its sample count again.
  std::vector<Bytes> out;
  joiner->OnTick(kT0 + 10000, &out);
  REQUIRE_FALSE(out.empty());
  Result<ParsedDatagram> p = ParseDatagram(out[0]);
  REQUIRE(p.ok());
  CHECK(p->header.type == MessageType::kUpdate);
  CHECK(p->header.sample_weight == 80);
}

TEST_CASE("a restored checkpoint ends listening: the model is not fresh") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  NodeOptions o = Options();
  o.listen_first = true;
  auto a = Node::Create(o, Key(1), &trust, MakeData({0, 1}, 40, 1), 1);
  REQUIRE(a.ok());
  REQUIRE(a->listening());
  Bytes ckpt = a->ExportCheckpoint();
  REQUIRE(a->ImportCheckpoint(ckpt).ok());
  CHECK_FALSE(a->listening());
}

TEST_CASE("removing trust takes effect at once: updates buffered before it are not merged") {
  // Two identical clusters; in `with`, node 1 has node 0's last update buffered when node 0
  // loses its trust, in `without` that update never arrived. Node 1 must end up identical.
  Trio with, without;
  const int64_t now = kT0 + 3 * 1000;
  for (Trio* t : {&with, &without}) {
    auto p = t->Ptrs();
    for (int r = 0; r < 3; ++r) Round(p, kT0 + r * 1000, true);  // every peer known and active
    std::vector<std::vector<Bytes>> out(3);
    for (Node& n : t->nodes) n.TrainUnit();
    for (size_t i = 0; i < 3; ++i) t->nodes[i].OnTick(now, &out[i]);
    REQUIRE_FALSE(out[0].empty());
    for (size_t i = 0; i < 3; ++i) {
      if (i == 1 || (i == 0 && t == &without)) continue;
      for (const Bytes& d : out[i]) {
        REQUIRE(t->nodes[1].OnDatagram(d, SourceKey::FromIndex(i), now + 1).accepted);
      }
    }
    REQUIRE(t->trust.Remove(Key(1).public_key));  // node 0's key
    std::vector<Bytes> none;
    t->nodes[1].OnTick(now + 500, &none);
  }
  CHECK(Distance(with.nodes[1], without.nodes[1]) == 0.0);
  CHECK(DropCount(with.nodes[1], "revoked_before_merge") == 1);  // one update (two parts)
  CHECK(DropCount(without.nodes[1], "revoked_before_merge") == 0);
}

TEST_CASE(
    "a revoked peer no longer counts as an expected sender, so the others' step is not shrunk") {
  // Same history; in the last round node 0's update does not reach node 1. In `lost` node 0 is
  // still trusted (a lost datagram shrinks the step: node 0 was expected), in `revoked` its
  // trust was removed, so the step is the mean of the updates of those still trusted.
  Trio lost, revoked;
  const int64_t now = kT0 + 3 * 1000;
  double step[2] = {0, 0};
  int which = 0;
  for (Trio* t : {&lost, &revoked}) {
    auto p = t->Ptrs();
    for (int r = 0; r < 3; ++r) Round(p, kT0 + r * 1000, true);
    std::vector<std::vector<Bytes>> out(3);
    for (Node& n : t->nodes) n.TrainUnit();
    for (size_t i = 0; i < 3; ++i) t->nodes[i].OnTick(now, &out[i]);
    for (const Bytes& d : out[2]) {
      REQUIRE(t->nodes[1].OnDatagram(d, SourceKey::FromIndex(2), now + 1).accepted);
    }
    if (t == &revoked) REQUIRE(t->trust.Remove(Key(1).public_key));
    std::vector<float> before(t->nodes[1].model().params().begin(),
                              t->nodes[1].model().params().end());
    std::vector<Bytes> none;
    t->nodes[1].OnTick(now + 500, &none);
    double s2 = 0;
    auto after = t->nodes[1].model().params();
    for (size_t i = 0; i < before.size(); ++i)
      s2 += (after[i] - before[i]) * (after[i] - before[i]);
    step[which++] = std::sqrt(s2);
  }
  INFO("step with node 0 lost " << step[0] << ", with node 0 revoked " << step[1]);
  CHECK(step[0] > 0.0);
  CHECK(step[1] > step[0]);
}

TEST_CASE("an outcome names the sender once authenticated, and every datagram adds up once") {
  Trio t;
  // Node 0 sends absurd values (the simulator's attack hook), which node 1 quarantines after
  // the signature verified.
  NodeOptions bad = Options();
  bad.tamper_outgoing = [](uint64_t, std::vector<uint32_t>&, std::vector<float>& v) {
    for (float& x : v) x *= 1e6f;
  };
  auto liar = Node::Create(bad, Key(1), &t.trust, MakeData({0, 1}, 60, 0), 10);
  REQUIRE(liar.ok());
  Node& honest = t.nodes[2];
  Node& receiver = t.nodes[1];
  std::vector<Bytes> good, lie;
  honest.TrainUnit();
  liar->TrainUnit();
  honest.OnTick(kT0, &good);
  liar->OnTick(kT0, &lie);
  REQUIRE(good.size() == 1);
  REQUIRE(lie.size() == 1);

  DatagramOutcome ok = receiver.OnDatagram(good[0], SourceKey::FromIndex(2), kT0 + 1);
  CHECK(ok.accepted);
  CHECK_FALSE(ok.drop.has_value());
  CHECK(ok.sender == Key(3).public_key);
  CHECK(ok.type == MessageType::kUpdate);

  DatagramOutcome replay = receiver.OnDatagram(good[0], SourceKey::FromIndex(2), kT0 + 2);
  CHECK_FALSE(replay.accepted);
  CHECK(replay.drop == DropReason::kReplay);
  CHECK_FALSE(replay.sender.has_value());  // refused before the signature was checked

  DatagramOutcome q = receiver.OnDatagram(lie[0], SourceKey::FromIndex(0), kT0 + 3);
  CHECK_FALSE(q.accepted);
  CHECK(q.drop == DropReason::kQuarantinedAbsurdNorm);
  CHECK(q.sender == Key(1).public_key);

  NodeCounters c = receiver.counters();
  CHECK(c.drops.Get(DropReason::kQuarantined) == 1);
  CHECK(c.drops.Get(DropReason::kQuarantinedAbsurdNorm) == 1);
  CHECK(c.drops.Get(DropReason::kReplay) == 1);
  CHECK(c.datagrams_received == c.updates_accepted + c.announces_accepted + c.drops.Total());
}

TEST_CASE("garbage datagrams are counted as malformed and change nothing") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  auto a = Node::Create(Options(), Key(1), &trust, MakeData({0}, 10, 1), 1);
  REQUIRE(a.ok());
  Rng rng(5);
  for (size_t len : {0u, 1u, 141u, 142u, 600u, 1452u, 1453u, 4000u}) {
    Bytes junk(len);
    for (auto& b : junk) b = static_cast<uint8_t>(rng.Next());
    CHECK_FALSE(a->OnDatagram(junk, SourceKey::FromIndex(9), kT0).accepted);
  }
  CHECK(a->counters().datagrams_received == 8);
  CHECK(a->counters().updates_accepted == 0);
}

TEST_CASE("a node restarted from its checkpoint catches up with its peers") {
  Trio t;
  auto p = t.Ptrs();
  // Node 2 persists its counter mark through the hook, as the daemon does.
  std::optional<Bytes> checkpoint;
  for (int r = 0; r < 20; ++r) {
    Round(p, kT0 + r * 1000, true);
    if (r == 9) checkpoint = t.nodes[2].ExportCheckpoint();
  }
  // Restart node 2 from the round-10 checkpoint, 10 rounds behind; its counters continue
  // above what it used (a fresh allocator from the mark it would have persisted).
  NodeOptions o = Options();
  o.counter_mark = 1u << 20;
  auto restarted = Node::Create(o, Key(3), &t.trust, MakeData({0, 3}, 60, 2), 99);
  REQUIRE(restarted.ok());
  REQUIRE(restarted->ImportCheckpoint(*checkpoint).ok());
  t.nodes[2] = std::move(*restarted);
  p = t.Ptrs();
  double behind = Distance(t.nodes[2], t.nodes[0]);
  for (int r = 20; r < 60; ++r) Round(p, kT0 + r * 1000, true);
  double after = Distance(t.nodes[2], t.nodes[0]);
  INFO("behind " << behind << " after " << after);
  CHECK(after < 0.2 * behind);
  CHECK(t.nodes[0].counters().updates_accepted > 0);
}

TEST_CASE("a checkpoint keeps the local progress not yet sent") {
  Trio t;
  // Train without sending: all of node 0's progress waits in its error-feedback accumulator.
  for (int i = 0; i < 5; ++i) t.nodes[0].TrainUnit();
  const Bytes cp = t.nodes[0].ExportCheckpoint();
  auto decoded = DecodeCheckpoint(cp);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->residual.size() == t.nodes[0].model().num_params());
  CHECK(std::any_of(decoded->residual.begin(), decoded->residual.end(),
                    [](float v) { return v != 0.0f; }));
  // A restarted node 0 (same key and options, new process) resumes with it, bit for bit.
  auto restarted = Node::Create(Options(), Key(1), &t.trust, MakeData({0, 1}, 60, 0), 10);
  REQUIRE(restarted.ok());
  REQUIRE(restarted->ImportCheckpoint(cp).ok());
  CHECK(restarted->ExportCheckpoint() == cp);
  // ... and sends that progress: its first update is the one the original would have sent,
  // byte for byte (same key, counters, round and accumulator).
  std::vector<Bytes> from_restarted, from_original;
  restarted->OnTick(kT0, &from_restarted);
  t.nodes[0].OnTick(kT0, &from_original);
  REQUIRE_FALSE(from_original.empty());
  CHECK(from_restarted == from_original);
}

TEST_CASE("checkpoint import refuses corruption and other models") {
  Trio t;
  Bytes cp = t.nodes[0].ExportCheckpoint();
  REQUIRE(t.nodes[1].ImportCheckpoint(cp).ok());
  CHECK(Distance(t.nodes[0], t.nodes[1]) == 0.0);
  // A refused import changes nothing: node 2 (trained, with its own state) exports the same
  // bytes before and after each refusal.
  auto p = t.Ptrs();
  Round(p, kT0, true);
  const Bytes before = t.nodes[2].ExportCheckpoint();
  Bytes bad = cp;
  bad[40] ^= 1;
  CHECK(t.nodes[2].ImportCheckpoint(bad).code() == StatusCode::kCorrupt);
  CHECK_FALSE(t.nodes[2].ImportCheckpoint(ByteView(cp.data(), cp.size() - 1)).ok());
  NodeOptions o = Options();
  o.layers = {kFeatures, 8, kClasses};
  auto other = Node::Create(o, Key(9), &t.trust, Dataset(), 1);
  REQUIRE(other.ok());
  CHECK(other->ImportCheckpoint(cp).code() == StatusCode::kInvalidArgument);
  CHECK(t.nodes[2].ImportCheckpoint(other->ExportCheckpoint()).code() ==
        StatusCode::kInvalidArgument);
  CHECK(t.nodes[2].ExportCheckpoint() == before);
}

TEST_CASE("a checkpoint in the 0.1.0 layout (DSTN) still imports, so an upgrade keeps the model") {
  Trio t;
  auto p = t.Ptrs();
  for (int r = 0; r < 5; ++r) Round(p, kT0 + r * 1000, true);
  auto now = DecodeCheckpoint(t.nodes[0].ExportCheckpoint());
  REQUIRE(now.ok());
  // The bytes 0.1.0's Node::ExportCheckpoint wrote for the same state (layout in node.cpp).
  Bytes old;
  ByteWriter w(&old);
  for (char c : {'D', 'S', 'T', 'N'}) w.U8(static_cast<uint8_t>(c));
  w.U8(1);
  w.U8(0);
  w.U16(0);
  w.U32(static_cast<uint32_t>(now->layer_sizes.size()));
  for (uint32_t l : now->layer_sizes) w.U32(l);
  w.U64(now->init_seed);
  w.U64(now->rounds);
  w.U64(now->samples_seen);
  w.U64(now->steps);
  w.U32(static_cast<uint32_t>(now->params.size()));
  for (float v : now->params) w.F32(v);
  for (float v : now->momentum) w.F32(v);
  w.U64(Checksum64(old));
  REQUIRE(t.nodes[1].ImportCheckpoint(old).ok());
  auto imported = DecodeCheckpoint(t.nodes[1].ExportCheckpoint());
  REQUIRE(imported.ok());
  CHECK(imported->params == now->params);
  CHECK(imported->momentum == now->momentum);
  CHECK(imported->steps == now->steps);
  CHECK(imported->rounds == now->rounds);
  CHECK(imported->samples_seen == now->samples_seen);
  CHECK(imported->residual.empty());  // 0.1.0 did not keep it
  // Damaged old bytes are refused like new ones.
  Bytes bad = old;
  bad[old.size() / 2] ^= 1;
  CHECK(t.nodes[1].ImportCheckpoint(bad).code() == StatusCode::kCorrupt);
}

TEST_CASE("node creation refuses bad options and mismatched data") {
  TrustStore trust;
  NodeOptions o = Options();
  CHECK_FALSE(Node::Create(o, Key(1), nullptr, Dataset(), 1).ok());
  o.send_interval_ms = 0;
  CHECK_FALSE(Node::Create(o, Key(1), &trust, Dataset(), 1).ok());
  o = Options();
  Dataset wide(kFeatures + 1, kClasses);
  wide.AddDense(std::vector<float>(kFeatures + 1, 1.0f), 0);
  CHECK_FALSE(Node::Create(o, Key(1), &trust, std::move(wide), 1).ok());
}

// The bundled MNIST subset, split by digit: three devices, the middle one the only holder of
// digits 4 to 6. It trains with the others for `together` rounds, then is away for `away`;
// node 0's accuracy on the test images of digits 4 to 6 before it left and at the end.
std::pair<double, double> MiddleDigitsWhileAway(int64_t memory_horizon_ms, int together, int away) {
  const std::string dir = std::string(DUST_SOURCE_DIR) + "/data/mnist-10k";
  auto train = LoadIdx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz",
                       LoadOptions{});
  auto test = LoadIdx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz",
                      LoadOptions{});
  REQUIRE(train.ok());
  REQUIRE(test.ok());
  auto digits = [](const Dataset& d, uint8_t lo, uint8_t hi) {
    std::vector<uint32_t> idx;
    for (uint32_t i = 0; i < d.size(); ++i) {
      if (d.label(i) >= lo && d.label(i) <= hi) idx.push_back(i);
    }
    return d.Subset(idx);
  };
  TrustStore trust;
  std::vector<Node> nodes;
  const std::pair<uint8_t, uint8_t> held[] = {{0, 3}, {4, 6}, {7, 9}};
  for (uint8_t i = 0; i < 3; ++i) REQUIRE(trust.Add(Key(i + 1).public_key, "n", kT0).ok());
  for (uint8_t i = 0; i < 3; ++i) {
    NodeOptions o = Options();
    o.layers = {784, 32, 10};
    o.peer_memory_horizon_ms = memory_horizon_ms;
    auto n =
        Node::Create(o, Key(i + 1), &trust, digits(*train, held[i].first, held[i].second), 10 + i);
    REQUIRE(n.ok());
    nodes.push_back(std::move(*n));
  }
  const Dataset middle = digits(*test, 4, 6);
  std::vector<Node*> all = {&nodes[0], &nodes[1], &nodes[2]}, left = {&nodes[0], &nodes[2]};
  int r = 0;
  for (; r < together; ++r) Round(all, kT0 + r * 1000, true);
  const double before = Evaluate(nodes[0].model(), middle).accuracy;
  for (; r < together + away; ++r) Round(left, kT0 + r * 1000, true);
  return {before, Evaluate(nodes[0].model(), middle).accuracy};
}

TEST_CASE("what an absent peer alone taught the fleet is kept while it is away") {
  REQUIRE(InitCrypto().ok());
  // Without memory the two others train digits 4 to 6 away (their only holder is gone); with
  // it they keep taking its step for it and stay where they were (the goal: within 3
  // points).
  const auto [before_off, after_off] = MiddleDigitsWhileAway(0, 150, 100);
  const auto [before_on, after_on] =
      MiddleDigitsWhileAway(NodeOptions{}.peer_memory_horizon_ms, 150, 100);
  INFO("memory off: " << before_off << " -> " << after_off << "; on: " << before_on << " -> "
                      << after_on);
  CHECK(before_on == before_off);  // nobody was away yet: memory changed nothing
  REQUIRE(before_on > 0.7);
  CHECK(after_off < before_off - 0.2);
  CHECK(after_on > before_on - 0.03);
}

TEST_CASE("a node takes an absent peer's step once a round, and forgets it when told") {
  Trio t;
  std::vector<Node*> all = t.Ptrs(), left = {&t.nodes[0], &t.nodes[2]};
  int r = 0;
  for (; r < 20; ++r) Round(all, kT0 + r * 1000, true);
  CHECK(t.nodes[0].remembered_peers() == 2);
  CHECK(t.nodes[0].counters().standins == 0);
  // Node 1 leaves. For the active window (a lost datagram or two is not an absence) nothing
  // stands in for it, then its step is taken once a round.
  const int64_t active_rounds = 4;
  for (int k = 0; k < active_rounds; ++k, ++r) Round(left, kT0 + r * 1000, true);
  CHECK(t.nodes[0].counters().standins == 0);
  CHECK(t.nodes[0].absent_peers() == 0);
  for (int k = 0; k < 10; ++k, ++r) Round(left, kT0 + r * 1000, true);
  CHECK(t.nodes[0].absent_peers() == 1);
  const uint64_t standins = t.nodes[0].counters().standins;
  CHECK(standins >= 9);
  CHECK(standins <= 10);
  // A restart keeps the memory of the absent peer (not of those present: they are learnt
  // again from their next updates).
  auto restarted = Node::Create(Options(), Key(1), &t.trust, MakeData({0, 1}, 60, 0), 10);
  REQUIRE(restarted.ok());
  REQUIRE(restarted->ImportCheckpoint(t.nodes[0].ExportCheckpoint()).ok());
  CHECK(restarted->remembered_peers() == 1);
  // Trust removed: forgotten at the next tick, nothing taken for it any more.
  REQUIRE(t.trust.Remove(Key(2).public_key));
  Round(left, kT0 + r++ * 1000, true);
  CHECK(t.nodes[0].remembered_peers() == 1);
  CHECK(t.nodes[0].absent_peers() == 0);
  const uint64_t after = t.nodes[0].counters().standins;
  Round(left, kT0 + r++ * 1000, true);
  CHECK(t.nodes[0].counters().standins == after);
}

TEST_CASE("an absent peer is forgotten at the memory horizon") {
  REQUIRE(InitCrypto().ok());
  TrustStore trust;
  std::vector<Node> nodes;
  for (uint8_t i = 0; i < 2; ++i) REQUIRE(trust.Add(Key(i + 1).public_key, "n", kT0).ok());
  for (uint8_t i = 0; i < 2; ++i) {
    NodeOptions o = Options();
    o.peer_memory_horizon_ms = 30'000;
    auto n = Node::Create(o, Key(i + 1), &trust, MakeData({i}, 30, i), 10 + i);
    REQUIRE(n.ok());
    nodes.push_back(std::move(*n));
  }
  std::vector<Node*> both = {&nodes[0], &nodes[1]}, one = {&nodes[0]};
  int r = 0;
  for (; r < 10; ++r) Round(both, kT0 + r * 1000, true);
  for (; r < 38; ++r) Round(one, kT0 + r * 1000, true);  // 29 s since node 1's last update
  CHECK(nodes[0].absent_peers() == 1);
  // Its last update was merged at 9.5 s: gone from the memory at 39.5 s (the merge then), and
  // from the count of absent peers at the next round's start, 40 s.
  Round(one, kT0 + r++ * 1000, true);
  Round(one, kT0 + r++ * 1000, true);
  CHECK(nodes[0].remembered_peers() == 0);
  Round(one, kT0 + r++ * 1000, true);
  CHECK(nodes[0].absent_peers() == 0);
}

}  // namespace
}  // namespace dust
