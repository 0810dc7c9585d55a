// libFuzzer target for predict's request text (daemon/request_text.h): arbitrary bytes are a
// request line. SplitMember must cut only within the line, and what it leaves must be the rest of
// the object; ParseFeatureRows, on the cut value and on the whole input, must return rows of
// exactly the width with finite values, never more than the limit, or an error naming its place;
// the rows written back by PredictRequestLine must parse to the same floats, bit for bit; and a
// lone number must convert exactly as std::from_chars converts it.
// Seed corpus: tests/fuzz/corpus/predict_request/ (requests, good and broken).
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "request_text.h"

namespace {

using dust::Dataset;

void CheckRows(std::string_view text, uint32_t width) {
  constexpr size_t kMaxRows = 4;
  auto rows = dust::daemon::ParseFeatureRows(text, width, 3, kMaxRows);
  if (!rows.ok()) {
    if (rows.status().message().rfind("features", 0) != 0) std::abort();
    return;
  }
  if (rows->empty() || rows->size() > kMaxRows || rows->num_features() != width) std::abort();
  for (size_t i = 0; i < rows->size(); ++i) {
    const dust::SampleView s = rows->sample(i);
    if (rows->label(i) != 0) std::abort();
    for (size_t k = 0; k < s.index.size(); ++k) {
      if (s.index[k] >= width || !std::isfinite(s.value[k])) std::abort();
    }
  }
  // Written back and read again: the same floats.
  const std::string line = dust::daemon::PredictRequestLine(*rows, 0, rows->size(), 1);
  auto split = dust::daemon::SplitMember(line, "features");
  if (!split) std::abort();
  auto again = dust::daemon::ParseFeatureRows(split->value, width, 3, kMaxRows);
  if (!again.ok() || again->size() != rows->size() || again->nonzeros() != rows->nonzeros())
    std::abort();
  for (size_t i = 0; i < rows->size(); ++i) {
    const dust::SampleView a = rows->sample(i), b = again->sample(i);
    if (a.index.size() != b.index.size()) std::abort();
    for (size_t k = 0; k < a.index.size(); ++k) {
      if (a.index[k] != b.index[k] || std::memcmp(&a.value[k], &b.value[k], sizeof(float)) != 0)
        std::abort();
    }
  }
}

}  // namespace

// A lone number read as a one-value row must be std::from_chars' float, bit for bit (the
// parser's fast path against the library's correctly rounded conversion).
void CheckNumber(std::string_view text) {
  auto row = dust::daemon::ParseFeatureRows("[[" + std::string(text) + "]]", 1, 3, 1);
  if (!row.ok()) return;
  while (!text.empty() && std::strchr(" \t\r\n", text.front()) != nullptr) text.remove_prefix(1);
  while (!text.empty() && std::strchr(" \t\r\n", text.back()) != nullptr) text.remove_suffix(1);
  float slow = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), slow);
  if (ec != std::errc() || end != text.data() + text.size()) std::abort();
  const dust::SampleView s = row->sample(0);
  const float fast = s.value.empty() ? 0.0f : s.value[0];
  if (slow == 0.0f ? fast != 0.0f : std::memcmp(&fast, &slow, sizeof(float)) != 0) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  // The width comes from the first byte so that both narrow and wider rows get explored.
  const uint32_t width = size > 0 ? 1 + data[0] % 8 : 1;
  if (auto split = dust::daemon::SplitMember(line, "features")) {
    const char* begin = line.data();
    if (split->value.data() < begin || split->value.data() + split->value.size() > begin + size)
      std::abort();
    if (split->rest.empty() || split->rest.front() != '{' || split->rest.back() != '}')
      std::abort();
    if (split->rest.size() + split->value.size() > size + 2) std::abort();
    CheckRows(split->value, width);
  }
  CheckRows(line, width);
  if (size <= 64) CheckNumber(line);
  return 0;
}
