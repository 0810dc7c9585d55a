// Builders for the bytes of IDX files (and gzip copies of them), shared by the reader tests
// (tests/unit/ml) and the data-directory tests (tests/unit/daemon).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dust/util/bytes.h"

namespace dust::testutil {

// data/mnist-10k of the source tree: the bundled MNIST slice, 8,000 training and 2,000 test
// images as gzip IDX pairs.
inline const std::string kMnistDir = std::string(DUST_SOURCE_DIR) + "/data/mnist-10k";

// Appends v big-endian, as IDX headers store their counts.
void PutBe32(Bytes* out, uint32_t v);

// An IDX images file: magic 00 00 08 ndims, count, dims, then count * prod(dims) pixel bytes
// with pixel k of the whole file = (k * 37) % 256, so some are zero and most are not.
Bytes IdxImagesFile(uint32_t count, const std::vector<uint32_t>& dims);

// An IDX labels file: magic 00 00 08 01, count, then the label bytes.
Bytes IdxLabelsFile(const std::vector<uint8_t>& labels);

// `raw` gzip-compressed (one member, zlib level 6), as MNIST's .gz files are.
Bytes Gzip(ByteView raw);

}  // namespace dust::testutil
