// What every data reader (idx_reader.h, csv_reader.h) is told: the number of classes, the
// feature count a file must have, the largest file it may read, and (CSV only) which column
// holds the label.
//
// Readers never half-load (except ReadCsvChunk, the incremental CSV reader, by design): they
// return a complete Dataset or an error Status whose message names the file and what is wrong (bad
// magic, counts that disagree, truncated file, label out of range, mismatched feature count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dust/util/status.h"

namespace dust {

struct LoadOptions {
  uint32_t num_classes = 10;       // labels must be < this; 1..256 (labels are stored as uint8)
  uint32_t expected_features = 0;  // 0: any; otherwise every file must have exactly this many
  size_t max_file_bytes = size_t{1} << 31;  // refuse (not truncate) anything larger, gzipped or not
  // CSV: the header name of the label column (matched ignoring ASCII case). Empty: the column
  // named "label" if the file has a header with one, else the first column. Set: every CSV
  // file must have a header with exactly one column of this name (no comma in it).
  std::string label_column;
  // CSV: the file has no label column (rows to predict, not to learn from). Every column is a
  // feature, even one named "label", and every sample gets label 0. label_column must be empty.
  bool no_label = false;
};

// Ok if `options` can be used by the loaders: num_classes in 1..256, label_column without a
// comma (it could never match a header field), not both label_column and no_label. Every loader
// checks this first; a caller that does more before loading (the daemon's data-dir scan) checks it
// itself so that a bad option is reported before anything else.
Status CheckLoadOptions(const LoadOptions& options);

}  // namespace dust
