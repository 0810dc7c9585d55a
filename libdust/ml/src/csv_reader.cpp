// The CSV reader, in the order a file is read: the file into lines (ParseLines, which can
// start where an earlier read of the file stopped), a line into fields (SplitFields), the
// header rule (IsHeader), the label column (FindLabelColumn, or LabelColumnWithoutHeader for a
// file without a header), a row's field count against the header's (CheckFieldCount), its features
// (ParseFeatures), its label (ParseLabel), its width against the file's (CheckRowWidth), then the
// sample. Each rule of csv_reader.h lives in one of these, so a change to one rule is a change to
// one function.
#include "dust/ml/csv_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <system_error>
#include <vector>

#include "csv_internal.h"
#include "dust/util/file.h"
#include "dust/util/text.h"
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

// Spreadsheet programs may start a file with a UTF-8 byte-order mark. Left in place it would
// be part of the first field, and make a header-less file's first row look like a header.
std::string_view StripByteOrderMark(std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  return text;
}

// A line's fields, split at every comma (there is no quoting), each trimmed; at least one.
void SplitFields(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    fields->push_back(
        Trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start)));
    if (comma == std::string_view::npos) return;
    start = comma + 1;
  }
}

// Whether a file's first non-blank line is a header (not read as data): one of its non-empty
// fields is not a number. An empty field does not make a header, so "1,,2" stays a data row
// and is refused for its empty field rather than silently skipped. No later line is ever a
// header.
bool IsHeader(const std::vector<std::string_view>& fields) {
  float probe;
  for (const std::string_view field : fields) {
    if (!field.empty() && !ParseFloat(field, &probe)) return true;
  }
  return false;
}

// A header name as written, without the double quotes some writers (R's write.csv) put around
// names.
std::string_view Unquote(std::string_view name) {
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name.remove_prefix(1);
    name.remove_suffix(1);
  }
  return name;
}

// The label column (0-based) of a file with this header: the column named `wanted` (ignoring
// ASCII case) if that is set, else the one named "label", else the first. A name that occurs
// twice is an error (either could be meant), and so is a `wanted` the header lacks.
Result<size_t> FindLabelColumn(const std::vector<std::string_view>& header,
                               const std::string& wanted, const CsvPlace& at) {
  const std::string name = wanted.empty() ? "label" : wanted;
  std::vector<size_t> found;
  for (size_t i = 0; i < header.size(); ++i) {
    if (EqualsIgnoringAsciiCase(Unquote(header[i]), name)) found.push_back(i);
  }
  if (found.size() > 1) {
    return Status::InvalidArgument(at.Line() + ": the header has more than one column named \"" +
                                   name + "\" (columns " + std::to_string(found[0] + 1) + " and " +
                                   std::to_string(found[1] + 1) +
                                   "), so the label column is ambiguous");
  }
  if (found.size() == 1) return found.front();
  if (wanted.empty()) return size_t{0};
  return Status::InvalidArgument(at.Line() + ": the header has no column named \"" + wanted +
                                 "\" (the label column)");
}

// A file without a header has its label first; a label column asked for by name cannot be
// found in it, and guessing would train on a feature as the label.
Status LabelColumnWithoutHeader(const std::string& wanted, const CsvPlace& at) {
  if (wanted.empty()) return Status::Ok();
  return Status::InvalidArgument(at.Line() +
                                 ": no header line (every field of the first line is a number), "
                                 "so no column is named \"" +
                                 wanted + "\" (the label column)");
}

// With a header, every data row has as many fields as it, so that each value is in the column
// its name says. `header_fields` 0: the file has no header.
Status CheckFieldCount(size_t n, size_t header_fields, size_t header_line, const CsvPlace& at) {
  if (header_fields == 0 || n == header_fields) return Status::Ok();
  return Status::InvalidArgument(at.Line() + ": " + internal::Plural(n, "field", "fields") +
                                 " but the header (line " + std::to_string(header_line) + ") has " +
                                 std::to_string(header_fields));
}

// The features of a row: every field but the label's, in column order. The first that is
// empty, not a number or not finite is an error naming its column.
Status ParseFeatures(const std::vector<std::string_view>& fields, size_t label_index,
                     const CsvPlace& at, std::vector<float>* features) {
  features->clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i == label_index) continue;
    const std::string_view field = fields[i];
    const size_t column = i + 1;
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
// `column` is 1-based, for messages.
Result<uint8_t> ParseLabel(std::string_view field, uint32_t num_classes, size_t column,
                           const CsvPlace& at) {
  int64_t label = -1;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), label);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size()) {
    return Status::InvalidArgument(at.Column(column) + ": label \"" + std::string(field) +
                                   "\" is not an integer");
  }
  if (label < 0 || label >= num_classes) {
    return Status::InvalidArgument(at.Column(column) + ": label " + std::to_string(label) +
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

// The reader proper: parses the lines of `text` (the file's bytes from from.offset on) as the
// continuation of a file read up to `from`. Lines end at '\n'; a last line without one is taken
// as a line when `last_line_complete`, else left unread (incomplete_bytes). Stops at the first
// bad line: the rows before it are kept and `next` points at its start.
CsvChunk ParseLines(std::string_view text, const std::string& path, const LoadOptions& options,
                    const CsvCursor& from, bool last_line_complete) {
  CsvChunk chunk;
  CsvCursor& at = chunk.next;
  at = from;
  if (at.offset == 0) {
    const std::string_view stripped = StripByteOrderMark(text);
    at.offset = text.size() - stripped.size();  // the mark is consumed with the first line
    text = stripped;
  }
  chunk.rows = Dataset(at.num_features, options.num_classes);
  std::vector<std::string_view> fields;  // reused from row to row
  std::vector<float> features;
  // One line's verdict: Ok with the line taken (a header, a sample or nothing), or its error.
  const auto take = [&](size_t line_no, std::string_view line) -> Status {
    const CsvPlace place{path, line_no};
    SplitFields(line, &fields);
    if (!at.started) {
      if (IsHeader(fields)) {
        if (!options.no_label) {
          Result<size_t> label = FindLabelColumn(fields, options.label_column, place);
          if (!label.ok()) return label.status();
          at.label_index = *label;
        }
        at.started = true;
        at.header_fields = fields.size();
        at.header_line = line_no;
        return Status::Ok();
      }
      DUST_RETURN_IF_ERROR(LabelColumnWithoutHeader(options.label_column, place));
    }
    DUST_RETURN_IF_ERROR(CheckFieldCount(fields.size(), at.header_fields, at.header_line, place));
    // A file without a label column (no_label) has no column at this index.
    const size_t label_index = options.no_label ? std::string_view::npos : at.label_index;
    DUST_RETURN_IF_ERROR(ParseFeatures(fields, label_index, place, &features));
    const Result<uint8_t> label =
        options.no_label
            ? Result<uint8_t>(uint8_t{0})
            : ParseLabel(fields[label_index], options.num_classes, label_index + 1, place);
    if (!label.ok()) return label.status();
    if (features.empty())
      return Status::InvalidArgument(place.Line() + ": a label but no features");
    const bool first_row = at.num_features == 0;
    DUST_RETURN_IF_ERROR(CheckRowWidth(features.size(),
                                       first_row ? options.expected_features : at.num_features,
                                       first_row, place));
    if (first_row) {
      at.num_features = static_cast<uint32_t>(features.size());
      chunk.rows = Dataset(at.num_features, options.num_classes);
    }
    at.started = true;
    chunk.rows.AddDense(features, *label);
    return Status::Ok();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      if (!last_line_complete) {
        chunk.incomplete_bytes = text.size() - pos;
        break;
      }
      eol = text.size();
    }
    const std::string_view line = Trim(text.substr(pos, eol - pos));
    const size_t line_no = at.lines + 1;
    if (!line.empty()) {
      chunk.error = take(line_no, line);
      if (!chunk.error.ok()) break;
    }
    const size_t next = std::min(eol + 1, text.size());
    at.offset += next - pos;
    at.lines = line_no;
    pos = next;
  }
  if (chunk.rows.num_features() == 0 && at.num_features == 0) {
    chunk.rows = Dataset(options.expected_features, options.num_classes);
  }
  return chunk;
}

}  // namespace

namespace internal {

Result<Dataset> ParseCsv(std::string_view text, const std::string& path,
                         const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  CsvChunk chunk = ParseLines(text, path, options, CsvCursor{}, /*last_line_complete=*/true);
  if (!chunk.error.ok()) return chunk.error;
  return std::move(chunk.rows);
}

size_t CsvColumns(std::string_view text) {
  text = StripByteOrderMark(text);
  std::vector<std::string_view> fields;
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = Trim(text.substr(pos, eol - pos));
    if (!line.empty()) {
      SplitFields(line, &fields);
      return fields.size();
    }
    pos = eol + 1;
  }
  return 0;
}

}  // namespace internal

Result<CsvChunk> ReadCsvChunk(std::string_view text, const std::string& path,
                              const LoadOptions& options, const CsvCursor& from) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  return ParseLines(text, path, options, from, /*last_line_complete=*/false);
}

Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  auto file = ReadFile(path, options.max_file_bytes);
  if (!file.ok()) return file.status();
  return internal::ParseCsv(
      std::string_view(reinterpret_cast<const char*>(file->data()), file->size()), path, options);
}

Result<size_t> CsvColumnCount(const std::string& path, const LoadOptions& options) {
  auto file = ReadFile(path, options.max_file_bytes);
  if (!file.ok()) return file.status();
  return internal::CsvColumns(
      std::string_view(reinterpret_cast<const char*>(file->data()), file->size()));
}

}  // namespace dust
