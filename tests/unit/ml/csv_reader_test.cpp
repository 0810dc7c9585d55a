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
  // "+1" is not a number to from_chars, so this first line is a header (without "label").
  auto plus = LoadCsv(dir.WriteFile("p.csv", "+1,0\n1,2\n"), {});
  REQUIRE(plus.ok());
  CHECK(plus->size() == 1);
  CHECK(plus->label(0) == 1);
  // One field that is not a number makes the first line a header, wherever it is...
  auto late_name = LoadCsv(dir.WriteFile("ln.csv", "0,1,x\n2,0.5,0.25\n"), {});
  REQUIRE(late_name.ok());
  CHECK(late_name->size() == 1);
  CHECK(late_name->label(0) == 2);
  // ...but an empty one does not: "1, ,0" is a data row with an empty field, not a header.
  const std::string blank = dir.WriteFile("bl.csv", "1,,0\n2,0,0\n");
  CHECK(ErrorOf(LoadCsv(blank, {})) == blank + ": line 1, column 2: empty field");
}

TEST_CASE("CSV label column is the header's \"label\", else the first column") {
  TempDir dir;
  auto middle = LoadCsv(dir.WriteFile("m.csv", "a,label,b\n0.5,2,-1\n0,7,3\n"), {});
  REQUIRE(middle.ok());
  REQUIRE(middle->size() == 2);
  CHECK(middle->num_features() == 2);
  CHECK(middle->label(0) == 2);
  CHECK(middle->label(1) == 7);
  CHECK(Dense(*middle, 0) == std::vector<float>{0.5f, -1.0f});
  CHECK(Dense(*middle, 1) == std::vector<float>{0.0f, 3.0f});
  // Case is ignored, and quotes around names (R's write.csv) are not part of them.
  auto quoted = LoadCsv(dir.WriteFile("q.csv", "\"x\",\"Label\"\n0.25,1\n"), {});
  REQUIRE(quoted.ok());
  CHECK(quoted->label(0) == 1);
  CHECK(Dense(*quoted, 0) == std::vector<float>{0.25f});
  // A header without a "label" column: the first column is the label.
  auto unnamed = LoadCsv(dir.WriteFile("u.csv", "class,x,y\n4,1,2\n"), {});
  REQUIRE(unnamed.ok());
  CHECK(unnamed->label(0) == 4);
  CHECK(Dense(*unnamed, 0) == std::vector<float>{1.0f, 2.0f});
}

TEST_CASE("CSV label column named by the options must be in a header") {
  TempDir dir;
  LoadOptions options;
  options.label_column = "target";
  auto last = LoadCsv(dir.WriteFile("l.csv", "f0,label,TARGET\n0.5,9,1\n"), options);
  REQUIRE(last.ok());
  CHECK(last->label(0) == 1);  // not the column called "label"
  CHECK(Dense(*last, 0) == std::vector<float>{0.5f, 9.0f});
  const std::string missing = dir.WriteFile("x.csv", "\nlabel,a\n1,2\n");
  CHECK(ErrorOf(LoadCsv(missing, options)) ==
        missing + ": line 2: the header has no column named \"target\" (the label column)");
  const std::string headerless = dir.WriteFile("h.csv", "1,2\n");
  CHECK(ErrorOf(LoadCsv(headerless, options)) ==
        headerless +
            ": line 1: no header line (every field of the first line is a number), so no "
            "column is named \"target\" (the label column)");
  // Without data rows the header is still checked: the operator learns of it at once.
  const std::string only_header = dir.WriteFile("o.csv", "label,a\n");
  CHECK_THAT(ErrorOf(LoadCsv(only_header, options)), Catch::Contains("no column named \"target\""));
  options.label_column = "a,b";
  CHECK(ErrorOf(LoadCsv(headerless, options)) ==
        "label column \"a,b\": a CSV column name cannot contain a comma");
}

TEST_CASE("CSV header naming the label column twice is refused") {
  TempDir dir;
  const std::string twice = dir.WriteFile("t.csv", "label,a,Label\n1,2,3\n");
  CHECK(ErrorOf(LoadCsv(twice, {})) ==
        twice +
            ": line 1: the header has more than one column named \"label\" (columns 1 and 3), "
            "so the label column is ambiguous");
}

TEST_CASE("CSV rows must have as many fields as the header") {
  TempDir dir;
  const std::string short_row = dir.WriteFile("s.csv", "label,a,b\n1,2,3\n1,2\n");
  CHECK(ErrorOf(LoadCsv(short_row, {})) ==
        short_row + ": line 3: 2 fields but the header (line 1) has 3");
  const std::string long_row = dir.WriteFile("w.csv", "\n\nx,,nan,\n1,2\n");
  CHECK(ErrorOf(LoadCsv(long_row, {})) ==
        long_row + ": line 4: 2 fields but the header (line 3) has 4");
}

TEST_CASE("CSV errors name the label's own column when it is not the first") {
  TempDir dir;
  const std::string word = dir.WriteFile("w.csv", "a,label\n0.5,1\n0.5,x\n");
  CHECK(ErrorOf(LoadCsv(word, {})) == word + ": line 3, column 2: label \"x\" is not an integer");
  const std::string big = dir.WriteFile("b.csv", "a,label\n0.5,10\n");
  CHECK(ErrorOf(LoadCsv(big, {})) ==
        big + ": line 2, column 2: label 10 is out of range (must be 0..9)");
  const std::string inf = dir.WriteFile("i.csv", "a,label\n-inf,1\n");
  CHECK(ErrorOf(LoadCsv(inf, {})) == inf + ": line 2, column 1: \"-inf\" is not a finite number");
}

TEST_CASE("CSV UTF-8 byte-order mark is not part of the first field") {
  TempDir dir;
  // Left in, it would make this header-less file's first row a header and drop it.
  auto headerless = LoadCsv(dir.WriteFile("n.csv",
                                          "\xEF\xBB\xBF"
                                          "1,0.5\n2,0.25\n"),
                            {});
  REQUIRE(headerless.ok());
  CHECK(headerless->size() == 2);
  CHECK(headerless->label(0) == 1);
  LoadOptions options;
  options.label_column = "label";
  auto header = LoadCsv(dir.WriteFile("h.csv",
                                      "\xEF\xBB\xBF"
                                      "label,a\n3,1\n"),
                        options);
  REQUIRE(header.ok());
  CHECK(header->label(0) == 3);
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
  // (After a data line: as the first line, one that is not all numbers would be the header.)
  auto d = LoadCsv(dir.WriteFile("f.csv", "1,0,0,0,0,0\n 2\t,\t1e-1 , -0 ,.5,5.,0x1\n"), {});
  REQUIRE_FALSE(d.ok());  // "0x1": from_chars reads the 0 and stops at x
  CHECK_THAT(d.status().message(), Catch::EndsWith(": line 2, column 6: \"0x1\" is not a number"));
  auto ok = LoadCsv(dir.WriteFile("g.csv", " 2\t,\t1e-1 , -0 ,.5,5.\r\n"), {});
  REQUIRE(ok.ok());
  CHECK(ok->label(0) == 2);
  CHECK(Dense(*ok, 0) == std::vector<float>{0.1f, -0.0f, 0.5f, 5.0f});
}

TEST_CASE("CSV without a label column: every field is a feature, header or not") {
  TempDir dir;
  LoadOptions lo;
  lo.no_label = true;
  const std::string headed = dir.WriteFile("h.csv", "label,a,b\n3,0.5,0\n7,-2,1\n");
  auto d = LoadCsv(headed, lo);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 2);
  CHECK(d->num_features() == 3);  // "label" is a feature here
  CHECK(Dense(*d, 0) == std::vector<float>{3.0f, 0.5f, 0.0f});
  CHECK(d->label(0) == 0);
  CHECK(d->label(1) == 0);
  const std::string bare = dir.WriteFile("b.csv", "0.25,1e3\n");
  auto b = LoadCsv(bare, lo);
  REQUIRE(b.ok());
  CHECK(Dense(*b, 0) == std::vector<float>{0.25f, 1000.0f});
  // A bad field is still named by its line and column.
  const std::string bad = dir.WriteFile("x.csv", "1,2\n3,nan\n");
  CHECK_THAT(ErrorOf(LoadCsv(bad, lo)), Catch::Contains(bad + ": line 2, column 2"));
  LoadOptions both = lo;
  both.label_column.assign("target");
  CHECK_THAT(ErrorOf(LoadCsv(bare, both)), Catch::Contains("without a label column"));
}

TEST_CASE("CSV column count is the first non-blank line's, after a byte-order mark") {
  TempDir dir;
  CHECK(*CsvColumnCount(dir.WriteFile("a.csv", "\n  \na,b,c\n1,2\n"), {}) == 3);
  CHECK(*CsvColumnCount(dir.WriteFile("b.csv",
                                      "\xEF\xBB\xBF"
                                      "1,2,3,4\r\n"),
                        {}) == 4);
  CHECK(*CsvColumnCount(dir.WriteFile("c.csv", "\n\n"), {}) == 0);
  CHECK_FALSE(CsvColumnCount(dir.Path("missing.csv"), {}).ok());
}
