// dust-sim internals shared by dust_sim.cpp (main) and the sim_*.cpp files: the configuration,
// the Simulation (its runs in sim_network.cpp and sim_baselines.cpp, its evaluation points and
// summary in sim_report.cpp), options (sim_options.cpp), data splits and the plot (sim_util.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data_dir.h"
#include "dust/engine/node.h"
#include "dust/ml/dataset.h"
#include "dust/ml/model.h"
#include "dust/util/rng.h"
#include "dust/util/status.h"

namespace dust::sim {

// Deals train's sample indices to `nodes` parts by `split` (iid | shards:K | dirichlet:A).
// Error message on a bad spec.
Result<std::vector<std::vector<uint32_t>>> Split(const Dataset& train, const std::string& split,
                                                 uint32_t nodes, uint64_t seed);

struct EvalPoint {
  uint64_t round = 0;
  double mean = 0, min = 0, max = 0, honest_mean = 0;
  uint64_t bytes = 0;
};

// Writes an SVG with two panels: accuracy against rounds and against total bytes (log scale).
Status WritePlot(const std::string& path, const std::string& title,
                 const std::vector<EvalPoint>& points);

constexpr int64_t kEpochMs = 1'700'000'000'000;  // virtual time of round 0
constexpr int64_t kRoundMs = 1000;
constexpr uint32_t kChurnPeriod = 20;  // rounds a churned node stays offline / online

struct Config {
  std::string data, split, algorithm, attack, aggregator_spec, plot;
  std::string csv_label_column;  // "": "label" if a CSV header has it, else the first column
  uint32_t nodes = 20, rounds = 400, eval_every = 20, eval_subset = 1000;
  uint32_t batches_per_round = 1, batch_size = 32, threads = 2;
  double loss = 0, churn = 0, byzantine = 0, target = 0, lr = 0.05, lr_final = 1.0, momentum = 0.9;
  int64_t partition_start = -1, partition_heal = -1;
  // --sleep F:R1:R2: a seed-chosen fraction of the nodes is offline in rounds [R1, R2).
  double sleep_fraction = 0;
  int64_t sleep_start = -1, sleep_end = -1;
  // Memory of absent peers (node.h peer_memory_*): on (delta and anchor) | delta | anchor | off;
  // horizon in rounds (0: the engine's default), anchor strength (<0: the engine's default).
  std::string memory = "on";
  uint32_t memory_horizon = 0;
  double memory_anchor = -1;
  // --shift R: the last class is left out of every node's data until round R, when one node
  // (the first that does not --sleep) gets all of its training samples (a device whose data
  // changes).
  int64_t shift_round = -1;
  uint64_t seed = 1;
  std::string coding = "int8", gossip = "hybrid";
  std::string scaling = "fleet";  // fleet | none (docs/engine.md, "Feature scaling")
  double delta_fraction = 0.6;
  // DP-SGD on every node (--dp-noise, --dp-clip, --dp-budget, --dp-delta; 0: off / none /
  // the node's default delta).
  double dp_noise = 0, dp_clip = 0, dp_budget = 0, dp_delta = 0;
  bool head = true;
  // --fleet: each node trusts one simulated fleet key and learns its peers from their
  // certificates (sent with the first announce) in a trust store of its own, instead of the
  // one shared store of pairwise trust (docs/benchmarks.md, "Fleet trust memory").
  bool fleet = false;
  bool quiet = false;
  // The model: --layers as given (empty: from the data) until main fits it to the data
  // (model_shape.h), then the layers every node and baseline trains.
  std::vector<uint32_t> layers;
};

struct Attack {
  enum Kind { kNone, kSignflip, kScale, kNoise, kLabelflip } kind = kNone;
  float scale = 1;
};

// Parses --attack (none | signflip | scale:X | noise | labelflip); error message on a bad spec.
Result<Attack> ParseAttack(const std::string& s);

// Parses dust-sim's command line into `c` and `attack`. Returns the exit code when dust-sim should
// stop at once (--help, or a bad option, already reported on stderr), nothing to run.
std::optional<int> ParseSimOptions(int argc, char** argv, Config* c, Attack* attack);

// Learning-rate schedule: cosine from lr to lr * lr_final over the run.
float LearningRate(const Config& c, uint32_t round);

// Runs fn(0..n-1) on `threads` threads (each index exactly once, strided). Callers only let
// iterations touch disjoint state, so results do not depend on the thread count.
template <typename Fn>
void ParallelFor(uint32_t n, uint32_t threads, Fn fn) {
  threads = std::max<uint32_t>(1, std::min(threads, n));
  if (threads == 1) {
    for (uint32_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::thread> pool;
  for (uint32_t t = 1; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint32_t i = t; i < n; i += threads) fn(i);
    });
  }
  for (uint32_t i = 0; i < n; i += threads) fn(i);
  for (auto& th : pool) th.join();
}

class Simulation {
 public:
  // `parts[i]`: node i's training samples; `byzantine[i]`: node i runs `attack`.
  Simulation(Config c, daemon::DataDirContents data, std::vector<std::vector<uint32_t>> parts,
             std::vector<bool> byzantine, Attack attack);

  // Runs --algorithm and prints its output; returns the exit code.
  int Run();

 private:
  // The engine's nodes on the virtual network (sim_network.cpp); `local`: nothing is delivered.
  int RunDust(bool local);
  // The baselines (sim_baselines.cpp).
  int RunCentralized();
  int RunFedAvg();
  // One evaluation point, printed as a JSON line (sim_report.cpp); `final` uses all test data.
  void Evaluate(uint32_t round, const std::vector<const Mlp*>& models, bool final);
  // Prints the summary line (and writes --plot); returns the exit code.
  int Finish();
  // Every node's accuracy on all the test data, or on the test samples of one class.
  std::vector<double> FullAccuracy(const std::vector<const Mlp*>& models,
                                   std::optional<uint8_t> only_class = std::nullopt);
  // --sleep and --partition: the window in which nodes are away, and what the online nodes'
  // accuracy (all test data) did in it: measured at its start and every 10 rounds to its end.
  void TrackDisruption(uint32_t rounds_done, const std::vector<const Mlp*>& models,
                       const std::vector<bool>& online);
  // --shift: the online nodes' accuracy on the new class from round R on, every 10 rounds.
  void TrackShift(uint32_t rounds_done, const std::vector<const Mlp*>& models,
                  const std::vector<bool>& online);

  Config m_c;
  daemon::DataDirContents m_data;
  std::vector<std::vector<uint32_t>> m_parts;
  std::vector<bool> m_byz;
  Attack m_attack;
  Rng m_rng;
  Dataset m_eval_subset;
  std::vector<EvalPoint> m_points;
  uint64_t m_bytes = 0, m_datagrams = 0, m_max_datagram = 0;
  std::optional<uint64_t> m_bytes_to_target, m_round_to_target;
  std::map<std::string, uint64_t> m_drops;
  uint64_t m_accepted = 0, m_merged = 0;
  std::optional<std::vector<DpStatus>> m_dp;  // every node's privacy at the end (DP runs)
  uint32_t m_rounds_done = 0;
  struct Disruption {
    std::string kind;  // "sleep" | "partition"
    int64_t start = -1, end = -1;
    std::vector<double> before;  // each node's accuracy at the start
    double before_mean = 0;
    // (round, online mean, online min, worst online node's drop from its own start)
    std::vector<std::array<double, 4>> points;
  };
  std::optional<Disruption> m_disruption;
  std::vector<std::pair<uint32_t, double>> m_shift_points;  // (round, online mean on the class)
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

}  // namespace dust::sim
