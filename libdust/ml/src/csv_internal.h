// Internals of the CSV reader (csv_reader.cpp), exposed for the unit tests and the fuzz target.
#pragma once

#include <string>
#include <string_view>

#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/util/status.h"

namespace dust::internal {

// LoadCsv on a file's bytes already in memory; `path` is only used in messages. Everything
// csv_reader.h says of LoadCsv holds, except that max_file_bytes is not checked here.
Result<Dataset> ParseCsv(std::string_view text, const std::string& path,
                         const LoadOptions& options);

// CsvColumnCount on a file's bytes already in memory.
size_t CsvColumns(std::string_view text);

}  // namespace dust::internal
