// The daemon's incremental reader of its data directory: it remembers what it read of each file
// so that a rescan reads only what changed. Same files, same naming rules and same errors as
// ScanDataDir (data_dir.h); what differs is what a rescan reads and the CSV rules for a file
// that is being written:
//
//   - A file whose (device, inode, size, mtime, ctime) are those of the last scan is not read
//     (unless the last scan came less than a second after a write to it: then its hashed blocks,
//     below, are read to confirm it is unchanged).
//   - A CSV file with the same inode that only grew, whose consumed prefix still has the bytes
//     that were read (a hash of its first and last 4 KiB), is read from where the last read
//     stopped: the appended rows are added, parsed by the rules of the file's start (header,
//     label column, width) with their real line numbers.
//   - Any other change (shrunk, same size but modified, another inode, a changed prefix, or an
//     IDX file that changed at all) re-reads the file whole; its old samples are replaced.
//   - A removed file's samples are dropped.
//   - A CSV file's last line without a newline is a line still being written: it is not read
//     (nor an error), and the next rescan after it grew reads it.
//   - A CSV file is used up to its first bad line: the rows before it are kept, the error names
//     the file, line and column, and reading resumes at that line when the file changes. So a
//     bad row appended to a file never loses the rows already read, and what is used is the same
//     whether the daemon read the file in one go or as it grew.
//   - An IDX pair (read whole: it cannot be read in part) that changed and no longer loads keeps
//     the samples of its last good read, with the error, until it loads again (e.g. while a new
//     copy is still being written).
//
// Not thread-safe; one scan at a time (the daemon runs them one after another on its worker).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data_dir.h"
#include "dust/ml/csv_reader.h"
#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust::daemon {

// One file of a scan that contributes samples (possibly none: an empty or header-only file).
struct ScannedFile {
  std::string name;                  // relative to the data directory (the images file of a pair)
  std::vector<std::string> paths;    // CSV: the file; IDX: the images file, the labels file
  bool test = false;                 // by the scan's TestFileRule
  const Dataset* samples = nullptr;  // owned by the reader; valid until its next Rescan
  // Ok, or why not all of the file is used: a CSV file's first bad line (its rows before it are
  // used), an IDX pair that changed and no longer loads (its last good samples are used). The
  // message starts with the path.
  Status error;
  uint64_t incomplete_bytes = 0;  // CSV: bytes of a last line without a newline, not read yet
  bool read = false;              // read (whole or from where it stopped) by this scan
};

struct DataDirScan {
  std::vector<ScannedFile> files;  // in name order
  std::vector<Status> skipped;  // files that contribute nothing; each message starts with the path
  size_t files_read = 0;        // files read, whole or in part, by this scan
  uint64_t bytes_read = 0;      // bytes read from them (data and prefix checks)
};

// The samples of a scan put together as ScanDataDir would return them: train and test files
// concatenated in name order, `used` and `skipped` likewise. NoTrainingData's error if there
// are no training samples.
Result<DataDirContents> Concatenate(const std::string& dir, const DataDirScan& scan,
                                    const TestFileRule& tests);

class DataDirReader {
 public:
  // What identifies a file's content without reading it.
  struct Stamp {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

  // Scans `dir` (see the top of this file). `options` applies to every file; when it, or `dir`,
  // differs from the last call's, everything is read again. Fails only if the directory cannot
  // be listed or options are invalid; a bad file is in `skipped` (or has its `error`).
  Result<DataDirScan> Rescan(const std::string& dir, const LoadOptions& options,
                             const TestFileRule& tests);

 private:
  static Stamp StampOf(const struct stat& st);
  struct Entry {
    bool csv = false;
    std::string labels;  // IDX: the labels file's path
    Stamp stamp;         // CSV: the file; IDX: the images file
    Stamp labels_stamp;  // IDX
    bool racy = false;   // stamped less than a timestamp tick after the file was written
    CsvCursor cursor;    // CSV: where the next read starts
    Hash256 prefix{};    // CSV: hash of the first and last 4 KiB of the bytes before cursor.offset
    Dataset samples;
    Status error;
    uint64_t incomplete_bytes = 0;
  };

  // Brings `entry` up to date with `file`, reading what changed; counts what it read in `scan`.
  void RefreshCsv(const DataFile& file, Entry* entry, DataDirScan* scan) const;
  void RefreshIdx(const DataFile& file, Entry* entry, DataDirScan* scan) const;

  std::string m_dir;
  LoadOptions m_options;  // as passed to Rescan, but expected_features (checked per scan)
  std::map<std::string, Entry> m_entries;  // by name relative to m_dir
};

}  // namespace dust::daemon
