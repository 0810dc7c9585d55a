// Helpers the dataset and reader tests share: a sample as a dense vector, whole-dataset
// equality, a file's bytes, and the message of a load that must fail.
#pragma once

#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust::testutil {

// Sample i of d with its zeros filled in (num_features() values).
std::vector<float> Dense(const Dataset& d, size_t i);

// True if a and b have the same shape and the same samples (labels, indices, values) in order.
bool SameData(const Dataset& a, const Dataset& b);

// The bytes of the file at `path` (at most 1 GiB), failing the test if it cannot be read.
Bytes ReadAll(const std::string& path);

// The error message of a failed load, failing the test if it succeeded.
template <typename T>
std::string ErrorOf(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace dust::testutil
