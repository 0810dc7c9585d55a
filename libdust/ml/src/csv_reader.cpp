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

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ParseFloat(std::string_view s, float* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  auto file = ReadFile(path, options.max_file_bytes);
  if (!file.ok()) return file.status();
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());

  Dataset out;
  bool shaped = false;
  bool first_content_line = true;
  uint32_t num_features = options.expected_features;
  std::vector<float> row;
  size_t line_no = 0;
  size_t pos = 0;
  const auto where = [&](size_t column) {
    return path + ": line " + std::to_string(line_no) + ", column " + std::to_string(column);
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_no;
    if (line.empty()) continue;

    row.clear();
    std::string_view label_field;
    size_t column = 0;
    size_t start = 0;
    bool header = false;
    while (true) {
      const size_t comma = line.find(',', start);
      const std::string_view field =
          Trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
      ++column;
      if (column == 1) {
        label_field = field;
        float probe;
        if (first_content_line && !ParseFloat(field, &probe)) {
          header = true;
          break;
        }
      } else {
        float v;
        if (field.empty()) return Status::InvalidArgument(where(column) + ": empty field");
        if (!ParseFloat(field, &v)) {
          return Status::InvalidArgument(where(column) + ": \"" + std::string(field) +
                                         "\" is not a number");
        }
        if (!std::isfinite(v)) {
          return Status::InvalidArgument(where(column) + ": \"" + std::string(field) +
                                         "\" is not a finite number");
        }
        row.push_back(v);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    first_content_line = false;
    if (header) continue;

    int64_t label = -1;
    const auto [end, ec] =
        std::from_chars(label_field.data(), label_field.data() + label_field.size(), label);
    if (label_field.empty() || ec != std::errc() ||
        end != label_field.data() + label_field.size()) {
      return Status::InvalidArgument(where(1) + ": label \"" + std::string(label_field) +
                                     "\" is not an integer");
    }
    if (label < 0 || label >= options.num_classes) {
      return Status::InvalidArgument(where(1) + ": label " + std::to_string(label) +
                                     " is out of range (must be 0.." +
                                     std::to_string(options.num_classes - 1) + ")");
    }
    if (row.empty()) {
      return Status::InvalidArgument(path + ": line " + std::to_string(line_no) +
                                     ": a label but no features");
    }
    if (!shaped) {
      if (num_features != 0 && row.size() != num_features) {
        return Status::InvalidArgument(path + ": line " + std::to_string(line_no) + ": " +
                                       internal::Plural(row.size(), "feature", "features") +
                                       " but " + std::to_string(num_features) + " were expected");
      }
      num_features = static_cast<uint32_t>(row.size());
      out = Dataset(num_features, options.num_classes);
      shaped = true;
    } else if (row.size() != num_features) {
      return Status::InvalidArgument(path + ": line " + std::to_string(line_no) + ": " +
                                     internal::Plural(row.size(), "feature", "features") +
                                     " but the rows before have " + std::to_string(num_features));
    }
    out.AddDense(row, static_cast<uint8_t>(label));
  }
  if (!shaped) out = Dataset(num_features, options.num_classes);
  return out;
}

}  // namespace dust
