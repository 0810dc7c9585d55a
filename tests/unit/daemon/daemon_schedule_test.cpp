// dustd's learning-rate schedule (daemon/schedule.h) and its options.
#include <catch2/catch.hpp>

#include "options.h"
#include "schedule.h"

using dust::daemon::LearningRateSchedule;
using dust::daemon::ParseConfigText;
using dust::daemon::ScheduledLearningRate;

TEST_CASE("daemon learning rate: starts at learning-rate and reaches the floor at decay-steps",
          "[daemon][schedule]") {
  LearningRateSchedule s{0.2, 0.02, 1000};
  CHECK(ScheduledLearningRate(s, 0) == Approx(0.2));
  CHECK(ScheduledLearningRate(s, 500) == Approx(0.11));  // half way along the cosine
  CHECK(ScheduledLearningRate(s, 1000) == Approx(0.02));
}

TEST_CASE("daemon learning rate: stays at the floor for ever after the decay",
          "[daemon][schedule]") {
  LearningRateSchedule s{0.2, 0.02, 1000};
  CHECK(ScheduledLearningRate(s, 1001) == Approx(0.02));
  CHECK(ScheduledLearningRate(s, uint64_t{1} << 62) == Approx(0.02));
}

TEST_CASE("daemon learning rate: never rises while the step count grows", "[daemon][schedule]") {
  LearningRateSchedule s{0.3, 0.01, 777};
  double previous = ScheduledLearningRate(s, 0);
  for (uint64_t step = 1; step <= 800; ++step) {
    double lr = ScheduledLearningRate(s, step);
    REQUIRE(lr <= previous);
    REQUIRE(lr >= s.floor);
    previous = lr;
  }
}

TEST_CASE("daemon learning rate: decay-steps 0 keeps learning-rate constant",
          "[daemon][schedule]") {
  LearningRateSchedule s{0.2, 0.02, 0};
  CHECK(ScheduledLearningRate(s, 0) == Approx(0.2));
  CHECK(ScheduledLearningRate(s, 123456) == Approx(0.2));
}

TEST_CASE("daemon learning rate: the floor defaults to a tenth of learning-rate",
          "[daemon][schedule][options]") {
  auto o = ParseConfigText("learning-rate = 0.5\n", "test.conf");
  REQUIRE(o.ok());
  CHECK(o->learning_rate_floor == Approx(0.05));
  auto d = ParseConfigText("", "test.conf");
  REQUIRE(d.ok());
  CHECK(d->learning_rate_floor == Approx(d->learning_rate / 10));
}

TEST_CASE("daemon learning rate: options from the file are applied",
          "[daemon][schedule][options]") {
  auto o = ParseConfigText(
      "learning-rate = 0.3\nlearning-rate-floor = 0.03\nlearning-rate-decay-steps = 5000\n",
      "test.conf");
  REQUIRE(o.ok());
  CHECK(o->learning_rate == Approx(0.3));
  CHECK(o->learning_rate_floor == Approx(0.03));
  CHECK(o->learning_rate_decay_steps == 5000);
}

TEST_CASE("daemon learning rate: a floor above learning-rate is rejected with its line",
          "[daemon][schedule][options]") {
  auto o = ParseConfigText("learning-rate = 0.1\nlearning-rate-floor = 0.2\n", "test.conf");
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().message().find("test.conf:2: learning-rate-floor") != std::string::npos);
  CHECK(o.status().message().find("(0, 0.1]") != std::string::npos);
}

TEST_CASE("daemon learning rate: a floor of zero is rejected", "[daemon][schedule][options]") {
  auto o = ParseConfigText("learning-rate-floor = 0\n", "test.conf");
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().message().find("never learn new data") != std::string::npos);
}

TEST_CASE("daemon learning rate: an absurd decay-steps is rejected with its line",
          "[daemon][schedule][options]") {
  auto o = ParseConfigText("\nlearning-rate-decay-steps = 99999999999999\n", "test.conf");
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().message().find("test.conf:2: learning-rate-decay-steps") != std::string::npos);
  auto neg = ParseConfigText("learning-rate-decay-steps = -5\n", "test.conf");
  CHECK_FALSE(neg.ok());
}

using dust::daemon::FleetSchedulePosition;
using dust::daemon::kMaxSchedulePosition;
using dust::daemon::ScheduleTracker;

TEST_CASE("fleet schedule position: the lower median of the peers' positions",
          "[daemon][schedule]") {
  CHECK(!FleetSchedulePosition({}));
  CHECK(FleetSchedulePosition({700}) == 700u);
  CHECK(FleetSchedulePosition({900, 700}) == 700u);  // even count: the smaller middle value
  CHECK(FleetSchedulePosition({5, 900, 700}) == 700u);
  CHECK(FleetSchedulePosition({0, 0, 0}) == 0u);  // a fleet starting fresh keeps its warm start
  CHECK(FleetSchedulePosition({~uint64_t{0}}) == kMaxSchedulePosition);
}

TEST_CASE("fleet schedule position: one lying peer cannot move it past the honest ones",
          "[daemon][schedule]") {
  const uint64_t huge = ~uint64_t{0};
  // Two honest peers settled near 5000: a liar claiming the end of time or step 0 leaves the
  // position among the honest values.
  for (uint64_t lie : {huge, uint64_t{0}}) {
    std::optional<uint64_t> f = FleetSchedulePosition({5000, 5100, lie});
    REQUIRE(f);
    CHECK(*f >= 5000);
    CHECK(*f <= 5100);
  }
  // With one honest peer and one liar, a high lie cannot jump a joiner to the floor.
  CHECK(FleetSchedulePosition({40, huge}) == 40u);
}

TEST_CASE("schedule position: moves up to the fleet, never back down", "[daemon][schedule]") {
  LearningRateSchedule s{0.2, 0.02, 1000};
  ScheduleTracker p;
  CHECK(p.Position(0) == 0);
  CHECK(!p.Adopt(0, std::nullopt));  // no peers heard: the node's own steps
  CHECK(p.Position(10) == 10);
  // A late joiner (10 steps) hears a settled fleet at 5000: joins at the floor, not at 0.2.
  CHECK(ScheduledLearningRate(s, p.Position(10)) == Approx(0.2).epsilon(0.01));
  CHECK(p.Adopt(10, 5000));
  CHECK(p.Position(10) == 5000);
  CHECK(ScheduledLearningRate(s, p.Position(10)) == Approx(0.02));
  CHECK(p.Position(12) == 5002);  // then advances with its own steps
  // The settled peers leave; the rest of the fleet is behind: the node keeps its place.
  CHECK(!p.Adopt(12, 30));
  CHECK(p.Position(12) == 5002);
  // A node ahead of the fleet keeps its own position (a restored node keeps its steps).
  ScheduleTracker restored;
  CHECK(!restored.Adopt(800, 300));
  CHECK(restored.Position(800) == 800);
}

TEST_CASE("schedule position: a huge fleet position saturates instead of wrapping",
          "[daemon][schedule]") {
  ScheduleTracker p;
  CHECK(p.Adopt(5, ~uint64_t{0}));
  CHECK(p.Position(5) == kMaxSchedulePosition);
  CHECK(p.Position(1000000) == kMaxSchedulePosition);
  CHECK(p.Position(~uint64_t{0}) == kMaxSchedulePosition);
}
