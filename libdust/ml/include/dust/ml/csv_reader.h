// The CSV reader: one labelled sample per line, for tabular data of any width.
#pragma once

#include <string>

#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/util/status.h"

namespace dust {

// CSV: one sample per line, "label,f1,f2,...". A header line is allowed if its first field is
// not a number. Features are used as given (scale them yourself, e.g. to [0, 1]). Blank lines,
// "\r\n" line ends and spaces around fields are tolerated; every row must have the same number
// of features; a field that is not a finite number, or a label that is not an integer in
// [0, num_classes), is an error naming the file, the line and the column (1-based).
Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options);

}  // namespace dust
