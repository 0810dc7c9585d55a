// The data directory's naming rules: which files in it are read, which are training data and
// which are test data. The readers (dust/ml/idx_reader.h, dust/ml/csv_reader.h) know file
// formats, not names; this is the daemon's convention for a directory of them (dustd.8,
// docs/operations.md). dust-sim and dust-bench link it too (the dustd_data_dir target), so a
// directory means the same to them as to dustd.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/util/status.h"

namespace dust::daemon {

// The result of scanning a data directory: training and test samples, which files were used,
// and every file that was skipped with the reason.
struct DataDirContents {
  Dataset train;
  Dataset test;
  std::vector<std::string> used;  // paths
  std::vector<Status> skipped;    // each message starts with the path
};

// True if a data file called `file_name` (no directory) holds test data: its name starts with
// "t10k" (as MNIST's test files do) or contains "test". Other data files are training data.
bool IsTestDataName(std::string_view file_name);

// Scans `dir` (not recursively) for IDX pairs ("X-images-idxN-ubyte[.gz]" with
// "X-labels-idx1-ubyte[.gz]", matched by the prefix X) and "*.csv" files; other files are
// ignored. Files whose name starts with "t10k" or contains "test" are test data; the rest are
// training data. Files are taken in sorted name order, so the result is deterministic. All
// files must agree on the feature count: options.expected_features if set, else the first
// usable file's. In strict mode any bad file (unreadable, malformed, an images file without
// labels or labels without images, a feature count that disagrees) is an error; otherwise it
// is recorded in `skipped` and the rest are still used. A second copy of the same IDX set
// (raw and .gz side by side) is skipped in both modes, the first in name order being used.
// Finding no usable training data at all is always an error naming the directory and what was
// looked for. train and test have the agreed shape even when test has no samples.
Result<DataDirContents> ScanDataDir(const std::string& dir, const LoadOptions& options,
                                    bool strict);

// For `dustctl evaluate` on a directory ScanDataDir refuses, e.g. one that holds only test
// files: ScanDataDir's result if it has one; otherwise every IDX pair and CSV file of `dir` that
// loads, as test or training data by IsTestDataName, the files that do not load in `skipped`.
// ScanDataDir's error if no file loads.
Result<DataDirContents> ScanDataDirForEvaluation(const std::string& dir,
                                                 const LoadOptions& options);

}  // namespace dust::daemon
