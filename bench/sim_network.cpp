// dust-sim's virtual network: the engine's nodes (keys, trust, options, Byzantine tampering),
// then each round: churn, training, ticks, delivery with --loss and across a --partition only
// once it heals, and the second tick that merges what arrived.
#include <malloc.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>

#include "dust/engine/merge.h"
#include "dust/engine/node.h"
#include "dust/net/fleet.h"
#include "dust/net/fleet_trust.h"
#include "dust/net/trust.h"
#include "dust/util/crypto.h"
#include "sim.h"

namespace dust::sim {
namespace {

Dataset FlipLabels(const Dataset& d) {
  Dataset out(d.num_features(), d.num_classes());
  for (size_t i = 0; i < d.size(); ++i) {
    SampleView s = d.sample(i);
    out.AddSparse(s.index, s.value, static_cast<uint8_t>(d.num_classes() - 1 - s.label));
  }
  return out;
}

// `part` without the samples of class c.
std::vector<uint32_t> WithoutClass(const std::vector<uint32_t>& part, uint8_t c,
                                   const Dataset& train) {
  std::vector<uint32_t> out;
  for (uint32_t k : part) {
    if (train.label(k) != c) out.push_back(k);
  }
  return out;
}

// The simulated fleet's signing key, from the run's seed.
KeyPair FleetKey(uint64_t run_seed) {
  std::array<uint8_t, kSeedBytes> seed{};
  for (size_t b = 0; b < 8; ++b) seed[b] = static_cast<uint8_t>(run_seed >> (8 * b));
  seed[8] = 0xF1;
  return KeyPairFromSeed(seed);
}

// Node i's certificate: valid over any simulated run (a year from the simulated epoch).
Result<Bytes> SimCertificate(const KeyPair& fleet, const PublicKey& device, uint32_t i) {
  Certificate c;
  c.device = device;
  c.issued_at_ms = kEpochMs;
  c.expires_at_ms = kEpochMs + int64_t{365} * 86400000;
  c.display_name = "node-" + std::to_string(i);
  return EncodeCertificate(c, fleet);
}

size_t HeapInUse() { return mallinfo2().uordblks; }

// What one node's trust costs with every other node certified, against the same peers paired:
// the heap a TrustStore (+ FleetTrust) holds after taking them, measured with mallinfo2 around
// building each (stderr; the learning results on stdout are unchanged by it). Both stay alive
// until both are measured: memory freed in between would sit in malloc's per-thread cache,
// which mallinfo2 counts as in use, and the second measurement would reuse it unseen.
void ReportFleetTrustMemory(const KeyPair& fleet, const std::vector<KeyPair>& keys,
                            const std::vector<Bytes>& certificates) {
  const size_t peers = keys.size() - 1;
  size_t before = HeapInUse();
  auto certified = std::make_unique<TrustStore>();
  auto ft = std::make_unique<FleetTrust>(std::vector<PublicKey>{fleet.public_key}, certified.get());
  for (size_t i = 1; i < keys.size(); ++i) {
    ft->OnCertificate(certificates[i], keys[i].public_key, kEpochMs);
  }
  const size_t certified_bytes = HeapInUse() - before;
  if (certified->certified_size() != peers) std::cerr << "dust-sim: fleet: certificates refused\n";
  before = HeapInUse();
  auto paired = std::make_unique<TrustStore>();
  for (size_t i = 1; i < keys.size(); ++i) {
    (void)paired->Add(keys[i].public_key, "node-" + std::to_string(i), kEpochMs);
  }
  const size_t paired_bytes = HeapInUse() - before;
  std::cerr << "dust-sim: fleet trust: " << peers << " certified peers take " << certified_bytes
            << " bytes per node (" << certified_bytes / std::max<size_t>(peers, 1)
            << " per peer); the same peers paired: " << paired_bytes << " bytes ("
            << paired_bytes / std::max<size_t>(peers, 1) << " per peer); pairwise trust for all "
            << keys.size() << " nodes would be " << keys.size() * peers << " entries\n";
}

}  // namespace

int Simulation::RunDust(bool local) {
  const auto WithoutClass = [&](const std::vector<uint32_t>& part, uint8_t c) {
    return sim::WithoutClass(part, c, m_data.train);
  };
  const uint32_t n = m_c.nodes;
  auto agg = ParseAggregator(m_c.aggregator_spec);
  if (!agg.ok()) {
    std::cerr << "dust-sim: --aggregator: " << agg.status().message() << "\n";
    return 1;
  }
  std::vector<KeyPair> keys(n);
  TrustStore trust;
  // --fleet: per node, a trust store of its own (certified peers only) and the fleet policy
  // over it, and its certificate; unique_ptr so their addresses survive the vectors' growth.
  std::vector<std::unique_ptr<TrustStore>> own_trust;
  std::vector<std::unique_ptr<FleetTrust>> fleet_trust;
  std::vector<Bytes> certificates;
  const KeyPair fleet_key = FleetKey(m_c.seed);
  for (uint32_t i = 0; i < n; ++i) {
    std::array<uint8_t, kSeedBytes> seed{};
    uint64_t v = m_c.seed * 1000003 + i;
    for (size_t b = 0; b < 8; ++b) seed[b] = static_cast<uint8_t>(v >> (8 * b));
    seed[8] = 0xD5;
    keys[i] = KeyPairFromSeed(seed);
    if (m_c.fleet) {
      own_trust.push_back(std::make_unique<TrustStore>());
      fleet_trust.push_back(std::make_unique<FleetTrust>(
          std::vector<PublicKey>{fleet_key.public_key}, own_trust.back().get()));
      Result<Bytes> cert = SimCertificate(fleet_key, keys[i].public_key, i);
      if (!cert.ok()) {
        std::cerr << "dust-sim: certificate: " << cert.status().ToString() << "\n";
        return 1;
      }
      certificates.push_back(std::move(*cert));
      continue;
    }
    if (Status st = trust.Add(keys[i].public_key, "node-" + std::to_string(i), kEpochMs);
        !st.ok()) {
      std::cerr << "dust-sim: trust: " << st.ToString() << "\n";
      return 1;
    }
  }
  if (m_c.fleet) ReportFleetTrustMemory(fleet_key, keys, certificates);
  // --sleep: who sleeps (drawn apart from the loss and churn draws, so that adding --sleep
  // leaves everything else as it was).
  std::vector<bool> sleeper(n, false);
  if (m_c.sleep_start >= 0) {
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i) order[i] = i;
    Rng pick(m_c.seed * 104729 + 5);
    for (uint32_t i = n; i > 1; --i) std::swap(order[i - 1], order[pick.Below(i)]);
    const auto count = static_cast<uint32_t>(std::lround(m_c.sleep_fraction * n));
    for (uint32_t k = 0; k < std::min(count, n); ++k) sleeper[order[k]] = true;
  }
  auto noise_rng = std::make_shared<Rng>(m_c.seed + 4242);
  // --shift: the class held back, and the samples node 0 gets at the shift.
  std::optional<uint8_t> shifted;
  std::vector<uint32_t> shift_data;
  // The node whose data changes: the first that does not sleep (a sleeper would only see it
  // when it wakes).
  const uint32_t shift_node =
      static_cast<uint32_t>(std::find(sleeper.begin(), sleeper.end(), false) - sleeper.begin());
  if (m_c.shift_round >= 0 && shift_node < n) {
    shifted = static_cast<uint8_t>(m_data.train.num_classes() - 1);
    shift_data = WithoutClass(m_parts[shift_node], *shifted);
    for (const auto& part : m_parts) {
      for (uint32_t k : part) {
        if (m_data.train.label(k) == *shifted) shift_data.push_back(k);
      }
    }
    std::sort(shift_data.begin(), shift_data.end());
  }
  std::vector<Node> nodes;
  nodes.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    NodeOptions o;
    o.layers = m_c.layers;
    o.sgd.learning_rate = static_cast<float>(m_c.lr);
    o.sgd.batch_size = m_c.batch_size;
    o.sgd.momentum = static_cast<float>(m_c.momentum);
    o.batches_per_unit = m_c.batches_per_round;
    o.aggregator = *agg;
    o.send_interval_ms = kRoundMs;
    o.announce_interval_ms = 30 * kRoundMs;
    o.send_head_every_round = m_c.head;
    o.gossip = m_c.gossip == "absolute" ? GossipMode::kAbsolute : GossipMode::kHybrid;
    o.scaling = m_c.scaling == "none" ? ScalingMode::kNone : ScalingMode::kFleet;
    o.delta_fraction = static_cast<float>(m_c.delta_fraction);
    o.coding = m_c.coding == "int16"  ? ValueCoding::kInt16
               : m_c.coding == "fp16" ? ValueCoding::kFp16
                                      : ValueCoding::kInt8;
    o.display_name = "node-" + std::to_string(i);
    if (m_c.memory == "off") o.peer_memory_horizon_ms = 0;
    if (m_c.memory == "delta") o.peer_memory_anchor = 0;
    if (m_c.memory == "anchor") o.peer_memory_deltas = false;
    if (m_c.memory_horizon > 0) o.peer_memory_horizon_ms = int64_t{m_c.memory_horizon} * kRoundMs;
    if (m_c.memory_anchor >= 0) o.peer_memory_anchor = static_cast<float>(m_c.memory_anchor);
    o.dp.noise_multiplier = static_cast<float>(m_c.dp_noise);
    o.dp.clip = static_cast<float>(m_c.dp_clip);
    o.dp.epsilon_budget = m_c.dp_budget;
    o.dp.delta = m_c.dp_delta;
    o.dp.seed = m_c.seed * 1000003 + i + 77;  // reproducible runs; dustd keys it from the OS
    Dataset d = m_data.train.Subset(shifted ? WithoutClass(m_parts[i], *shifted) : m_parts[i]);
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
    auto node = Node::Create(std::move(o), keys[i], m_c.fleet ? own_trust[i].get() : &trust,
                             std::move(d), m_c.seed * 31 + i);
    if (!node.ok()) {
      std::cerr << "dust-sim: node " << i << ": " << node.status().ToString() << "\n";
      return 1;
    }
    if (m_c.fleet) node->SetFleet(fleet_trust[i].get(), certificates[i]);
    nodes.push_back(std::move(*node));
  }

  std::vector<bool> online(n, true);
  std::vector<bool> churned(n, false);
  std::vector<Bytes> out;
  std::vector<const Mlp*> models(n);
  for (uint32_t i = 0; i < n; ++i) models[i] = &nodes[i].model();
  for (uint32_t r = 0; r < m_c.rounds; ++r) {
    const int64_t now = kEpochMs + static_cast<int64_t>(r) * kRoundMs;
    if (m_c.churn > 0 && r % kChurnPeriod == 0 && r > 0) {
      for (uint32_t i = 0; i < n; ++i) churned[i] = m_rng.Uniform() < m_c.churn;
    }
    const bool asleep = r >= m_c.sleep_start && r < m_c.sleep_end;
    for (uint32_t i = 0; i < n; ++i) online[i] = !churned[i] && !(asleep && sleeper[i]);
    if (shifted && r == m_c.shift_round) {
      if (Status st = nodes[shift_node].SetDataset(m_data.train.Subset(shift_data)); !st.ok()) {
        std::cerr << "dust-sim: --shift: " << st.ToString() << "\n";
        return 1;
      }
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
    TrackDisruption(r + 1, models, online);
    if (shifted) TrackShift(r + 1, models, online);
    bool final = r + 1 == m_c.rounds;
    if (final || (m_c.eval_every > 0 && (r + 1) % m_c.eval_every == 0)) {
      Evaluate(r + 1, models, final);
    }
  }
  if (m_c.scaling == "fleet" && !nodes.empty()) {
    // What the fleet agreed on (stderr: stdout stays the measurement).
    std::map<uint64_t, uint32_t> ids;
    for (const Node& node : nodes) ids[node.scaling_status().id] += 1;
    const ScalingStatus st = nodes[0].scaling_status();
    std::cerr << "dust-sim: input scaling "
              << DescribeScaling(nodes[0].model().scaling(), m_c.layers.front()) << "; node 0 "
              << (st.agreed ? "agreed" : "still calibrating") << " over " << st.samples
              << " samples (" << st.peers_pooled << " peers pooled); " << ids.size()
              << " distinct scaling(s) among the nodes\n";
  }
  if (m_c.dp_noise > 0) {
    m_dp.emplace();
    for (const Node& node : nodes) m_dp->push_back(node.dp_status());
  }
  for (auto& node : nodes) {
    NodeCounters nc = node.counters();
    for (const auto& [k, v] : nc.drops) m_drops[k] += v;
    m_accepted += nc.updates_accepted;
    m_merged += nc.updates_merged;
  }
  return Finish();
}
}  // namespace dust::sim
