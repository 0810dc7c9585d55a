// What `dustctl predict FILE` reads: the rows to classify, shaped for the daemon's model, from a
// CSV file (with or without its label column), an IDX images file (with its labels file when
// there is one beside it) or a PNG image. The readers are libdust's (CSV, IDX) and libpng's
// (DecodePng, qr.h); this file decides which one a file needs and turns an image into features.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dust/ml/dataset.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"
#include "qr.h"

namespace dust::ctl {

struct PredictInputOptions {
  uint32_t width = 0;    // the model's input features
  uint32_t classes = 0;  // the model's outputs (labels must be below)
  // CSV: the label column's name (as the daemon's csv-label-column), or no_label for a file
  // without one. Neither: a file whose first line has width + 1 columns has labels (found as the
  // daemon finds them: the column named "label", else the first), one with width columns none.
  std::string label_column;
  bool no_label = false;
  bool invert = false;  // images: 255 - p (dark drawing on a light ground, unlike MNIST's)
};

struct PredictInput {
  Dataset rows;  // width features, labels below classes (0 when unlabelled)
  bool labelled = false;
  std::string how;  // how the file was read, for people: "CSV with a label column", ...
};

// Reads `path`: a PNG (by its signature), an IDX images file (by its name,
// X-images-idxN-ubyte[.gz], or the IDX magic 00 00 08), else a CSV file. Errors name the file
// (and, for CSV, the line and column) and say what the model expects.
Result<PredictInput> ReadPredictInput(const std::string& path, const PredictInputOptions& options);

// The labels file that belongs to the IDX images file `images_path` (X-images-idxN-ubyte[.gz]
// -> X-labels-idx1-ubyte or X-labels-idx1-ubyte.gz in the same directory), if one exists.
std::optional<std::string> IdxLabelsFor(const std::string& images_path);

// An image as a model's input: for a model `width` = side * side features wide, the image
// resized to side x side by area averaging (each output pixel the mean of the source area it
// covers, fractional pixels weighted by their overlap; each axis scaled on its own, so a
// non-square image is stretched), then each value v (0..255, or 255 - v with `invert`) as
// v / 255, the IDX reader's scale: a side x side image gives exactly the features its IDX
// copy would. kInvalidArgument if `width` is not a square.
Result<std::vector<float>> ImageFeatures(const GreyImage& image, uint32_t width, bool invert);

// A PNG's bytes as one row of `width` features (DecodePng, then ImageFeatures).
Result<std::vector<float>> PngFeatures(ByteView png, uint32_t width, bool invert);

}  // namespace dust::ctl
