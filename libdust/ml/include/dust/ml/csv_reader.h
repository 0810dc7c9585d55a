// The CSV reader: one labelled sample per line, for tabular data of any width.
#pragma once

#include <string>

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
Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options);

}  // namespace dust
