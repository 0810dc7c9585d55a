#include "dust/ml/csv_reader.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "testutil/dataset_util.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::testutil;

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

// The rules below pin what the reader accepts and the exact wording of what it refuses, so
// that the reader can be reorganised (or grow options) without changing either by accident.

TEST_CASE("CSV header is recognised only on the first non-blank line") {
  TempDir dir;
  auto late_blank = LoadCsv(dir.WriteFile("h.csv", "\n \r\nlabel,x\n1,0.5\n"), {});
  REQUIRE(late_blank.ok());
  CHECK(late_blank->size() == 1);
  const std::string second = dir.WriteFile("s.csv", "1,0.5\nlabel,2\n");
  CHECK(ErrorOf(LoadCsv(second, {})) ==
        second + ": line 2, column 1: label \"label\" is not an integer");
  // A header's other fields are not read at all, and "+1" is not a number to from_chars.
  auto plus = LoadCsv(dir.WriteFile("p.csv", "+1,0\n1,2\n"), {});
  REQUIRE(plus.ok());
  CHECK(plus->size() == 1);
  auto odd_header = LoadCsv(dir.WriteFile("o.csv", "x,,nan,\n1,2\n"), {});
  REQUIRE(odd_header.ok());
  CHECK(odd_header->num_features() == 1);
}

TEST_CASE("CSV line is checked features first, then its label, then its width") {
  TempDir dir;
  const std::string both = dir.WriteFile("b.csv", "1,0,0\n2.5,x\n");
  CHECK(ErrorOf(LoadCsv(both, {})) == both + ": line 2, column 2: \"x\" is not a number");
  const std::string label_and_width = dir.WriteFile("lw.csv", "1,0,0\n12,0\n");
  CHECK(ErrorOf(LoadCsv(label_and_width, {})) ==
        label_and_width + ": line 2, column 1: label 12 is out of range (must be 0..9)");
  const std::string empty = dir.WriteFile("e.csv", "1, ,0\n");
  CHECK(ErrorOf(LoadCsv(empty, {})) == empty + ": line 1, column 2: empty field");
  const std::string lone = dir.WriteFile("l.csv", "1,0\n3\n");
  CHECK(ErrorOf(LoadCsv(lone, {})) == lone + ": line 2: a label but no features");
  const std::string wide = dir.WriteFile("w.csv", "1,0\n\n2,0,1\n");
  CHECK(ErrorOf(LoadCsv(wide, {})) == wide + ": line 3: 2 features but the rows before have 1");
  LoadOptions options;
  options.expected_features = 2;
  const std::string narrow = dir.WriteFile("n.csv", "1,0\n");
  CHECK(ErrorOf(LoadCsv(narrow, options)) == narrow + ": line 1: 1 feature but 2 were expected");
  // On the first line "+1" (not a from_chars number) would make the line a header.
  const std::string unsigned_label = dir.WriteFile("u.csv", "1,0\n+1,0\n");
  CHECK(ErrorOf(LoadCsv(unsigned_label, {})) ==
        unsigned_label + ": line 2, column 1: label \"+1\" is not an integer");
}

TEST_CASE("CSV file without data rows loads as an empty dataset of the expected shape") {
  TempDir dir;
  LoadOptions options;
  options.expected_features = 4;
  options.num_classes = 3;
  for (const char* text : {"", "\n\n", "label,a,b,c,d\n"}) {
    auto d = LoadCsv(dir.WriteFile("empty.csv", text), options);
    REQUIRE(d.ok());
    CHECK(d->empty());
    CHECK(d->num_features() == 4);
    CHECK(d->num_classes() == 3);
  }
  const std::string bad = dir.WriteFile("c.csv", "1,0\n");
  options.num_classes = 0;
  CHECK(ErrorOf(LoadCsv(bad, options)) ==
        "num_classes must be 1..256 (labels are one byte), got 0");
}

TEST_CASE(
    "CSV fields may be surrounded by spaces and tabs and numbers written any from_chars way") {
  TempDir dir;
  auto d = LoadCsv(dir.WriteFile("f.csv", " 2\t,\t1e-1 , -0 ,.5,5.,0x1\n"), {});
  REQUIRE_FALSE(d.ok());  // "0x1": from_chars reads the 0 and stops at x
  CHECK_THAT(d.status().message(), Catch::EndsWith(": line 1, column 6: \"0x1\" is not a number"));
  auto ok = LoadCsv(dir.WriteFile("g.csv", " 2\t,\t1e-1 , -0 ,.5,5.\r\n"), {});
  REQUIRE(ok.ok());
  CHECK(ok->label(0) == 2);
  CHECK(Dense(*ok, 0) == std::vector<float>{0.1f, -0.0f, 0.5f, 5.0f});
}
