// The watch queue and hub (daemon/watch.h): bounded, drops counted, missed counts reported to
// the client, sequence numbers that show every gap, kinds filtered and validated.
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "watch.h"

using dust::daemon::kMaxWatchers;
using dust::daemon::ParseWatchKinds;
using dust::daemon::Watcher;
using dust::daemon::WatchHub;
using dust::daemon::WatchQueue;
using Json = nlohmann::json;

namespace {

Json Event(int n) { return {{"event", "checkpoint"}, {"steps", n}}; }

// Pops every line and parses it.
std::vector<Json> Drain(WatchQueue& q) {
  std::vector<Json> out;
  while (auto line = q.Pop(99)) out.push_back(Json::parse(*line));
  return out;
}

}  // namespace

TEST_CASE("watch queue keeps at most its capacity and counts what it drops") {
  WatchQueue q(3);
  for (int i = 0; i < 10; ++i) CHECK(q.Push(Event(i), 1000 + i) == (i < 3));
  CHECK(q.size() == 3);
  CHECK(q.dropped() == 7);
  std::vector<Json> got = Drain(q);
  // The three queued, in order, then the notice of the seven dropped after them.
  REQUIRE(got.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(got[i]["steps"] == i);
    CHECK(got[i]["seq"] == i + 1);
    CHECK(got[i]["time_ms"] == 1000 + i);
    CHECK_FALSE(got[i].contains("missed"));
  }
  CHECK(got[3]["event"] == "missed");
  CHECK(got[3]["missed"] == 7);
  CHECK_FALSE(q.Pop(99).has_value());  // reported once
}

TEST_CASE("watch queue: the first event after a drop carries the count, and seq shows the gap") {
  WatchQueue q(2);
  q.Push(Event(0), 1);
  q.Push(Event(1), 2);
  q.Push(Event(2), 3);            // dropped
  q.Push(Event(3), 4);            // dropped
  REQUIRE(q.Pop(5).has_value());  // room for one again
  CHECK(q.Push(Event(4), 6));
  std::vector<Json> got = Drain(q);
  REQUIRE(got.size() == 2);
  CHECK(got[0]["steps"] == 1);
  CHECK_FALSE(got[0].contains("missed"));
  CHECK(got[1]["steps"] == 4);
  CHECK(got[1]["missed"] == 2);
  CHECK(got[1]["seq"] == 5);  // seq 3 and 4 went to the dropped events
  CHECK(q.dropped() == 2);
}

TEST_CASE("watch hub offers each watcher the kinds it asked for and wakes it") {
  WatchHub hub;
  int woken = 0;
  auto all = std::make_shared<Watcher>(ParseWatchKinds(Json::object()).value(), [&] { ++woken; });
  auto trust_only =
      std::make_shared<Watcher>(ParseWatchKinds(Json{{"events", {"trust"}}}).value(), nullptr);
  REQUIRE(hub.Add(all));
  REQUIRE(hub.Add(trust_only));
  hub.Publish("checkpoint", {{"steps", 5}}, 10);
  hub.Publish("trust", {{"change", "added"}}, 11);
  CHECK(woken == 2);
  CHECK(all->queue().size() == 2);
  REQUIRE(trust_only->queue().size() == 1);
  Json line = Json::parse(*trust_only->queue().Pop(12));
  CHECK(line["event"] == "trust");
  CHECK(line["change"] == "added");
  CHECK(line["seq"] == 1);
}

TEST_CASE("watch hub is bounded, forgets closed watchers and keeps their drop counts") {
  WatchHub hub;
  std::vector<std::shared_ptr<Watcher>> watchers;
  for (size_t i = 0; i < kMaxWatchers; ++i) {
    watchers.push_back(std::make_shared<Watcher>(std::set<std::string>{"model"}, nullptr));
    REQUIRE(hub.Add(watchers.back()));
  }
  auto extra = std::make_shared<Watcher>(std::set<std::string>{"model"}, nullptr);
  CHECK_FALSE(hub.Add(extra));
  // Nobody reads: every queue fills, and each further event is dropped once per watcher.
  const size_t extra_events = 5;
  for (size_t i = 0; i < dust::daemon::kWatchQueueEvents + extra_events; ++i)
    hub.Publish("model", {{"steps", i}}, 1);
  CHECK(hub.dropped() == kMaxWatchers * extra_events);
  watchers.pop_back();  // its session closed
  CHECK(hub.watchers() == kMaxWatchers - 1);
  CHECK(hub.dropped() == kMaxWatchers * extra_events);
  CHECK(hub.Add(extra));
}

TEST_CASE("watch kinds: absent means all, unknown or empty is refused with the valid list") {
  CHECK(ParseWatchKinds(Json::object()).value().size() == 6);
  CHECK(ParseWatchKinds(Json{{"events", {"model", "peer"}}}).value() ==
        std::set<std::string>{"model", "peer"});
  auto bad = ParseWatchKinds(Json{{"events", {"model", "modle"}}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("\"modle\"") != std::string::npos);
  CHECK(bad.status().message().find("checkpoint") != std::string::npos);
  CHECK_FALSE(ParseWatchKinds(Json{{"events", Json::array()}}).ok());
  CHECK_FALSE(ParseWatchKinds(Json{{"events", "model"}}).ok());
}
