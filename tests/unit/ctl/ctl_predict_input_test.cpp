// dustctl predict's input: which reader a file gets, the CSV label-column decision by width, the
// IDX labels file beside the images, and images resized by area averaging.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dust/util/file.h"
#include "predict_input.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::ctl;
using dust::testutil::TempDir;

namespace {

PredictInputOptions Shape(uint32_t width, uint32_t classes) {
  PredictInputOptions o;
  o.width = width;
  o.classes = classes;
  return o;
}

std::vector<float> Row(const Dataset& d, size_t i) {
  std::vector<float> out(d.num_features(), 0.0f);
  const SampleView s = d.sample(i);
  for (size_t k = 0; k < s.index.size(); ++k) out[s.index[k]] = s.value[k];
  return out;
}

std::string ErrorOf(const Result<PredictInput>& r) {
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

GreyImage Image(uint32_t w, uint32_t h, std::vector<uint8_t> pixels) {
  GreyImage g;
  g.width = w;
  g.height = h;
  g.pixels = std::move(pixels);
  return g;
}

}  // namespace

TEST_CASE("predict input: a CSV with width + 1 columns has labels, with width columns none") {
  TempDir dir;
  auto labelled =
      ReadPredictInput(dir.WriteFile("l.csv", "x,label,y\n0.5,2,1\n1,0,0\n"), Shape(2, 3));
  REQUIRE(labelled.ok());
  CHECK(labelled->labelled);
  CHECK(labelled->rows.label(0) == 2);  // the column named label, as the daemon finds it
  CHECK(Row(labelled->rows, 0) == std::vector<float>{0.5f, 1.0f});
  auto bare = ReadPredictInput(dir.WriteFile("b.csv", "0.5,1\n1,0\n"), Shape(2, 3));
  REQUIRE(bare.ok());
  CHECK_FALSE(bare->labelled);
  CHECK(Row(bare->rows, 1) == std::vector<float>{1.0f, 0.0f});
  const std::string wide = dir.WriteFile("w.csv", "1,2,3,4\n");
  CHECK(ErrorOf(ReadPredictInput(wide, Shape(2, 3))) ==
        wide +
            ": line 1 has 4 columns, but the model takes 2 features: a CSV file needs 2 "
            "columns, or 3 with a label column");
  // Asked for: a named label column, or none at all, whatever the width.
  PredictInputOptions named = Shape(2, 3);
  named.label_column = "y";
  auto by_name = ReadPredictInput(dir.WriteFile("n.csv", "a,y,b\n1,2,3\n"), named);
  REQUIRE(by_name.ok());
  CHECK(by_name->rows.label(0) == 2);
  CHECK(Row(by_name->rows, 0) == std::vector<float>{1.0f, 3.0f});
  PredictInputOptions none = Shape(3, 3);
  none.no_label = true;
  auto all = ReadPredictInput(dir.WriteFile("a.csv", "label,p,q\n7,8,9\n"), none);
  REQUIRE(all.ok());
  CHECK_FALSE(all->labelled);
  CHECK(Row(all->rows, 0) == std::vector<float>{7.0f, 8.0f, 9.0f});
  // The CSV reader's errors come through with their line and column.
  const std::string bad = dir.WriteFile("x.csv", "1,2\n3,oops\n");
  CHECK_THAT(ErrorOf(ReadPredictInput(bad, Shape(2, 3))), Catch::Contains(bad + ": line 2"));
}

TEST_CASE("predict input: IDX images find the labels file beside them, if there is one") {
  TempDir dir;
  const std::string mnist = std::string(DUST_SOURCE_DIR) + "/data/mnist-10k";
  CHECK(IdxLabelsFor(mnist + "/t10k-images-idx3-ubyte.gz") == mnist + "/t10k-labels-idx1-ubyte.gz");
  CHECK_FALSE(IdxLabelsFor(mnist + "/t10k-labels-idx1-ubyte.gz"));
  auto with = ReadPredictInput(mnist + "/t10k-images-idx3-ubyte.gz", Shape(784, 10));
  REQUIRE(with.ok());
  CHECK(with->labelled);
  CHECK(with->rows.size() == 2000);
  // A copy alone in a directory has no labels.
  auto bytes = ReadFile(mnist + "/t10k-images-idx3-ubyte.gz", size_t{1} << 24);
  REQUIRE(bytes.ok());
  const std::string alone = dir.WriteFile("digits-images-idx3-ubyte.gz", *bytes);
  CHECK_FALSE(IdxLabelsFor(alone));
  auto without = ReadPredictInput(alone, Shape(784, 10));
  REQUIRE(without.ok());
  CHECK_FALSE(without->labelled);
  CHECK(Row(without->rows, 5) == Row(with->rows, 5));
  CHECK_THAT(ErrorOf(ReadPredictInput(alone, Shape(19, 10))),
             Catch::Contains("784 features but 19 were expected"));
}

TEST_CASE("image features: a side x side image gives exactly the IDX reader's p / 255") {
  std::vector<uint8_t> px(9);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 31);
  auto f = ImageFeatures(Image(3, 3, px), 9, false);
  REQUIRE(f.ok());
  for (size_t i = 0; i < px.size(); ++i) CHECK((*f)[i] == static_cast<float>(px[i]) / 255.0f);
  auto inv = ImageFeatures(Image(3, 3, px), 9, true);
  REQUIRE(inv.ok());
  CHECK((*inv)[1] == static_cast<float>(255 - px[1]) / 255.0f);
}

TEST_CASE("image features: area averaging down, up and by fractions") {
  // 4x4 to 2x2: each output pixel the mean of a 2x2 block.
  auto down = ImageFeatures(
      Image(4, 4, {0, 255, 10, 10, 255, 0, 10, 10, 0, 0, 100, 200, 0, 0, 0, 100}), 4, false);
  REQUIRE(down.ok());
  CHECK(*down == std::vector<float>{127.5f / 255.0f, 10.0f / 255.0f, 0.0f, 100.0f / 255.0f});
  // 1x1 to 2x2: every output pixel covers part of the one source pixel.
  auto up = ImageFeatures(Image(1, 1, {51}), 4, false);
  REQUIRE(up.ok());
  CHECK(*up == std::vector<float>(4, 51.0f / 255.0f));
  // 3x1 to 2x2: output column 0 covers source columns 0 and half of 1, column 1 the other half
  // of 1 and column 2: (0 * 1 + 90 * 0.5) / 1.5 = 30 and (90 * 0.5 + 30 * 1) / 1.5 = 50.
  auto frac = ImageFeatures(Image(3, 1, {0, 90, 30}), 4, false);
  REQUIRE(frac.ok());
  CHECK((*frac)[0] == Approx(30.0f / 255.0f));
  CHECK((*frac)[1] == Approx(50.0f / 255.0f));
  CHECK((*frac)[2] == (*frac)[0]);
  CHECK_THAT(ImageFeatures(Image(2, 2, {0, 0, 0, 0}), 19, false).status().message(),
             Catch::Contains("not a square image's pixels"));
}

TEST_CASE("predict input: a PNG is found by its signature and becomes one row") {
  TempDir dir;
  std::vector<uint8_t> px(56 * 56);
  for (size_t y = 0; y < 56; ++y)
    for (size_t x = 0; x < 56; ++x) px[y * 56 + x] = static_cast<uint8_t>((x / 2) * 9 % 256);
  auto png = EncodePng(Image(56, 56, px));
  REQUIRE(png.ok());
  const std::string path = dir.WriteFile("digit.csv", *png);  // the name does not matter
  auto in = ReadPredictInput(path, Shape(784, 10));
  REQUIRE(in.ok());
  CHECK_FALSE(in->labelled);
  REQUIRE(in->rows.size() == 1);
  const std::vector<float> row = Row(in->rows, 0);
  CHECK(row[3] == static_cast<float>(3 * 9) / 255.0f);  // 2x2 blocks of one value each
  CHECK_THAT(ErrorOf(ReadPredictInput(path, Shape(19, 7))),
             Catch::Contains(path + ": the model takes 19 features"));
  const std::string broken = dir.WriteFile("broken.png", "\x89PNG\r\n\x1a\n garbage");
  CHECK_THAT(ErrorOf(ReadPredictInput(broken, Shape(784, 10))), Catch::Contains(broken + ": "));
}
