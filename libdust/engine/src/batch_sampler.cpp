// Training batches from a shuffled order (batch_sampler.h).
#include "batch_sampler.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace dust::internal {

void BatchSampler::Next(size_t dataset_size, size_t batch_size, std::vector<uint32_t>* batch) {
  batch->clear();
  size_t bs = std::min<size_t>(batch_size, dataset_size);
  while (batch->size() < bs) {
    if (m_cursor >= m_order.size()) {
      m_order.resize(dataset_size);
      std::iota(m_order.begin(), m_order.end(), 0u);
      for (size_t i = m_order.size(); i > 1; --i)
        std::swap(m_order[i - 1], m_order[m_rng.Below(i)]);
      m_cursor = 0;
    }
    batch->push_back(m_order[m_cursor++]);
  }
}

void BatchSampler::Reset() {
  m_order.clear();
  m_cursor = 0;
}

}  // namespace dust::internal
