// dustctl's human-readable output.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "format.h"

using namespace dust::ctl;
using nlohmann::json;

namespace {

constexpr int64_t kNow = 1795000060000;  // 60 s after the example's timestamps

// The status example of docs/control-protocol.md.
json ExampleStatus() {
  return json::parse(R"({
    "node_id": "N4QZ-EXAMPLE", "display_name": "kitchen-hub", "version": "0.1.0", "pid": 4242,
    "uptime_s": 312.5,
    "training": {"state": "running", "cpu_budget": 0.5, "train_samples": 3000,
                 "holdout_samples": 300, "steps_per_s": 41.7, "last_loss": 0.31,
                 "learning_rate": 0.000125},
    "model": {"architecture": [784, 32, 10], "params": 25450, "fingerprint": "9c0e5b2a11d04f7e",
              "steps": 12500, "rounds": 140, "accuracy": 0.912, "test_accuracy": 0.9, "accuracy_at_ms": 1795000000000,
              "content_hash": "5f1e"},
    "peers": {"seen": 4, "live": 2, "trusted": 3},
    "network": {"port": 48620, "datagrams_in": 1200, "datagrams_out": 800,
                "bytes_in": 1500000, "bytes_out": 1000000, "updates_sent": 400,
                "updates_accepted": 380, "updates_rejected": 3,
                "drops": {"own": 800, "untrusted": 12, "bad_signature": 1}},
    "data": {"dir": "/var/lib/dust/data", "files_used": 2,
             "files_skipped": [{"path": "/var/lib/dust/data/bad.csv", "reason": "line 3: label 12 out of range"}],
             "last_scan_ms": 1795000000000},
    "checkpoint": {"last_ms": 1795000000000, "steps": 12400}})");
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("durations and byte counts use the largest sensible units") {
  CHECK(FormatDuration(0) == "0s");
  CHECK(FormatDuration(59.9) == "59s");
  CHECK(FormatDuration(312.5) == "5m 12s");
  CHECK(FormatDuration(7380) == "2h 03m");
  CHECK(FormatDuration(4 * 86400 + 7 * 3600 + 5) == "4d 07h");
  CHECK(FormatDuration(-3) == "0s");
  CHECK(FormatBytes(512) == "512 B");
  CHECK(FormatBytes(1536) == "1.5 KiB");
  CHECK(FormatBytes(3 * 1048576.0) == "3.0 MiB");
  CHECK(FormatPercent(json(0.912)) == "91.2%");
  CHECK(FormatPercent(json()) == "-");
  CHECK(FormatAgo(json(), kNow) == "never");
  CHECK(FormatAgo(json(kNow - 3000), kNow) == "3s ago");
}

TEST_CASE("status says where the learning rate comes from: the node's steps or the fleet's") {
  json st = ExampleStatus();
  st["training"]["learning_rate_schedule"] = {{"start", 0.2},        {"floor", 0.02},
                                              {"decay_steps", 1000}, {"position", 5210},
                                              {"own_steps", 40},     {"fleet_position", 5200},
                                              {"fleet_peers", 2},    {"waiting_for_fleet", false}};
  CHECK(Contains(FormatStatus(st, kNow),
                 "learning rate 0.000125 at schedule position 5210 (own steps 40, fleet 5200 "
                 "from 2 peers)\n"));
  st["training"]["learning_rate_schedule"]["position"] = 3;
  st["training"]["learning_rate_schedule"]["own_steps"] = 3;
  st["training"]["learning_rate_schedule"]["fleet_position"] = nullptr;
  st["training"]["learning_rate_schedule"]["fleet_peers"] = 0;
  st["training"]["learning_rate_schedule"]["waiting_for_fleet"] = true;
  CHECK(Contains(FormatStatus(st, kNow),
                 "at schedule position 3 (own steps 3, no fleet position heard; waiting for it "
                 "before training)\n"));
}

TEST_CASE(
    "status output names node and model accuracy and peers and traffic and every drop reason") {
  const std::string s = FormatStatus(ExampleStatus(), kNow);
  CHECK(Contains(s, "node: N4QZ-EXAMPLE (kitchen-hub)\n"));
  CHECK(Contains(s, "up 5m 12s"));
  CHECK(Contains(s, "training: running (cpu budget 50%)"));
  CHECK(Contains(s, "loss 0.310, learning rate 0.000125"));
  CHECK(Contains(s, "model: 784-32-10, 25450 params, fingerprint 9c0e5b2a11d04f7e"));
  CHECK(Contains(s, "accuracy: 91.2% (holdout, 1m 00s ago), test 90.0%, steps 12500, rounds 140"));
  CHECK(Contains(s, "peers: 2 live, 3 trusted, 4 seen"));
  CHECK(Contains(s, "bytes: 1.4 MiB in, 976.6 KiB out"));
  CHECK(Contains(s, "updates: 400 sent, 380 accepted, 3 rejected"));
  CHECK(Contains(s, "drops: bad_signature 1, own 800, untrusted 12"));
  CHECK(Contains(s, "skipped /var/lib/dust/data/bad.csv: line 3: label 12 out of range"));
  CHECK(Contains(s, "checkpoint: 1m 00s ago (steps 12400)"));
}

TEST_CASE("formatters survive missing or null or mistyped fields without throwing") {
  json weird = ExampleStatus();
  weird["model"]["accuracy"] = nullptr;
  weird["model"]["architecture"] = "not an array";
  weird["network"]["drops"] = json::array({1, 2});
  weird["training"] = 7;
  weird["peers"]["live"] = "two";
  weird["data"]["files_skipped"] = json::object();
  std::string s;
  REQUIRE_NOTHROW(s = FormatStatus(weird, kNow));
  CHECK(Contains(s, "accuracy: - (holdout"));
  CHECK(Contains(s, "peers: - live"));  // a non-number is shown as unknown
  for (const json& j : {json(), json::array(), json::object(), json(5), json("x")}) {
    REQUIRE_NOTHROW(FormatStatus(j, kNow));
    REQUIRE_NOTHROW(FormatPeers(j, kNow));
    REQUIRE_NOTHROW(FormatTrustList(j, kNow));
    REQUIRE_NOTHROW(FormatEvaluation(j));
  }
  REQUIRE_NOTHROW(FormatPeers(json{{"peers", json::array({5, "x", nullptr})}}, kNow));
}

TEST_CASE("peers table has one aligned line per peer under a header") {
  json peers = json::parse(R"({"peers": [
    {"node_id": "K2PD-LONGER-ID", "display_name": "garage", "trusted": true,
     "address": "192.168.1.20:48620", "last_seen_ms": 1795000057000, "updates_accepted": 120,
     "updates_rejected": 0, "datagrams": 300, "accuracy": 0.90, "steps": 11000,
     "endpoints": [{"endpoint": "10.2.0.7:48620", "source": "exchange"},
                   {"endpoint": "192.168.1.20:48620", "source": "seen"}], "unicast": true},
    {"node_id": "ZZZZ", "display_name": null, "trusted": false, "address": null,
     "last_seen_ms": null, "updates_accepted": 0, "updates_rejected": 4, "datagrams": 9,
     "accuracy": null, "steps": null}]})");
  std::istringstream in(FormatPeers(peers, kNow));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("NODE", 0) == 0);
  CHECK(Contains(lines[1], "garage"));
  CHECK(Contains(lines[1], "trusted"));
  CHECK(Contains(lines[1], "3s ago"));
  CHECK(Contains(lines[1], "90.0%"));
  CHECK(Contains(lines[1], "*10.2.0.7:48620 (exchange), 192.168.1.20:48620 (seen)"));
  CHECK(Contains(lines[2], "untrusted"));
  CHECK(Contains(lines[2], "never"));
  // Columns line up: "NAME" starts where each row's second column starts.
  const size_t name_col = lines[0].find("NAME");
  CHECK(lines[1].substr(name_col, 6) == "garage");
  CHECK(lines[2].substr(name_col, 1) == "-");
  CHECK(FormatPeers(json{{"peers", json::array()}}, kNow) == "no peers seen and none trusted\n");
}

TEST_CASE("top frame: the node's line, then each peer's state, accuracy and update rate") {
  json status = json::parse(R"({"node_id": "ABCDEFG-HIJKLMN", "display_name": "kitchen",
    "uptime_s": 65, "training": {"state": "training"},
    "model": {"accuracy": 0.912, "test_accuracy": 0.9, "steps": 1200, "rounds": 300},
    "peers": {"live": 1, "trusted": 2}})");
  json peers = json::parse(R"({"peers": [
    {"node_id": "K2PDQRS-LONGER", "display_name": "garage", "trusted": true, "live": true,
     "last_seen_ms": 1795000057000, "updates_accepted": 130, "updates_rejected": 2,
     "accuracy": 0.88},
    {"node_id": "STALEXX-ID", "display_name": "attic", "trusted": true, "live": false,
     "last_seen_ms": 1795000000000, "updates_accepted": 7, "updates_rejected": 0,
     "accuracy": null},
    {"node_id": "NEVERXX-ID", "display_name": "shed", "trusted": true, "live": false,
     "last_seen_ms": null, "updates_accepted": 0, "updates_rejected": 0, "accuracy": null},
    {"node_id": "STRANGE-ID", "display_name": null, "trusted": false, "live": true,
     "last_seen_ms": 1795000059000, "updates_accepted": 0, "updates_rejected": 0,
     "accuracy": null}]})");
  json previous = json::parse(R"({"peers": [
    {"node_id": "K2PDQRS-LONGER", "updates_accepted": 120},
    {"node_id": "STALEXX-ID", "updates_accepted": 7}]})");
  std::istringstream in(FormatTop(status, peers, previous, 2.0, kNow));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 7);
  CHECK(lines[0] ==
        "kitchen ABCDEFG  training  holdout 91.2%  test 90.0%  steps 1200  rounds 300  peers 1/2 "
        "live  up 1m 05s");
  CHECK(lines[1].empty());
  CHECK(lines[2].rfind("NODE", 0) == 0);
  const size_t state = lines[2].find("STATE"), rate = lines[2].find("UPDATES/S");
  // (130 - 120) updates in 2 s; a peer absent from the previous frame has no rate yet.
  CHECK(lines[3].rfind("K2PDQRS  garage", 0) == 0);
  CHECK(lines[3].substr(state, 4) == "live");
  CHECK(Contains(lines[3], "3s ago"));
  CHECK(Contains(lines[3], "88.0%"));
  CHECK(lines[3].substr(rate) == "5.0");
  CHECK(lines[4].substr(state, 5) == "stale");
  CHECK(lines[4].substr(rate) == "0.0");
  CHECK(lines[5].substr(state, 5) == "never");
  CHECK(lines[5].substr(rate) == "-");
  CHECK(lines[6].substr(state, 15) == "live, untrusted");
  // The first frame has no rates; nothing but a header without peers.
  CHECK(!Contains(FormatTop(status, peers, nullptr, 0, kNow), "5.0"));
  CHECK(Contains(FormatTop(status, json{{"peers", json::array()}}, nullptr, 0, kNow),
                 "\n\nno peers seen and none trusted\n"));
  for (const json& j : {json(), json::array(), json::object(), json(5), json("x")}) {
    REQUIRE_NOTHROW(FormatTop(j, j, j, 1, kNow));
  }
  REQUIRE_NOTHROW(FormatTop(status, json{{"peers", json::array({5, "x", nullptr})}},
                            json{{"peers", json::array({5})}}, 1, kNow));
}

TEST_CASE("peers say how each is trusted, status how many by certificate and its fleets") {
  json peers = json::parse(R"({"peers": [
    {"node_id": "AAAA", "display_name": "a", "trusted": true, "trust": "certificate"},
    {"node_id": "BBBB", "display_name": "b", "trusted": true, "trust": "paired"},
    {"node_id": "CCCC", "display_name": "c", "trusted": false, "trust": null}]})");
  std::istringstream table(FormatPeers(peers, kNow));
  std::vector<std::string> lines;
  for (std::string l; std::getline(table, l);) lines.push_back(l);
  REQUIRE(lines.size() == 4);
  CHECK(Contains(lines[0], "TRUST"));
  CHECK(Contains(lines[1], " certificate "));
  CHECK(Contains(lines[2], " paired "));
  CHECK(Contains(lines[3], " untrusted "));
  json st = ExampleStatus();
  st["peers"]["paired"] = 1;
  st["peers"]["certified"] = 2;
  st["fleet"] = json::parse(R"({"fleets": ["FEN73A6-X"], "certified_peers": 2,
    "certificate": {"fleet_id": "FEN73A6-X", "expires_at_ms": 1}, "revocation_serials": {"FEN73A6-X": 3}})");
  const std::string s = FormatStatus(st, kNow);
  CHECK(Contains(s, "3 trusted (1 paired, 2 by certificate)"));
  CHECK(Contains(s, "fleet: 1 trusted, 2 peers by certificate, certificate of FEN73A6-X"));
  CHECK(Contains(s, "FEN73A6-X: revocation list 3"));
  // A status without fleets (an older daemon, or none configured) prints no fleet line.
  CHECK_FALSE(Contains(FormatStatus(ExampleStatus(), kNow), "fleet:"));
}

TEST_CASE("evaluation output gives accuracy and samples and loss and the confusion matrix") {
  json ev = {{"data_dir", "/data/mnist"},
             {"split", "test"},
             {"samples", 4},
             {"accuracy", 0.75},
             {"mean_loss", 0.5},
             {"confusion", {{2, 0}, {1, 1}}},
             {"files_skipped", json::array()}};
  const std::string s = FormatEvaluation(ev);
  CHECK(Contains(s, "accuracy 75.0% on 4 samples (test split of /data/mnist), mean loss 0.5000"));
  CHECK(Contains(s, "  0  2  0\n"));
  CHECK(Contains(s, "  1  1  1\n"));
}
