// dust-sim internals shared by dust_sim.cpp and the sim_*.cpp helpers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dust/ml/dataset.h"
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

}  // namespace dust::sim
