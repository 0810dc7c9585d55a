// The gzip byte source, directly (Gunzip) and through the IDX reader, which reads every file
// through it.
#include "byte_source.h"

#include <catch2/catch.hpp>
#include <string>

#include "dust/ml/idx_reader.h"
#include "idx_internal.h"
#include "testutil/dataset_util.h"
#include "testutil/idx_files.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::testutil;

TEST_CASE("corrupt gzip IDX file is refused as corrupt naming the file") {
  TempDir dir;
  Bytes gz = ReadAll(kMnistDir + "/t10k-labels-idx1-ubyte.gz");
  gz[gz.size() / 2] ^= 0x55;
  const std::string labels = dir.WriteFile("labels.gz", gz);
  auto r = internal::ParseIdxLabels(ReadAll(labels), labels);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kCorrupt);
  CHECK_THAT(r.status().message(), Catch::Contains(labels));
  CHECK_THAT(r.status().message(), Catch::Contains("gzip"));
}

TEST_CASE("gzip IDX file cut short is refused as a truncated gzip stream") {
  TempDir dir;
  Bytes gz = ReadAll(kMnistDir + "/t10k-images-idx3-ubyte.gz");
  gz.resize(gz.size() / 2);
  const std::string images = dir.WriteFile("images.gz", gz);
  const std::string labels = dir.WriteFile("labels", IdxLabelsFile({0}));
  const std::string msg = ErrorOf(LoadIdx(images, labels, {}));
  CHECK_THAT(msg, Catch::Contains(images));
  CHECK_THAT(msg, Catch::Contains("gzip stream is truncated"));
}

TEST_CASE("gzip IDX file followed by extra bytes is refused") {
  TempDir dir;
  Bytes gz = Gzip(IdxLabelsFile({1, 2}));
  gz.push_back(0);
  const std::string labels = dir.WriteFile("labels.gz", gz);
  const std::string msg = ErrorOf(internal::ParseIdxLabels(ReadAll(labels), labels));
  CHECK_THAT(msg, Catch::Contains(labels));
  CHECK_THAT(msg, Catch::Contains("after the end of the gzip stream"));
}

TEST_CASE("gunzip refuses output beyond its cap") {
  const Bytes gz = Gzip(Bytes(10000, 0));
  CHECK(internal::Gunzip(gz, "z", 10000).ok());
  auto r = internal::Gunzip(gz, "z", 9999);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kResourceExhausted);
}
