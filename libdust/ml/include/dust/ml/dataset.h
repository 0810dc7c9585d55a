// Labelled samples in memory, and the strict readers for IDX and CSV files.
//
// Samples are stored sparsely (CSR: per sample, the indices and values of its non-zero
// features). MNIST-like images are ~80% zeros, so this is both smaller than dense storage and
// what makes the first layer's forward/backward pass cheap (see model.h).
//
// Loaders never half-load: they return a complete Dataset or an error Status whose message
// names the file and what is wrong (bad magic, counts that disagree, truncated file, label out
// of range, mismatched feature count).
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
  // Pre-allocates room for `samples` more samples holding `nonzeros` more values in total.
  void Reserve(size_t samples, size_t nonzeros);

 private:
  friend struct DatasetAccess;  // libdust/ml/src/dataset.cpp: the IDX loader fills rows in bulk

  uint32_t m_num_features = 0;
  uint32_t m_num_classes = 0;
  std::vector<uint64_t> m_row_start{0};  // size() + 1 offsets into m_index / m_value
  std::vector<uint32_t> m_index;
  std::vector<float> m_value;
  std::vector<uint8_t> m_labels;
};

struct LoadOptions {
  uint32_t num_classes = 10;       // labels must be < this; 1..256 (labels are stored as uint8)
  uint32_t expected_features = 0;  // 0: any; otherwise every file must have exactly this many
  size_t max_file_bytes = size_t{1} << 31;  // refuse (not truncate) anything larger, gzipped or not
};

// IDX pair as MNIST ships it: images (magic 0x00000803, any number of dimensions after the
// count, so any image shape) and labels (0x00000801), raw or gzip-compressed (detected by
// content -- the bytes 1f 8b -- not by name). uint8 pixels are scaled to [0, 1] (p / 255).
// Only unsigned-byte elements (type 0x08) are accepted; other IDX element types are refused
// with kUnsupported. Decompression is capped at what the header declares (and at
// options.max_file_bytes), so a gzip bomb fails instead of filling memory.
Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path,
                        const LoadOptions& options);

// CSV: one sample per line, "label,f1,f2,...". A header line is allowed if its first field is
// not a number. Features are used as given (scale them yourself, e.g. to [0, 1]). Blank lines,
// "\r\n" line ends and spaces around fields are tolerated; every row must have the same number
// of features; a field that is not a finite number, or a label that is not an integer in
// [0, num_classes), is an error naming the file, the line and the column (1-based).
Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options);

// Ok if `options` can be used by the loaders: num_classes in 1..256. Every loader checks this
// first; a caller that does more before loading (the daemon's data-dir scan) checks it itself
// so that a bad option is reported before anything else.
Status CheckLoadOptions(const LoadOptions& options);

}  // namespace dust
