#include "predict_input.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>

#include "dust/ml/csv_reader.h"
#include "dust/ml/idx_reader.h"
#include "dust/util/file.h"

namespace dust::ctl {
namespace {

// A PNG image file is read whole; 32 MiB is far more than any picture of a digit needs.
constexpr size_t kMaxImageFileBytes = size_t{32} << 20;

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The first bytes of the file (fewer if it is shorter; none if it cannot be read: the reader
// chosen then says why).
std::string Head(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsIdxImagesName(const std::string& name) {
  return name.find("-images-idx") != std::string::npos &&
         (name.ends_with("-ubyte") || name.ends_with("-ubyte.gz"));
}

LoadOptions BaseLoadOptions(const PredictInputOptions& o) {
  LoadOptions lo;
  lo.num_classes = o.classes;
  lo.expected_features = o.width;
  return lo;
}

Result<PredictInput> ReadPng(const std::string& path, const PredictInputOptions& o) {
  Result<Bytes> bytes = ReadFile(path, kMaxImageFileBytes);
  if (!bytes.ok()) return bytes.status();
  Result<std::vector<float>> features = PngFeatures(*bytes, o.width, o.invert);
  if (!features.ok()) return Status::InvalidArgument(path + ": " + features.status().message());
  PredictInput in;
  in.rows = Dataset(o.width, o.classes);
  in.rows.AddDense(*features, 0);
  const auto side = static_cast<uint32_t>(std::lround(std::sqrt(o.width)));
  in.how = "PNG image, greyscale, area-averaged to " + std::to_string(side) + "x" +
           std::to_string(side) + (o.invert ? ", inverted" : "");
  return in;
}

Result<PredictInput> ReadIdx(const std::string& path, const PredictInputOptions& o) {
  PredictInput in;
  const std::optional<std::string> labels = IdxLabelsFor(path);
  Result<Dataset> rows =
      labels ? LoadIdx(path, *labels, BaseLoadOptions(o)) : LoadIdxImages(path, BaseLoadOptions(o));
  if (!rows.ok()) return rows.status();
  in.rows = std::move(*rows);
  in.labelled = labels.has_value();
  in.how = labels ? "IDX images with labels from " + *labels : "IDX images without labels";
  return in;
}

Result<PredictInput> ReadCsv(const std::string& path, const PredictInputOptions& o) {
  LoadOptions lo = BaseLoadOptions(o);
  lo.label_column = o.label_column;
  lo.no_label = o.no_label;
  if (o.label_column.empty() && !o.no_label) {
    Result<size_t> columns = CsvColumnCount(path, lo);
    if (!columns.ok()) return columns.status();
    if (*columns == o.width) {
      lo.no_label = true;
    } else if (*columns != size_t{o.width} + 1) {
      return Status::InvalidArgument(
          path + ": line 1 has " + std::to_string(*columns) + " columns, but the model takes " +
          std::to_string(o.width) + " features: a CSV file needs " + std::to_string(o.width) +
          " columns, or " + std::to_string(o.width + 1) + " with a label column");
    }
  }
  Result<Dataset> rows = LoadCsv(path, lo);
  if (!rows.ok()) return rows.status();
  PredictInput in;
  in.rows = std::move(*rows);
  in.labelled = !lo.no_label;
  in.how = lo.no_label ? "CSV without a label column" : "CSV with a label column";
  return in;
}

}  // namespace

std::optional<std::string> IdxLabelsFor(const std::string& images_path) {
  const std::string name = BaseName(images_path);
  const size_t at = name.find("-images-idx");
  if (at == std::string::npos || !IsIdxImagesName(name)) return std::nullopt;
  const std::string dir = images_path.substr(0, images_path.size() - name.size());
  const std::string stem = dir + name.substr(0, at) + "-labels-idx1-ubyte";
  for (const std::string& candidate : {stem, stem + ".gz"}) {
    if (Exists(candidate)) return candidate;
  }
  return std::nullopt;
}

Result<std::vector<float>> ImageFeatures(const GreyImage& image, uint32_t width, bool invert) {
  const auto side = static_cast<uint32_t>(std::lround(std::sqrt(static_cast<double>(width))));
  if (width == 0 || uint64_t{side} * side != width) {
    return Status::InvalidArgument("the model takes " + std::to_string(width) +
                                   " features, not a square image's pixels, so an image cannot "
                                   "be its input");
  }
  const uint64_t w = image.width, h = image.height;
  if (w == 0 || h == 0 || image.pixels.size() != w * h) {
    return Status::InvalidArgument("empty or inconsistent image");
  }
  // Area averaging in integers: on a grid of w * side units across (h * side down), source
  // column x spans [x * side, (x + 1) * side) and output column o spans [o * w, (o + 1) * w);
  // a source pixel's weight in an output pixel is the area of their overlap, and every output
  // pixel's weights sum to w * h. Exact: an image already side x side comes out unchanged.
  auto overlap = [](uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
    const uint64_t lo = std::max(a0, b0), hi = std::min(a1, b1);
    return hi > lo ? hi - lo : 0;
  };
  std::vector<float> out(width);
  for (uint32_t oy = 0; oy < side; ++oy) {
    const uint64_t y_begin = oy * h / side, y_end = ((oy + 1) * h + side - 1) / side;
    for (uint32_t ox = 0; ox < side; ++ox) {
      const uint64_t x_begin = ox * w / side, x_end = ((ox + 1) * w + side - 1) / side;
      uint64_t sum = 0;
      for (uint64_t y = y_begin; y < std::min(y_end, h); ++y) {
        const uint64_t wy = overlap(y * side, (y + 1) * side, oy * h, (oy + 1) * h);
        const uint8_t* row = image.pixels.data() + y * w;
        for (uint64_t x = x_begin; x < std::min(x_end, w); ++x) {
          const uint64_t wx = overlap(x * side, (x + 1) * side, ox * w, (ox + 1) * w);
          const uint64_t v = invert ? 255u - row[x] : row[x];
          sum += v * wx * wy;
        }
      }
      const auto mean = static_cast<float>(static_cast<double>(sum) / static_cast<double>(w * h));
      out[size_t{oy} * side + ox] = mean / 255.0f;  // the IDX reader's p / 255 for whole values
    }
  }
  return out;
}

Result<std::vector<float>> PngFeatures(ByteView png, uint32_t width, bool invert) {
  Result<GreyImage> image = DecodePng(png);
  if (!image.ok()) return image.status();
  return ImageFeatures(*image, width, invert);
}

Result<PredictInput> ReadPredictInput(const std::string& path, const PredictInputOptions& o) {
  const std::string head = Head(path, 8);
  if (head == "\x89PNG\r\n\x1a\n") return ReadPng(path, o);
  if (IsIdxImagesName(BaseName(path)) || head.starts_with(std::string("\0\0\x08", 3))) {
    return ReadIdx(path, o);
  }
  return ReadCsv(path, o);
}

}  // namespace dust::ctl
