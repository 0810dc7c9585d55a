// dust-sim's baselines on the same data and evaluation: one centralized model, and FedAvg.
#include <cmath>
#include <iostream>

#include "sim.h"

namespace dust::sim {

int Simulation::RunCentralized() {
  // One model on the union of the nodes' data, as many samples per round as all nodes together.
  auto model = Mlp::Create(m_c.layers);
  if (!model.ok()) {
    std::cerr << "dust-sim: " << model.status().ToString() << "\n";
    return 1;
  }
  model->Init(1);
  // The scaling the fleet agrees on when every node hears every other: that of all the data.
  if (m_c.scaling == "fleet") (void)model->SetScaling(ScalingFor(FeatureMoments::Of(m_data.train)));
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
  auto global = Mlp::Create(m_c.layers);
  if (!global.ok()) {
    std::cerr << "dust-sim: " << global.status().ToString() << "\n";
    return 1;
  }
  global->Init(1);
  if (m_c.scaling == "fleet") {
    (void)global->SetScaling(ScalingFor(FeatureMoments::Of(m_data.train)));
  }
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
}  // namespace dust::sim
