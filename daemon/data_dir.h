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

// Which files of a data directory are test data: evaluated on, never trained on.
struct TestFileRule {
  // Empty: the naming rule (IsTestDataName). Otherwise exactly the files whose name relative
  // to the data directory ("wine.csv", "test/wine.csv") matches one of these globs, by
  // fnmatch(3) with FNM_PATHNAME ('*' and '?' do not match '/'); all others are training data.
  std::vector<std::string> globs;
};

// The subdirectory of a data directory that is read too (not recursively): by the naming rule,
// every data file in it is test data.
inline constexpr std::string_view kTestSubdir = "test";

// The naming rule. `relative_name` is a file's name relative to the data directory. It is test
// data if it is in test/ ("test/wine.csv"), or if one of its file name's components (split at
// '-', '_' and '.') is "test" ("wine-test.csv", "test_2024.csv", "readings.test.csv"), or its
// first component is "t10k" (MNIST: "t10k-images-idx3-ubyte.gz"), ignoring ASCII case. So
// "latest.csv", "contest.csv", "attestation.csv", "test2.csv" and "train-images-idx3-ubyte.gz"
// are training data.
bool IsTestDataName(std::string_view relative_name);

// Whether the file `relative_name` is test data under `rule`.
bool IsTestFile(std::string_view relative_name, const TestFileRule& rule);

// Ok if every glob can match a name relative to a data directory (not empty, not absolute);
// otherwise an error naming the glob.
Status CheckTestFileGlobs(const std::vector<std::string>& globs);

// One data file of a data directory: a CSV file, or an IDX pair by its images file.
struct DataFile {
  std::string name;    // relative to the data directory (the images file's, for a pair)
  std::string path;    // the data directory joined with `name`
  std::string labels;  // IDX: the labels file's path; "" if there is none
  bool csv = false;
  bool orphan_labels = false;  // an IDX labels file without images (`path` is the labels file)
};

// The data files of `dir` and of its test/ subdirectory, sorted by name, as ScanDataDir below
// describes them; the second copy of an IDX set goes to `skipped` instead. An error if a
// directory cannot be listed.
Status ListDataDirFiles(const std::string& dir, std::vector<DataFile>* files,
                        std::vector<Status>* skipped);

// The error for an IDX file of `file` that lacks its partner (images without labels, labels
// without images); Ok for a CSV file or a complete pair.
Status UnpairedIdxFile(const DataFile& file);

// The error for a file whose samples have `have` features where `want` are expected, as set by
// `want_from` (an option or the first file that had samples).
Status FeatureCountMismatch(const std::string& path, uint32_t have, uint32_t want,
                            const std::string& want_from);

// The error for a data directory without usable training data: what was looked for, whether
// test data was found, and every skipped file.
Status NoTrainingData(const std::string& dir, const TestFileRule& tests, bool found_test,
                      const std::vector<Status>& skipped);

// Scans `dir`, and its subdirectory test/ if there is one (neither recursively), for IDX pairs
// ("X-images-idxN-ubyte[.gz]" with "X-labels-idx1-ubyte[.gz]" in the same directory, matched
// by the prefix X) and "*.csv" files; other files are ignored. `tests` says which files are
// test data (an IDX pair by its images file's name); the rest are training data. Files are
// taken in sorted order of their names relative to `dir`, so the result is deterministic. All
// files must agree on the feature count: options.expected_features if set, else the first
// usable file's. In strict mode any bad file (unreadable, malformed, an images file without
// labels or labels without images, a feature count that disagrees) is an error; otherwise it
// is recorded in `skipped` and the rest are still used. A second copy of the same IDX set
// (raw and .gz side by side) is skipped in both modes, the first in name order being used.
// Finding no usable training data at all is always an error naming the directory and what was
// looked for. train and test have the agreed shape even when test has no samples.
Result<DataDirContents> ScanDataDir(const std::string& dir, const LoadOptions& options, bool strict,
                                    const TestFileRule& tests = {});

// For `dustctl evaluate` on a directory ScanDataDir refuses, e.g. one that holds only test
// files: ScanDataDir's result if it has one; otherwise every IDX pair and CSV file of `dir` that
// loads (in `dir` and test/), as test or training data by `tests`, the files that do not load in
// `skipped`. ScanDataDir's error if no file loads.
Result<DataDirContents> ScanDataDirForEvaluation(const std::string& dir, const LoadOptions& options,
                                                 const TestFileRule& tests = {});

}  // namespace dust::daemon
