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
//
// This file holds main and the --algorithm dispatch; the rest is in sim_*.cpp (see sim.h).
#include <algorithm>
#include <cmath>
#include <iostream>

#include "dust/util/crypto.h"
#include "model_shape.h"
#include "sim.h"

namespace dust::sim {

int Simulation::Run() {
  if (m_c.algorithm == "dust") return RunDust(false);
  if (m_c.algorithm == "local") return RunDust(true);
  if (m_c.algorithm == "centralized") return RunCentralized();
  if (m_c.algorithm == "fedavg") return RunFedAvg();
  std::cerr << "dust-sim: --algorithm: dust, fedavg, local or centralized\n";  // checked before
  return 1;
}

}  // namespace dust::sim

int main(int argc, char** argv) {
  dust::sim::Config c;
  dust::sim::Attack attack;
  if (auto rc = dust::sim::ParseSimOptions(argc, argv, &c, &attack)) return *rc;
  if (!dust::InitCrypto().ok()) {
    std::cerr << "dust-sim: libsodium failed to initialise\n";
    return 1;
  }
  // Strict, as dust-bench train: a file that cannot be used is an error, never left out quietly.
  auto shaped = dust::bench::LoadShapedData(c.data, c.layers, c.csv_label_column);
  if (!shaped.ok()) {
    std::cerr << "dust-sim: " << shaped.status().ToString() << "\n";
    return 1;
  }
  c.layers = shaped->layers;
  std::cerr << "dust-sim: " << shaped->description << "\n";
  dust::daemon::DataDirContents* data = &shaped->contents;
  if (data->test.empty()) {
    std::cerr << "dust-sim: " << c.data
              << " holds no test data (files in test/, or named like *-test.csv or t10k-*)\n";
    return 1;
  }
  auto parts = dust::sim::Split(data->train, c.split, c.nodes, c.seed);
  if (!parts.ok()) {
    std::cerr << "dust-sim: " << parts.status().message() << "\n";
    return 1;
  }
  // A node without data only merges what it hears (and its own accuracy counts in the mean): a
  // real fleet can have such nodes, but a split that makes them should not do so unnoticed.
  const auto empty = std::count_if(parts->begin(), parts->end(), [](auto& p) { return p.empty(); });
  if (empty > 0 && c.algorithm != "centralized") {
    std::cerr << "dust-sim: " << empty << " of " << c.nodes
              << " nodes hold no training data (--split " << c.split << " of " << data->train.size()
              << " samples)\n";
  }
  std::vector<bool> byz(c.nodes, false);
  size_t nbyz = static_cast<size_t>(std::llround(c.byzantine * c.nodes));
  if (c.byzantine > 0 && nbyz == 0) {
    std::cerr << "dust-sim: --byzantine " << c.byzantine << " of " << c.nodes
              << " nodes rounds to no node at all\n";
    return 1;
  }
  if (nbyz > 0 && attack.kind != dust::sim::Attack::kNone) {
    dust::Rng r(c.seed + 777);
    std::vector<uint32_t> idx(c.nodes);
    for (uint32_t i = 0; i < c.nodes; ++i) idx[i] = i;
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[r.Below(i)]);
    for (size_t k = 0; k < nbyz; ++k) byz[idx[k]] = true;
  }
  dust::sim::Simulation sim(c, std::move(*data), std::move(*parts), std::move(byz), attack);
  return sim.Run();
}
