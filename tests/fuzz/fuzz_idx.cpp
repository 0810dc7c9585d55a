// libFuzzer target for the IDX readers: arbitrary bytes (raw or gzip) go to the images and the
// labels parser; whatever parses must be self-consistent and must build into a Dataset.
// Seed corpus: tests/fuzz/corpus/idx/ (small valid raw and gzip files).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "byte_source.h"
#include "idx_internal.h"

namespace {
// Small enough that a hostile header cannot push the fuzzer past its memory limit.
constexpr size_t kMaxBytes = size_t{1} << 24;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  const ByteView bytes(data, size);

  auto images = internal::ParseIdxImages(bytes, "fuzz-images", kMaxBytes);
  if (images.ok()) {
    const uint64_t expected = uint64_t{images->count} * images->features;
    if (images->pixels.size() != expected || images->dims.empty()) std::abort();
    internal::IdxLabels labels;
    labels.labels.assign(images->count, 0);
    LoadOptions options;
    auto built = internal::BuildIdxDataset(*images, "fuzz-images", labels, "labels", options);
    if (!built.ok() || built->size() != images->count) std::abort();
    for (size_t i = 0; i < built->size(); ++i) {
      const SampleView s = built->sample(i);
      for (size_t k = 0; k < s.index.size(); ++k) {
        if (s.index[k] >= built->num_features() || s.value[k] <= 0.0f || s.value[k] > 1.0f) {
          std::abort();
        }
      }
    }
  } else if (images.status().message().rfind("fuzz-images", 0) != 0) {
    std::abort();  // every error names the file
  }

  auto labels = internal::ParseIdxLabels(bytes, "fuzz-labels", kMaxBytes);
  if (labels.ok() && internal::IsGzip(bytes) == false && labels->labels.size() + 8 != size) {
    std::abort();  // a raw labels file is exactly header + one byte per label
  }
  if (!labels.ok() && labels.status().message().rfind("fuzz-labels", 0) != 0) std::abort();
  return 0;
}
