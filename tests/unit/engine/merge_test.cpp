// Aggregation rules and quarantine on hand-made inputs.
#include "dust/engine/merge.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

namespace dust {
namespace {

MergeInput Update(std::vector<uint32_t> index, std::vector<float> value, float weight = 1.0f) {
  MergeInput m;
  m.index = std::move(index);
  m.value = std::move(value);
  m.weight = weight;
  return m;
}

AggregatorOptions Parse(const char* spec) {
  auto a = ParseAggregator(spec);
  REQUIRE(a.ok());
  return *a;
}

TEST_CASE("aggregator specs parse and format back") {
  for (const char* s : {"mean", "median", "trimmed:2", "clip", "clip:0.5"}) {
    CHECK(FormatAggregator(Parse(s)) == s);
  }
  for (const char* s : {"", "avg", "trimmed", "trimmed:0", "trimmed:1.5", "clip:-1", "clip:x"}) {
    CHECK_FALSE(ParseAggregator(s).ok());
  }
}

TEST_CASE("weighted mean merges own and received values by sample weight") {
  std::vector<float> params = {1.0f, 10.0f, 5.0f};
  Merger m(params.size(), Parse("mean"));
  std::vector<MergeInput> u = {Update({0, 1}, {3.0f, 20.0f}, 1.0f), Update({1}, {40.0f}, 2.0f)};
  m.Merge(params, /*own_weight=*/1.0f, u);
  CHECK(params[0] == Approx(2.0));                         // (1 + 3) / 2
  CHECK(params[1] == Approx((10.0 + 20.0 + 80.0) / 4.0));  // weights 1, 1, 2
  CHECK(params[2] == 5.0f);                                // nobody sent it
}

TEST_CASE("median takes the middle value per coordinate and ignores one outlier") {
  std::vector<float> params = {0.0f, 0.0f};
  Merger m(params.size(), Parse("median"));
  std::vector<MergeInput> u = {Update({0, 1}, {1.0f, 1.0f}), Update({0, 1}, {2.0f, 3.0f}),
                               Update({0, 1}, {1e6f, 2.0f})};
  m.Merge(params, 1.0f, u);
  CHECK(params[0] == Approx(1.5));  // {0, 1, 2, 1e6}: mean of the middle two
  CHECK(params[1] == Approx(1.5));  // {0, 1, 2, 3}
}

TEST_CASE("trimmed mean drops the B largest and B smallest values") {
  std::vector<float> params = {5.0f};
  Merger m(params.size(), Parse("trimmed:1"));
  std::vector<MergeInput> u = {Update({0}, {-100.0f}), Update({0}, {4.0f}), Update({0}, {6.0f}),
                               Update({0}, {100.0f})};
  m.Merge(params, 1.0f, u);
  CHECK(params[0] == Approx(5.0));  // mean of {4, 5, 6}

  std::vector<float> few = {0.0f};
  Merger m2(few.size(), Parse("trimmed:2"));
  std::vector<MergeInput> u2 = {Update({0}, {1.0f}), Update({0}, {9.0f})};
  m2.Merge(few, 1.0f, u2);
  CHECK(few[0] == Approx(1.0));  // 3 values < 2B+1: falls back to the median
}

TEST_CASE("centered clipping bounds each update's pull to tau") {
  std::vector<float> params = {0.0f, 0.0f};
  Merger m(params.size(), Parse("clip:1"));
  std::vector<MergeInput> u = {Update({0, 1}, {30.0f, 40.0f})};  // difference norm 50
  MergeStats s = m.Merge(params, 1.0f, u);
  CHECK(s.clipped == 1);
  // clipped difference (0.6, 0.8), averaged with our own zero difference
  CHECK(params[0] == Approx(0.3));
  CHECK(params[1] == Approx(0.4));
  double moved = std::hypot(params[0], params[1]);
  CHECK(moved <= 1.0 + 1e-6);
}

TEST_CASE("adaptive clipping uses the median difference norm") {
  std::vector<float> params = {0.0f};
  Merger m(params.size(), Parse("clip"));
  std::vector<MergeInput> u = {Update({0}, {1.0f}), Update({0}, {1.0f}), Update({0}, {1000.0f})};
  m.Merge(params, 1.0f, u);
  CHECK(params[0] == Approx(3.0 / 4.0));  // the 1000 is clipped to 1; (1+1+1+0)/4
}

TEST_CASE("delta merge divides by the expected weight, never less than what arrived") {
  std::vector<float> params = {0.0f, 0.0f};
  Merger m(params.size(), Parse("mean"));
  std::vector<MergeInput> d = {Update({0}, {4.0f}), Update({1}, {8.0f})};
  m.MergeDeltas(params, d, /*expected_weight=*/4.0);
  CHECK(params[0] == Approx(1.0));
  CHECK(params[1] == Approx(2.0));
  std::vector<float> p2 = {0.0f};
  std::vector<MergeInput> d2 = {Update({0}, {4.0f}), Update({0}, {2.0f})};
  m.MergeDeltas(p2, d2, 0.0);
  CHECK(p2[0] == Approx(3.0));
}

TEST_CASE("robust delta merge clips a scaled delta to the median norm") {
  std::vector<float> params = {0.0f};
  Merger m(params.size(), Parse("trimmed:1"));
  std::vector<MergeInput> d = {Update({0}, {1.0f}), Update({0}, {1.0f}), Update({0}, {-100.0f})};
  m.MergeDeltas(params, d, 3.0);
  CHECK(params[0] == Approx(1.0 / 3.0));  // (1 + 1 - 1) / 3
}

TEST_CASE("quarantine refuses non-finite, absurd and out-of-model updates") {
  std::vector<float> params(10, 0.1f);
  CHECK_FALSE(CheckUpdate(params, Update({1, 2}, {0.2f, 0.05f}), 50.0f).has_value());
  CHECK(CheckUpdate(params, Update({1}, {std::numeric_limits<float>::quiet_NaN()}), 50.0f) ==
        QuarantineReason::kNonFinite);
  CHECK(CheckUpdate(params, Update({1}, {1e6f}), 50.0f) == QuarantineReason::kAbsurdNorm);
  CHECK(CheckUpdate(params, Update({10}, {0.1f}), 50.0f) == QuarantineReason::kIncompatible);
  CHECK(CheckUpdate(params, Update({3, 2}, {0.1f, 0.1f}), 50.0f) ==
        QuarantineReason::kIncompatible);
}

}  // namespace
}  // namespace dust
