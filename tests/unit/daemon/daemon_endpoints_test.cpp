// The daemon's per-peer endpoint table: sources, bounds, expiry, which endpoints are sent to,
// and what a peer exchange passes on.
#include <catch2/catch.hpp>

#include "endpoints.h"

namespace dust::daemon {
namespace {

PublicKey Key(uint8_t b) {
  PublicKey k{};
  k.fill(b);
  return k;
}

EndpointTableOptions Opts() {
  EndpointTableOptions o;
  o.ttl_ms = 10'000;
  o.broadcast_window_ms = 3'000;
  o.exchange_grace_ms = 1'000;
  return o;
}

using Strings = std::vector<std::string>;

TEST_CASE("endpoint table: uri endpoints are targets at once and never expire", "[endpoints]") {
  EndpointTable t(Opts());
  t.Replace(Key(1), EndpointSource::kUri, {"10.2.0.2:48620", "site-b.example:48620"}, 0);
  CHECK(t.Targets(0) == Strings{"10.2.0.2:48620", "site-b.example:48620"});
  CHECK(t.IsTarget(Key(1), 0));
  t.Prune(1'000'000, [](const PublicKey&) { return true; });
  CHECK(t.Targets(1'000'000).size() == 2);
  // Heard by broadcast: in our broadcast domain, so no unicast to it while it is heard...
  t.HeardByBroadcast(Key(1), 10);
  CHECK(t.Targets(10).empty());
  // ... unless we broadcast nowhere ourselves.
  EndpointTableOptions quiet = Opts();
  quiet.broadcasting = false;
  t.set_options(quiet);
  CHECK(t.Targets(10).size() == 2);
  t.set_options(Opts());
  CHECK(t.Targets(3'010).size() == 2);  // not heard for the window: unicast again
  // Replace drops what the new list lacks.
  t.Replace(Key(1), EndpointSource::kUri, {"10.2.0.3:48620"}, 3'020);
  CHECK(t.Targets(3'020) == Strings{"10.2.0.3:48620"});
  // Invalid text is never stored.
  CHECK(!t.Add(Key(1), "nonsense", EndpointSource::kExchange, 3'020));
}

TEST_CASE("endpoint table: exchange endpoints wait, expire, and are not used for local peers",
          "[endpoints]") {
  EndpointTable t(Opts());
  REQUIRE(t.Add(Key(2), "10.2.0.3:48620", EndpointSource::kExchange, 0));
  CHECK(t.Targets(500).empty());  // within the grace period: a local peer would be heard first
  CHECK(t.Targets(1'000) == Strings{"10.2.0.3:48620"});
  // Heard by broadcast: in our broadcast domain, no unicast to it...
  t.HeardByBroadcast(Key(2), 1'500);
  CHECK(t.Targets(1'600).empty());
  CHECK(!t.IsTarget(Key(2), 1'600));
  // ... until it has not been heard by broadcast for the window.
  CHECK(t.Targets(4'500) == Strings{"10.2.0.3:48620"});
  // Renewal pushes the expiry back; without it the endpoint goes after the TTL.
  REQUIRE(t.Add(Key(2), "10.2.0.3:48620", EndpointSource::kExchange, 8'000));
  t.Prune(12'000, [](const PublicKey&) { return true; });
  CHECK(t.Targets(12'000) == Strings{"10.2.0.3:48620"});
  t.Prune(18'000, [](const PublicKey&) { return true; });
  CHECK(t.Targets(18'000).empty());
  CHECK(t.Find(Key(2)) == nullptr);  // nothing left of it
}

TEST_CASE("endpoint table: roaming replaces the previous address, seen is never a target",
          "[endpoints]") {
  EndpointTable t(Opts());
  REQUIRE(t.Add(Key(3), "10.1.0.9:48620", EndpointSource::kRoaming, 0));
  REQUIRE(t.Add(Key(3), "10.3.0.9:48620", EndpointSource::kRoaming, 10));
  CHECK(t.Targets(10) == Strings{"10.3.0.9:48620"});
  REQUIRE(t.Add(Key(4), "10.1.0.4:48620", EndpointSource::kSeen, 0));
  t.HeardByBroadcast(Key(4), 0);
  REQUIRE(t.Add(Key(4), "10.1.0.5:48620", EndpointSource::kSeen, 20));
  CHECK(!t.IsTarget(Key(4), 20));
  REQUIRE(t.Find(Key(4)) != nullptr);
  REQUIRE(t.Find(Key(4))->endpoints.size() == 1);
  CHECK(t.Find(Key(4))->endpoints[0].endpoint == "10.1.0.5:48620");
  CHECK(t.Targets(20) == Strings{"10.3.0.9:48620"});
}

TEST_CASE("endpoint table: each source is bounded per peer, the stalest exchange makes room",
          "[endpoints]") {
  EndpointTable t(Opts());
  for (int i = 0; i < 6; ++i) {
    REQUIRE(t.Add(Key(5), "10.2.0." + std::to_string(i + 1) + ":1", EndpointSource::kExchange, i));
  }
  const PeerEndpoints* p = t.Find(Key(5));
  REQUIRE(p != nullptr);
  REQUIRE(p->endpoints.size() == kMaxUriEndpoints);
  CHECK(p->endpoints.front().endpoint == "10.2.0.3:1");  // 1 and 2 made room
  CHECK(EndpointSourceBound(EndpointSource::kRoaming) == 1);
}

TEST_CASE("endpoint table: peer exchanges pass on first-hand endpoints only", "[endpoints]") {
  EndpointTable t(Opts());
  t.Replace(Key(1), EndpointSource::kUri, {"10.2.0.2:48620"}, 0);
  REQUIRE(t.Add(Key(2), "10.1.0.3:48620", EndpointSource::kSeen, 0));
  REQUIRE(t.Add(Key(3), "10.3.0.3:48620", EndpointSource::kExchange, 0));
  REQUIRE(t.Add(Key(4), "10.4.0.4:48620", EndpointSource::kRoaming, 0));
  // Built entry by entry: GCC 12 crashed (internal compiler error in RTL expand) on the braced
  // list of three entries in the unity build of this test binary.
  std::vector<PeerExchangeEntry> want;
  for (int k : {1, 2, 4}) want.push_back({Key(k), ""});
  want[0].endpoint = "10.2.0.2:48620";
  want[1].endpoint = "10.1.0.3:48620";
  want[2].endpoint = "10.4.0.4:48620";
  CHECK(t.FirstHand(0) == want);
  // Untrusted peers go at the next prune, whatever their source.
  t.Prune(1, [](const PublicKey& k) { return k != Key(1); });
  CHECK(t.Find(Key(1)) == nullptr);
  CHECK(t.Targets(1) == Strings{"10.4.0.4:48620"});
}

TEST_CASE("endpoint table: exchange endpoints go with the trust of the peer that named them",
          "[endpoints]") {
  EndpointTable t(Opts());
  t.Replace(Key(1), EndpointSource::kUri, {"10.2.0.2:48620"}, 0);
  REQUIRE(t.Add(Key(1), "10.9.9.9:48620", EndpointSource::kExchange, 0, Key(7)));
  REQUIRE(t.Add(Key(1), "10.8.8.8:48620", EndpointSource::kExchange, 0, Key(8)));
  // Key 7 (the informant of 10.9.9.9) is revoked; key 1 itself stays trusted.
  t.Prune(1, [](const PublicKey& k) { return k != Key(7); });
  REQUIRE(t.Find(Key(1)) != nullptr);
  Strings left;
  for (const KnownEndpoint& e : t.Find(Key(1))->endpoints) left.push_back(e.endpoint);
  CHECK(left == Strings{"10.2.0.2:48620", "10.8.8.8:48620"});
}

}  // namespace
}  // namespace dust::daemon
