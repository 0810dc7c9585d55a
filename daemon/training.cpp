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
  // CPU budget: a unit that took longer than budget x round leaves a debt paid by skipping
  // rounds, so the long-run share stays at the budget whatever batches-per-round is.
  const double round_s = m_options.send_interval;
  const double allowance = round_s * m_options.cpu_budget;
  if (m_train_debt_s > 0) {
    m_train_debt_s = std::max(0.0, m_train_debt_s - allowance);
    ++m_rounds_skipped;
    return;
  }
  // The rate follows the model's step count ever (checkpointed), not this process's uptime:
  // a restart resumes the decay where it was (schedule.h).
  m_node->set_learning_rate(static_cast<float>(ScheduledLearningRate(Schedule(), Steps())));
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
