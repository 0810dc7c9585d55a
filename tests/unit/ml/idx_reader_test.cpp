#include "dust/ml/idx_reader.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "byte_source.h"
#include "idx_internal.h"
#include "testutil/dataset_util.h"
#include "testutil/idx_files.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::testutil;

namespace {

Bytes Gunzipped(const std::string& path) {
  auto r = internal::Gunzip(ReadAll(path), path, size_t{1} << 30);
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("bundled mnist-10k loads with the shape, labels and pixels its raw bytes hold") {
  LoadOptions options;
  auto train = LoadIdx(kMnistDir + "/train-images-idx3-ubyte.gz",
                       kMnistDir + "/train-labels-idx1-ubyte.gz", options);
  REQUIRE(train.ok());
  auto test = LoadIdx(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                      kMnistDir + "/t10k-labels-idx1-ubyte.gz", options);
  REQUIRE(test.ok());
  CHECK(train->size() == 8000);
  CHECK(test->size() == 2000);
  CHECK(train->num_features() == 28 * 28);
  CHECK(train->num_classes() == 10);

  // Recompute from the raw bytes: every pixel p must appear as p/255 at its position, zeros
  // must not be stored, and the label must be the label byte.
  const Bytes pixels = Gunzipped(kMnistDir + "/train-images-idx3-ubyte.gz");
  const Bytes labels = Gunzipped(kMnistDir + "/train-labels-idx1-ubyte.gz");
  REQUIRE(pixels.size() == 16 + 8000 * 784);
  REQUIRE(labels.size() == 8 + 8000);
  size_t raw_nonzero = 0, mismatches = 0;
  for (size_t i = 0; i < train->size(); ++i) {
    CHECK(train->label(i) == labels[8 + i]);
    const std::vector<float> dense = Dense(*train, i);
    for (size_t j = 0; j < 784; ++j) {
      const uint8_t p = pixels[16 + i * 784 + j];
      raw_nonzero += p != 0;
      if (dense[j] != static_cast<float>(p) / 255.0f) ++mismatches;
    }
  }
  CHECK(mismatches == 0);
  CHECK(train->nonzeros() == raw_nonzero);
  // MNIST is mostly background: the definition of the data set (centred digits on a 28x28
  // black field) makes well over half the pixels zero, but not all of them.
  const double zero_fraction = 1.0 - static_cast<double>(raw_nonzero) / (8000.0 * 784.0);
  CHECK(zero_fraction > 0.5);
  CHECK(zero_fraction < 0.95);

  bool every_label_seen[10] = {};
  for (size_t i = 0; i < test->size(); ++i) {
    REQUIRE(test->label(i) < 10);
    every_label_seen[test->label(i)] = true;
    SampleView s = test->sample(i);
    for (float v : s.value) {
      REQUIRE(v > 0.0f);
      REQUIRE(v <= 1.0f);
    }
  }
  CHECK(std::all_of(std::begin(every_label_seen), std::end(every_label_seen),
                    [](bool b) { return b; }));
}

TEST_CASE("raw and gzip IDX files load to identical datasets") {
  TempDir dir;
  const std::string images =
      dir.WriteFile("train-images-idx3-ubyte", Gunzipped(kMnistDir + "/t10k-images-idx3-ubyte.gz"));
  const std::string labels =
      dir.WriteFile("train-labels-idx1-ubyte", Gunzipped(kMnistDir + "/t10k-labels-idx1-ubyte.gz"));
  auto raw = LoadIdx(images, labels, LoadOptions{});
  auto gz = LoadIdx(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                    kMnistDir + "/t10k-labels-idx1-ubyte.gz", LoadOptions{});
  REQUIRE(raw.ok());
  REQUIRE(gz.ok());
  CHECK(raw->size() == 2000);
  CHECK(SameData(*raw, *gz));
}

TEST_CASE("IDX images of any shape load with the product of their dimensions as features") {
  TempDir dir;
  const std::string images = dir.WriteFile("x-images-idx4-ubyte", IdxImagesFile(3, {2, 3, 4}));
  const std::string labels = dir.WriteFile("x-labels-idx1-ubyte", IdxLabelsFile({0, 1, 2}));
  auto d = LoadIdx(images, labels, LoadOptions{});
  REQUIRE(d.ok());
  CHECK(d->size() == 3);
  CHECK(d->num_features() == 24);
  CHECK(d->label(2) == 2);
  // Pixel k of the file is (k * 37) % 256; sample 1 holds pixels 24..47.
  const std::vector<float> dense = Dense(*d, 1);
  for (size_t j = 0; j < 24; ++j) {
    CHECK(dense[j] == static_cast<float>(((24 + j) * 37) % 256) / 255.0f);
  }
  auto flat = LoadIdx(dir.WriteFile("f-images-idx2-ubyte", IdxImagesFile(3, {5})), labels, {});
  REQUIRE(flat.ok());
  CHECK(flat->num_features() == 5);
}

TEST_CASE("IDX images file with a bad magic is refused naming the file and the magic") {
  TempDir dir;
  Bytes bytes = IdxImagesFile(2, {2, 2});
  bytes[0] = 0x12;
  const std::string images = dir.WriteFile("bad-images", bytes);
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0, 1}));
  const std::string msg = ErrorOf(LoadIdx(images, labels, {}));
  CHECK_THAT(msg, Catch::Contains(images));
  CHECK_THAT(msg, Catch::Contains("bad magic 0x12000803"));
}

TEST_CASE("IDX labels file passed as images is refused for its dimension count") {
  TempDir dir;
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0, 1}));
  const std::string msg = ErrorOf(LoadIdx(labels, labels, {}));
  CHECK_THAT(msg, Catch::Contains(labels));
  CHECK_THAT(msg, Catch::Contains("images file has 1 dimension"));
}

TEST_CASE("IDX element types other than unsigned byte are refused as unsupported") {
  TempDir dir;
  Bytes bytes = IdxImagesFile(1, {2, 2});
  bytes[2] = 0x0D;  // float32
  const std::string images = dir.WriteFile("float-images", bytes);
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0}));
  auto r = LoadIdx(images, labels, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnsupported);
  CHECK_THAT(r.status().message(), Catch::Contains(images));
  CHECK_THAT(r.status().message(), Catch::Contains("element type 0x0d (float32)"));
}

TEST_CASE("IDX images file shorter than its header declares is refused as truncated") {
  TempDir dir;
  Bytes bytes = IdxImagesFile(3, {2, 2});
  bytes.resize(bytes.size() - 1);
  const std::string images = dir.WriteFile("short-images", bytes);
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0, 1, 2}));
  const std::string msg = ErrorOf(LoadIdx(images, labels, {}));
  CHECK_THAT(msg, Catch::Contains(images));
  CHECK_THAT(msg, Catch::Contains("truncated"));
  CHECK_THAT(msg, Catch::Contains("header says 3 images of 2x2"));
  CHECK_THAT(msg, Catch::Contains("holds only 27"));
}

TEST_CASE("IDX header cut off inside the dimensions is refused as truncated") {
  TempDir dir;
  Bytes bytes = IdxImagesFile(3, {2, 2});
  bytes.resize(10);
  const std::string images = dir.WriteFile("cut-images", bytes);
  const std::string msg = ErrorOf(internal::ParseIdxImages(ReadAll(images), images));
  CHECK_THAT(msg, Catch::Contains(images));
  CHECK_THAT(msg, Catch::Contains("truncated header"));
}

TEST_CASE("IDX images file with trailing bytes is refused") {
  TempDir dir;
  Bytes bytes = IdxImagesFile(2, {2, 2});
  bytes.push_back(0xff);
  bytes.push_back(0xee);
  const std::string images = dir.WriteFile("long-images", bytes);
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0, 1}));
  const std::string msg = ErrorOf(LoadIdx(images, labels, {}));
  CHECK_THAT(msg, Catch::Contains(images));
  CHECK_THAT(msg, Catch::Contains("2 trailing bytes"));
}

TEST_CASE("IDX gzip file with trailing decompressed bytes is refused") {
  TempDir dir;
  Bytes bytes = IdxLabelsFile({0, 1});
  bytes.push_back(7);
  const std::string labels = dir.WriteFile("labels.gz", Gzip(bytes));
  const std::string msg = ErrorOf(internal::ParseIdxLabels(ReadAll(labels), labels));
  CHECK_THAT(msg, Catch::Contains(labels));
  CHECK_THAT(msg, Catch::Contains("1 trailing byte"));
  CHECK_THAT(msg, Catch::Contains("decompressed data"));
}

TEST_CASE("IDX images and labels with different counts are refused naming both files") {
  TempDir dir;
  const std::string images = dir.WriteFile("images", IdxImagesFile(3, {2, 2}));
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0, 1}));
  const std::string msg = ErrorOf(LoadIdx(images, labels, {}));
  CHECK_THAT(msg, Catch::Contains(images));
  CHECK_THAT(msg, Catch::Contains(labels));
  CHECK_THAT(msg, Catch::Contains("3 images"));
  CHECK_THAT(msg, Catch::Contains("2 labels"));
}

TEST_CASE("IDX label out of range is refused with its index, value and the limit") {
  TempDir dir;
  const std::string images = dir.WriteFile("images", IdxImagesFile(3, {2, 2}));
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0, 9, 10}));
  const std::string msg = ErrorOf(LoadIdx(images, labels, {}));
  CHECK_THAT(msg, Catch::Contains(labels));
  CHECK_THAT(msg, Catch::Contains("label 10 at index 2"));
  CHECK_THAT(msg, Catch::Contains("< 10"));
  LoadOptions eleven;
  eleven.num_classes = 11;
  CHECK(LoadIdx(images, labels, eleven).ok());
}

TEST_CASE("IDX feature count different from expected_features is refused") {
  TempDir dir;
  const std::string images = dir.WriteFile("images", IdxImagesFile(1, {2, 2}));
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0}));
  LoadOptions options;
  options.expected_features = 784;
  const std::string msg = ErrorOf(LoadIdx(images, labels, options));
  CHECK_THAT(msg, Catch::Contains(images));
  CHECK_THAT(msg, Catch::Contains("4 features but 784 were expected"));
}

TEST_CASE("IDX header declaring more than the size limit is refused before decompressing") {
  Bytes small = {0, 0, 0x08, 0x03};
  PutBe32(&small, 4000000);
  PutBe32(&small, 1000);
  PutBe32(&small, 1000);  // 4e12 bytes declared
  const Bytes gz = Gzip(small);
  auto r = internal::ParseIdxImages(gz, "bomb.gz", size_t{1} << 20);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kResourceExhausted);
  CHECK_THAT(r.status().message(), Catch::Contains("bomb.gz"));
  CHECK_THAT(r.status().message(), Catch::Contains("limit"));
  // Within the limit but absent from the file: truncated, not an allocation of the claim. A
  // 32-bit size_t cannot hold a limit above the 4e12 bytes claimed: there the claim is refused.
  auto t = internal::ParseIdxImages(gz, "claims.gz", std::numeric_limits<size_t>::max());
  if constexpr (sizeof(size_t) >= 8) {
    CHECK_THAT(ErrorOf(t), Catch::Contains("truncated"));
  } else {
    CHECK(t.status().code() == StatusCode::kResourceExhausted);
  }
}

TEST_CASE("IDX images without labels load as LoadIdx loads them, every label 0") {
  auto labelled = LoadIdx(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                          kMnistDir + "/t10k-labels-idx1-ubyte.gz", LoadOptions{});
  auto images = LoadIdxImages(kMnistDir + "/t10k-images-idx3-ubyte.gz", LoadOptions{});
  REQUIRE(labelled.ok());
  REQUIRE(images.ok());
  REQUIRE(images->size() == labelled->size());
  CHECK(images->num_features() == 784);
  bool labels_zero = true, pixels_same = true;
  for (size_t i = 0; i < images->size(); ++i) {
    labels_zero = labels_zero && images->label(i) == 0;
    pixels_same = pixels_same && Dense(*images, i) == Dense(*labelled, i);
  }
  CHECK(labels_zero);
  CHECK(pixels_same);
  LoadOptions narrow;
  narrow.expected_features = 19;
  CHECK_THAT(ErrorOf(LoadIdxImages(kMnistDir + "/t10k-images-idx3-ubyte.gz", narrow)),
             Catch::Contains("784 features but 19 were expected"));
}
