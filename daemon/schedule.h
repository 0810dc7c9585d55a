// dustd's learning-rate schedule: a pure function of the node's training step count.
//
// A daemon runs for months, so the schedule has no end: the rate falls from `start` to `floor`
// along a half cosine over the first `decay_steps` local SGD steps, then stays at `floor` for
// ever (docs/engine.md, "The daemon's learning rate"). It is driven by the model's step count
// ever (status model.steps, kept in the checkpoint), never by wall time or by this process's
// uptime, so:
//   - a restart (clean or kill -9) resumes the schedule where the checkpoint left it;
//   - a paused or data-less daemon does not decay (no steps are taken);
//   - a node that joins late, or whose state was lost, joins at the fleet's position, not at
//     `start` (FleetSchedulePosition and ScheduleTracker below; docs/engine.md, "A fleet-wide
//     learning-rate schedule");
//   - a rescan that brings new data does not reset it: the floor is above zero, so new data
//     is still learned, at the settled rate (restarting the decay would shake every peer's
//     model, since each node's step is merged into all of them).
// decay_steps == 0 or floor == start gives the constant rate `start` (the behaviour before
// the schedule existed).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace dust::daemon {

struct LearningRateSchedule {
  double start = 0.2;        // at step 0 (option learning-rate)
  double floor = 0.02;       // from decay_steps on (option learning-rate-floor), <= start
  uint64_t decay_steps = 0;  // length of the decay (option learning-rate-decay-steps)
};

// The rate for the next step after `steps` steps: start at 0, floor at and after decay_steps,
// non-increasing in between.
double ScheduledLearningRate(const LearningRateSchedule& schedule, uint64_t steps);

// Positions beyond this are read as this (a position only ever moves the rate to the floor, and
// it leaves room to add steps without overflow).
inline constexpr uint64_t kMaxSchedulePosition = uint64_t{1} << 62;

// The fleet's position on the schedule from the positions its trusted live peers announced:
// their lower median (the smaller middle value of an even count), nullopt when there are none.
// One lying peer among two or more cannot move it outside the honest peers' positions: a high
// lie cannot push a joiner to the floor, and a low one cannot hold it back further than its
// own steps (the schedule takes the larger of the two). With a single peer, that peer is the
// fleet.
std::optional<uint64_t> FleetSchedulePosition(std::vector<uint64_t> peer_positions);

// A node's position on the schedule: its own step count plus an offset that only grows. When
// the fleet's position is ahead of the node's, the node moves up to it (a late joiner or a node
// whose state was lost joins at the fleet's rate); when the fleet falls behind (its settled
// peers left, a partition) the node keeps its place, so its rate never rises again. The offset
// lives in memory: a restarted node resumes from its checkpointed steps and moves up again on
// the first announce it hears (the daemon holds training until then; daemon.h).
class ScheduleTracker {
 public:
  uint64_t Position(uint64_t steps) const {
    return steps >= kMaxSchedulePosition - m_offset ? kMaxSchedulePosition : steps + m_offset;
  }
  // Moves up to `fleet` if it is ahead of Position(steps). True if it moved.
  bool Adopt(uint64_t steps, std::optional<uint64_t> fleet) {
    if (!fleet) return false;
    const uint64_t target = std::min(*fleet, kMaxSchedulePosition);
    if (target <= Position(steps)) return false;
    m_offset = target - std::min(steps, target);
    return true;
  }

 private:
  uint64_t m_offset = 0;
};

}  // namespace dust::daemon
