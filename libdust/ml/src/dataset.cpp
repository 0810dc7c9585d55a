#include "dust/ml/dataset.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace dust {

Dataset::Dataset(uint32_t num_features, uint32_t num_classes)
    : m_num_features(num_features), m_num_classes(num_classes) {}

void Dataset::AddDense(std::span<const float> features, uint8_t label) {
  assert(features.size() == m_num_features);
  assert(label < m_num_classes);
  for (size_t j = 0; j < features.size(); ++j) {
    if (features[j] != 0.0f) {
      m_index.push_back(static_cast<uint32_t>(j));
      m_value.push_back(features[j]);
    }
  }
  m_row_start.push_back(m_index.size());
  m_labels.push_back(label);
}

void Dataset::AddSparse(std::span<const uint32_t> index, std::span<const float> value,
                        uint8_t label) {
  assert(index.size() == value.size());
  assert(label < m_num_classes);
#ifndef NDEBUG
  for (size_t k = 0; k < index.size(); ++k) {
    assert(index[k] < m_num_features);
    assert(k == 0 || index[k - 1] < index[k]);
  }
#endif
  m_index.insert(m_index.end(), index.begin(), index.end());
  m_value.insert(m_value.end(), value.begin(), value.end());
  m_row_start.push_back(m_index.size());
  m_labels.push_back(label);
}

SampleView Dataset::sample(size_t i) const {
  assert(i < size());
  const size_t begin = m_row_start[i];
  const size_t n = m_row_start[i + 1] - begin;
  return SampleView{std::span<const uint32_t>(m_index.data() + begin, n),
                    std::span<const float>(m_value.data() + begin, n), m_labels[i]};
}

Dataset Dataset::Subset(std::span<const uint32_t> indices) const {
  Dataset out(m_num_features, m_num_classes);
  size_t nnz = 0;
  for (uint32_t i : indices) {
    assert(i < size());
    nnz += m_row_start[i + 1] - m_row_start[i];
  }
  out.Reserve(indices.size(), nnz);
  for (uint32_t i : indices) {
    SampleView s = sample(i);
    out.AddSparse(s.index, s.value, s.label);
  }
  return out;
}

void Dataset::Clear() {
  m_row_start.resize(1);
  m_index.clear();
  m_value.clear();
  m_labels.clear();
}

Status Dataset::Append(const Dataset& other) {
  if (m_num_features == 0 && m_num_classes == 0 && empty()) {
    m_num_features = other.m_num_features;
    m_num_classes = other.m_num_classes;
  }
  if (other.m_num_features != m_num_features || other.m_num_classes != m_num_classes) {
    return Status::InvalidArgument("cannot append a dataset of " +
                                   std::to_string(other.m_num_features) + " features and " +
                                   std::to_string(other.m_num_classes) + " classes to one of " +
                                   std::to_string(m_num_features) + " features and " +
                                   std::to_string(m_num_classes) + " classes");
  }
  if (&other == this) {
    const Dataset copy = other;  // vector::insert from itself is undefined
    return Append(copy);
  }
  const uint64_t base = m_index.size();
  Reserve(other.size(), other.nonzeros());
  m_index.insert(m_index.end(), other.m_index.begin(), other.m_index.end());
  m_value.insert(m_value.end(), other.m_value.begin(), other.m_value.end());
  for (size_t i = 1; i < other.m_row_start.size(); ++i) {
    m_row_start.push_back(base + other.m_row_start[i]);
  }
  m_labels.insert(m_labels.end(), other.m_labels.begin(), other.m_labels.end());
  return Status::Ok();
}

void Dataset::Reserve(size_t samples, size_t nonzeros) {
  m_row_start.reserve(m_row_start.size() + samples);
  m_labels.reserve(m_labels.size() + samples);
  m_index.reserve(m_index.size() + nonzeros);
  m_value.reserve(m_value.size() + nonzeros);
}

Status Dataset::SetNumClasses(uint32_t num_classes) {
  if (num_classes == 0 || num_classes > 256) {
    return Status::InvalidArgument("number of classes " + std::to_string(num_classes) +
                                   " is not in 1..256");
  }
  if (!empty() && MaxLabel() >= num_classes) {
    return Status::InvalidArgument("label " + std::to_string(MaxLabel()) + " does not fit " +
                                   std::to_string(num_classes) + " classes");
  }
  m_num_classes = num_classes;
  return Status::Ok();
}

uint8_t Dataset::MaxLabel() const {
  return empty() ? uint8_t{0} : *std::max_element(m_labels.begin(), m_labels.end());
}

}  // namespace dust
