#include "dust/ml/idx_reader.h"

#include <array>
#include <cassert>
#include <vector>

#include "byte_source.h"
#include "dust/util/file.h"
#include "idx_internal.h"
#include "plural.h"

namespace dust {

// Bulk access for the IDX loader, which knows the exact number of non-zeros before it writes
// any row and fills the CSR arrays directly instead of sample by sample.
struct DatasetAccess {
  static std::vector<uint64_t>& RowStart(Dataset& d) { return d.m_row_start; }
  static std::vector<uint32_t>& Index(Dataset& d) { return d.m_index; }
  static std::vector<float>& Value(Dataset& d) { return d.m_value; }
  static std::vector<uint8_t>& Labels(Dataset& d) { return d.m_labels; }
};

namespace internal {
namespace {

// "0x" and v in `digits` lower-case hex digits, as IDX magics are written in messages.
std::string Hex(uint32_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
    s.push_back(kDigits[(v >> shift) & 0xf]);
  return s;
}
std::string Hex32(uint32_t v) { return Hex(v, 8); }

// The name of an IDX element type (the magic's third byte), or nullptr if it is not one.
const char* IdxTypeName(uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

struct IdxHeader {
  std::vector<uint32_t> dims;  // all dimensions, the first being the count
  size_t header_bytes = 0;
};

// Reads and checks the magic and the dimension sizes of an images file (`images`) or a labels
// file.
Result<IdxHeader> ReadIdxHeader(ByteSource& src, const std::string& name, bool images) {
  const char* expect = images ? "0x00000803 (IDX images)" : "0x00000801 (IDX labels)";
  std::array<uint8_t, 4> magic{};
  const size_t got = src.Read(magic.data(), magic.size());
  if (!src.status().ok()) return src.status();
  if (got < magic.size()) {
    return Status::Corrupt(name + ": " + src.what() + " holds only " +
                           Plural(got, "byte", "bytes") +
                           ", too short for an IDX header; expected magic " + expect);
  }
  const uint32_t magic_value = uint32_t{magic[0]} << 24 | uint32_t{magic[1]} << 16 |
                               uint32_t{magic[2]} << 8 | uint32_t{magic[3]};
  const char* type_name = IdxTypeName(magic[2]);
  if (magic[0] != 0 || magic[1] != 0 || type_name == nullptr) {
    return Status::Corrupt(name + ": bad magic " + Hex32(magic_value) +
                           ", not an IDX file; expected " + expect);
  }
  if (magic[2] != 0x08) {
    return Status::Unsupported(name + ": IDX element type " + Hex(magic[2], 2) + " (" + type_name +
                               ") is not supported; only 0x08 (unsigned byte) is");
  }
  const uint8_t ndims = magic[3];
  if (images && ndims < 2) {
    return Status::Corrupt(name + ": images file has " + Plural(ndims, "dimension", "dimensions") +
                           "; expected a count and at least one image dimension (magic " +
                           Hex32(magic_value) + (ndims == 1 ? "; is this a labels file?)" : ")"));
  }
  if (!images && ndims != 1) {
    return Status::Corrupt(name + ": labels file has " + Plural(ndims, "dimension", "dimensions") +
                           "; expected exactly 1 (magic " + Hex32(magic_value) +
                           (ndims >= 2 ? "; is this an images file?)" : ")"));
  }
  std::vector<uint8_t> raw(size_t{4} * ndims);
  const size_t got_dims = src.Read(raw.data(), raw.size());
  if (!src.status().ok()) return src.status();
  if (got_dims < raw.size()) {
    return Status::Corrupt(name + ": truncated header: " + std::to_string(ndims) +
                           " dimensions need " + std::to_string(4 + raw.size()) + " bytes but " +
                           src.what() + " holds only " + std::to_string(4 + got_dims));
  }
  IdxHeader h;
  h.header_bytes = 4 + raw.size();
  ByteReader r(raw);
  for (size_t i = 0; i < ndims; ++i) h.dims.push_back(r.U32Be());
  return h;
}

// The checks both file kinds share: the header, a payload within max_bytes, exactly the
// declared bytes present and nothing after them; `make` turns the header and payload into T.
template <typename T>
Result<T> ParseIdx(ByteView file, const std::string& name, size_t max_bytes, bool images,
                   T (*make)(IdxHeader&, uint64_t per_item, Bytes&& payload)) {
  ByteSource src(file, name);
  if (!src.status().ok()) return src.status();
  auto header = ReadIdxHeader(src, name, images);
  if (!header.ok()) return header.status();
  IdxHeader& h = *header;
  const uint64_t count = h.dims[0];
  uint64_t per_item = 1;
  std::string shape;
  for (size_t i = 1; i < h.dims.size(); ++i) {
    if (h.dims[i] == 0) {
      return Status::Corrupt(name + ": image dimension " + std::to_string(i) +
                             " is zero in the header");
    }
    per_item *= h.dims[i];
    if (per_item > UINT32_MAX) {
      return Status::Corrupt(name + ": image dimensions multiply to more than 2^32 features");
    }
    if (i > 1) shape += 'x';
    shape += std::to_string(h.dims[i]);
  }
  const uint64_t payload = count * per_item;  // < 2^64: both factors are < 2^32
  const char* item = images ? "image" : "label";
  const char* items = images ? "images" : "labels";
  const std::string declared =
      "header says " + Plural(count, item, items) +
      (images ? " of " + shape + " = " + Plural(per_item, "byte", "bytes") + " each" : "") + ", " +
      Plural(h.header_bytes + payload, "byte", "bytes") + " in all";
  if (payload > max_bytes) {
    return Status::ResourceExhausted(name + ": " + declared + ", more than the limit of " +
                                     std::to_string(max_bytes));
  }
  const uint64_t hint = src.gzip() ? GzipSizeHint(file) : file.size();
  Bytes data;
  const uint64_t got =
      ReadPayload(src, payload, &data, hint > h.header_bytes ? hint - h.header_bytes : 0);
  if (!src.status().ok()) return src.status();
  if (got < payload) {
    return Status::Corrupt(name + ": truncated: " + declared + " but " + src.what() +
                           " holds only " + std::to_string(h.header_bytes + got));
  }
  const uint64_t trailing = src.DrainTrailing(max_bytes);
  if (!src.status().ok()) return src.status();
  if (trailing > 0) {
    return Status::Corrupt(name + ": " + Plural(trailing, "trailing byte", "trailing bytes") +
                           (trailing > max_bytes ? " or more" : "") + ": " + declared + " but " +
                           src.what() + " is longer");
  }
  return make(h, per_item, std::move(data));
}

}  // namespace

Result<IdxImages> ParseIdxImages(ByteView file, const std::string& name, size_t max_bytes) {
  return ParseIdx<IdxImages>(file, name, max_bytes, true,
                             [](IdxHeader& h, uint64_t per_item, Bytes&& payload) {
                               IdxImages out;
                               out.count = h.dims[0];
                               out.dims.assign(h.dims.begin() + 1, h.dims.end());
                               out.features = static_cast<uint32_t>(per_item);
                               out.pixels = std::move(payload);
                               return out;
                             });
}

Result<IdxLabels> ParseIdxLabels(ByteView file, const std::string& name, size_t max_bytes) {
  return ParseIdx<IdxLabels>(file, name, max_bytes, false,
                             [](IdxHeader&, uint64_t, Bytes&& payload) {
                               IdxLabels out;
                               out.labels = std::move(payload);
                               return out;
                             });
}

Result<Dataset> BuildIdxDataset(const IdxImages& images, const std::string& images_name,
                                const IdxLabels& labels, const std::string& labels_name,
                                const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  if (images.pixels.size() != uint64_t{images.count} * images.features) {
    return Status::InvalidArgument(images_name + ": " + std::to_string(images.pixels.size()) +
                                   " pixel bytes for " + std::to_string(images.count) +
                                   " images of " + std::to_string(images.features));
  }
  if (images.count != labels.labels.size()) {
    return Status::Corrupt("images file " + images_name + " holds " +
                           Plural(images.count, "image", "images") + " but labels file " +
                           labels_name + " holds " +
                           Plural(labels.labels.size(), "label", "labels"));
  }
  if (options.expected_features != 0 && images.features != options.expected_features) {
    return Status::InvalidArgument(images_name + ": images have " +
                                   std::to_string(images.features) + " features but " +
                                   std::to_string(options.expected_features) + " were expected");
  }
  for (size_t i = 0; i < labels.labels.size(); ++i) {
    if (labels.labels[i] >= options.num_classes) {
      return Status::Corrupt(labels_name + ": label " + std::to_string(labels.labels[i]) +
                             " at index " + std::to_string(i) + " is out of range (must be < " +
                             std::to_string(options.num_classes) + ")");
    }
  }

  const size_t n = images.count;
  const size_t f = images.features;
  const uint8_t* px = images.pixels.data();
  size_t nnz = 0;
  for (size_t k = 0; k < images.pixels.size(); ++k) nnz += px[k] != 0;

  std::array<float, 256> scale;
  for (size_t v = 0; v < scale.size(); ++v) scale[v] = static_cast<float>(v) / 255.0f;

  Dataset out(images.features, options.num_classes);
  auto& row_start = DatasetAccess::RowStart(out);
  auto& index = DatasetAccess::Index(out);
  auto& value = DatasetAccess::Value(out);
  // One slack element: the branch-free fill below writes one slot past the last non-zero.
  index.resize(nnz + 1);
  value.resize(nnz + 1);
  row_start.resize(n + 1);
  uint32_t* ip = index.data();
  float* vp = value.data();
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* row = px + i * f;
    for (size_t j = 0; j < f; ++j) {
      const uint8_t p = row[j];
      ip[k] = static_cast<uint32_t>(j);
      vp[k] = scale[p];
      k += p != 0;
    }
    row_start[i + 1] = k;
  }
  assert(k == nnz);
  index.resize(nnz);
  value.resize(nnz);
  DatasetAccess::Labels(out).assign(labels.labels.begin(), labels.labels.end());
  return out;
}

}  // namespace internal

Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path,
                        const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  Result<internal::IdxLabels> labels = [&]() -> Result<internal::IdxLabels> {
    auto bytes = ReadFile(labels_path, options.max_file_bytes);
    if (!bytes.ok()) return bytes.status();
    return internal::ParseIdxLabels(*bytes, labels_path, options.max_file_bytes);
  }();
  if (!labels.ok()) return labels.status();
  auto image_bytes = ReadFile(images_path, options.max_file_bytes);
  if (!image_bytes.ok()) return image_bytes.status();
  auto images = internal::ParseIdxImages(*image_bytes, images_path, options.max_file_bytes);
  if (!images.ok()) return images.status();
  image_bytes = Bytes{};  // release the compressed file before building the dataset
  return internal::BuildIdxDataset(*images, images_path, *labels, labels_path, options);
}

Result<Dataset> LoadIdxImages(const std::string& images_path, const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  auto image_bytes = ReadFile(images_path, options.max_file_bytes);
  if (!image_bytes.ok()) return image_bytes.status();
  auto images = internal::ParseIdxImages(*image_bytes, images_path, options.max_file_bytes);
  if (!images.ok()) return images.status();
  image_bytes = Bytes{};
  internal::IdxLabels zeros;
  zeros.labels.assign(images->count, 0);
  return internal::BuildIdxDataset(*images, images_path, zeros, images_path, options);
}

}  // namespace dust
