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
