#include "model_shape.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <sstream>

#include "dust/ml/load_options.h"
#include "dust/ml/model.h"

namespace dust::bench {
namespace {

// Labels are stored as uint8_t: loading with this bound accepts every label a Dataset can hold,
// so the data, not an option, decides the number of classes.
constexpr uint32_t kLabelBound = 256;

// The files of `c` that hold test (or training) data, for messages: at most three, then a count.
std::string FilesOf(const daemon::DataDirContents& c, bool test) {
  std::vector<std::string> files;
  for (const auto& path : c.used) {
    if (daemon::IsTestDataName(std::filesystem::path(path).filename().string()) == test) {
      files.push_back(path);
    }
  }
  std::string out;
  for (size_t i = 0; i < files.size() && i < 3; ++i) {
    if (i > 0) out += ", ";
    out += files[i];
  }
  if (files.size() > 3) out += " and " + std::to_string(files.size() - 3) + " more";
  return out;
}

// "784<sep>32<sep>10".
std::string JoinWidths(std::span<const uint32_t> layers, char sep) {
  std::string out;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) out += sep;
    out += std::to_string(layers[i]);
  }
  return out;
}

// As --layers takes it: "784,32,10".
std::string Commas(std::span<const uint32_t> layers) { return JoinWidths(layers, ','); }

}  // namespace

std::optional<std::vector<uint32_t>> ParseLayers(const std::string& text) {
  std::stringstream ss(text);
  std::string item;
  std::vector<uint32_t> out;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const unsigned long v = std::stoul(item, &used);
      if (used != item.size() || v == 0 || v > kMaxLayerWidth) return std::nullopt;
      out.push_back(static_cast<uint32_t>(v));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (out.size() < 2) return std::nullopt;
  return out;
}

std::string LayersName(std::span<const uint32_t> layers) { return JoinWidths(layers, '-'); }

Result<ShapedData> LoadShapedData(const std::string& dir, const std::vector<uint32_t>& layers,
                                  const std::string& label_column) {
  LoadOptions load;
  load.num_classes = kLabelBound;
  load.label_column = label_column;
  auto scanned = daemon::ScanDataDir(dir, load, /*strict=*/true);
  if (!scanned.ok()) return scanned.status();
  ShapedData out{std::move(*scanned), {}, {}};
  Dataset& train = out.contents.train;
  Dataset& test = out.contents.test;

  std::array<bool, kLabelBound> seen{};
  size_t distinct = 0;
  for (size_t i = 0; i < train.size(); ++i) {
    if (!seen[train.label(i)]) ++distinct;
    seen[train.label(i)] = true;
  }
  if (distinct < 2) {
    return Status::InvalidArgument("the training data in " + dir + " (" +
                                   FilesOf(out.contents, false) + ") has only label " +
                                   std::to_string(train.MaxLabel()) +
                                   ": a classifier needs at least two classes to tell apart");
  }
  const uint32_t features = train.num_features();
  const uint32_t train_classes = train.MaxLabel() + 1u;
  const uint32_t all_classes = std::max(train_classes, test.MaxLabel() + 1u);

  if (layers.empty()) {
    if (all_classes > train_classes) {
      std::vector<uint32_t> wider = Mlp::DefaultLayers();
      wider.front() = features;
      wider.back() = all_classes;
      return Status::InvalidArgument(
          "the test data in " + dir + " (" + FilesOf(out.contents, true) + ") has label " +
          std::to_string(test.MaxLabel()) + ", but the training data (" +
          FilesOf(out.contents, false) + ") has labels up to " + std::to_string(train.MaxLabel()) +
          " only, so the model it implies (" + std::to_string(train_classes) +
          " classes) could never predict it; to measure that anyway, give --layers " +
          Commas(wider));
    }
    out.layers = Mlp::DefaultLayers();
    out.layers.front() = features;
    out.layers.back() = train_classes;
    out.description = "model " + LayersName(out.layers) + " (" + std::to_string(features) +
                      " features and " + std::to_string(train_classes) + " classes from the data)";
  } else {
    if (layers.front() != features || layers.back() != all_classes) {
      std::vector<uint32_t> fitting = layers;
      fitting.front() = features;
      fitting.back() = all_classes;
      return Status::InvalidArgument(
          "--layers " + Commas(layers) + " (" + std::to_string(layers.front()) + " features, " +
          std::to_string(layers.back()) + " classes) does not fit the data in " + dir + ": " +
          std::to_string(features) + " features and labels up to " +
          std::to_string(all_classes - 1) + " (" + std::to_string(all_classes) +
          " classes); give --layers " + Commas(fitting) +
          (all_classes == train_classes ? " or leave --layers out" : ""));
    }
    out.layers = layers;
    out.description = "model " + LayersName(out.layers) + " (--layers, which the data's " +
                      std::to_string(features) + " features and " + std::to_string(all_classes) +
                      " classes agree with)";
  }
  // Cannot fail: every label was checked against the class count above.
  if (Status st = train.SetNumClasses(out.layers.back()); !st.ok()) return st;
  if (Status st = test.SetNumClasses(out.layers.back()); !st.ok()) return st;
  return out;
}

}  // namespace dust::bench
