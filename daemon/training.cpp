// Training and evaluation: one training unit per round under the CPU budget (TrainStep, called
// by the round tick) and the periodic evaluation of the model on the holdout and test data,
// which runs on the worker.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cmath>

#include "daemon.h"
#include "dust/export/export.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

void Daemon::TrainStep() {
  if (m_paused || m_stopping || m_node->train_size() == 0) return;
  // A node that just started does not know the fleet's rate yet: a step at its own (maybe full)
  // rate now would land in every peer's model.
  if (AwaitingFleetSchedule()) return;
  // CPU budget: a unit that took longer than budget x round leaves a debt paid by skipping
  // rounds, so the long-run share stays at the budget whatever batches-per-round is.
  const double round_s = m_options.send_interval;
  const double allowance = round_s * m_options.cpu_budget;
  if (m_train_debt_s > 0) {
    m_train_debt_s = std::max(0.0, m_train_debt_s - allowance);
    ++m_rounds_skipped;
    return;
  }
  // The rate follows the model's step count ever (checkpointed), not this process's uptime,
  // moved up to the fleet's position when that is ahead (schedule.h).
  m_node->set_learning_rate(static_cast<float>(LearningRate()));
  auto t0 = Clock::now();
  TrainUnitResult r = m_node->TrainUnit();
  double spent = std::chrono::duration<double>(Clock::now() - t0).count();
  m_train_seconds += spent;
  if (spent > allowance) m_train_debt_s += spent - allowance;
  // Steps actually taken: a unit the DP budget stopped part way took fewer than
  // batches-per-round (and a Poisson batch can be empty yet still be a step).
  m_units += r.steps;
  m_samples_trained += r.samples;
  // Say once when the privacy budget stops local training (and once when it starts again:
  // new data can lower q enough for another step to fit).
  const DpStatus dp = m_node->dp_status();
  if (dp.exhausted != m_dp_exhausted_logged) {
    m_dp_exhausted_logged = dp.exhausted;
    if (dp.exhausted) {
      LogWarn(
          "privacy budget: epsilon {:.3f} spent of {:.3f} (delta {:.2g}); the next step would "
          "pass it, so training on local data stops (merging and gossip go on)",
          dp.epsilon, dp.epsilon_budget, dp.delta);
    } else {
      LogInfo("privacy budget: training on local data resumes (epsilon {:.3f} of {:.3f})",
              dp.epsilon, dp.epsilon_budget);
    }
  }
}

void Daemon::FollowFleetSchedule() {
  const int64_t now = NowMs();
  std::vector<uint64_t> positions;
  for (const PeerInfo& p : m_node->Peers(now)) {
    // Trusted now (a revoked peer's word no longer counts) and heard within the stale window
    // (a peer that left no longer speaks for the fleet).
    if (!p.schedule_position || m_trust.Find(p.key) == nullptr ||
        now - p.schedule_position_ms > m_node->options().peer_stale_ms) {
      continue;
    }
    positions.push_back(*p.schedule_position);
  }
  m_fleet_position_peers = positions.size();
  m_fleet_position = FleetSchedulePosition(std::move(positions));
  const uint64_t before = SchedulePosition();
  if (m_schedule.Adopt(Steps(), m_fleet_position)) {
    // Info once per run (a joiner's jump); afterwards the fleet is a few steps ahead now and then.
    if (!m_fleet_position_heard) {
      LogInfo("schedule: moved to the fleet's position {} from {} ({} peers): learning rate {}",
              SchedulePosition(), before, m_fleet_position_peers, LearningRate());
    } else {
      LogDebug("schedule: moved to the fleet's position {} from {}", SchedulePosition(), before);
    }
  }
  if (m_fleet_position) m_fleet_position_heard = true;
  m_node->set_schedule_position(SchedulePosition());
}

bool Daemon::AwaitingFleetSchedule() const {
  if (m_fleet_position_heard || m_trust.size() == 0) return false;
  // A constant rate, or a node already at the floor: nothing a peer says can change its rate.
  const LearningRateSchedule s = Schedule();
  if (s.decay_steps == 0 || s.floor == s.start || SchedulePosition() >= s.decay_steps) return false;
  // Every peer announces once per announce-interval; two of them allow for one lost announce.
  // A node whose peers are all away waits this long, then trains on its own schedule.
  const int64_t grace_ms = static_cast<int64_t>(2000 * m_options.announce_interval) + 1000;
  return NowMs() - m_start_ms < grace_ms;
}

void Daemon::EvaluateAsync() {
  if (m_evaluating || m_stopping || !m_node) return;
  // Steps per second over the last interval (for status).
  auto now = Clock::now();
  if (m_rate_at != Clock::time_point{}) {
    double secs = std::chrono::duration<double>(now - m_rate_at).count();
    if (secs > 0) m_steps_per_s = static_cast<double>(m_units - m_rate_units) / secs;
  }
  m_rate_at = now;
  m_rate_units = m_units;

  bool have_holdout = m_data.holdout && !m_data.holdout->empty();
  if (!have_holdout && !m_data.test) return;
  m_evaluating = true;
  auto holdout = have_holdout ? Capped(*m_data.holdout, kMaxEvalSamples) : nullptr;
  auto test = m_data.test;
  asio::post(m_workers, [this, model = m_node->model(), holdout, test, steps = Steps(),
                         rounds = Rounds()] {
    std::optional<double> acc, test_acc;
    if (holdout) acc = Evaluate(model, *holdout).accuracy;
    if (test) test_acc = Evaluate(model, *test).accuracy;
    // The hash of the model that was evaluated, so the event's accuracy belongs to it.
    std::string hash = ContentHashHex(model);
    asio::post(m_io, [this, acc, test_acc, hash = std::move(hash), steps, rounds] {
      m_evaluating = false;
      if (m_stopping) return;
      m_accuracy = acc;
      m_test_accuracy = test_acc;
      m_accuracy_ms = NowMs();
      if (acc) m_node->set_accuracy_bp(static_cast<uint16_t>(std::lround(*acc * 10000)));
      // Watchers hear of a changed model at most once per evaluation (eval-interval), with
      // the accuracy measured on it.
      if (hash != m_watch_model_hash) {
        m_watch_model_hash = hash;
        auto nullable = [](const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); };
        Publish("model", {{"steps", steps},
                          {"rounds", rounds},
                          {"content_hash", hash},
                          {"accuracy", nullable(acc)},
                          {"test_accuracy", nullable(test_acc)}});
      }
    });
  });
}
}  // namespace dust::daemon
