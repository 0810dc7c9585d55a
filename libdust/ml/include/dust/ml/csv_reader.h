// The CSV reader: one labelled sample per line, for tabular data of any width.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/util/status.h"

namespace dust {

// CSV: one sample per line, fields separated by commas (no quoting; a UTF-8 byte-order mark
// at the start is ignored). The first non-blank line is a header if any of its fields is not
// a number; header names may be in double quotes. The label column is options.label_column
// if set (the header must then have exactly one column of that name, ignoring ASCII case),
// else the header's column named "label", else the first column; every other column is a
// feature, in file order. Features are used as given (raw scale). Blank lines, "\r\n" line
// ends and spaces around fields are tolerated. Every data row must have as many fields as
// the header (if there is one) and as many features as the rows before (and as
// options.expected_features, if set); a feature that is empty or not a finite number, or a
// label that is not an integer in [0, num_classes), is an error naming the file, the line
// and the column (1-based).
// With options.no_label the file has no label column: every field is a feature and every
// label 0; the header rule is the same.
Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options);

// How far an incremental read of a CSV file got, and what it learned there (the header, the
// label column, the row width): enough for the next read to parse the bytes appended since
// exactly as reading the whole file would parse them, with the same line numbers.
struct CsvCursor {
  uint64_t offset = 0;        // bytes consumed: just past the '\n' of the last line read
  uint64_t lines = 0;         // lines consumed, blank ones included
  bool started = false;       // the first non-blank line (a header or a row) has been read
  size_t label_index = 0;     // 0-based
  size_t header_fields = 0;   // 0: no header
  uint64_t header_line = 0;   // 1-based; 0: no header
  uint32_t num_features = 0;  // the rows' width; 0 before the first row
};

// What one incremental read found.
struct CsvChunk {
  // The samples of the complete lines read, in file order (shape: next.num_features features,
  // or options.expected_features while there are no rows yet).
  Dataset rows;
  CsvCursor next;  // where the next read starts
  // Bytes after the last '\n' that were not read: a line still being written. 0 when the text
  // ends with a newline, or when the read stopped at a bad line.
  uint64_t incomplete_bytes = 0;
  // Ok, or the first bad line's error (as LoadCsv reports it). The read stops there: `rows`
  // holds the lines before it and next.offset is its start, so a read after the file changed
  // tries that line again.
  Status error;
};

// Reads the complete lines of `text`, which holds the bytes of the CSV file `path` from
// from.offset on (its whole content when `from` is a default CsvCursor), as the continuation of
// the lines `from` has read. A last line without a '\n' is not read (see incomplete_bytes); that
// is the one difference from LoadCsv, which reads a whole file whose last line has no newline.
// Fails only for bad options; a bad line is reported in CsvChunk::error.
Result<CsvChunk> ReadCsvChunk(std::string_view text, const std::string& path,
                              const LoadOptions& options, const CsvCursor& from);

// The number of fields in the first non-blank line of the CSV file at `path` (the header's, or
// the first row's), by the same line and field rules as LoadCsv; 0 if the file has no such
// line. Lets a caller that knows the model's width tell a file with a label column from one
// without. Errors: the file cannot be read or is larger than options.max_file_bytes.
Result<size_t> CsvColumnCount(const std::string& path, const LoadOptions& options);

}  // namespace dust
