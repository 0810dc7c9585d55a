// dustd's learning-rate schedule: a pure function of the node's training step count.
//
// A daemon runs for months, so the schedule has no end: the rate falls from `start` to `floor`
// along a half cosine over the first `decay_steps` local SGD steps, then stays at `floor` for
// ever (docs/engine.md, "The daemon's learning rate"). It is driven by the model's step count
// ever (status model.steps, kept in the checkpoint), never by wall time or by this process's
// uptime, so:
//   - a restart (clean or kill -9) resumes the schedule where the checkpoint left it;
//   - a paused or data-less daemon does not decay (no steps are taken);
//   - a node that joins late, or starts from scratch, begins at `start` like any fresh model;
//   - a rescan that brings new data does not reset it: the floor is above zero, so new data
//     is still learned, at the settled rate (restarting the decay would shake every peer's
//     model, since each node's step is merged into all of them).
// decay_steps == 0 or floor == start gives the constant rate `start` (the behaviour before
// the schedule existed).
#pragma once

#include <cstdint>

namespace dust::daemon {

struct LearningRateSchedule {
  double start = 0.2;        // at step 0 (option learning-rate)
  double floor = 0.02;       // from decay_steps on (option learning-rate-floor), <= start
  uint64_t decay_steps = 0;  // length of the decay (option learning-rate-decay-steps)
};

// The rate for the next step after `steps` steps: start at 0, floor at and after decay_steps,
// non-increasing in between.
double ScheduledLearningRate(const LearningRateSchedule& schedule, uint64_t steps);

}  // namespace dust::daemon
