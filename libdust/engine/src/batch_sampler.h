// Which local samples each training step uses: epochs of a seeded shuffled order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dust/util/rng.h"

namespace dust::internal {

// Not thread-safe. The sequence of batches depends only on the seed and the calls made.
class BatchSampler {
 public:
  explicit BatchSampler(uint64_t seed) : m_rng(seed) {}

  // Replaces *batch with min(batch_size, dataset_size) sample indices taken in turn from the
  // current epoch's order; when that runs out, a new epoch starts with a fresh Fisher-Yates
  // shuffle of [0, dataset_size). dataset_size must be > 0.
  void Next(size_t dataset_size, size_t batch_size, std::vector<uint32_t>* batch);

  // Abandons the current epoch (the dataset changed): the next batch starts a new shuffle.
  // The random stream continues where it was.
  void Reset();

 private:
  Rng m_rng;
  std::vector<uint32_t> m_order;  // shuffled sample order for the current epoch
  size_t m_cursor = 0;
};

}  // namespace dust::internal
