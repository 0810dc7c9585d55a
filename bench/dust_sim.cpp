// dust-sim: N engine nodes (the same dust::Node as dustd) on a virtual network, in one process,
// deterministically (docs/engine.md, docs/benchmarks.md "Learning together").
//
// A round is one virtual second: every online node trains one unit (--batches-per-round SGD
// steps of --batch-size samples), then ticks, which merges what it received and emits its one
// update datagram (plus an announce every 30 rounds); every datagram is then delivered to every
// other online node, each copy dropped independently with probability --loss, and never across
// a --partition while it lasts. Everything is signed and verified for real (Ed25519), every
// payload goes through the real codec and the real ingress checks.
//
// Output: one JSON object per evaluation, then a summary object as the last line. With the same
// arguments the output is identical, except the summary's "seconds".
// Boost.Program_options trips g++ 12's -Wnull-dereference inside its own headers (a false
// positive in typed_value<std::string>::notify at -O3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.h"
#include "data_dir.h"
#include "dust/util/crypto.h"
#include "dust/ml/dataset.h"
#include "dust/engine/merge.h"
#include "dust/ml/model.h"
#include "dust/engine/node.h"
#include "dust/util/rng.h"
#include "dust/net/trust.h"
#include "sim.h"

namespace po = boost::program_options;
using json = nlohmann::ordered_json;

namespace dust::sim {
namespace {

constexpr int64_t kEpochMs = 1'700'000'000'000;  // virtual time of round 0
constexpr int64_t kRoundMs = 1000;
constexpr uint32_t kChurnPeriod = 20;  // rounds a churned node stays offline / online

struct Config {
  std::string data, split, algorithm, attack, aggregator_spec, plot;
  uint32_t nodes = 20, rounds = 400, eval_every = 20, eval_subset = 1000;
  uint32_t batches_per_round = 1, batch_size = 32, threads = 2;
  double loss = 0, churn = 0, byzantine = 0, target = 0, lr = 0.05, lr_final = 1.0, momentum = 0.9;
  int64_t partition_start = -1, partition_heal = -1;
  uint64_t seed = 1;
  std::string coding = "int8", gossip = "hybrid";
  double delta_fraction = 0.6;
  bool head = true;
  bool quiet = false;
};

struct Attack {
  enum Kind { kNone, kSignflip, kScale, kNoise, kLabelflip } kind = kNone;
  float scale = 1;
};

Result<Attack> ParseAttack(const std::string& s) {
  Attack a;
  if (s.empty() || s == "none") return a;
  if (s == "signflip")
    a.kind = Attack::kSignflip;
  else if (s == "noise")
    a.kind = Attack::kNoise;
  else if (s == "labelflip")
    a.kind = Attack::kLabelflip;
  else if (s.starts_with("scale:")) {
    a.kind = Attack::kScale;
    try {
      a.scale = std::stof(s.substr(6));
    } catch (const std::exception&) {
      return Status::InvalidArgument("--attack scale:X needs a number");
    }
  } else {
    return Status::InvalidArgument("--attack: signflip, scale:X, noise or labelflip");
  }
  return a;
}

Dataset FlipLabels(const Dataset& d) {
  Dataset out(d.num_features(), d.num_classes());
  for (size_t i = 0; i < d.size(); ++i) {
    SampleView s = d.sample(i);
    out.AddSparse(s.index, s.value, static_cast<uint8_t>(d.num_classes() - 1 - s.label));
  }
  return out;
}

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

// Learning-rate schedule: cosine from lr to lr * lr_final over the run.
float LearningRate(const Config& c, uint32_t round) {
  if (c.lr_final >= 1.0) return static_cast<float>(c.lr);
  double t = static_cast<double>(round) / std::max<uint32_t>(c.rounds, 1);
  double f = c.lr_final + (1 - c.lr_final) * 0.5 * (1 + std::cos(M_PI * t));
  return static_cast<float>(c.lr * f);
}

class Simulation {
 public:
  Simulation(Config c, daemon::DataDirContents data, std::vector<std::vector<uint32_t>> parts,
             std::vector<bool> byzantine, Attack attack)
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

  int Run();

 private:
  int RunDust(bool local);
  int RunCentralized();
  int RunFedAvg();
  void Evaluate(uint32_t round, const std::vector<const Mlp*>& models, bool final);
  int Finish();

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
  uint32_t m_rounds_done = 0;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

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

int Simulation::Run() {
  if (m_c.algorithm == "dust") return RunDust(false);
  if (m_c.algorithm == "local") return RunDust(true);
  if (m_c.algorithm == "centralized") return RunCentralized();
  if (m_c.algorithm == "fedavg") return RunFedAvg();
  std::cerr << "dust-sim: --algorithm: dust, fedavg, local or centralized\n";
  return 1;
}

int Simulation::RunDust(bool local) {
  const uint32_t n = m_c.nodes;
  auto agg = ParseAggregator(m_c.aggregator_spec);
  if (!agg.ok()) {
    std::cerr << "dust-sim: --aggregator: " << agg.status().message() << "\n";
    return 1;
  }
  std::vector<KeyPair> keys(n);
  TrustStore trust;
  for (uint32_t i = 0; i < n; ++i) {
    std::array<uint8_t, kSeedBytes> seed{};
    uint64_t v = m_c.seed * 1000003 + i;
    for (size_t b = 0; b < 8; ++b) seed[b] = static_cast<uint8_t>(v >> (8 * b));
    seed[8] = 0xD5;
    keys[i] = KeyPairFromSeed(seed);
    if (Status st = trust.Add(keys[i].public_key, "node-" + std::to_string(i), kEpochMs);
        !st.ok()) {
      std::cerr << "dust-sim: trust: " << st.ToString() << "\n";
      return 1;
    }
  }
  auto noise_rng = std::make_shared<Rng>(m_c.seed + 4242);
  std::vector<Node> nodes;
  nodes.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    NodeOptions o;
    o.sgd.learning_rate = static_cast<float>(m_c.lr);
    o.sgd.batch_size = m_c.batch_size;
    o.sgd.momentum = static_cast<float>(m_c.momentum);
    o.batches_per_unit = m_c.batches_per_round;
    o.aggregator = *agg;
    o.send_interval_ms = kRoundMs;
    o.announce_interval_ms = 30 * kRoundMs;
    o.send_head_every_round = m_c.head;
    o.gossip = m_c.gossip == "absolute" ? GossipMode::kAbsolute : GossipMode::kHybrid;
    o.delta_fraction = static_cast<float>(m_c.delta_fraction);
    o.coding = m_c.coding == "int16"  ? ValueCoding::kInt16
               : m_c.coding == "fp16" ? ValueCoding::kFp16
                                      : ValueCoding::kInt8;
    o.display_name = "node-" + std::to_string(i);
    Dataset d = m_data.train.Subset(m_parts[i]);
    if (m_byz[i]) {
      switch (m_attack.kind) {
        case Attack::kSignflip:
          o.tamper_outgoing = [](uint64_t, std::vector<uint32_t>&, std::vector<float>& v) {
            for (float& x : v) x = -x;
          };
          break;
        case Attack::kScale: {
          float f = m_attack.scale;
          o.tamper_outgoing = [f](uint64_t, std::vector<uint32_t>&, std::vector<float>& v) {
            for (float& x : v) x *= f;
          };
          break;
        }
        case Attack::kNoise:
          o.tamper_outgoing = [noise_rng](uint64_t, std::vector<uint32_t>&, std::vector<float>& v) {
            for (float& x : v) x += static_cast<float>(noise_rng->Normal());
          };
          break;
        case Attack::kLabelflip:
          d = FlipLabels(d);
          break;
        case Attack::kNone:
          break;
      }
    }
    auto node = Node::Create(std::move(o), keys[i], &trust, std::move(d), m_c.seed * 31 + i);
    if (!node.ok()) {
      std::cerr << "dust-sim: node " << i << ": " << node.status().ToString() << "\n";
      return 1;
    }
    nodes.push_back(std::move(*node));
  }

  std::vector<bool> online(n, true);
  std::vector<Bytes> out;
  std::vector<const Mlp*> models(n);
  for (uint32_t i = 0; i < n; ++i) models[i] = &nodes[i].model();
  for (uint32_t r = 0; r < m_c.rounds; ++r) {
    const int64_t now = kEpochMs + static_cast<int64_t>(r) * kRoundMs;
    if (m_c.churn > 0 && r % kChurnPeriod == 0 && r > 0) {
      for (uint32_t i = 0; i < n; ++i) online[i] = m_rng.Uniform() >= m_c.churn;
    }
    const bool partitioned =
        m_c.partition_start >= 0 && r >= m_c.partition_start && r < m_c.partition_heal;
    float lr = LearningRate(m_c, r);
    ParallelFor(n, m_c.threads, [&](uint32_t i) {
      if (!online[i]) return;
      nodes[i].set_learning_rate(lr);
      nodes[i].TrainUnit();
    });
    // Every node ticks (sends its round-r state) before anything is delivered.
    std::vector<std::pair<uint32_t, Bytes>> sent;
    for (uint32_t i = 0; i < n; ++i) {
      if (!online[i]) continue;
      out.clear();
      nodes[i].OnTick(now, &out);
      if (local) continue;
      for (Bytes& d : out) sent.emplace_back(i, std::move(d));
    }
    // Which copies arrive is drawn serially (determinism); receiving, which is independent
    // per receiver (verify, decode, buffer), runs on --threads threads.
    std::vector<std::vector<uint32_t>> inbox(n);
    for (uint32_t k = 0; k < sent.size(); ++k) {
      const auto& [i, d] = sent[k];
      m_bytes += d.size();
      m_datagrams += 1;
      m_max_datagram = std::max<uint64_t>(m_max_datagram, d.size());
      for (uint32_t j = 0; j < n; ++j) {
        if (j == i || !online[j]) continue;
        if (partitioned && (i < n / 2) != (j < n / 2)) continue;
        if (m_c.loss > 0 && m_rng.Uniform() < m_c.loss) continue;
        inbox[j].push_back(k);
      }
    }
    ParallelFor(n, m_c.threads, [&](uint32_t j) {
      for (uint32_t k : inbox[j]) {
        nodes[j].OnDatagram(sent[k].second, SourceKey::FromIndex(sent[k].first), now + 10);
      }
    });
    // Merge what this round delivered (a second tick in the same round sends no new update),
    // so evaluations see each node's model as it stands between rounds.
    ParallelFor(n, m_c.threads, [&](uint32_t i) {
      if (!online[i]) return;
      std::vector<Bytes> none;
      nodes[i].OnTick(now + kRoundMs / 2, &none);
    });
    m_rounds_done = r + 1;
    bool final = r + 1 == m_c.rounds;
    if (final || (m_c.eval_every > 0 && (r + 1) % m_c.eval_every == 0)) {
      Evaluate(r + 1, models, final);
    }
  }
  for (auto& node : nodes) {
    NodeCounters nc = node.counters();
    for (const auto& [k, v] : nc.drops) m_drops[k] += v;
    m_accepted += nc.updates_accepted;
    m_merged += nc.updates_merged;
  }
  return Finish();
}

int Simulation::RunCentralized() {
  // One model on the union of the nodes' data, as many samples per round as all nodes together.
  auto model = Mlp::Create(Mlp::DefaultLayers());
  if (!model.ok()) return 1;
  model->Init(1);
  SgdOptions sgd;
  sgd.learning_rate = static_cast<float>(m_c.lr);
  sgd.batch_size = m_c.batch_size;
  sgd.momentum = static_cast<float>(m_c.momentum);
  Trainer trainer(*model, sgd);
  const Dataset& train = m_data.train;
  std::vector<uint32_t> order(train.size());
  size_t cursor = order.size();
  std::vector<uint32_t> batch;
  std::vector<const Mlp*> models = {&*model};
  for (uint32_t r = 0; r < m_c.rounds; ++r) {
    trainer.set_learning_rate(LearningRate(m_c, r));
    for (uint32_t s = 0; s < m_c.nodes * m_c.batches_per_round; ++s) {
      batch.clear();
      while (batch.size() < std::min<size_t>(m_c.batch_size, train.size())) {
        if (cursor >= order.size()) {
          for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
          for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[m_rng.Below(i)]);
          cursor = 0;
        }
        batch.push_back(order[cursor++]);
      }
      trainer.Step(*model, train, batch);
    }
    m_rounds_done = r + 1;
    bool final = r + 1 == m_c.rounds;
    if (final || (m_c.eval_every > 0 && (r + 1) % m_c.eval_every == 0)) {
      Evaluate(r + 1, models, final);
    }
  }
  return Finish();
}

int Simulation::RunFedAvg() {
  // McMahan et al.: each round a server sends the fp32 model to 10% of the clients, each trains
  // one local epoch and sends its fp32 model back; the server averages weighted by samples.
  const uint32_t n = m_c.nodes;
  auto global = Mlp::Create(Mlp::DefaultLayers());
  if (!global.ok()) return 1;
  global->Init(1);
  const size_t np = global->num_params();
  const uint64_t model_bytes = np * 4;
  const uint32_t per_round = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(0.1 * n)));
  std::vector<const Mlp*> models = {&*global};
  std::vector<double> acc(np);
  std::vector<uint32_t> batch;
  for (uint32_t r = 0; r < m_c.rounds; ++r) {
    std::vector<uint32_t> clients(n);
    for (uint32_t i = 0; i < n; ++i) clients[i] = i;
    for (uint32_t k = 0; k < per_round; ++k) {
      std::swap(clients[k], clients[k + m_rng.Below(n - k)]);
    }
    std::fill(acc.begin(), acc.end(), 0.0);
    double total_w = 0;
    for (uint32_t k = 0; k < per_round; ++k) {
      const auto& part = m_parts[clients[k]];
      m_bytes += 2 * model_bytes;
      m_datagrams += 2;
      if (part.empty()) continue;
      Mlp local = *global;
      SgdOptions sgd;
      sgd.learning_rate = LearningRate(m_c, r);
      sgd.batch_size = m_c.batch_size;
      sgd.momentum = static_cast<float>(m_c.momentum);
      Trainer trainer(local, sgd);
      std::vector<uint32_t> order = part;
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[m_rng.Below(i)]);
      for (size_t b = 0; b < order.size(); b += m_c.batch_size) {
        size_t e = std::min(order.size(), b + m_c.batch_size);
        batch.assign(order.begin() + static_cast<long>(b), order.begin() + static_cast<long>(e));
        trainer.Step(local, m_data.train, batch);
      }
      double w = static_cast<double>(part.size());
      total_w += w;
      auto p = local.params();
      for (size_t i = 0; i < np; ++i) acc[i] += w * p[i];
    }
    if (total_w > 0) {
      auto g = global->params();
      for (size_t i = 0; i < np; ++i) g[i] = static_cast<float>(acc[i] / total_w);
    }
    m_max_datagram = model_bytes;  // not datagrams: whole fp32 models over a reliable transport
    m_rounds_done = r + 1;
    bool final = r + 1 == m_c.rounds;
    if (final || (m_c.eval_every > 0 && (r + 1) % m_c.eval_every == 0)) {
      Evaluate(r + 1, models, final);
    }
  }
  return Finish();
}

}  // namespace
}  // namespace dust::sim

int main(int argc, char** argv) {
  using dust::sim::Config;
  Config c;
  std::string partition;
  po::options_description desc(
      "dust-sim: N engine nodes on a virtual network (docs/engine.md)\n\nOptions");
  desc.add_options()("help,h", "this help")("data", po::value<std::string>()->required(),
                                            "data directory (train and test IDX/CSV)")(
      "nodes", po::value(&c.nodes)->default_value(20), "number of nodes")(
      "split", po::value<std::string>()->default_value("iid"), "iid | shards:K | dirichlet:A")(
      "rounds", po::value(&c.rounds)->default_value(400), "rounds (one datagram per node each)")(
      "loss", po::value(&c.loss)->default_value(0.0), "datagram loss probability per receiver")(
      "partition", po::value<std::string>(), "R:H  cut the two halves apart from round R to H")(
      "churn", po::value(&c.churn)->default_value(0.0),
      "every 20 rounds each node is offline for the next 20 with this probability")(
      "byzantine", po::value(&c.byzantine)->default_value(0.0), "fraction of malicious nodes")(
      "attack", po::value<std::string>()->default_value("signflip"),
      "signflip | scale:X | noise | labelflip")("aggregator",
                                                po::value<std::string>()->default_value("mean"),
                                                "mean | median | trimmed:B | clip[:TAU]")(
      "algorithm", po::value<std::string>()->default_value("dust"),
      "dust | fedavg | local | centralized")("seed", po::value(&c.seed)->default_value(1), "seed")(
      "eval-every", po::value(&c.eval_every)->default_value(20), "rounds between evaluations")(
      "eval-subset", po::value(&c.eval_subset)->default_value(1000),
      "test samples for intermediate evaluations (0: all; the last one always uses all)")(
      "target", po::value(&c.target)->default_value(0.0),
      "accuracy whose first crossing (mean node accuracy) reports bytes_to_target")(
      "batches-per-round", po::value(&c.batches_per_round)->default_value(1),
      "local SGD steps per node per round")(
      "batch-size", po::value(&c.batch_size)->default_value(32), "SGD batch size")(
      "lr", po::value(&c.lr)->default_value(0.0),
      "learning rate (0: 0.2 for dust, whose merged step averages every node's step; 0.05 for "
      "the others)")("momentum", po::value(&c.momentum)->default_value(0.9), "SGD momentum")(
      "lr-final", po::value(&c.lr_final)->default_value(0.1),
      "cosine-decay the learning rate to lr * this by the last round (1: constant)")(
      "coding", po::value<std::string>()->default_value("int8"),
      "update value coding: int8|int16|fp16")(
      "gossip", po::value<std::string>()->default_value("hybrid"), "hybrid | absolute")(
      "delta-fraction", po::value(&c.delta_fraction)->default_value(0.6),
      "hybrid: share of the payload for top-k deltas")(
      "no-head", "do not send the small layers every round (plain round-robin sweep)")(
      "threads", po::value(&c.threads)->default_value(2),
      "threads for receiving and evaluating (output does not depend on it)")(
      "plot", po::value<std::string>(), "write an SVG of accuracy against rounds and bytes");
  po::variables_map vm;
  const dust::bench::UsageError usage{.program = "dust-sim", .blank_line = true};
  if (auto rc = dust::bench::ParseCommandLine(argc, argv, desc, usage, &vm)) return *rc;
  c.head = vm.count("no-head") == 0;
  auto str = [&](const char* name) {
    return vm.count(name) ? vm[name].as<std::string>() : std::string();
  };
  c.data = str("data");
  c.split = str("split");
  partition = str("partition");
  c.attack = str("attack");
  c.aggregator_spec = str("aggregator");
  c.algorithm = str("algorithm");
  c.coding = str("coding");
  c.plot = str("plot");
  c.gossip = str("gossip");
  if (!partition.empty()) {
    auto colon = partition.find(':');
    try {
      c.partition_start = std::stoll(partition.substr(0, colon));
      c.partition_heal = std::stoll(partition.substr(colon + 1));
    } catch (const std::exception&) {
      c.partition_start = -1;
    }
    if (colon == std::string::npos || c.partition_start < 0 ||
        c.partition_heal <= c.partition_start) {
      std::cerr << "dust-sim: --partition R:H needs 0 <= R < H\n";
      return 1;
    }
  }
  if (c.lr == 0.0) c.lr = c.algorithm == "dust" ? 0.2 : 0.05;
  if (c.nodes == 0 || c.nodes > 10000 || c.loss < 0 || c.loss > 1 || c.churn < 0 || c.churn > 1 ||
      c.byzantine < 0 || c.byzantine >= 1 || c.batch_size == 0 || c.batches_per_round == 0 ||
      !(c.lr > 0)) {
    std::cerr << "dust-sim: an option is out of range (see --help)\n";
    return 1;
  }
  auto attack = dust::sim::ParseAttack(c.attack);
  if (!attack.ok()) {
    std::cerr << "dust-sim: " << attack.status().message() << "\n";
    return 1;
  }
  if (!dust::InitCrypto().ok()) {
    std::cerr << "dust-sim: libsodium failed to initialise\n";
    return 1;
  }
  auto data = dust::daemon::ScanDataDir(c.data, dust::LoadOptions{}, /*strict=*/false);
  if (!data.ok()) {
    std::cerr << "dust-sim: " << data.status().ToString() << "\n";
    return 1;
  }
  if (data->test.empty()) {
    std::cerr << "dust-sim: " << c.data << " holds no test data (t10k-* or *test*)\n";
    return 1;
  }
  auto parts = dust::sim::Split(data->train, c.split, c.nodes, c.seed);
  if (!parts.ok()) {
    std::cerr << "dust-sim: " << parts.status().message() << "\n";
    return 1;
  }
  std::vector<bool> byz(c.nodes, false);
  size_t nbyz = static_cast<size_t>(std::llround(c.byzantine * c.nodes));
  if (nbyz > 0 && attack->kind != dust::sim::Attack::kNone) {
    dust::Rng r(c.seed + 777);
    std::vector<uint32_t> idx(c.nodes);
    for (uint32_t i = 0; i < c.nodes; ++i) idx[i] = i;
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[r.Below(i)]);
    for (size_t k = 0; k < nbyz; ++k) byz[idx[k]] = true;
  }
  dust::sim::Simulation sim(c, std::move(*data), std::move(*parts), std::move(byz), *attack);
  return sim.Run();
}
