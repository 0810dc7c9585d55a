#include "dust/ml/csv_reader.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "testutil/dataset_util.h"
#include "testutil/temp_dir.h"

using namespace dust;
using dust::testutil::Dense;
using dust::testutil::ErrorOf;
using dust::testutil::TempDir;

TEST_CASE("CSV with a header, blank lines and CRLF line ends loads every row") {
  TempDir dir;
  const std::string path =
      dir.WriteFile("d.csv", "label,a,b,c\r\n3,0.5,0,1\r\n\r\n  \n7, -2 ,0,0\n0,0,0,0");
  auto d = LoadCsv(path, LoadOptions{});
  REQUIRE(d.ok());
  REQUIRE(d->size() == 3);
  CHECK(d->num_features() == 3);
  CHECK(d->label(0) == 3);
  CHECK(d->label(1) == 7);
  CHECK(Dense(*d, 0) == std::vector<float>{0.5f, 0.0f, 1.0f});
  CHECK(Dense(*d, 1) == std::vector<float>{-2.0f, 0.0f, 0.0f});
  CHECK(d->sample(2).index.empty());
  CHECK(d->nonzeros() == 3);
}

TEST_CASE("CSV ragged row is refused with its line number and both counts") {
  TempDir dir;
  const std::string path = dir.WriteFile("r.csv", "1,0.1,0.2\n2,0.3\n");
  const std::string msg = ErrorOf(LoadCsv(path, {}));
  CHECK_THAT(msg, Catch::Contains(path + ": line 2"));
  CHECK_THAT(msg, Catch::Contains("1 feature but the rows before have 2"));
}

TEST_CASE("CSV non-numeric field is refused with its line and column") {
  TempDir dir;
  const std::string path = dir.WriteFile("n.csv", "1,0.1,0.2\n2,0.3,abc\n");
  const std::string msg = ErrorOf(LoadCsv(path, {}));
  CHECK_THAT(msg, Catch::Contains(path + ": line 2, column 3"));
  CHECK_THAT(msg, Catch::Contains("\"abc\" is not a number"));
}

TEST_CASE("CSV NaN and infinite features are refused") {
  TempDir dir;
  const std::string nan_path = dir.WriteFile("nan.csv", "1,0.1,nan\n");
  CHECK_THAT(ErrorOf(LoadCsv(nan_path, {})), Catch::Contains("line 1, column 3"));
  const std::string inf_path = dir.WriteFile("inf.csv", "1,0.1,0\n1,inf,0\n");
  const std::string msg = ErrorOf(LoadCsv(inf_path, {}));
  CHECK_THAT(msg, Catch::Contains(inf_path + ": line 2, column 2"));
  CHECK_THAT(msg, Catch::Contains("not a finite number"));
}

TEST_CASE("CSV labels that are not integers in range are refused") {
  TempDir dir;
  const std::string frac = dir.WriteFile("frac.csv", "1,0\n2.5,0\n");
  std::string msg = ErrorOf(LoadCsv(frac, {}));
  CHECK_THAT(msg, Catch::Contains(frac + ": line 2, column 1"));
  CHECK_THAT(msg, Catch::Contains("\"2.5\" is not an integer"));
  const std::string big = dir.WriteFile("big.csv", "1,0\n10,0\n");
  msg = ErrorOf(LoadCsv(big, {}));
  CHECK_THAT(msg, Catch::Contains(big + ": line 2"));
  CHECK_THAT(msg, Catch::Contains("label 10 is out of range"));
  const std::string neg = dir.WriteFile("neg.csv", "-1,0\n");
  CHECK_THAT(ErrorOf(LoadCsv(neg, {})), Catch::Contains("label -1 is out of range"));
}

TEST_CASE("CSV feature count different from expected_features is refused") {
  TempDir dir;
  const std::string path = dir.WriteFile("e.csv", "1,0,0\n");
  LoadOptions options;
  options.expected_features = 3;
  CHECK_THAT(ErrorOf(LoadCsv(path, options)), Catch::Contains("2 features but 3 were expected"));
}
