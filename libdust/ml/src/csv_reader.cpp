// The CSV reader, in the order a file is read: the file into lines (ForEachLine), the header
// rule (IsHeader), a line into its label field and features (SplitRow), the label
// (ParseLabel), the row's width against the file's (CheckRowWidth), then the sample. Each rule
// of csv_reader.h lives in one of these, so a change to one rule is a change to one function.
#include "dust/ml/csv_reader.h"

#include <charconv>
#include <cmath>
#include <string_view>
#include <system_error>
#include <vector>

#include "dust/util/file.h"
#include "plural.h"

namespace dust {

namespace {

// Where a message points: "<path>: line N", and ", column C" after it (both 1-based).
struct CsvPlace {
  const std::string& path;
  size_t line;

  std::string Line() const { return path + ": line " + std::to_string(line); }
  std::string Column(size_t column) const { return Line() + ", column " + std::to_string(column); }
};

// Spaces and tabs around a line or field, and the '\r' of a "\r\n" line end, are not part of
// it.
std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// True if all of `s` is a number (std::from_chars syntax: no leading '+'; "nan" and "inf" are
// numbers here, refused later as not finite).
bool ParseFloat(std::string_view s, float* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Calls fn(line_no, line) for each line of `text` that is not blank, trimmed; line_no is
// 1-based and counts blank lines too. Lines end at '\n' (the last one needs none). Stops at
// the first error fn returns and returns it.
template <typename Fn>
Status ForEachLine(std::string_view text, Fn&& fn) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_no;
    if (line.empty()) continue;
    DUST_RETURN_IF_ERROR(fn(line_no, line));
  }
  return Status::Ok();
}

// Whether a file's first non-blank line is a header (skipped): its first field is not a
// number. No later line is ever a header.
bool IsHeader(std::string_view first_line) {
  float probe;
  return !ParseFloat(Trim(first_line.substr(0, first_line.find(','))), &probe);
}

// Splits a data line at its commas: column 1 is the label field (returned as written, checked
// by ParseLabel), the rest are features. The first feature that is empty, not a number or not
// finite is an error naming its column.
Status SplitRow(std::string_view line, const CsvPlace& at, std::string_view* label_field,
                std::vector<float>* features) {
  features->clear();
  size_t comma = line.find(',');
  *label_field = Trim(line.substr(0, comma));
  size_t column = 1;
  while (comma != std::string_view::npos) {
    const size_t start = comma + 1;
    comma = line.find(',', start);
    const std::string_view field =
        Trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
    ++column;
    float v;
    if (field.empty()) return Status::InvalidArgument(at.Column(column) + ": empty field");
    if (!ParseFloat(field, &v)) {
      return Status::InvalidArgument(at.Column(column) + ": \"" + std::string(field) +
                                     "\" is not a number");
    }
    if (!std::isfinite(v)) {
      return Status::InvalidArgument(at.Column(column) + ": \"" + std::string(field) +
                                     "\" is not a finite number");
    }
    features->push_back(v);
  }
  return Status::Ok();
}

// The label field as a class: an integer (no sign, fraction or exponent) in [0, num_classes).
Result<uint8_t> ParseLabel(std::string_view field, uint32_t num_classes, const CsvPlace& at) {
  int64_t label = -1;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), label);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size()) {
    return Status::InvalidArgument(at.Column(1) + ": label \"" + std::string(field) +
                                   "\" is not an integer");
  }
  if (label < 0 || label >= num_classes) {
    return Status::InvalidArgument(at.Column(1) + ": label " + std::to_string(label) +
                                   " is out of range (must be 0.." +
                                   std::to_string(num_classes - 1) + ")");
  }
  return static_cast<uint8_t>(label);
}

// Whether a row of n features fits the file: the first data row must have `width` features
// when that is set (expected_features, else 0), every later row as many as the first had.
Status CheckRowWidth(size_t n, uint32_t width, bool first_row, const CsvPlace& at) {
  if (first_row) {
    if (width != 0 && n != width) {
      return Status::InvalidArgument(at.Line() + ": " + internal::Plural(n, "feature", "features") +
                                     " but " + std::to_string(width) + " were expected");
    }
  } else if (n != width) {
    return Status::InvalidArgument(at.Line() + ": " + internal::Plural(n, "feature", "features") +
                                   " but the rows before have " + std::to_string(width));
  }
  return Status::Ok();
}

}  // namespace

Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  auto file = ReadFile(path, options.max_file_bytes);
  if (!file.ok()) return file.status();
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());

  Dataset out;
  bool shaped = false;  // out has its shape: the first data row has been read
  bool first_line = true;
  uint32_t num_features = options.expected_features;
  std::string_view label_field;
  std::vector<float> features;  // reused from row to row
  const Status read = ForEachLine(text, [&](size_t line_no, std::string_view line) -> Status {
    const CsvPlace at{path, line_no};
    if (first_line) {
      first_line = false;
      if (IsHeader(line)) return Status::Ok();
    }
    DUST_RETURN_IF_ERROR(SplitRow(line, at, &label_field, &features));
    const Result<uint8_t> label = ParseLabel(label_field, options.num_classes, at);
    if (!label.ok()) return label.status();
    if (features.empty()) return Status::InvalidArgument(at.Line() + ": a label but no features");
    DUST_RETURN_IF_ERROR(CheckRowWidth(features.size(), num_features, !shaped, at));
    if (!shaped) {
      num_features = static_cast<uint32_t>(features.size());
      out = Dataset(num_features, options.num_classes);
      shaped = true;
    }
    out.AddDense(features, *label);
    return Status::Ok();
  });
  if (!read.ok()) return read;
  if (!shaped) out = Dataset(num_features, options.num_classes);
  return out;
}

}  // namespace dust
