// The model's shape for dust-sim and dust-bench train, taken from the data: the input width is
// the data's feature count and the classes are 1 + the highest training label; the hidden layers
// come from --layers or the default. Both tools load their data directory through
// LoadShapedData, so they fit, refuse and describe a model the same way (docs/benchmarks.md,
// "Model shape").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "data_dir.h"
#include "dust/util/status.h"

namespace dust::bench {

// Parses --layers: comma-separated widths in [1, kMaxLayerWidth], at least two (input first,
// classes last). nullopt if malformed.
std::optional<std::vector<uint32_t>> ParseLayers(const std::string& text);

// "784-32-10".
std::string LayersName(std::span<const uint32_t> layers);

struct ShapedData {
  daemon::DataDirContents contents;  // train and test, num_classes() == layers.back()
  std::vector<uint32_t> layers;      // the model to train
  // One line for stderr, e.g. "model 13-32-3 (13 features and 3 classes from the data)".
  std::string description;
};

// Loads `dir` strictly (any file that cannot be used is an error, as in ScanDataDir) and fits
// the model to it.
// - `layers` empty: {features, the default hidden layers, 1 + the highest training label}. A
//   test label above the highest training label is an error naming both sets of files: the
//   model could never predict it (give --layers with more classes to measure that anyway).
// - `layers` given: its input width must equal the feature count and its classes 1 + the
//   highest label of the training and test data together; otherwise an error naming --layers,
//   the data and the --layers that would fit.
// Training data with fewer than two distinct labels is an error: there is nothing to learn.
// `label_column`: the CSV label column's header name (LoadOptions::label_column; "" = default).
Result<ShapedData> LoadShapedData(const std::string& dir, const std::vector<uint32_t>& layers,
                                  const std::string& label_column = "");

}  // namespace dust::bench
