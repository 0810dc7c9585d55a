#include "schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace dust::daemon {

double ScheduledLearningRate(const LearningRateSchedule& schedule, uint64_t steps) {
  if (schedule.decay_steps == 0 || steps >= schedule.decay_steps) {
    return schedule.decay_steps == 0 ? schedule.start : schedule.floor;
  }
  // Half cosine, as dust-sim's --lr-final (the schedule its figures were measured with).
  const double t = static_cast<double>(steps) / static_cast<double>(schedule.decay_steps);
  return schedule.floor +
         (schedule.start - schedule.floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
}

std::optional<uint64_t> FleetSchedulePosition(std::vector<uint64_t> peer_positions) {
  if (peer_positions.empty()) return std::nullopt;
  const auto mid =
      peer_positions.begin() + static_cast<std::ptrdiff_t>((peer_positions.size() - 1) / 2);
  std::nth_element(peer_positions.begin(), mid, peer_positions.end());
  return std::min(*mid, kMaxSchedulePosition);
}

}  // namespace dust::daemon
