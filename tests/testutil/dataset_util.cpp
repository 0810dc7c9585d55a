#include "testutil/dataset_util.h"

#include <algorithm>
#include <utility>

#include "dust/util/file.h"

namespace dust::testutil {

std::vector<float> Dense(const Dataset& d, size_t i) {
  std::vector<float> out(d.num_features(), 0.0f);
  SampleView s = d.sample(i);
  for (size_t k = 0; k < s.index.size(); ++k) out[s.index[k]] = s.value[k];
  return out;
}

bool SameData(const Dataset& a, const Dataset& b) {
  if (a.size() != b.size() || a.num_features() != b.num_features() ||
      a.num_classes() != b.num_classes() || a.nonzeros() != b.nonzeros()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    SampleView x = a.sample(i), y = b.sample(i);
    if (x.label != y.label ||
        !std::equal(x.index.begin(), x.index.end(), y.index.begin(), y.index.end()) ||
        !std::equal(x.value.begin(), x.value.end(), y.value.begin(), y.value.end())) {
      return false;
    }
  }
  return true;
}

Bytes ReadAll(const std::string& path) {
  auto r = ReadFile(path, size_t{1} << 30);
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace dust::testutil
