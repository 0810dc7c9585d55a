// dust-bench split: deals a data directory's training samples out to N devices and writes each
// device's share as an IDX pair, so the demo and the network suite can give every dustd its own
// private, non-IID slice of the bundled data.
//
//   dust-bench split --data DIR --out OUT --parts N [--split classes:K|shards:K|iid] [--seed S]
//                    [--limit M]
//
// writes OUT/part-1 ... OUT/part-N, each holding train-images-idx3-ubyte and
// train-labels-idx1-ubyte (uncompressed IDX, which the loaders read as well as gzip), and
// OUT/test with DIR's test samples, so a model can be evaluated on data no device holds.
//   classes:K  device i holds the K classes i*K ... i*K+K-1 (mod the number of classes); the
//              samples of a class held by several devices are divided evenly between them.
//   shards:K   McMahan et al.'s pathological split: samples sorted by label, cut into N*K equal
//              shards, each device dealt K of them at random (seeded).
//   iid        a seeded random permutation cut into N equal parts.
// Pixels are written back as bytes (round(value * 255)), which is exact for IDX input; data
// with any other value is refused (it would be rounded and clamped into garbage).
// Last line on stdout: one JSON object with every part's sample count and classes.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_options.h"
#include "bench_registry.h"
#include "data_dir.h"
#include "dust/ml/dataset.h"
#include "dust/util/bytes.h"
#include "dust/util/file.h"
#include "dust/util/rng.h"

namespace dust::bench {
namespace {

namespace po = boost::program_options;

void PutU32Be(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// Writes `data` as an IDX images file (count x rows x cols, square images when the feature
// count is a perfect square, else 1 x features) and its labels file.
Status WriteIdx(const Dataset& data, const std::string& dir, const std::string& prefix) {
  const uint32_t features = data.num_features();
  uint32_t rows = static_cast<uint32_t>(std::lround(std::sqrt(static_cast<double>(features))));
  if (rows * rows != features) rows = 1;
  const uint32_t cols = features / rows;
  Bytes images;
  images.reserve(16 + data.size() * features);
  PutU32Be(images, 0x00000803);
  PutU32Be(images, static_cast<uint32_t>(data.size()));
  PutU32Be(images, rows);
  PutU32Be(images, cols);
  Bytes labels;
  PutU32Be(labels, 0x00000801);
  PutU32Be(labels, static_cast<uint32_t>(data.size()));
  std::vector<uint8_t> pixels(features);
  for (size_t i = 0; i < data.size(); ++i) {
    const SampleView s = data.sample(i);
    std::fill(pixels.begin(), pixels.end(), 0);
    for (size_t k = 0; k < s.index.size(); ++k) {
      // IDX holds bytes: anything but a pixel (k / 255) would be silently clamped and rounded,
      // which turns raw-scale tables into garbage that still trains.
      const float v = s.value[k];
      const long byte = std::lround(v * 255.0f);
      if (!(v >= 0.0f && v <= 1.0f) || std::fabs(v * 255.0f - static_cast<float>(byte)) > 1e-3f) {
        return Status::InvalidArgument(
            "sample " + std::to_string(i + 1) + ", feature " + std::to_string(s.index[k] + 1) +
            " is " + std::to_string(v) +
            ": split writes IDX bytes, which hold pixels in [0, 1] (k / 255) only; split a "
            "table of other values as CSV rows (e.g. bench/tabular_daemons.sh does)");
      }
      pixels[s.index[k]] = static_cast<uint8_t>(byte);
    }
    images.insert(images.end(), pixels.begin(), pixels.end());
    labels.push_back(s.label);
  }
  DUST_RETURN_IF_ERROR(AtomicWriteFile(dir + "/" + prefix + "-images-idx3-ubyte", images));
  return AtomicWriteFile(dir + "/" + prefix + "-labels-idx1-ubyte", labels);
}

void Shuffle(std::vector<uint32_t>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
}

// Indices of each part's samples. Returns an error message, or "" on success.
std::string Deal(const Dataset& train, const std::string& split, uint32_t parts, uint64_t seed,
                 std::vector<std::vector<uint32_t>>* out) {
  Rng rng(seed);
  out->assign(parts, {});
  std::vector<uint32_t> all(train.size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  Shuffle(all, rng);  // so ties within a class are broken at random, not by file order
  if (split == "iid") {
    for (size_t i = 0; i < all.size(); ++i) (*out)[i % parts].push_back(all[i]);
    return "";
  }
  const auto colon = split.find(':');
  const std::string kind = split.substr(0, colon);
  uint32_t k = 0;
  if (colon != std::string::npos) {
    try {
      k = static_cast<uint32_t>(std::stoul(split.substr(colon + 1)));
    } catch (const std::exception&) {
      k = 0;
    }
  }
  if ((kind != "classes" && kind != "shards") || k == 0) {
    return "--split '" + split + "': expected iid, classes:K or shards:K with K >= 1";
  }
  const uint32_t classes = train.num_classes();
  if (kind == "classes") {
    if (k > classes)
      return "--split classes:K: K is larger than the " + std::to_string(classes) + " classes";
    std::vector<std::vector<uint32_t>> holders(classes);  // devices holding each class
    for (uint32_t p = 0; p < parts; ++p) {
      for (uint32_t j = 0; j < k; ++j) holders[(p * k + j) % classes].push_back(p);
    }
    std::vector<size_t> dealt(classes, 0);
    for (uint32_t i : all) {
      const auto& h = holders[train.label(i)];
      if (h.empty()) continue;  // a class no device holds (parts * K < classes)
      (*out)[h[dealt[train.label(i)]++ % h.size()]].push_back(i);
    }
    return "";
  }
  std::stable_sort(all.begin(), all.end(),
                   [&](uint32_t a, uint32_t b) { return train.label(a) < train.label(b); });
  const size_t shards = size_t{parts} * k;
  if (shards > all.size()) return "--split shards:K: more shards than samples";
  std::vector<uint32_t> order(shards);
  for (uint32_t s = 0; s < shards; ++s) order[s] = s;
  Shuffle(order, rng);
  for (size_t s = 0; s < shards; ++s) {
    const size_t shard = order[s];
    const size_t begin = all.size() * shard / shards, end = all.size() * (shard + 1) / shards;
    auto& dst = (*out)[s / k];
    dst.insert(dst.end(), all.begin() + static_cast<long>(begin),
               all.begin() + static_cast<long>(end));
  }
  return "";
}

int RunSplit(int argc, char** argv) {
  po::options_description desc("dust-bench split: write per-device non-IID slices of a data dir");
  desc.add_options()("help,h", "this help")("data", po::value<std::string>()->required(),
                                            "data directory (IDX pairs and/or CSV)")(
      "out", po::value<std::string>()->required(), "output directory (part-1..part-N, test)")(
      "parts", po::value<uint32_t>()->default_value(3), "number of devices")(
      "split", po::value<std::string>()->default_value("classes:2"), "classes:K, shards:K or iid")(
      "seed", po::value<uint64_t>()->default_value(1), "seed for shuffling and dealing")(
      "limit", po::value<uint32_t>()->default_value(0),
      "at most this many samples per part (0: all)");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(argc, argv, desc, {"dust-bench split"}, &vm)) return *rc;
  const auto data_dir = vm["data"].as<std::string>();
  const auto out_dir = vm["out"].as<std::string>();
  const uint32_t parts = vm["parts"].as<uint32_t>();
  const uint32_t limit = vm["limit"].as<uint32_t>();
  if (parts == 0 || parts > 1000) {
    std::cerr << "dust-bench split: --parts must be in 1..1000\n";
    return 1;
  }
  auto contents = daemon::ScanDataDir(data_dir, LoadOptions{}, /*strict=*/true);
  if (!contents.ok()) {
    std::cerr << "dust-bench split: " << contents.status().ToString() << "\n";
    return 1;
  }
  std::vector<std::vector<uint32_t>> dealt;
  const std::string err = Deal(contents->train, vm["split"].as<std::string>(), parts,
                               vm["seed"].as<uint64_t>(), &dealt);
  if (!err.empty()) {
    std::cerr << "dust-bench split: " << err << "\n";
    return 1;
  }
  nlohmann::json summary = {{"data", data_dir},
                            {"out", out_dir},
                            {"split", vm["split"].as<std::string>()},
                            {"parts", nlohmann::json::array()}};
  std::error_code ec;
  for (uint32_t p = 0; p < parts; ++p) {
    auto& idx = dealt[p];
    if (limit && idx.size() > limit) idx.resize(limit);
    std::sort(idx.begin(), idx.end());  // file order within a part, as the source had it
    const std::string dir = out_dir + "/part-" + std::to_string(p + 1);
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::cerr << "dust-bench split: cannot create " << dir << ": " << ec.message() << "\n";
      return 1;
    }
    const Dataset part = contents->train.Subset(idx);
    if (Status st = WriteIdx(part, dir, "train"); !st.ok()) {
      std::cerr << "dust-bench split: " << st.ToString() << "\n";
      return 1;
    }
    std::vector<uint32_t> per_class(part.num_classes(), 0);
    for (size_t i = 0; i < part.size(); ++i) ++per_class[part.label(i)];
    nlohmann::json classes = nlohmann::json::array();
    for (uint32_t c = 0; c < per_class.size(); ++c) {
      if (per_class[c]) classes.push_back(c);
    }
    summary["parts"].push_back({{"dir", dir}, {"samples", part.size()}, {"classes", classes}});
    std::cerr << "part-" << p + 1 << ": " << part.size() << " samples, classes " << classes.dump()
              << "\n";
  }
  if (!contents->test.empty()) {
    std::filesystem::create_directories(out_dir + "/test", ec);
    if (Status st = WriteIdx(contents->test, out_dir + "/test", "t10k"); ec || !st.ok()) {
      std::cerr << "dust-bench split: cannot write " << out_dir << "/test: " << st.ToString()
                << "\n";
      return 1;
    }
    summary["test"] = {{"dir", out_dir + "/test"}, {"samples", contents->test.size()}};
  }
  std::cout << summary.dump() << "\n";
  return 0;
}

const BenchRegistrar kSplit{"split", "write per-device non-IID slices of a data dir (IDX)",
                            &RunSplit};

}  // namespace
}  // namespace dust::bench
