#include "data_dir_reader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "testutil/idx_files.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::daemon;
using namespace dust::testutil;

namespace {

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app | std::ios::binary) << text;
}

// The reader's view of `dir` after one more rescan, with the file `name` in it.
struct View {
  DataDirScan scan;
  const ScannedFile* file = nullptr;
};

View Rescan(DataDirReader& reader, const TempDir& dir, const std::string& name) {
  auto r = reader.Rescan(dir.path(), LoadOptions{}, TestFileRule{});
  REQUIRE(r.ok());
  View v{std::move(*r), nullptr};
  for (const auto& f : v.scan.files) {
    if (f.name == name) v.file = &f;
  }
  return v;
}

std::vector<int> Labels(const Dataset& d) {
  std::vector<int> out;
  for (size_t i = 0; i < d.size(); ++i) out.push_back(d.label(i));
  return out;
}

}  // namespace

TEST_CASE(
    "reader: an unchanged file is not read again; a grown one is read from where it stopped") {
  TempDir dir;
  const std::string path = dir.WriteFile("log.csv", "label,a\n1,0.5\n2,0.25\n");
  dir.WriteFile("other.csv", "3,1\n");
  DataDirReader reader;
  View first = Rescan(reader, dir, "log.csv");
  CHECK(first.scan.files_read == 2);
  REQUIRE(first.file != nullptr);
  CHECK(Labels(*first.file->samples) == std::vector<int>{1, 2});

  View same = Rescan(reader, dir, "log.csv");
  CHECK(same.scan.files_read == 0);
  CHECK(same.scan.bytes_read <= 22 + 4);  // at most the hash check of files written just now
  CHECK(same.file->samples->size() == 2);

  Append(path, "4,0.125\n5,1\n");
  View grown = Rescan(reader, dir, "log.csv");
  CHECK(grown.scan.files_read == 1);
  CHECK(grown.file->read);
  CHECK(Labels(*grown.file->samples) == std::vector<int>{1, 2, 4, 5});
  // The appended rows follow the header's label column and the rows' width.
  Append(path, "6,1,2\n");
  View wide = Rescan(reader, dir, "log.csv");
  CHECK(wide.file->samples->size() == 4);
  CHECK_THAT(wide.file->error.message(),
             Catch::Contains(path + ": line 6: 3 fields but the header"));
}

TEST_CASE("reader: a last line without a newline waits until it is complete") {
  TempDir dir;
  const std::string path = dir.WriteFile("log.csv", "1,0.5\n2,0.2");
  DataDirReader reader;
  View partial = Rescan(reader, dir, "log.csv");
  REQUIRE(partial.file != nullptr);
  CHECK(Labels(*partial.file->samples) == std::vector<int>{1});
  CHECK(partial.file->incomplete_bytes == 5);
  CHECK(partial.file->error.ok());
  Append(path, "5\n3,1\n");  // completes "2,0.25"
  View done = Rescan(reader, dir, "log.csv");
  CHECK(Labels(*done.file->samples) == std::vector<int>{1, 2, 3});
  CHECK(done.file->samples->sample(1).value[0] == 0.25f);
  CHECK(done.file->incomplete_bytes == 0);
}

TEST_CASE("reader: a header-only file takes the rows appended later") {
  TempDir dir;
  dir.WriteFile("a.csv", "1,1\n");  // training data, so the scan has some
  const std::string path = dir.WriteFile("log.csv", "x,label\n");
  DataDirReader reader;
  View empty = Rescan(reader, dir, "log.csv");
  REQUIRE(empty.file != nullptr);
  CHECK(empty.file->samples->empty());
  Append(path, "0.5,7\n");
  View one = Rescan(reader, dir, "log.csv");
  CHECK(Labels(*one.file->samples) == std::vector<int>{7});
  CHECK(one.file->samples->sample(0).value[0] == 0.5f);
}

TEST_CASE(
    "reader: a shrunk file, a rewrite of the same size and a renamed-over file are read whole") {
  TempDir dir;
  const std::string path = dir.WriteFile("log.csv", "1,0.5\n2,0.25\n3,1\n");
  DataDirReader reader;
  CHECK(Rescan(reader, dir, "log.csv").file->samples->size() == 3);

  dir.WriteFile("log.csv", "4,0.5\n");  // shrunk (same inode: truncated and rewritten)
  View shrunk = Rescan(reader, dir, "log.csv");
  CHECK(Labels(*shrunk.file->samples) == std::vector<int>{4});

  dir.WriteFile("log.csv", "4,0.5\n5,1\n");
  CHECK(Labels(*Rescan(reader, dir, "log.csv").file->samples) == std::vector<int>{4, 5});
  // Same size, same inode, a row in the middle changed (not an append: nothing was added).
  std::fstream(path, std::ios::in | std::ios::out | std::ios::binary).write("6", 1);
  View rewritten = Rescan(reader, dir, "log.csv");
  CHECK(rewritten.file->read);
  CHECK(Labels(*rewritten.file->samples) == std::vector<int>{6, 5});

  // Larger, but the bytes already read changed: not an append either.
  dir.WriteFile("log.csv", "7,0.5\n5,1\n8,1\n");
  CHECK(Labels(*Rescan(reader, dir, "log.csv").file->samples) == std::vector<int>{7, 5, 8});

  // Another file renamed over it (a new inode) that starts like the old one and is larger.
  dir.WriteFile("new.tmp", "7,0.5\n5,1\n8,1\n9,1\n");
  REQUIRE(::rename(dir.Path("new.tmp").c_str(), path.c_str()) == 0);
  View renamed = Rescan(reader, dir, "log.csv");
  CHECK(renamed.file->read);
  CHECK(renamed.scan.bytes_read >= 24);  // all of it
  CHECK(Labels(*renamed.file->samples) == std::vector<int>{7, 5, 8, 9});
}

TEST_CASE("reader: a removed file's samples are dropped") {
  TempDir dir;
  dir.WriteFile("a.csv", "1,1\n");
  dir.WriteFile("b.csv", "2,1\n3,1\n");
  DataDirReader reader;
  CHECK(Rescan(reader, dir, "b.csv").scan.files.size() == 2);
  REQUIRE(::unlink(dir.Path("b.csv").c_str()) == 0);
  View gone = Rescan(reader, dir, "b.csv");
  CHECK(gone.file == nullptr);
  REQUIRE(gone.scan.files.size() == 1);
  auto all = Concatenate(dir.path(), gone.scan, TestFileRule{});
  REQUIRE(all.ok());
  CHECK(Labels(all->train) == std::vector<int>{1});
}

TEST_CASE("reader: a bad appended row keeps the rows read, and is read again once fixed") {
  TempDir dir;
  const std::string path = dir.WriteFile("log.csv", "1,0.5\n");
  DataDirReader reader;
  Rescan(reader, dir, "log.csv");
  Append(path, "2,0.25\n3,oops\n4,1\n");
  View bad = Rescan(reader, dir, "log.csv");
  REQUIRE(bad.file != nullptr);
  CHECK(Labels(*bad.file->samples) == std::vector<int>{1, 2});
  CHECK_THAT(bad.file->error.message(),
             Catch::Equals(path + ": line 3, column 2: \"oops\" is not a number"));
  // Unchanged: not read, same verdict.
  View again = Rescan(reader, dir, "log.csv");
  CHECK(again.scan.files_read == 0);
  CHECK_FALSE(again.file->error.ok());
  // A fresh reader of the same bytes (the daemon restarted) uses the same rows.
  DataDirReader fresh;
  CHECK(Labels(*Rescan(fresh, dir, "log.csv").file->samples) == std::vector<int>{1, 2});
  // The line fixed in place: read from the line that was bad.
  dir.WriteFile("log.csv", "1,0.5\n2,0.25\n3,0.75\n4,1\n");
  View fixed = Rescan(reader, dir, "log.csv");
  CHECK(fixed.file->error.ok());
  CHECK(Labels(*fixed.file->samples) == std::vector<int>{1, 2, 3, 4});
  // A file bad from its first row contributes nothing: it is skipped.
  dir.WriteFile("worse.csv", "x,label\noops,1\n");
  View worse = Rescan(reader, dir, "worse.csv");
  CHECK(worse.file == nullptr);
  REQUIRE(worse.scan.skipped.size() == 1);
  CHECK_THAT(worse.scan.skipped[0].message(),
             Catch::StartsWith(dir.Path("worse.csv") + ": line 2"));
}

TEST_CASE("reader: a changed IDX pair that no longer loads keeps its last good samples") {
  TempDir dir;
  dir.WriteFile("x-images-idx2-ubyte", IdxImagesFile(2, {3}));
  dir.WriteFile("x-labels-idx1-ubyte", IdxLabelsFile({1, 2}));
  DataDirReader reader;
  View good = Rescan(reader, dir, "x-images-idx2-ubyte");
  REQUIRE(good.file != nullptr);
  CHECK(good.file->samples->size() == 2);
  // A new copy still being written: shorter than its header says.
  auto images = IdxImagesFile(3, {3});
  images.resize(images.size() - 2);
  dir.WriteFile("x-images-idx2-ubyte", images);
  dir.WriteFile("x-labels-idx1-ubyte", IdxLabelsFile({1, 2, 3}));
  View copying = Rescan(reader, dir, "x-images-idx2-ubyte");
  REQUIRE(copying.file != nullptr);
  CHECK(copying.file->samples->size() == 2);
  CHECK_THAT(copying.file->error.message(), Catch::StartsWith(dir.Path("x-images-idx2-ubyte")));
  dir.WriteFile("x-images-idx2-ubyte", IdxImagesFile(3, {3}));
  View copied = Rescan(reader, dir, "x-images-idx2-ubyte");
  CHECK(copied.file->samples->size() == 3);
  CHECK(copied.file->error.ok());
}

TEST_CASE("reader: the same files, samples and errors as ScanDataDir on a directory read once") {
  TempDir dir;
  dir.MakeDir("test");
  dir.WriteFile("a.csv", "label,a,b\n1,0.5,0\n2,0,0.25\n");
  dir.WriteFile("b.csv", "1,0.5\n");  // one feature: disagrees with a.csv
  dir.WriteFile("test/c.csv", "4,1,1\n");
  dir.WriteFile("y-labels-idx1-ubyte", IdxLabelsFile({1}));
  DataDirReader reader;
  auto scan = reader.Rescan(dir.path(), LoadOptions{}, TestFileRule{});
  REQUIRE(scan.ok());
  auto incremental = Concatenate(dir.path(), *scan, TestFileRule{});
  auto whole = ScanDataDir(dir.path(), LoadOptions{}, /*strict=*/false);
  REQUIRE(incremental.ok());
  REQUIRE(whole.ok());
  CHECK(Labels(incremental->train) == Labels(whole->train));
  CHECK(Labels(incremental->test) == Labels(whole->test));
  CHECK(incremental->used == whole->used);
  REQUIRE(incremental->skipped.size() == whole->skipped.size());
  for (size_t i = 0; i < whole->skipped.size(); ++i) {
    CHECK(incremental->skipped[i].message() == whole->skipped[i].message());
  }
}
