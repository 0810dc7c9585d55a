#include "request_text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <vector>

namespace dust::daemon {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view s, size_t pos) {
  while (pos < s.size() && IsJsonSpace(s[pos])) ++pos;
  return pos;
}

// The end of the string starting at s[pos] == '"' (one past its closing quote), honouring
// backslash escapes; npos if it does not end.
size_t SkipString(std::string_view s, size_t pos) {
  for (++pos; pos < s.size(); ++pos) {
    if (s[pos] == '\\') {
      ++pos;
    } else if (s[pos] == '"') {
      return pos + 1;
    }
  }
  return std::string_view::npos;
}

// The end of the value starting at s[pos]: a string, a bracketed array or object (nesting
// counted, strings inside skipped), or a scalar up to the next delimiter. npos if it does not
// end. Only cuts: whoever parses the value checks it.
size_t SkipValue(std::string_view s, size_t pos) {
  if (pos >= s.size()) return std::string_view::npos;
  if (s[pos] == '"') return SkipString(s, pos);
  if (s[pos] == '[' || s[pos] == '{') {
    // The characters that matter inside: a predict request's rows are almost all digits,
    // commas and dots, passed over by this table lookup alone.
    static constexpr auto kStructural = [] {
      std::array<bool, 256> t{};
      for (unsigned char c : {'[', ']', '{', '}', '"'}) t[c] = true;
      return t;
    }();
    size_t depth = 0;
    while (pos < s.size()) {
      while (pos < s.size() && !kStructural[static_cast<unsigned char>(s[pos])]) ++pos;
      if (pos == s.size()) break;
      const char c = s[pos];
      if (c == '"') {
        pos = SkipString(s, pos);
        if (pos == std::string_view::npos) return pos;
        continue;
      }
      if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (--depth == 0) return pos + 1;
      }
      ++pos;
    }
    return std::string_view::npos;
  }
  const size_t start = pos;
  while (pos < s.size() && s[pos] != ',' && s[pos] != '}' && s[pos] != ']' && !IsJsonSpace(s[pos]))
    ++pos;
  return pos == start ? std::string_view::npos : pos;
}

// Where a message points: features[row] or features[row][column] (0-based, as in the JSON).
// (These two and Quote build by appending: GCC 12's -Wrestrict misfires on "literal" +
// std::string here.)
std::string At(size_t row) {
  std::string out = "features[";
  out += std::to_string(row);
  out += ']';
  return out;
}
std::string At(size_t row, size_t column) {
  std::string out = At(row);
  out += '[';
  out += std::to_string(column);
  out += ']';
  return out;
}

// The token at s[pos] for a message: up to 24 characters of it.
std::string Quote(std::string_view s, size_t pos) {
  size_t end = pos;
  while (end < s.size() && end - pos < 24 && s[end] != ',' && s[end] != ']' && s[end] != '[' &&
         !IsJsonSpace(s[end]))
    ++end;
  if (pos >= s.size()) return "the end";
  if (end == pos) ++end;  // a delimiter where a value should be: quote that one character
  std::string out = "'";
  out.append(s.substr(pos, end - pos));
  out += '\'';
  return out;
}

// The length of the JSON number at s[pos] (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), 0
// if there is none; *integer says it has neither fraction nor exponent.
size_t JsonNumberLength(std::string_view s, size_t pos, bool* integer) {
  const size_t start = pos;
  auto digits = [&] {
    const size_t from = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    return pos - from;
  };
  if (pos < s.size() && s[pos] == '-') ++pos;
  if (pos < s.size() && s[pos] == '0') {
    ++pos;
  } else if (digits() == 0) {
    return 0;
  }
  *integer = true;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    *integer = false;
    if (digits() == 0) return 0;
  }
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    ++pos;
    *integer = false;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
    if (digits() == 0) return 0;
  }
  return pos - start;
}

bool FromChars(std::string_view token, float* out) {
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), *out);
  return ec == std::errc() && end == token.data() + token.size() && std::isfinite(*out);
}

// Python's json module writes NaN, Infinity and -Infinity, which JSON has no words for.
bool IsNonFiniteWord(std::string_view s, size_t pos) {
  for (std::string_view w : {"NaN", "Infinity", "-Infinity"}) {
    if (s.substr(pos, w.size()) == w) return true;
  }
  return false;
}

// Appends v in shortest round-trip form.
void AppendFloat(std::string* out, float v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, ec == std::errc() ? end : buf);
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, ec == std::errc() ? end : buf);
}

}  // namespace

size_t MaxPredictRows(uint32_t width) {
  const size_t row_bytes = size_t{width} * kMaxFeatureChars + 2;  // the brackets
  const size_t fit = (kMaxBulkRequestBytes - kPredictEnvelopeBytes) / row_bytes;
  return std::clamp<size_t>(fit, 1, kMaxPredictRows);
}

std::optional<MemberSplit> SplitMember(std::string_view line, std::string_view name) {
  size_t pos = SkipSpace(line, 0);
  if (pos >= line.size() || line[pos] != '{') return std::nullopt;
  std::optional<MemberSplit> found;
  std::string rest = "{";
  ++pos;
  pos = SkipSpace(line, pos);
  if (pos < line.size() && line[pos] == '}') return std::nullopt;  // {}: no member
  for (;;) {
    pos = SkipSpace(line, pos);
    if (pos >= line.size() || line[pos] != '"') return std::nullopt;
    const size_t key_end = SkipString(line, pos);
    if (key_end == std::string_view::npos) return std::nullopt;
    const std::string_view key = line.substr(pos + 1, key_end - pos - 2);
    if (key.find('\\') != std::string_view::npos) return std::nullopt;
    pos = SkipSpace(line, key_end);
    if (pos >= line.size() || line[pos] != ':') return std::nullopt;
    pos = SkipSpace(line, pos + 1);
    const size_t value_end = SkipValue(line, pos);
    if (value_end == std::string_view::npos) return std::nullopt;
    const std::string_view value = line.substr(pos, value_end - pos);
    if (key == name) {
      if (found) return std::nullopt;  // twice: let the full parser decide
      found = MemberSplit{value, {}};
    } else {
      if (rest.size() > 1) rest += ',';
      rest.append(line.substr(key_end - key.size() - 2, key.size() + 2));
      rest += ':';
      rest.append(value);
    }
    pos = SkipSpace(line, value_end);
    if (pos >= line.size()) return std::nullopt;
    if (line[pos] == ',') {
      ++pos;
      continue;
    }
    if (line[pos] != '}') return std::nullopt;
    if (SkipSpace(line, pos + 1) != line.size()) return std::nullopt;
    break;
  }
  if (!found) return std::nullopt;
  rest += '}';
  found->rest = std::move(rest);
  return found;
}

Result<Dataset> ParseFeatureRows(std::string_view s, uint32_t width, uint32_t num_classes,
                                 size_t max_rows) {
  auto bad = [](std::string message) { return Status::InvalidArgument(std::move(message)); };
  size_t pos = SkipSpace(s, 0);
  if (pos >= s.size() || s[pos] != '[') {
    return bad("features must be an array of rows, each an array of " + std::to_string(width) +
               " numbers");
  }
  pos = SkipSpace(s, pos + 1);
  if (pos < s.size() && s[pos] == ']') return bad("features has no rows");
  Dataset out(width, num_classes);
  // The current row's non-zero values, as the Dataset stores them.
  std::vector<uint32_t> index;
  std::vector<float> value;
  for (size_t r = 0;; ++r) {
    if (r == max_rows) {
      return bad("features has more than " + std::to_string(max_rows) +
                 " rows (the most one request may hold for a model " + std::to_string(width) +
                 " features wide; send them in several requests)");
    }
    if (pos >= s.size() || s[pos] != '[') {
      return bad(At(r) + " must be an array of " + std::to_string(width) + " numbers, not " +
                 Quote(s, pos));
    }
    pos = SkipSpace(s, pos + 1);
    size_t c = 0;
    if (pos < s.size() && s[pos] == ']') {
      return bad(At(r) + " is empty; the model takes " + std::to_string(width) + " features");
    }
    for (;; ++c) {
      if (c == width) {
        return bad(At(r) + " has more than " + std::to_string(width) + " values; the model takes " +
                   std::to_string(width) + " features");
      }
      bool integer = false;
      // A lone 0 (most of an image is background) needs no more look than this.
      const bool zero =
          pos + 1 < s.size() && s[pos] == '0' && (s[pos + 1] == ',' || s[pos + 1] == ']');
      const size_t n = zero ? 1 : JsonNumberLength(s, pos, &integer);
      if (n == 0) {
        if (IsNonFiniteWord(s, pos)) {
          return bad(At(r, c) + ": " + Quote(s, pos) + " is not a finite number");
        }
        return bad(At(r, c) + ": " + Quote(s, pos) + " is not a number");
      }
      float v;
      if (zero) {
        v = 0.0f;
      } else if (integer && n <= 7 && s[pos] != '-') {
        // The common case (0 in an image's background): below 2^24, exact as a float.
        uint32_t u = 0;
        for (size_t k = pos; k < pos + n; ++k) u = u * 10 + static_cast<uint32_t>(s[k] - '0');
        v = static_cast<float>(u);
      } else if (!FromChars(s.substr(pos, n), &v)) {
        // (std::from_chars: GCC 12's is the fast_float algorithm, 12 ns a number here; a
        // Clinger fast path written for this was slower.)
        return bad(At(r, c) + ": " + Quote(s, pos) + " is out of a float's range");
      }
      if (v != 0.0f) {
        index.push_back(static_cast<uint32_t>(c));
        value.push_back(v);
      }
      pos = SkipSpace(s, pos + n);
      if (pos < s.size() && s[pos] == ',') {
        pos = SkipSpace(s, pos + 1);
        continue;
      }
      if (pos < s.size() && s[pos] == ']') break;
      return bad(At(r) + ": expected ',' or ']' after value " + std::to_string(c) + ", found " +
                 Quote(s, pos));
    }
    if (c + 1 != width) {
      return bad(At(r) + " has " + std::to_string(c + 1) + (c == 0 ? " value" : " values") +
                 "; the model takes " + std::to_string(width) + " features");
    }
    out.AddSparse(index, value, 0);
    index.clear();
    value.clear();
    pos = SkipSpace(s, pos + 1);
    if (pos < s.size() && s[pos] == ',') {
      pos = SkipSpace(s, pos + 1);
      continue;
    }
    if (pos < s.size() && s[pos] == ']') {
      if (SkipSpace(s, pos + 1) != s.size()) {
        return bad("features: unexpected " + Quote(s, SkipSpace(s, pos + 1)) +
                   " after the last row");
      }
      return out;
    }
    return bad("features: expected ',' or ']' after row " + std::to_string(r) + ", found " +
               Quote(s, pos));
  }
}

std::string PredictRequestLine(const Dataset& data, size_t begin, size_t end, uint64_t id) {
  std::string out = "{\"id\":";
  AppendUint(&out, id);
  out += ",\"cmd\":\"predict\",\"features\":[";
  const uint32_t width = data.num_features();
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += ',';
    out += '[';
    const SampleView x = data.sample(i);
    size_t next = 0;  // the next stored (non-zero) feature
    for (uint32_t k = 0; k < width; ++k) {
      if (k > 0) out += ',';
      if (next < x.index.size() && x.index[next] == k) {
        AppendFloat(&out, x.value[next++]);
      } else {
        out += '0';
      }
    }
    out += ']';
  }
  out += "]}";
  return out;
}

std::string PredictionsJson(std::span<const uint32_t> classes, std::span<const float> probs,
                            uint32_t num_classes, uint64_t steps) {
  std::string out;
  out.reserve(64 + classes.size() * (32 + size_t{num_classes} * 14));
  out += "{\"rows\":";
  AppendUint(&out, classes.size());
  out += ",\"steps\":";
  AppendUint(&out, steps);
  out += ",\"predictions\":[";
  for (size_t i = 0; i < classes.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"class\":";
    AppendUint(&out, classes[i]);
    out += ",\"probabilities\":[";
    for (uint32_t j = 0; j < num_classes; ++j) {
      if (j > 0) out += ',';
      AppendFloat(&out, probs[i * num_classes + j]);
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace dust::daemon
