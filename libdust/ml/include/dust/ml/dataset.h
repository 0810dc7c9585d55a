// Labelled samples in memory. The readers that fill a Dataset from files are beside it:
// idx_reader.h (IDX, as MNIST ships) and csv_reader.h.
//
// Samples are stored sparsely (CSR: per sample, the indices and values of its non-zero
// features). MNIST-like images are ~80% zeros, so this is both smaller than dense storage and
// what makes the first layer's forward/backward pass cheap (see model.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dust/util/status.h"

namespace dust {

struct SampleView {
  std::span<const uint32_t> index;  // non-zero feature positions, strictly increasing
  std::span<const float> value;     // their values, same length as index
  uint8_t label = 0;
};

// Invariants: m_row_start has size() + 1 entries, starts at 0 and never decreases; its last
// entry equals m_index.size() == m_value.size(); within a row indices strictly increase and are
// < num_features(); every label is < num_classes(). Not thread-safe for writes; concurrent reads
// of a Dataset nobody modifies are fine.
class Dataset {
 public:
  // A default-constructed Dataset has no shape (0 features, 0 classes); Append gives it one.
  Dataset() = default;
  Dataset(uint32_t num_features, uint32_t num_classes);

  // Appends one sample given densely (zeros are not stored). features.size() must equal
  // num_features() and label < num_classes() (checked by the loaders, asserted here).
  void AddDense(std::span<const float> features, uint8_t label);
  // Appends one sample given sparsely (index strictly increasing, < num_features()).
  void AddSparse(std::span<const uint32_t> index, std::span<const float> value, uint8_t label);

  size_t size() const { return m_labels.size(); }
  bool empty() const { return m_labels.empty(); }
  uint32_t num_features() const { return m_num_features; }
  uint32_t num_classes() const { return m_num_classes; }
  uint8_t label(size_t i) const { return m_labels[i]; }
  SampleView sample(size_t i) const;
  // Number of stored (non-zero) feature values over all samples.
  size_t nonzeros() const { return m_value.size(); }

  // A new dataset with the given samples, in that order.
  Dataset Subset(std::span<const uint32_t> indices) const;
  // Appends all of `other`; both must have the same num_features and num_classes, except that
  // an empty, default-constructed Dataset takes the shape of `other`. On error nothing changes.
  Status Append(const Dataset& other);
  // Removes every sample, keeping the shape and the allocated memory (scratch batches).
  void Clear();
  // Pre-allocates room for `samples` more samples holding `nonzeros` more values in total.
  void Reserve(size_t samples, size_t nonzeros);
  // Sets the number of classes without copying, e.g. to the count a tool infers from the
  // labels after loading with a generous bound. InvalidArgument (nothing changes) if it is not
  // in 1..256 or a stored label is not below it.
  Status SetNumClasses(uint32_t num_classes);
  // The highest stored label; 0 for an empty dataset.
  uint8_t MaxLabel() const;

 private:
  friend struct DatasetAccess;  // libdust/ml/src/idx_reader.cpp: the IDX loader fills rows in bulk

  uint32_t m_num_features = 0;
  uint32_t m_num_classes = 0;
  std::vector<uint64_t> m_row_start{0};  // size() + 1 offsets into m_index / m_value
  std::vector<uint32_t> m_index;
  std::vector<float> m_value;
  std::vector<uint8_t> m_labels;
};

}  // namespace dust
