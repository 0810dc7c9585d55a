// What every data reader (idx_reader.h, csv_reader.h) is told: the number of classes, the
// feature count a file must have, and the largest file it may read.
//
// Readers never half-load: they return a complete Dataset or an error Status whose message
// names the file and what is wrong (bad magic, counts that disagree, truncated file, label out
// of range, mismatched feature count).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dust/util/status.h"

namespace dust {

struct LoadOptions {
  uint32_t num_classes = 10;       // labels must be < this; 1..256 (labels are stored as uint8)
  uint32_t expected_features = 0;  // 0: any; otherwise every file must have exactly this many
  size_t max_file_bytes = size_t{1} << 31;  // refuse (not truncate) anything larger, gzipped or not
};

// Ok if `options` can be used by the loaders: num_classes in 1..256. Every loader checks this
// first; a caller that does more before loading (the daemon's data-dir scan) checks it itself
// so that a bad option is reported before anything else.
Status CheckLoadOptions(const LoadOptions& options);

}  // namespace dust
