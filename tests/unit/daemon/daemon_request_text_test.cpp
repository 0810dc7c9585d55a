// predict's request text: the feature rows parser (every refusal names its place as JSON does),
// the member split the dispatcher relies on, the row limit, and the reply text.
#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dust/util/rng.h"
#include "request_text.h"
#include "testutil/dataset_util.h"

using dust::Dataset;
using dust::daemon::MaxPredictRows;
using dust::daemon::ParseFeatureRows;
using dust::daemon::SplitMember;

namespace {

std::string ErrorOf(const dust::Result<Dataset>& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dust::StatusCode::kInvalidArgument);
  return r.status().message();
}

}  // namespace

TEST_CASE("feature rows: JSON numbers of every form, with JSON whitespace, become the rows") {
  auto d =
      ParseFeatureRows(" [ [0, 1.5 ,-2e3,\t0.25E-1 ]\n,[ 7 ,-0, 1E+2, 123456789] ] ", 4, 10, 8);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 2);
  CHECK(d->num_features() == 4);
  CHECK(d->num_classes() == 10);
  CHECK(dust::testutil::Dense(*d, 0) == std::vector<float>{0.0f, 1.5f, -2000.0f, 0.025f});
  CHECK(dust::testutil::Dense(*d, 1) == std::vector<float>{7.0f, -0.0f, 100.0f, 123456789.0f});
  CHECK(d->label(0) == 0);
  CHECK(d->label(1) == 0);
}

TEST_CASE("feature rows: a float written in shortest form comes back bit for bit") {
  std::vector<float> values = {1.0f / 3.0f,    0.1f,           1e-30f,
                               -3.4028235e38f, 1.1754944e-38f, std::nextafter(1.0f, 2.0f),
                               16777217.0f,    0.53333336f};
  for (int v = 0; v <= 255; ++v) values.push_back(static_cast<float>(v) / 255.0f);
  std::string text = "[[";
  for (size_t i = 0; i < values.size(); ++i) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), values[i]);
    if (i > 0) text += ',';
    text.append(buf, end);
  }
  text += "]]";
  auto d = ParseFeatureRows(text, static_cast<uint32_t>(values.size()), 2, 1);
  REQUIRE(d.ok());
  const std::vector<float> back = dust::testutil::Dense(*d, 0);
  REQUIRE(back.size() == values.size());
  size_t same = 0;
  for (size_t i = 0; i < values.size(); ++i) same += std::memcmp(&back[i], &values[i], 4) == 0;
  CHECK(same == values.size());
}

TEST_CASE("feature rows: every refusal names the row and column") {
  CHECK(ErrorOf(ParseFeatureRows("[[1,2],[3]]", 2, 3, 8)) ==
        "features[1] has 1 value; the model takes 2 features");
  CHECK(ErrorOf(ParseFeatureRows("[[1,2,3]]", 2, 3, 8)) ==
        "features[0] has more than 2 values; the model takes 2 features");
  CHECK(ErrorOf(ParseFeatureRows("[[1,2],[3,\"4\"]]", 2, 3, 8)) ==
        "features[1][1]: '\"4\"' is not a number");
  CHECK(ErrorOf(ParseFeatureRows("[[1,NaN]]", 2, 3, 8)) ==
        "features[0][1]: 'NaN' is not a finite number");
  CHECK(ErrorOf(ParseFeatureRows("[[-Infinity,1]]", 2, 3, 8)) ==
        "features[0][0]: '-Infinity' is not a finite number");
  CHECK(ErrorOf(ParseFeatureRows("[[1,1e39]]", 2, 3, 8)) ==
        "features[0][1]: '1e39' is out of a float's range");
  CHECK(ErrorOf(ParseFeatureRows("[[1,null]]", 2, 3, 8)) ==
        "features[0][1]: 'null' is not a number");
  CHECK(ErrorOf(ParseFeatureRows("[[1,.5]]", 2, 3, 8)) == "features[0][1]: '.5' is not a number");
  CHECK(ErrorOf(ParseFeatureRows("[[1,01]]", 2, 3, 8)) ==
        "features[0]: expected ',' or ']' after value 1, found '1'");
  CHECK(ErrorOf(ParseFeatureRows("[[1,2] [3,4]]", 2, 3, 8)) ==
        "features: expected ',' or ']' after row 0, found '['");
  CHECK(ErrorOf(ParseFeatureRows("[[1,2]] x", 2, 3, 8)) ==
        "features: unexpected 'x' after the last row");
  CHECK(ErrorOf(ParseFeatureRows("[[1,2],", 2, 3, 8)) ==
        "features[1] must be an array of 2 numbers, not the end");
  CHECK(ErrorOf(ParseFeatureRows("[1,2]", 2, 3, 8)) ==
        "features[0] must be an array of 2 numbers, not '1'");
  CHECK(ErrorOf(ParseFeatureRows("[[]]", 2, 3, 8)) ==
        "features[0] is empty; the model takes 2 features");
  CHECK(ErrorOf(ParseFeatureRows("[]", 2, 3, 8)) == "features has no rows");
  CHECK(ErrorOf(ParseFeatureRows("", 2, 3, 8)) ==
        "features must be an array of rows, each an array of 2 numbers");
  CHECK(ErrorOf(ParseFeatureRows("{\"a\":1}", 2, 3, 8)) ==
        "features must be an array of rows, each an array of 2 numbers");
  CHECK_THAT(ErrorOf(ParseFeatureRows("[[1],[2],[3]]", 1, 3, 2)),
             Catch::StartsWith("features has more than 2 rows"));
  CHECK(ParseFeatureRows("[[1],[2]]", 1, 3, 2).ok());
}

TEST_CASE("feature rows: the row limit lets a full-size request of the widest rows fit") {
  CHECK(MaxPredictRows(784) == dust::daemon::kMaxPredictRows);
  CHECK(MaxPredictRows(19) == dust::daemon::kMaxPredictRows);
  CHECK(MaxPredictRows(1023) == 256);  // the widest model with the full 256 rows
  CHECK(MaxPredictRows(1024) == 255);
  CHECK(MaxPredictRows(1u << 16) == 3);  // 1 MiB per row at 16 characters a feature
  for (uint32_t width : {1u, 19u, 784u, 1024u, 1200u, 5000u, 1u << 16}) {
    const size_t rows = MaxPredictRows(width);
    CHECK(rows >= 1);
    CHECK(rows * (size_t{width} * dust::daemon::kMaxFeatureChars + 2) +
              dust::daemon::kPredictEnvelopeBytes <=
          dust::daemon::kMaxBulkRequestBytes);
  }
}

TEST_CASE("member split: cuts one top-level member out, leaves nested ones and strings alone") {
  auto s = SplitMember(R"({"id":{"features":1},"features":[[1,"]"]],"cmd":"predict"})", "features");
  REQUIRE(s);
  CHECK(s->value == R"([[1,"]"]])");
  CHECK(nlohmann::json::parse(s->rest) ==
        nlohmann::json({{"id", {{"features", 1}}}, {"cmd", "predict"}}));
  s = SplitMember(R"( {"features" : [[2]] } )", "features");
  REQUIRE(s);
  CHECK(s->value == "[[2]]");
  CHECK(s->rest == "{}");
  CHECK_FALSE(SplitMember(R"({"cmd":"predict"})", "features"));
  CHECK_FALSE(SplitMember(R"({"features":[[1]],"features":[[2]]})", "features"));
  CHECK_FALSE(SplitMember(R"({"feat\u0075res":[[1]]})", "feat\\u0075res"));
  CHECK_FALSE(SplitMember(R"([{"features":[[1]]}])", "features"));
  CHECK_FALSE(SplitMember(R"({"features":[[1]]} trailing)", "features"));
  CHECK_FALSE(SplitMember(R"({"features":[[1]])", "features"));
  CHECK_FALSE(SplitMember(R"({"features":"unterminated})", "features"));
}

TEST_CASE("predictions text: valid JSON with each probability in shortest form") {
  const std::vector<uint32_t> classes{2, 0};
  const std::vector<float> probs{0.1f, 0.2f, 0.7f, 1.0f, 0.0f, 0.0f};
  const std::string text = dust::daemon::PredictionsJson(classes, probs, 3, 42);
  CHECK(text == R"({"rows":2,"steps":42,"predictions":[{"class":2,"probabilities":[0.1,0.2,0.7]},)"
                R"({"class":0,"probabilities":[1,0,0]}]})");
  CHECK_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
}

TEST_CASE("predict request line: the rows come back bit for bit through the parser") {
  Dataset data(5, 3);
  const std::vector<float> a{0.0f, 1.0f / 3.0f, 0.0f, -2.5e-7f, 255.0f};
  const std::vector<float> b{0.1f, 0.0f, 0.0f, 0.0f, 0.0f};
  const std::vector<float> c{7.0f, 8.0f, 9.0f, 10.0f, 11.0f};
  data.AddDense(a, 1);
  data.AddDense(b, 2);
  data.AddDense(c, 0);
  const std::string line = dust::daemon::PredictRequestLine(data, 1, 3, 9);
  CHECK(line == R"({"id":9,"cmd":"predict","features":[[0.1,0,0,0,0],[7,8,9,10,11]]})");
  const std::string all = dust::daemon::PredictRequestLine(data, 0, 3, 1);
  auto split = SplitMember(all, "features");
  REQUIRE(split);
  auto back = ParseFeatureRows(split->value, 5, 3, 8);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 3);
  CHECK(dust::testutil::Dense(*back, 0) == a);
  CHECK(dust::testutil::Dense(*back, 1) == b);
  CHECK(dust::testutil::Dense(*back, 2) == c);
}

TEST_CASE("feature rows: each number is exactly what std::from_chars gives, or refused as it") {
  auto same = [](const std::string& token) {
    float fast = -1.0f, slow = -2.0f;
    auto row = ParseFeatureRows("[[" + token + "]]", 1, 2, 1);
    const bool fast_ok = row.ok();
    if (fast_ok) fast = dust::testutil::Dense(*row, 0)[0];
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), slow);
    const bool slow_ok =
        ec == std::errc() && end == token.data() + token.size() && std::isfinite(slow);
    INFO(token);
    REQUIRE(fast_ok == slow_ok);
    // (A Dataset stores no zeros, so -0 reads back as 0, from every reader.)
    if (fast_ok && slow == 0.0f) REQUIRE(fast == 0.0f);
    if (fast_ok && slow != 0.0f) REQUIRE(std::memcmp(&fast, &slow, sizeof(float)) == 0);
  };
  // Decimals whose nearest double lies exactly halfway between two floats (found with
  // Python's decimal module): rounding through double would go wrong for some of them.
  for (const char* t : {"1.0000000596046448", "1.0000000596046447", "8.474489974975586e+01",
                        "7.637982559204102e+01", "2.551435375213623e+01", "4.954855537414551e+01"})
    same(t);
  for (const char* t : {"0", "-0", "0.0", "1e-45", "1e-38", "1.1754944e-38", "3.4028235e38",
                        "3.4028236e38", "1e39", "-1e39", "123456789012345678901234567890",
                        "0.000000000000000000000000000001", "9007199254740993", "1E+2", "5e-1"})
    same(t);
  // Every uint8 pixel / 255 in shortest form, and random floats and decimals of 1 to 20 digits.
  for (int v = 0; v < 256; ++v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<float>(v) / 255.0f);
    same(std::string(buf, end));
  }
  dust::Rng rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = static_cast<uint32_t>(rng.Next());
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    if (!std::isfinite(f)) continue;
    char buf[48];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), f);
    same(std::string(buf, end));
    std::string d;
    if (rng.Next() % 2) d += '-';
    d += std::to_string(rng.Next() % 100000000000ull);
    const int digits = static_cast<int>(rng.Next() % 12);
    if (digits > 0) {
      d += '.';
      d += std::to_string(rng.Next() % 1000000000000ull).substr(0, digits);
    }
    d += 'e';
    d += std::to_string(static_cast<int>(rng.Next() % 61) - 30);
    same(d);
  }
}
