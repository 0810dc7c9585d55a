// The receive pipeline: every drop reason, check order, revocation, replay state discipline.
#include "dust/net/ingress.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

namespace dust {
namespace {

constexpr int64_t kNow = 1764000000000;

struct Fixture {
  Fixture() {
    REQUIRE(InitCrypto().ok());
    std::array<uint8_t, kSeedBytes> seed{};
    seed.fill(7);
    peer = KeyPairFromSeed(seed);
    seed.fill(8);
    stranger = KeyPairFromSeed(seed);
    model.fill(0x33);
    REQUIRE(trust.Add(peer.public_key, "peer", 0).ok());
    options.model = model;
    options.rate.tokens_per_s = 1000;
    options.rate.burst = 1000;
  }

  Bytes Make(const KeyPair& key, uint64_t counter, int64_t ts = kNow) const {
    DatagramHeader h;
    h.type = MessageType::kUpdate;
    h.counter = counter;
    h.timestamp_ms = ts;
    h.model = model;
    h.sample_weight = 32;
    h.round = 1;
    Bytes payload(200, 0x42);
    Result<Bytes> d = EncodeDatagram(h, payload, key);
    REQUIRE(d.ok());
    return *d;
  }

  KeyPair peer, stranger;
  WireFingerprint model{};
  TrustStore trust;
  IngressOptions options;
  SourceKey src = SourceKey::FromIndex(1);
};

void ExpectDrop(Ingress& in, const Bytes& d, DropReason reason, const SourceKey& src,
                int64_t now = kNow) {
  uint64_t before = in.drops().Get(reason);
  IngressResult r = in.Receive(d, src, now);
  REQUIRE(!r.accepted());
  CHECK(*r.drop == reason);
  CHECK(in.drops().Get(reason) == before + 1);
}

TEST_CASE("a trusted, fresh, correctly signed datagram is accepted with views into it",
          "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  Bytes d = f.Make(f.peer, 1);
  IngressResult r = in.Receive(d, f.src, kNow);
  REQUIRE(r.accepted());
  CHECK(r.datagram.header.counter == 1);
  CHECK(r.datagram.header.sender == f.peer.public_key);
  CHECK(r.datagram.payload.size() == 200);
  CHECK(r.datagram.payload.data() == d.data() + kHeaderBytes);
  REQUIRE(r.datagram.peer != nullptr);
  CHECK(r.datagram.peer->display_name == "peer");
  CHECK(in.accepted() == 1);
  CHECK(in.drops().Total() == 0);
}

TEST_CASE("malformed datagrams are dropped as malformed", "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  Bytes d = f.Make(f.peer, 1);
  ExpectDrop(in, Bytes(d.begin(), d.end() - 1), DropReason::kMalformed, f.src);
  ExpectDrop(in, Bytes{}, DropReason::kMalformed, f.src);
  Bytes v2 = d;
  v2[3] = 2;
  ExpectDrop(in, v2, DropReason::kMalformed, f.src);
}

TEST_CASE("an untrusted sender is dropped without creating replay state", "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  ExpectDrop(in, f.Make(f.stranger, 1), DropReason::kUntrusted, f.src);
  CHECK(in.replay_windows() == 0);
}

TEST_CASE("a datagram for another model is dropped as incompatible_model", "[ingress]") {
  Fixture f;
  IngressOptions o = f.options;
  o.model.fill(0x44);
  Ingress in(o, &f.trust);
  ExpectDrop(in, f.Make(f.peer, 1), DropReason::kIncompatibleModel, f.src);
}

TEST_CASE("timestamps outside the skew either way, or before not_before, are stale", "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  const int64_t skew = f.options.max_skew_ms;
  ExpectDrop(in, f.Make(f.peer, 1, kNow - skew - 1), DropReason::kStale, f.src);
  ExpectDrop(in, f.Make(f.peer, 2, kNow + skew + 1), DropReason::kStale, f.src);
  ExpectDrop(in, f.Make(f.peer, 3, INT64_MIN), DropReason::kStale, f.src);
  ExpectDrop(in, f.Make(f.peer, 4, INT64_MAX), DropReason::kStale, f.src);
  CHECK(in.Receive(f.Make(f.peer, 5, kNow - skew), f.src, kNow).accepted());
  CHECK(in.Receive(f.Make(f.peer, 6, kNow + skew), f.src, kNow).accepted());
  in.SetNotBefore(kNow - 10);
  ExpectDrop(in, f.Make(f.peer, 7, kNow - 11), DropReason::kStale, f.src);
  CHECK(in.Receive(f.Make(f.peer, 8, kNow - 10), f.src, kNow).accepted());
}

TEST_CASE("a replayed datagram is dropped as replay", "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  Bytes d = f.Make(f.peer, 10);
  REQUIRE(in.Receive(d, f.src, kNow).accepted());
  ExpectDrop(in, d, DropReason::kReplay, f.src);
  // Out of order inside the window is fine; too old is not.
  CHECK(in.Receive(f.Make(f.peer, 9), f.src, kNow).accepted());
  REQUIRE(in.Receive(f.Make(f.peer, 10 + kReplayWindowSize + 5), f.src, kNow).accepted());
  ExpectDrop(in, f.Make(f.peer, 11), DropReason::kReplay, f.src);
}

TEST_CASE("a bad signature is dropped and never moves the replay window", "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  // A forgery with a far-future counter: if it moved the window, every real datagram after it
  // would be "too old".
  Bytes forged = f.Make(f.peer, 1'000'000);
  forged[kHeaderBytes] ^= 1;  // payload byte changed after signing
  ExpectDrop(in, forged, DropReason::kBadSignature, f.src);
  CHECK(in.replay_windows() == 0);
  Bytes real = f.Make(f.peer, 1);
  REQUIRE(in.Receive(real, f.src, kNow).accepted());
  // Now a window exists; a forgery reusing a fresh counter must not consume it.
  Bytes forged2 = f.Make(f.peer, 2);
  forged2.back() ^= 0x80;  // signature byte
  ExpectDrop(in, forged2, DropReason::kBadSignature, f.src);
  CHECK(in.Receive(f.Make(f.peer, 2), f.src, kNow).accepted());
  // A forged signature over a stranger's key claimed as the peer's: header sender swapped.
  Bytes impostor = f.Make(f.stranger, 3);
  std::copy(f.peer.public_key.begin(), f.peer.public_key.end(), impostor.begin() + 10);
  ExpectDrop(in, impostor, DropReason::kBadSignature, f.src);
  CHECK(in.Receive(f.Make(f.peer, 3), f.src, kNow).accepted());
}

TEST_CASE("a source over its rate is dropped as rate_limited; others are not", "[ingress]") {
  Fixture f;
  IngressOptions o = f.options;
  o.rate.tokens_per_s = 1;
  o.rate.burst = 3;
  Ingress in(o, &f.trust);
  for (uint64_t c = 0; c < 3; ++c) REQUIRE(in.Receive(f.Make(f.peer, c), f.src, kNow).accepted());
  ExpectDrop(in, f.Make(f.peer, 3), DropReason::kRateLimited, f.src);
  CHECK(in.Receive(f.Make(f.peer, 3), SourceKey::FromIndex(2), kNow).accepted());
}

TEST_CASE("junk from unknown keys does not drain a source's rate budget", "[ingress]") {
  Fixture f;
  IngressOptions o = f.options;
  o.rate.tokens_per_s = 1;
  o.rate.burst = 2;
  Ingress in(o, &f.trust);
  for (uint64_t c = 0; c < 50; ++c) {
    ExpectDrop(in, f.Make(f.stranger, c), DropReason::kUntrusted, f.src);
  }
  CHECK(in.Receive(f.Make(f.peer, 1), f.src, kNow).accepted());
}

TEST_CASE("revoking a peer takes effect for the very next datagram", "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  REQUIRE(in.Receive(f.Make(f.peer, 1), f.src, kNow).accepted());
  CHECK(in.replay_windows() == 1);
  REQUIRE(f.trust.Remove(f.peer.public_key));
  ExpectDrop(in, f.Make(f.peer, 2), DropReason::kUntrusted, f.src);
  // Trusting again works at once, too.
  REQUIRE(f.trust.Add(f.peer.public_key, "peer", 1).ok());
  CHECK(in.Receive(f.Make(f.peer, 3), f.src, kNow).accepted());
}

TEST_CASE("replay windows are held for trusted senders only and pruned on revocation",
          "[ingress]") {
  Fixture f;
  std::vector<KeyPair> keys;
  for (uint8_t i = 0; i < 5; ++i) {
    std::array<uint8_t, kSeedBytes> seed{};
    seed.fill(static_cast<uint8_t>(100 + i));
    keys.push_back(KeyPairFromSeed(seed));
    static const char* const kNames[] = {"k0", "k1", "k2", "k3", "k4"};
    REQUIRE(f.trust.Add(keys.back().public_key, kNames[i], 0).ok());
  }
  Ingress in(f.options, &f.trust);
  for (const KeyPair& k : keys) REQUIRE(in.Receive(f.Make(k, 1), f.src, kNow).accepted());
  CHECK(in.replay_windows() == 5);
  for (size_t i = 0; i < 3; ++i) REQUIRE(f.trust.Remove(keys[i].public_key));
  // Any datagram (even one dropped later) that reaches the replay step prunes.
  REQUIRE(in.Receive(f.Make(keys[4], 2), f.src, kNow).accepted());
  CHECK(in.replay_windows() == 2);
  CHECK(in.replay_windows() <= f.trust.size());
}

TEST_CASE("every drop reason has a distinct stable metric name", "[ingress]") {
  std::set<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    names.insert(DropReasonName(static_cast<DropReason>(i)));
  }
  CHECK(names.size() == kDropReasonCount);
  CHECK(std::string(DropReasonName(DropReason::kBadSignature)) == "bad_signature");
  CHECK(std::string(DropReasonName(DropReason::kRateLimited)) == "rate_limited");
  CHECK(std::string(DropReasonName(DropReason::kIncompatibleModel)) == "incompatible_model");
  CHECK(names.count("unknown") == 0);
}

TEST_CASE("payload-level drops reported by the caller are counted with the rest", "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  in.CountDrop(DropReason::kBadPayload);
  in.CountDrop(DropReason::kQuarantined);
  in.CountDrop(DropReason::kQuarantined);
  CHECK(in.drops().Get(DropReason::kBadPayload) == 1);
  CHECK(in.drops().Get(DropReason::kQuarantined) == 2);
  CHECK(in.drops().Total() == 3);
}

TEST_CASE("drop counters list every reason by name in enum order; Total counts refused datagrams",
          "[ingress]") {
  DropCounters c;
  c.Add(DropReason::kUntrusted, 3);
  c.Add(DropReason::kQuarantined);
  c.Add(DropReason::kQuarantinedAbsurdNorm);  // a breakdown of the quarantined one
  c.Add(DropReason::kPendingFull);
  c.Add(DropReason::kIgnoredOutlierDelta, 5);  // not received datagrams
  c.Add(DropReason::kRevokedBeforeMerge);
  c.Add(DropReason::kCounterUnavailable);
  size_t i = 0;
  for (const auto& [name, count] : c) {
    auto r = static_cast<DropReason>(i++);
    CHECK(name == DropReasonName(r));
    CHECK(count == c.Get(r));
  }
  CHECK(i == kDropReasonCount);
  CHECK(c.Total() == 3 + 1 + 1);
  CHECK(RefusesDatagram(DropReason::kMalformed));
  CHECK(RefusesDatagram(DropReason::kPendingFull));
  CHECK_FALSE(RefusesDatagram(DropReason::kQuarantinedNonFinite));
  CHECK_FALSE(RefusesDatagram(DropReason::kCounterUnavailable));
}

TEST_CASE(
    "cheap checks come before the signature: an untrusted forgery is untrusted, a "
    "trusted stale forgery is stale",
    "[ingress]") {
  Fixture f;
  Ingress in(f.options, &f.trust);
  Bytes stale = f.Make(f.peer, 1, kNow - f.options.max_skew_ms - 1);
  stale.back() ^= 1;  // also a bad signature: the stale check, which is cheaper, reports first
  ExpectDrop(in, stale, DropReason::kStale, f.src);
  Bytes junk = f.Make(f.stranger, 1);
  junk.back() ^= 1;
  ExpectDrop(in, junk, DropReason::kUntrusted, f.src);
  CHECK(in.drops().Get(DropReason::kBadSignature) == 0);
}

}  // namespace
}  // namespace dust
