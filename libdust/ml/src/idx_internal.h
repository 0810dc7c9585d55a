// Internals of the IDX reader (idx_reader.cpp), exposed for the unit tests and the fuzz target.
//
// The IDX parsers take the bytes of one whole file (raw or gzip, detected by the magic bytes
// 1f 8b) and a name used in error messages. They never trust the header: decompression stops
// at the size the header declares (and at max_bytes), and every count is checked against the
// bytes actually present.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust::internal {

struct IdxImages {
  uint32_t count = 0;
  std::vector<uint32_t> dims;  // image dimensions after the count, e.g. {28, 28}
  uint32_t features = 0;       // product of dims
  Bytes pixels;                // count * features bytes, image after image
};

struct IdxLabels {
  Bytes labels;  // one byte per sample, not yet range-checked
};

// Parses an IDX images file (magic 00 00 08 ndims, ndims >= 2). max_bytes caps the payload.
Result<IdxImages> ParseIdxImages(ByteView file, const std::string& name,
                                 size_t max_bytes = size_t{1} << 31);
// Parses an IDX labels file (magic 00 00 08 01).
Result<IdxLabels> ParseIdxLabels(ByteView file, const std::string& name,
                                 size_t max_bytes = size_t{1} << 31);

// Pairs parsed images and labels into a Dataset: counts must agree, labels must be
// < options.num_classes, features must equal options.expected_features when that is set.
Result<Dataset> BuildIdxDataset(const IdxImages& images, const std::string& images_name,
                                const IdxLabels& labels, const std::string& labels_name,
                                const LoadOptions& options);

}  // namespace dust::internal
