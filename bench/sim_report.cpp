// dust-sim's output: the fixed evaluation subset, one JSON line per evaluation point and the
// summary line (with the optional SVG plot).
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sim.h"

using json = nlohmann::ordered_json;

namespace dust::sim {

Simulation::Simulation(Config c, daemon::DataDirContents data,
                       std::vector<std::vector<uint32_t>> parts, std::vector<bool> byzantine,
                       Attack attack)
    : m_c(std::move(c)),
      m_data(std::move(data)),
      m_parts(std::move(parts)),
      m_byz(std::move(byzantine)),
      m_attack(attack),
      m_rng(m_c.seed * 7919 + 13) {
  // Fixed evaluation subset for intermediate points; the final point uses all test data.
  std::vector<uint32_t> idx(m_data.test.size());
  for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
  Rng r(m_c.seed + 99);
  for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[r.Below(i)]);
  if (m_c.eval_subset > 0 && m_c.eval_subset < idx.size()) idx.resize(m_c.eval_subset);
  std::sort(idx.begin(), idx.end());
  m_eval_subset = m_data.test.Subset(idx);
}

void Simulation::Evaluate(uint32_t round, const std::vector<const Mlp*>& models, bool final) {
  const Dataset& test = final ? m_data.test : m_eval_subset;
  EvalPoint p;
  p.round = round;
  p.bytes = m_bytes;
  p.min = 1.0;
  p.max = 0.0;
  double sum = 0, honest_sum = 0, honest_min = 1.0;
  size_t honest = 0;
  std::vector<double> accuracy(models.size());
  ParallelFor(static_cast<uint32_t>(models.size()), m_c.threads,
              [&](uint32_t i) { accuracy[i] = dust::Evaluate(*models[i], test).accuracy; });
  for (size_t i = 0; i < models.size(); ++i) {
    double a = accuracy[i];
    sum += a;
    p.min = std::min(p.min, a);
    p.max = std::max(p.max, a);
    bool byz = i < m_byz.size() && m_byz[i];
    if (!byz) {
      honest_sum += a;
      honest_min = std::min(honest_min, a);
      ++honest;
    }
  }
  p.mean = sum / static_cast<double>(models.size());
  p.honest_mean = honest ? honest_sum / static_cast<double>(honest) : 0.0;
  // Consensus distance: RMS over nodes and parameters of x_i - mean_j x_j.
  double consensus = 0;
  if (models.size() > 1) {
    size_t np = models[0]->num_params();
    std::vector<double> mean(np, 0.0);
    for (const Mlp* m : models) {
      auto q = m->params();
      for (size_t i = 0; i < np; ++i) mean[i] += q[i];
    }
    for (double& v : mean) v /= static_cast<double>(models.size());
    for (const Mlp* m : models) {
      auto q = m->params();
      for (size_t i = 0; i < np; ++i) consensus += (q[i] - mean[i]) * (q[i] - mean[i]);
    }
    consensus = std::sqrt(consensus / static_cast<double>(np * models.size()));
  }
  m_points.push_back(p);
  if (m_c.target > 0 && !m_bytes_to_target && p.mean >= m_c.target) {
    m_bytes_to_target = m_bytes;
    m_round_to_target = round;
  }
  json j = {{"round", round},
            {"mean_accuracy", p.mean},
            {"min_accuracy", p.min},
            {"max_accuracy", p.max},
            {"honest_mean_accuracy", p.honest_mean},
            {"honest_min_accuracy", honest_min},
            {"consensus_distance", consensus},
            {"bytes", m_bytes},
            {"datagrams", m_datagrams},
            {"eval_samples", test.size()}};
  std::cout << j.dump() << std::endl;
}

std::vector<double> Simulation::FullAccuracy(const std::vector<const Mlp*>& models,
                                             std::optional<uint8_t> only_class) {
  const Dataset* test = &m_data.test;
  Dataset one;
  if (only_class) {
    std::vector<uint32_t> idx;
    for (uint32_t i = 0; i < m_data.test.size(); ++i) {
      if (m_data.test.label(i) == *only_class) idx.push_back(i);
    }
    one = m_data.test.Subset(idx);
    test = &one;
  }
  std::vector<double> accuracy(models.size());
  ParallelFor(static_cast<uint32_t>(models.size()), m_c.threads,
              [&](uint32_t i) { accuracy[i] = dust::Evaluate(*models[i], *test).accuracy; });
  return accuracy;
}

void Simulation::TrackDisruption(uint32_t rounds_done, const std::vector<const Mlp*>& models,
                                 const std::vector<bool>& online) {
  int64_t start = m_c.sleep_start, end = m_c.sleep_end;
  const char* kind = "sleep";
  if (start < 0) {  // a partition: its window runs to the end of the run
    start = m_c.partition_start;
    end = m_c.rounds;
    kind = "partition";
  }
  if (start < 0 || rounds_done < start || rounds_done > end) return;
  const int64_t since = rounds_done - start;
  if (since % 10 != 0 && rounds_done != end) return;
  const std::vector<double> acc = FullAccuracy(models);
  if (rounds_done == start) {
    // Every node as it stands when the window opens (before its first round).
    Disruption d;
    d.kind = kind;
    d.start = start;
    d.end = end;
    d.before = acc;
    for (double a : acc) d.before_mean += a / static_cast<double>(acc.size());
    m_disruption = std::move(d);
    return;
  }
  if (!m_disruption) return;
  double sum = 0, lowest = 1, worst_drop = -1;
  size_t count = 0;
  for (size_t i = 0; i < acc.size(); ++i) {
    if (!online[i]) continue;
    sum += acc[i];
    lowest = std::min(lowest, acc[i]);
    worst_drop = std::max(worst_drop, m_disruption->before[i] - acc[i]);
    ++count;
  }
  if (count == 0) return;
  m_disruption->points.push_back(
      {static_cast<double>(rounds_done), sum / static_cast<double>(count), lowest, worst_drop});
}

void Simulation::TrackShift(uint32_t rounds_done, const std::vector<const Mlp*>& models,
                            const std::vector<bool>& online) {
  if (rounds_done < m_c.shift_round || (rounds_done - m_c.shift_round) % 10 != 0) return;
  const auto c = static_cast<uint8_t>(m_data.train.num_classes() - 1);
  const std::vector<double> acc = FullAccuracy(models, c);
  double sum = 0;
  size_t count = 0;
  for (size_t i = 0; i < acc.size(); ++i) {
    if (!online[i]) continue;
    sum += acc[i];
    ++count;
  }
  if (count > 0) m_shift_points.emplace_back(rounds_done, sum / static_cast<double>(count));
}

int Simulation::Finish() {
  const EvalPoint& last = m_points.back();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  json drops = json::object();
  for (const auto& [k, v] : m_drops) drops[k] = v;
  json s = {{"summary", true},
            {"algorithm", m_c.algorithm},
            {"nodes", m_c.nodes},
            {"split", m_c.split},
            {"aggregator", m_c.aggregator_spec},
            {"rounds", m_rounds_done},
            {"mean_accuracy", last.mean},
            {"min_accuracy", last.min},
            {"max_accuracy", last.max},
            {"honest_mean_accuracy", last.honest_mean},
            {"max_datagram_bytes", m_max_datagram},
            {"bytes_total", m_bytes},
            {"bytes_per_node", m_bytes / std::max<uint32_t>(m_c.nodes, 1)},
            {"datagrams", m_datagrams},
            {"target", m_c.target},
            {"bytes_to_target", m_bytes_to_target ? json(*m_bytes_to_target) : json(nullptr)},
            {"round_to_target", m_round_to_target ? json(*m_round_to_target) : json(nullptr)},
            {"updates_accepted", m_accepted},
            {"updates_merged", m_merged},
            {"drops", drops},
            {"seconds", std::round(secs * 10) / 10}};
  if (m_disruption && !m_disruption->points.empty()) {
    const Disruption& d = *m_disruption;
    double lowest_mean = 1, worst_node = -1;
    json points = json::array();
    for (const auto& [round, mean, min, drop] : d.points) {
      lowest_mean = std::min(lowest_mean, mean);
      worst_node = std::max(worst_node, drop);
      points.push_back({round, mean, min});
    }
    s[d.kind] = {{"from", d.start},
                 {"to", d.end},
                 {"mean_accuracy_before", d.before_mean},
                 {"lowest_online_mean_accuracy", lowest_mean},
                 {"max_drop", d.before_mean - lowest_mean},
                 {"max_node_drop", worst_node},
                 {"points", points}};
  }
  if (!m_shift_points.empty()) {
    // The rounds from the shift until the online nodes' mean accuracy on the new class first
    // reaches 50%, and what it is at the end.
    json first = nullptr;
    for (const auto& [round, acc] : m_shift_points) {
      if (acc >= 0.5) {
        first = round - m_c.shift_round;
        break;
      }
    }
    json points = json::array();
    for (const auto& [round, acc] : m_shift_points) points.push_back({round, acc});
    s["shift"] = {{"round", m_c.shift_round},
                  {"rounds_to_half", first},
                  {"new_class_accuracy", m_shift_points.back().second},
                  {"points", points}};
  }
  if (m_dp) {
    // Per node: the epsilon it spent (at its delta), its noisy steps, whether its budget
    // stopped it; and the range over the nodes.
    json eps = json::array(), steps = json::array();
    double lo = INFINITY, hi = 0;
    size_t exhausted = 0;
    for (const DpStatus& d : *m_dp) {
      eps.push_back(std::round(d.epsilon * 1000) / 1000);
      steps.push_back(d.steps);
      lo = std::min(lo, d.epsilon);
      hi = std::max(hi, d.epsilon);
      exhausted += d.exhausted;
    }
    s["dp"] = {{"noise_multiplier", m_c.dp_noise}, {"clip", m_c.dp_clip}, {"budget", m_c.dp_budget},
               {"delta", m_dp->front().delta},     {"epsilon_min", lo},   {"epsilon_max", hi},
               {"nodes_exhausted", exhausted},     {"epsilon", eps},      {"steps", steps}};
  }
  if (!m_c.plot.empty()) {
    std::string title = m_c.algorithm + " " + std::to_string(m_c.nodes) + " nodes " + m_c.split;
    if (Status st = WritePlot(m_c.plot, title, m_points); !st.ok()) {
      std::cerr << "dust-sim: --plot: " << st.ToString() << "\n";
      std::cout << s.dump() << std::endl;
      return 1;
    }
  }
  std::cout << s.dump() << std::endl;
  return 0;
}
}  // namespace dust::sim
