#include "dust/ml/dataset.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "testutil/dataset_util.h"

using namespace dust;
using namespace dust::testutil;

TEST_CASE("dataset stores only non-zero features and returns them in order") {
  Dataset d(4, 3);
  const float a[] = {0.0f, 2.0f, 0.0f, -1.0f};
  d.AddDense(a, 2);
  const uint32_t idx[] = {0, 3};
  const float val[] = {5.0f, 6.0f};
  d.AddSparse(idx, val, 1);
  REQUIRE(d.size() == 2);
  CHECK(d.nonzeros() == 4);
  SampleView s0 = d.sample(0);
  CHECK(std::vector<uint32_t>(s0.index.begin(), s0.index.end()) == std::vector<uint32_t>{1, 3});
  CHECK(std::vector<float>(s0.value.begin(), s0.value.end()) == std::vector<float>{2.0f, -1.0f});
  CHECK(s0.label == 2);
  CHECK(Dense(d, 1) == std::vector<float>{5.0f, 0.0f, 0.0f, 6.0f});
  CHECK(d.label(1) == 1);
}

TEST_CASE("dataset subset copies the chosen samples in the given order") {
  Dataset d(2, 10);
  for (uint8_t i = 0; i < 5; ++i) {
    const float f[] = {static_cast<float>(i), 1.0f};
    d.AddDense(f, i);
  }
  const uint32_t pick[] = {4, 0, 4};
  Dataset s = d.Subset(pick);
  REQUIRE(s.size() == 3);
  CHECK(s.label(0) == 4);
  CHECK(s.label(1) == 0);
  CHECK(Dense(s, 0) == std::vector<float>{4.0f, 1.0f});
  CHECK(Dense(s, 1) == std::vector<float>{0.0f, 1.0f});
  CHECK(s.nonzeros() == 2 + 1 + 2);
}

TEST_CASE("dataset append joins samples and refuses a different shape unchanged") {
  Dataset a(2, 10), b(2, 10), wrong(3, 10);
  const float x[] = {1.0f, 0.0f}, y[] = {0.0f, 2.0f};
  a.AddDense(x, 1);
  b.AddDense(y, 2);
  b.AddDense(x, 3);
  REQUIRE(a.Append(b).ok());
  REQUIRE(a.size() == 3);
  CHECK(Dense(a, 1) == std::vector<float>{0.0f, 2.0f});
  CHECK(a.label(2) == 3);
  CHECK(Dense(a, 2) == std::vector<float>{1.0f, 0.0f});
  const float z[] = {1.0f, 1.0f, 1.0f};
  wrong.AddDense(z, 0);
  Status st = a.Append(wrong);
  CHECK_FALSE(st.ok());
  CHECK(a.size() == 3);
  CHECK(a.nonzeros() == 3);
  Dataset shapeless;
  REQUIRE(shapeless.Append(a).ok());
  CHECK(shapeless.num_features() == 2);
  CHECK(SameData(shapeless, a));
}

TEST_CASE("dataset appended to itself doubles") {
  Dataset d(2, 3);
  const float x[] = {1.0f, 0.0f};
  d.AddDense(x, 2);
  REQUIRE(d.Append(d).ok());
  REQUIRE(d.size() == 2);
  CHECK(d.label(1) == 2);
  CHECK(Dense(d, 1) == std::vector<float>{1.0f, 0.0f});
}

TEST_CASE("dataset number of classes can be set to any count its labels fit") {
  Dataset d(2, 256);
  CHECK(d.MaxLabel() == 0);
  const float x[] = {1.0f, 0.0f};
  d.AddDense(x, 2);
  d.AddDense(x, 0);
  CHECK(d.MaxLabel() == 2);
  REQUIRE(d.SetNumClasses(3).ok());
  CHECK(d.num_classes() == 3);
  CHECK_FALSE(d.SetNumClasses(2).ok());  // label 2 would not fit
  CHECK_FALSE(d.SetNumClasses(0).ok());
  CHECK_FALSE(d.SetNumClasses(257).ok());
  CHECK(d.num_classes() == 3);  // unchanged by the refusals
  REQUIRE(d.SetNumClasses(256).ok());
  CHECK(d.num_classes() == 256);
}
