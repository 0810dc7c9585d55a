// The IDX reader: image and label files in the format MNIST ships (and Fashion-MNIST, and
// anything else written the same way).
#pragma once

#include <string>

#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/util/status.h"

namespace dust {

// IDX pair as MNIST ships it: images (magic 0x00000803, any number of dimensions after the
// count, so any image shape) and labels (0x00000801), raw or gzip-compressed (detected by
// content -- the bytes 1f 8b -- not by name). uint8 pixels are scaled to [0, 1] (p / 255).
// Only unsigned-byte elements (type 0x08) are accepted; other IDX element types are refused
// with kUnsupported. Decompression is capped at what the header declares (and at
// options.max_file_bytes), so a gzip bomb fails instead of filling memory.
Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path,
                        const LoadOptions& options);

// An IDX images file without its labels (images to predict, not to learn from): as LoadIdx,
// with every label 0.
Result<Dataset> LoadIdxImages(const std::string& images_path, const LoadOptions& options);

}  // namespace dust
