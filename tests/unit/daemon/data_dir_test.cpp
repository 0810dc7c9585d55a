#include "data_dir.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "testutil/idx_files.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::daemon;
using namespace dust::testutil;

TEST_CASE("scanning the bundled data dir finds the train and test sets") {
  auto r = ScanDataDir(kMnistDir, LoadOptions{}, /*strict=*/true);
  REQUIRE(r.ok());
  CHECK(r->train.size() == 8000);
  CHECK(r->test.size() == 2000);
  CHECK(r->used.size() == 4);
  CHECK(r->skipped.empty());
}

TEST_CASE("test data by the naming rule: test/, a name component \"test\", a first \"t10k\"") {
  for (const char* name :
       {"wine-test.csv", "test_2024.csv", "readings.test.csv", "test.csv", "test", "Wine-TEST.csv",
        "mnist-test-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte",
        "t10k.csv", "test/wine.csv", "test/latest.csv", "test/train-images-idx3-ubyte"}) {
    INFO(name);
    CHECK(IsTestDataName(name));
  }
  for (const char* name :
       {"latest.csv", "contest.csv", "attestation.csv", "mytest.csv", "test2.csv", "testing.csv",
        "xt10k.csv", "t10kx.csv", "data-t10k.csv", "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte", "tests/a.csv", "wine-train.csv"}) {
    INFO(name);
    CHECK_FALSE(IsTestDataName(name));
  }
}

TEST_CASE("test-file globs, when set, replace the naming rule") {
  const TestFileRule holdout{{"*-holdout.csv", "test/*"}};
  CHECK(IsTestFile("wine-holdout.csv", holdout));
  CHECK(IsTestFile("test/wine.csv", holdout));
  CHECK_FALSE(IsTestFile("wine-test.csv", holdout));  // the rule no longer applies
  CHECK_FALSE(IsTestFile("t10k-images-idx3-ubyte.gz", holdout));
  const TestFileRule star{{"*.csv"}};
  CHECK(IsTestFile("a.csv", star));
  CHECK_FALSE(IsTestFile("test/a.csv", star));  // '*' does not match '/'
  CHECK(IsTestFile("contest.csv", TestFileRule{{"contest.csv"}}));
  CHECK(IsTestFile("wine-test.csv", TestFileRule{}));  // no globs: the rule
  CHECK(CheckTestFileGlobs({"test/*", "*-eval.csv"}).ok());
  CHECK_THAT(CheckTestFileGlobs({"a.csv", "/data/*.csv"}).message(),
             Catch::Contains("'/data/*.csv' is absolute"));
  CHECK_FALSE(CheckTestFileGlobs({""}).ok());
}

TEST_CASE("scan reads test/ as test data and latest.csv as training data") {
  TempDir dir;
  dir.WriteFile("latest.csv", "label,a,b\n1,0.5,0\n2,0,0.25\n");
  dir.WriteFile("wine-test.csv", "label,a,b\n3,1,1\n");
  dir.MakeDir("test/deeper");
  dir.WriteFile("test/more.csv", "0,1,0\n1,0,1\n");
  dir.WriteFile("test/t10k-images-idx2-ubyte", IdxImagesFile(1, {2}));
  dir.WriteFile("test/t10k-labels-idx1-ubyte", IdxLabelsFile({4}));
  dir.WriteFile("test/deeper/ignored.csv", "1,1,1\n");  // test/ is not read recursively
  auto r = ScanDataDir(dir.path(), LoadOptions{}, /*strict=*/true);
  REQUIRE(r.ok());
  CHECK(r->train.size() == 2);
  CHECK(r->test.size() == 4);
  CHECK(r->used == std::vector<std::string>{dir.Path("latest.csv"), dir.Path("test/more.csv"),
                                            dir.Path("test/t10k-images-idx2-ubyte"),
                                            dir.Path("test/t10k-labels-idx1-ubyte"),
                                            dir.Path("wine-test.csv")});
  // With globs, exactly the matching files are test data, in test/ too.
  auto globbed = ScanDataDir(dir.path(), LoadOptions{}, true, TestFileRule{{"test/*.csv"}});
  REQUIRE(globbed.ok());
  CHECK(globbed->test.size() == 2);
  CHECK(globbed->train.size() == 4);
}

TEST_CASE("scan names the test-file rule when it finds only test data") {
  TempDir dir;
  dir.MakeDir("test");
  dir.WriteFile("test/a.csv", "1,0\n");
  auto rule = ScanDataDir(dir.path(), LoadOptions{}, false);
  REQUIRE_FALSE(rule.ok());
  CHECK_THAT(rule.status().message(), Catch::Contains("found only test data"));
  CHECK_THAT(rule.status().message(), Catch::Contains("in test/, or a name with a component"));
  dir.WriteFile("b.csv", "1,0\n");
  auto globbed = ScanDataDir(dir.path(), LoadOptions{}, false, TestFileRule{{"*.csv", "x*"}});
  REQUIRE(globbed.ok());  // test/a.csv does not match *.csv: training data
  CHECK(globbed->train.size() == 1);
  CHECK(globbed->test.size() == 1);
  auto all_test = ScanDataDir(dir.path(), LoadOptions{}, false, TestFileRule{{"*.csv", "*/*"}});
  REQUIRE_FALSE(all_test.ok());
  CHECK_THAT(all_test.status().message(), Catch::Contains("names matching *.csv, */*"));
}

TEST_CASE("scan passes the label column to the CSV reader") {
  TempDir dir;
  dir.WriteFile("a.csv", "x,y\n0.5,1\n");
  const auto scan = [&](std::string label_column) {
    LoadOptions options;
    options.label_column = std::move(label_column);
    return ScanDataDir(dir.path(), options, /*strict=*/true);
  };
  auto r = scan("y");
  REQUIRE(r.ok());
  CHECK(r->train.label(0) == 1);
  auto missing = scan("z");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(), Catch::Contains(dir.Path("a.csv") + ": line 1"));
}

TEST_CASE("lenient scan skips a bad file, names it, and uses the good ones") {
  TempDir dir;
  dir.WriteFile("a.csv", "1,0.5,0\n2,0,0.25\n");
  dir.WriteFile("b.csv", "1,0.5\n2,oops\n");
  dir.WriteFile("c-test.csv", "4,1,1\n");
  dir.WriteFile("notes.txt", "ignored");
  auto r = ScanDataDir(dir.path(), LoadOptions{}, /*strict=*/false);
  REQUIRE(r.ok());
  CHECK(r->train.size() == 2);
  CHECK(r->test.size() == 1);
  CHECK(r->used == std::vector<std::string>{dir.Path("a.csv"), dir.Path("c-test.csv")});
  REQUIRE(r->skipped.size() == 1);
  CHECK_THAT(r->skipped[0].message(), Catch::StartsWith(dir.Path("b.csv")));
  CHECK_THAT(r->skipped[0].message(), Catch::Contains("not a number"));
}

TEST_CASE("strict scan fails on the first bad file, naming it") {
  TempDir dir;
  dir.WriteFile("a.csv", "1,0.5,0\n");
  dir.WriteFile("b.csv", "1,0.5\n2,oops\n");
  auto r = ScanDataDir(dir.path(), LoadOptions{}, /*strict=*/true);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains(dir.Path("b.csv") + ": line 2, column 2"));
}

TEST_CASE("scan refuses a file whose feature count disagrees with the first file") {
  TempDir dir;
  dir.WriteFile("a.csv", "1,0.5,0\n");
  dir.WriteFile("b.csv", "1,0.5,0,0\n");
  auto strict = ScanDataDir(dir.path(), LoadOptions{}, true);
  REQUIRE_FALSE(strict.ok());
  CHECK_THAT(strict.status().message(), Catch::Contains(dir.Path("b.csv")));
  CHECK_THAT(strict.status().message(), Catch::Contains("3 features but 2 are expected"));
  CHECK_THAT(strict.status().message(), Catch::Contains(dir.Path("a.csv")));
  auto lenient = ScanDataDir(dir.path(), LoadOptions{}, false);
  REQUIRE(lenient.ok());
  CHECK(lenient->train.size() == 1);
  CHECK(lenient->skipped.size() == 1);
}

TEST_CASE("scan pairs IDX files by prefix and reports unpaired ones") {
  TempDir dir;
  dir.WriteFile("train-images-idx3-ubyte.gz", Gzip(IdxImagesFile(2, {2, 2})));
  dir.WriteFile("train-labels-idx1-ubyte", IdxLabelsFile({0, 1}));
  dir.WriteFile("t10k-images-idx3-ubyte", IdxImagesFile(1, {2, 2}));
  dir.WriteFile("t10k-labels-idx1-ubyte.gz", Gzip(IdxLabelsFile({5})));
  dir.WriteFile("extra-images-idx3-ubyte", IdxImagesFile(1, {2, 2}));
  auto lenient = ScanDataDir(dir.path(), LoadOptions{}, false);
  REQUIRE(lenient.ok());
  CHECK(lenient->train.size() == 2);
  CHECK(lenient->test.size() == 1);
  CHECK(lenient->test.label(0) == 5);
  REQUIRE(lenient->skipped.size() == 1);
  CHECK_THAT(lenient->skipped[0].message(), Catch::Contains(dir.Path("extra-images-idx3-ubyte")));
  CHECK_THAT(lenient->skipped[0].message(), Catch::Contains("without a matching labels file"));
  CHECK_FALSE(ScanDataDir(dir.path(), LoadOptions{}, true).ok());
}

TEST_CASE("scan of a directory without training data is an error naming it") {
  TempDir dir;
  auto empty = ScanDataDir(dir.path(), LoadOptions{}, false);
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.status().message(), Catch::Contains(dir.path()));
  CHECK_THAT(empty.status().message(), Catch::Contains("no usable training data"));
  dir.WriteFile("only-test.csv", "1,0\n");
  dir.WriteFile("bad.csv", "x\n1,y\n");
  auto test_only = ScanDataDir(dir.path(), LoadOptions{}, false);
  REQUIRE_FALSE(test_only.ok());
  CHECK_THAT(test_only.status().message(), Catch::Contains("found only test data"));
  CHECK_THAT(test_only.status().message(), Catch::Contains(dir.Path("bad.csv")));
  auto missing = ScanDataDir(dir.Path("nope"), LoadOptions{}, false);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
}

TEST_CASE("scan uses one copy of an IDX set present both raw and gzipped") {
  TempDir dir;
  const Bytes images = IdxImagesFile(2, {3});
  const Bytes labels = IdxLabelsFile({1, 2});
  dir.WriteFile("train-images-idx2-ubyte", images);
  dir.WriteFile("train-images-idx2-ubyte.gz", Gzip(images));
  dir.WriteFile("train-labels-idx1-ubyte", labels);
  dir.WriteFile("train-labels-idx1-ubyte.gz", Gzip(labels));
  auto r = ScanDataDir(dir.path(), LoadOptions{}, /*strict=*/true);
  REQUIRE(r.ok());
  CHECK(r->train.size() == 2);
  CHECK(r->used == std::vector<std::string>{dir.Path("train-images-idx2-ubyte"),
                                            dir.Path("train-labels-idx1-ubyte")});
  REQUIRE(r->skipped.size() == 2);
  CHECK_THAT(r->skipped[0].message(), Catch::Contains("another copy"));
}

TEST_CASE("evaluation reads a directory of test files only, which a scan refuses") {
  TempDir dir;
  dir.WriteFile("t10k.csv", "1,0.5,0\n2,0,0.25\n");
  dir.WriteFile("more-test.csv", "0,1,1\n");
  dir.WriteFile("broken-test.csv", "label,a,b\n1,oops,0\n");
  LoadOptions lo;  // as dustd's evaluate sets them: the model's input width and classes
  lo.expected_features = 2;
  lo.num_classes = 3;
  REQUIRE_FALSE(ScanDataDir(dir.path(), lo, /*strict=*/false).ok());
  auto r = ScanDataDirForEvaluation(dir.path(), lo);
  REQUIRE(r.ok());
  CHECK(r->test.size() == 3);
  CHECK(r->train.size() == 0);
  CHECK(r->used == std::vector<std::string>{dir.Path("more-test.csv"), dir.Path("t10k.csv")});
  REQUIRE(r->skipped.size() == 1);
  CHECK_THAT(r->skipped[0].message(), Catch::StartsWith(dir.Path("broken-test.csv")));
}

TEST_CASE("evaluation of a directory where nothing loads gives the scan's error") {
  TempDir dir;
  dir.WriteFile("notes.txt", "ignored");
  auto scan = ScanDataDir(dir.path(), LoadOptions{}, /*strict=*/false);
  auto r = ScanDataDirForEvaluation(dir.path(), LoadOptions{});
  REQUIRE_FALSE(scan.ok());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == scan.status().message());
}
