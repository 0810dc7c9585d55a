// The daemon's history (history.h): the rings' bounds and tiers, selection, the history file's
// round trip and every way DecodeHistoryFile refuses a file; the history command's arguments;
// and the dashboard's escaping of peer-supplied strings.
#include <catch2/catch.hpp>
#include <cmath>

#include "command_args.h"
#include "dashboard.h"
#include "dust/util/sealed_file.h"
#include "history.h"

using dust::Bytes;
using dust::ByteView;
using dust::PublicKey;
using dust::StatusCode;
using namespace dust::daemon;

namespace {

constexpr int64_t kT0 = 1795000000000;  // ms, late 2026

const std::vector<std::string> kDropNames = {"malformed", "replay", "own"};

NodeSample NodeAt(int64_t t_ms, float accuracy) {
  NodeSample s;
  s.t_ms = t_ms;
  s.accuracy = accuracy;
  s.steps = static_cast<uint64_t>(t_ms - kT0);
  s.live_peers = 2;
  s.drops[1] = 7;
  return s;
}

PeerSample PeerAt(int64_t t_ms, uint16_t bp) {
  PeerSample s;
  s.t_s = static_cast<uint32_t>(t_ms / 1000);
  s.accuracy_bp = bp;
  s.live = 1;
  s.updates_accepted = 3;
  return s;
}

PublicKey KeyOf(uint8_t b) {
  PublicKey k{};
  k.fill(b);
  return k;
}

History SmallHistory() {
  History h(kDropNames);
  for (int i = 0; i < 3; ++i) h.Add(NodeAt(kT0 + i * kHistoryFineMs, 0.5f + 0.1f * i));
  h.AddPeer(KeyOf(1), "alice", PeerAt(kT0, 9000));
  h.AddPeer(KeyOf(1), "alice", PeerAt(kT0 + 5000, 9100));
  return h;
}

// The history file format, as the decoder sees it: what the tests reseal altered bodies with.
constexpr dust::SealedFormat kFormat{"history file", "DSHI"};
constexpr size_t kHeader = 8, kChecksum = 8;

Bytes BodyOf(const Bytes& file) { return Bytes(file.begin() + kHeader, file.end() - kChecksum); }

Bytes Reseal(const Bytes& body, uint16_t version = 1) {
  return dust::SealFile(kFormat, version, [&](dust::ByteWriter& w) { w.Raw(body); });
}

// A body of drop names `names`, then the node's fine ring as `fine_count` and `fine` bytes,
// an empty coarse ring and the given peer bytes.
Bytes Body(const std::vector<std::string>& names, uint32_t fine_count, const Bytes& fine,
           uint32_t peers, const Bytes& peer_bytes) {
  Bytes b;
  dust::ByteWriter w(&b);
  w.U8(static_cast<uint8_t>(names.size()));
  for (const auto& n : names) {
    w.U8(static_cast<uint8_t>(n.size()));
    w.Raw({reinterpret_cast<const uint8_t*>(n.data()), n.size()});
  }
  w.U32(fine_count);
  w.Raw(fine);
  w.U32(0);
  w.U32(peers);
  w.Raw(peer_bytes);
  return b;
}

// One node sample in the file's layout, with `drops` counters.
Bytes NodeBytes(int64_t t_ms, size_t drops) {
  Bytes b;
  dust::ByteWriter w(&b);
  w.I64(t_ms);
  for (int i = 0; i < 5; ++i) w.F32(0.5f);
  w.U32(1);
  for (int i = 0; i < 5; ++i) w.U64(9);
  for (size_t i = 0; i < drops; ++i) w.U64(i + 1);
  return b;
}

std::string Error(const Bytes& file) {
  auto h = DecodeHistoryFile(file, kDropNames);
  REQUIRE_FALSE(h.ok());
  return h.status().message();
}

}  // namespace

TEST_CASE("history ring: bounded, oldest first, wraps", "[daemon]") {
  HistoryRing<int> r(3);
  for (int i = 1; i <= 5; ++i) r.Push(i);
  REQUIRE(r.size() == 3);
  CHECK(r.at(0) == 3);
  CHECK(r.at(1) == 4);
  CHECK(r.back() == 5);
  r.clear();
  CHECK(r.empty());
  r.Push(9);
  CHECK(r.at(0) == 9);
}

TEST_CASE("history tiers: a day of 5-second samples stays within both capacities", "[daemon]") {
  History h(kDropNames);
  const int samples = 24 * 3600 / 5 + 500;  // more than a day
  for (int i = 0; i < samples; ++i) h.Add(NodeAt(kT0 + int64_t{i} * kHistoryFineMs, 0.5f));
  const auto& n = h.node();
  REQUIRE(n.fine.size() == kHistoryFineSamples);
  REQUIRE(n.coarse.size() == kHistoryCoarseSamples);
  // The fine ring is the last ten minutes, the coarse one a sample a minute.
  CHECK(n.fine.back().t_ms - n.fine.at(0).t_ms == (kHistoryFineSamples - 1) * kHistoryFineMs);
  for (size_t i = 1; i < n.coarse.size(); ++i) {
    REQUIRE(n.coarse.at(i).t_ms - n.coarse.at(i - 1).t_ms == kHistoryCoarseMs);
  }
  // A sample a little before the newest (less than a coarse interval) is ignored.
  const int64_t newest = kT0 + int64_t{samples - 1} * kHistoryFineMs;
  h.Add(NodeAt(newest - kHistoryCoarseMs + 1, 0.9f));
  CHECK(h.node().fine.back().t_ms == newest);
  CHECK(h.node().fine.size() == kHistoryFineSamples);
  // The clock stepped back by a day (booted ahead, then NTP): the samples from the future go
  // and recording goes on from the new time.
  h.Add(NodeAt(kT0, 0.9f));
  REQUIRE(h.node().fine.size() == 1);
  REQUIRE(h.node().coarse.size() == 1);
  CHECK(h.node().fine.back().t_ms == kT0);
  h.Add(NodeAt(kT0 + kHistoryFineMs, 0.8f));
  CHECK(h.node().fine.size() == 2);
}

TEST_CASE("history peers: at most kHistoryMaxPeers series, forgotten when untrusted", "[daemon]") {
  History h(kDropNames);
  for (size_t i = 0; i < kHistoryMaxPeers + 10; ++i) {
    PublicKey k{};
    k[0] = static_cast<uint8_t>(i);
    k[1] = static_cast<uint8_t>(i >> 8);
    h.AddPeer(k, "p", PeerAt(kT0, 5000));
  }
  CHECK(h.peers().size() == kHistoryMaxPeers);
  h.AddPeer(KeyOf(1), "one too many", PeerAt(kT0, 5000));
  CHECK(h.peers().count(KeyOf(1)) == 0);
  h.RetainPeers({});
  CHECK(h.peers().empty());
  h.AddPeer(KeyOf(1), std::string(200, 'n'), PeerAt(kT0, 5000));
  h.AddPeer(KeyOf(2), "two", PeerAt(kT0, 5000));
  h.RetainPeers({KeyOf(1)});
  REQUIRE(h.peers().size() == 1);
  CHECK(h.peers().begin()->second.name.size() == kHistoryMaxNameBytes);
}

TEST_CASE("history select: the range, thinned evenly, the newest kept", "[daemon]") {
  HistoryRing<NodeSample> r(100);
  for (int i = 0; i < 10; ++i) r.Push(NodeAt(kT0 + i * 1000, 0.5f));
  auto t = [](const NodeSample& s) { return s.t_ms; };
  CHECK(History::Select(r, kT0 + 2000, kT0 + 4000, 0, t).size() == 3);
  auto thin = History::Select(r, kT0, kT0 + 9000, 3, t);
  REQUIRE(thin.size() == 3);
  CHECK(thin.back().t_ms == kT0 + 9000);
  CHECK(thin.front().t_ms > kT0);
  CHECK(History::Select(r, kT0 + 20000, kT0 + 30000, 0, t).empty());
}

TEST_CASE("history pick: fine while it reaches back, else coarse", "[daemon]") {
  History h(kDropNames);
  for (int i = 0; i < 400; ++i) h.Add(NodeAt(kT0 + int64_t{i} * kHistoryFineMs, 0.5f));
  const int64_t newest = kT0 + 399 * kHistoryFineMs;
  CHECK(History::Pick(HistoryResolution::kAuto, newest - 60000, h.node()) ==
        HistoryResolution::kFine);
  CHECK(History::Pick(HistoryResolution::kAuto, newest - 3600000, h.node()) ==
        HistoryResolution::kCoarse);
  CHECK(History::Pick(HistoryResolution::kFine, newest - 3600000, h.node()) ==
        HistoryResolution::kFine);
  // Younger than the fine ring: the fine ring holds everything.
  History young(kDropNames);
  for (int i = 0; i < 10; ++i) young.Add(NodeAt(kT0 + int64_t{i} * kHistoryFineMs, 0.5f));
  CHECK(History::Pick(HistoryResolution::kAuto, kT0 - 3600000, young.node()) ==
        HistoryResolution::kFine);
}

TEST_CASE("history file: round trip", "[daemon]") {
  History h = SmallHistory();
  Bytes file = EncodeHistoryFile(h);
  REQUIRE(file.size() <= MaxHistoryFileBytes());
  auto back = DecodeHistoryFile(file, kDropNames);
  REQUIRE(back.ok());
  REQUIRE(back->node().fine.size() == 3);
  REQUIRE(back->node().coarse.size() == 1);
  CHECK(back->node().fine.at(2).accuracy == Approx(0.7f));
  CHECK(back->node().fine.at(1).drops[1] == 7);
  CHECK(std::isnan(back->node().fine.at(0).loss));
  REQUIRE(back->peers().size() == 1);
  CHECK(back->peers().at(KeyOf(1)).name == "alice");
  CHECK(back->peers().at(KeyOf(1)).tiers.fine.back().accuracy_bp == 9100);
  CHECK(EncodeHistoryFile(*back) == file);
}

TEST_CASE("history file: the largest history fits the read cap", "[daemon]") {
  std::vector<std::string> names;
  for (size_t i = 0; i < kHistoryDropSlots; ++i)
    names.push_back(std::string(64, 'a' + i % 26) + std::to_string(i));
  for (auto& n : names) n = n.substr(n.size() - 64);
  History h(names);
  for (size_t i = 0; i < kHistoryFineSamples * 13; ++i)
    h.Add(NodeAt(kT0 + int64_t(i) * kHistoryCoarseMs, 0.5f));
  for (size_t p = 0; p < kHistoryMaxPeers; ++p) {
    PublicKey k{};
    k[0] = static_cast<uint8_t>(p);
    for (size_t i = 0; i < kHistoryCoarseSamples; ++i) {
      h.AddPeer(k, std::string(64, 'x'), PeerAt(kT0 + int64_t(i) * kHistoryCoarseMs, 1));
    }
  }
  REQUIRE(h.node().coarse.size() == kHistoryCoarseSamples);
  Bytes file = EncodeHistoryFile(h);
  CHECK(file.size() == MaxHistoryFileBytes());
  CHECK(MaxHistoryFileBytes() == 6430709);  // docs/protocol.md, "History file"
  CHECK(DecodeHistoryFile(file, names).ok());
}

TEST_CASE("history file: drop counters are matched by name", "[daemon]") {
  // The file counts "replay" and a reason this build does not know.
  Bytes fine = NodeBytes(kT0, 2);
  auto h = DecodeHistoryFile(Reseal(Body({"future_reason", "replay"}, 1, fine, 0, {})), kDropNames);
  REQUIRE(h.ok());
  const NodeSample& s = h->node().fine.at(0);
  CHECK(s.drops[0] == 0);  // malformed: not in the file
  CHECK(s.drops[1] == 2);  // replay: the file's second counter
  CHECK(s.drops[2] == 0);
}

TEST_CASE("history file: every refusal", "[daemon]") {
  const Bytes good = EncodeHistoryFile(SmallHistory());
  REQUIRE(DecodeHistoryFile(good, kDropNames).ok());
  const Bytes body = BodyOf(good);

  SECTION("damaged byte: checksum") {
    Bytes f = good;
    f[f.size() / 2] ^= 1;
    CHECK(Error(f).find("checksum mismatch") != std::string::npos);
  }
  SECTION("bad magic") {
    Bytes f = good;
    f[0] = 'X';
    CHECK(Error(f).find("bad magic") != std::string::npos);
  }
  SECTION("a newer version") {
    auto h = DecodeHistoryFile(Reseal(body, 2), kDropNames);
    REQUIRE_FALSE(h.ok());
    CHECK(h.status().code() == StatusCode::kUnsupported);
  }
  SECTION("truncated body") {
    Bytes b(body.begin(), body.end() - 1);
    CHECK(Error(Reseal(b)).find("truncated") != std::string::npos);
  }
  SECTION("trailing bytes") {
    Bytes b = body;
    b.push_back(0);
    CHECK(Error(Reseal(b)).find("trailing") != std::string::npos);
  }
  SECTION("too short for any body") {
    CHECK_FALSE(DecodeHistoryFile(Bytes(10, 0), kDropNames).ok());
  }
  SECTION("too many drop reasons") {
    Bytes b = {static_cast<uint8_t>(kHistoryDropSlots + 1)};
    CHECK(Error(Reseal(b)).find("drop reasons, at most") != std::string::npos);
  }
  SECTION("an empty drop reason name") {
    CHECK(Error(Reseal(Body({""}, 0, {}, 0, {}))).find("empty drop reason") != std::string::npos);
  }
  SECTION("a drop reason twice") {
    CHECK(Error(Reseal(Body({"a", "a"}, 0, {}, 0, {}))).find("twice") != std::string::npos);
  }
  SECTION("a name over 64 bytes") {
    CHECK(Error(Reseal(Body({std::string(65, 'a')}, 0, {}, 0, {}))).find("name of 65 bytes") !=
          std::string::npos);
  }
  SECTION("more samples than the ring holds") {
    CHECK(Error(Reseal(Body({}, kHistoryFineSamples + 1, {}, 0, {})))
              .find("at most " + std::to_string(kHistoryFineSamples)) != std::string::npos);
  }
  SECTION("a count larger than the bytes left") {
    CHECK(Error(Reseal(Body({}, 2, NodeBytes(kT0, 0), 0, {}))).find("truncated") !=
          std::string::npos);
  }
  SECTION("time going backwards") {
    Bytes fine = NodeBytes(kT0 + 1000, 0);
    Bytes older = NodeBytes(kT0, 0);
    fine.insert(fine.end(), older.begin(), older.end());
    CHECK(Error(Reseal(Body({}, 2, fine, 0, {}))).find("backwards") != std::string::npos);
  }
  SECTION("too many peers") {
    CHECK(Error(Reseal(Body({}, 0, {}, kHistoryMaxPeers + 1, {}))).find("peers, at most") !=
          std::string::npos);
  }
  SECTION("a peer twice") {
    Bytes peer(32, 5);
    peer.push_back(0);                              // no name
    for (int i = 0; i < 8; ++i) peer.push_back(0);  // empty fine and coarse rings
    Bytes two = peer;
    two.insert(two.end(), peer.begin(), peer.end());
    CHECK(Error(Reseal(Body({}, 0, {}, 2, two))).find("a peer twice") != std::string::npos);
  }
}

TEST_CASE("history command arguments", "[daemon]") {
  const int64_t now = kT0;
  auto ok = ParseHistory(Json::object(), now);
  REQUIRE(ok.ok());
  CHECK(ok->to_ms == now);
  CHECK(ok->from_ms == now - 3600 * 1000);
  CHECK(ok->resolution == HistoryResolution::kAuto);
  CHECK(ok->peers);
  auto a = ParseHistory(
      {{"since_s", 600}, {"resolution", "coarse"}, {"max_points", 5}, {"peers", false}}, now);
  REQUIRE(a.ok());
  CHECK(a->from_ms == now - 600000);
  CHECK(a->resolution == HistoryResolution::kCoarse);
  CHECK(a->max_points == 5);
  CHECK_FALSE(a->peers);
  auto range = ParseHistory({{"from_ms", now - 10}, {"to_ms", now - 5}}, now);
  REQUIRE(range.ok());
  CHECK(range->from_ms == now - 10);
  CHECK(range->to_ms == now - 5);

  auto refused = [&](const Json& j, const std::string& says) {
    auto r = ParseHistory(j, now);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find(says) != std::string::npos);
  };
  refused({{"since_s", 0}}, "\"since_s\" must be a whole number from 1 to 86400");
  refused({{"since_s", 86401}}, "since_s");
  refused({{"since_s", 1.5}}, "since_s");
  refused({{"since_s", "60"}}, "since_s");
  refused({{"since_s", 60}, {"from_ms", 1}}, "not both");
  refused({{"from_ms", now}, {"to_ms", now - 1}}, "from_ms is after to_ms");
  refused({{"from_ms", -1}}, "from_ms");
  refused({{"resolution", "hourly"}}, "auto, fine or coarse");
  refused({{"max_points", 0}}, "max_points");
  refused({{"peers", "yes"}}, "true or false");
}

TEST_CASE("dashboard: peer-supplied strings are escaped", "[daemon]") {
  CHECK(EscapeHtml("<a href='x'>&\"</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  DashboardView v;
  v.title = "node<b>";
  v.now_ms = kT0;
  v.from_ms = kT0 - 3600000;
  DashboardPeer p;
  p.name = "<script>alert(1)</script>";
  p.node_id = "abc\"def";
  p.trusted_how = "paired";
  p.live = true;
  v.peers.push_back(p);
  v.accuracy_series.push_back({"<img src=x onerror=alert(1)>", {{kT0 - 60000, 0.5}, {kT0, 0.6}}});
  const std::string html = RenderDashboard(v);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("node<b>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("data-node-id=\"abc&quot;def\"") != std::string::npos);
  // Two points in the chart's range: one polyline with both.
  CHECK(html.find("<polyline class=\"line\" data-series=\"&lt;img") != std::string::npos);
}

TEST_CASE("dashboard: NaN leaves a gap, ranges are the offered ones", "[daemon]") {
  DashboardView v;
  v.now_ms = kT0;
  v.from_ms = kT0 - 600000;
  v.accuracy_series.push_back(
      {"n", {{kT0 - 500000, 0.1}, {kT0 - 400000, NAN}, {kT0 - 300000, 0.2}, {kT0 - 200000, 0.3}}});
  const std::string html = RenderDashboard(v);
  size_t lines = 0;
  for (size_t at = html.find("<polyline"); at != std::string::npos;
       at = html.find("<polyline", at + 1)) {
    ++lines;
  }
  CHECK(lines == 2);
  CHECK(DashboardRange("") == 3600);
  CHECK(DashboardRange("range=600") == 600);
  CHECK(DashboardRange("x=1&range=86400") == 86400);
  CHECK(DashboardRange("range=601") == 3600);
  CHECK(DashboardRange("xrange=600") == 3600);
}
