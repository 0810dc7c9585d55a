// libFuzzer target for the CSV reader: arbitrary bytes are parsed as a CSV file, once with the
// default label column, once with one named "y" and once without a label column (no_label:
// then every label is 0). Whatever parses must be a consistent
// Dataset (labels below num_classes, finite features); every error must name the file.
// Seed corpus: tests/fuzz/corpus/csv/ (headers, label columns, blank lines, CRLF, a BOM).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "csv_internal.h"

namespace {

void Check(std::string_view text, const std::string& label_column, bool no_label = false) {
  using namespace dust;
  LoadOptions options;
  options.num_classes = 7;
  options.label_column = label_column;
  options.no_label = no_label;
  auto parsed = internal::ParseCsv(text, "fuzz.csv", options);
  if (!parsed.ok()) {
    if (parsed.status().message().rfind("fuzz.csv: line ", 0) != 0) std::abort();
    return;
  }
  if (parsed->num_classes() != options.num_classes) std::abort();
  if (!parsed->empty() && parsed->num_features() == 0) std::abort();
  for (size_t i = 0; i < parsed->size(); ++i) {
    if (parsed->label(i) >= options.num_classes || (no_label && parsed->label(i) != 0))
      std::abort();
    const SampleView s = parsed->sample(i);
    for (size_t k = 0; k < s.index.size(); ++k) {
      if (s.index[k] >= parsed->num_features() || !std::isfinite(s.value[k])) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(text, "");
  Check(text, "y");
  Check(text, "", true);
  return 0;
}
