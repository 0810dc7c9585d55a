#include "dust/ml/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

#include "dataset_internal.h"
#include "dust/util/file.h"

namespace dust {

// Bulk access for the IDX loader, which knows the exact number of non-zeros before it writes
// any row and fills the CSR arrays directly instead of sample by sample.
struct DatasetAccess {
  static std::vector<uint64_t>& RowStart(Dataset& d) { return d.m_row_start; }
  static std::vector<uint32_t>& Index(Dataset& d) { return d.m_index; }
  static std::vector<float>& Value(Dataset& d) { return d.m_value; }
  static std::vector<uint8_t>& Labels(Dataset& d) { return d.m_labels; }
};

// ---------------------------------------------------------------------------------------------
// Dataset

Dataset::Dataset(uint32_t num_features, uint32_t num_classes)
    : m_num_features(num_features), m_num_classes(num_classes) {}

void Dataset::AddDense(std::span<const float> features, uint8_t label) {
  assert(features.size() == m_num_features);
  assert(label < m_num_classes);
  for (size_t j = 0; j < features.size(); ++j) {
    if (features[j] != 0.0f) {
      m_index.push_back(static_cast<uint32_t>(j));
      m_value.push_back(features[j]);
    }
  }
  m_row_start.push_back(m_index.size());
  m_labels.push_back(label);
}

void Dataset::AddSparse(std::span<const uint32_t> index, std::span<const float> value,
                        uint8_t label) {
  assert(index.size() == value.size());
  assert(label < m_num_classes);
#ifndef NDEBUG
  for (size_t k = 0; k < index.size(); ++k) {
    assert(index[k] < m_num_features);
    assert(k == 0 || index[k - 1] < index[k]);
  }
#endif
  m_index.insert(m_index.end(), index.begin(), index.end());
  m_value.insert(m_value.end(), value.begin(), value.end());
  m_row_start.push_back(m_index.size());
  m_labels.push_back(label);
}

SampleView Dataset::sample(size_t i) const {
  assert(i < size());
  const size_t begin = m_row_start[i];
  const size_t n = m_row_start[i + 1] - begin;
  return SampleView{std::span<const uint32_t>(m_index.data() + begin, n),
                    std::span<const float>(m_value.data() + begin, n), m_labels[i]};
}

Dataset Dataset::Subset(std::span<const uint32_t> indices) const {
  Dataset out(m_num_features, m_num_classes);
  size_t nnz = 0;
  for (uint32_t i : indices) {
    assert(i < size());
    nnz += m_row_start[i + 1] - m_row_start[i];
  }
  out.Reserve(indices.size(), nnz);
  for (uint32_t i : indices) {
    SampleView s = sample(i);
    out.AddSparse(s.index, s.value, s.label);
  }
  return out;
}

Status Dataset::Append(const Dataset& other) {
  if (m_num_features == 0 && m_num_classes == 0 && empty()) {
    m_num_features = other.m_num_features;
    m_num_classes = other.m_num_classes;
  }
  if (other.m_num_features != m_num_features || other.m_num_classes != m_num_classes) {
    return Status::InvalidArgument("cannot append a dataset of " +
                                   std::to_string(other.m_num_features) + " features and " +
                                   std::to_string(other.m_num_classes) + " classes to one of " +
                                   std::to_string(m_num_features) + " features and " +
                                   std::to_string(m_num_classes) + " classes");
  }
  if (&other == this) {
    const Dataset copy = other;  // vector::insert from itself is undefined
    return Append(copy);
  }
  const uint64_t base = m_index.size();
  Reserve(other.size(), other.nonzeros());
  m_index.insert(m_index.end(), other.m_index.begin(), other.m_index.end());
  m_value.insert(m_value.end(), other.m_value.begin(), other.m_value.end());
  for (size_t i = 1; i < other.m_row_start.size(); ++i) {
    m_row_start.push_back(base + other.m_row_start[i]);
  }
  m_labels.insert(m_labels.end(), other.m_labels.begin(), other.m_labels.end());
  return Status::Ok();
}

void Dataset::Reserve(size_t samples, size_t nonzeros) {
  m_row_start.reserve(m_row_start.size() + samples);
  m_labels.reserve(m_labels.size() + samples);
  m_index.reserve(m_index.size() + nonzeros);
  m_value.reserve(m_value.size() + nonzeros);
}

Status CheckLoadOptions(const LoadOptions& options) {
  if (options.num_classes == 0 || options.num_classes > 256) {
    return Status::InvalidArgument("num_classes must be 1..256 (labels are one byte), got " +
                                   std::to_string(options.num_classes));
  }
  return Status::Ok();
}

namespace {

std::string Hex(uint32_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
    s.push_back(kDigits[(v >> shift) & 0xf]);
  return s;
}
std::string Hex32(uint32_t v) { return Hex(v, 8); }

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// ---------------------------------------------------------------------------------------------
// Byte sources: the IDX parser reads through one of these so that raw and gzip files take the
// same path and a gzip file is never decompressed further than its header says it should be.

class Source {
 public:
  Source(ByteView file, const std::string& name) : m_file(file), m_name(name) {
    m_gzip = internal::IsGzip(file);
    if (m_gzip) {
      m_zs.zalloc = Z_NULL;
      m_zs.zfree = Z_NULL;
      m_zs.opaque = Z_NULL;
      m_zs.next_in = Z_NULL;
      m_zs.avail_in = 0;
      // 15 + 16: a gzip wrapper only (not zlib, not raw deflate); zlib checks CRC and length.
      if (inflateInit2(&m_zs, 15 + 16) != Z_OK) {
        m_status = Status::ResourceExhausted(name + ": cannot initialise zlib");
      } else {
        m_zs_live = true;
      }
    }
  }
  ~Source() {
    if (m_zs_live) inflateEnd(&m_zs);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  bool gzip() const { return m_gzip; }
  const Status& status() const { return m_status; }
  // What the sizes in error messages refer to.
  const char* what() const { return m_gzip ? "the decompressed data" : "the file"; }

  // Reads up to n bytes into out; returns how many were read. Fewer than n means the data
  // ended, or an error occurred (status() then says which).
  size_t Read(uint8_t* out, size_t n) {
    if (!m_gzip) {
      const size_t k = std::min(n, m_file.size() - m_pos);
      if (k > 0) std::memcpy(out, m_file.data() + m_pos, k);
      m_pos += k;
      return k;
    }
    size_t done = 0;
    while (done < n && !m_ended && m_status.ok()) {
      // zlib counts in uInt (32 bits): feed input and offer output in chunks below that.
      constexpr size_t kChunk = size_t{1} << 30;
      if (m_zs.avail_in == 0 && m_pos < m_file.size()) {
        const size_t k = std::min(kChunk, m_file.size() - m_pos);
        m_zs.next_in = const_cast<Bytef*>(m_file.data() + m_pos);
        m_zs.avail_in = static_cast<uInt>(k);
        m_pos += k;
      }
      const size_t want = std::min(kChunk, n - done);
      m_zs.next_out = out + done;
      m_zs.avail_out = static_cast<uInt>(want);
      const int ret = inflate(&m_zs, Z_NO_FLUSH);
      done += want - m_zs.avail_out;
      if (ret == Z_STREAM_END) {
        m_ended = true;
      } else if (ret == Z_BUF_ERROR) {
        // No progress possible: with output room left, that means the input ran out.
        if (m_zs.avail_in == 0 && m_pos >= m_file.size()) {
          m_status = Status::Corrupt(m_name +
                                     ": gzip stream is truncated (the compressed data ends "
                                     "before the end of the stream)");
        } else if (m_zs.avail_in != 0) {
          m_status = Status::Corrupt(m_name + ": gzip data is corrupt (inflate made no progress)");
        }
      } else if (ret != Z_OK) {
        m_status =
            Status::Corrupt(m_name + ": gzip data is corrupt (" +
                            (m_zs.msg ? m_zs.msg : "zlib error " + std::to_string(ret)) + ")");
      }
    }
    return done;
  }

  // After the declared payload: counts the bytes that are still there (bounded by `limit`)
  // and, for gzip, checks that the stream ends cleanly (CRC, length) with nothing after it.
  // Returns the number of trailing bytes; status() reports gzip problems.
  uint64_t DrainTrailing(uint64_t limit) {
    if (!m_gzip) return m_file.size() - m_pos;
    uint64_t extra = 0;
    std::array<uint8_t, 4096> scratch;
    while (m_status.ok() && !m_ended && extra <= limit) {
      const size_t k = Read(scratch.data(), scratch.size());
      extra += k;
      if (k == 0) break;
    }
    if (m_status.ok() && m_ended) {
      const uint64_t after = m_zs.avail_in + (m_file.size() - m_pos);
      if (after > 0) {
        m_status = Status::Corrupt(m_name + ": " + Plural(after, "byte", "bytes") +
                                   " of unexpected data after the end of the gzip stream");
      }
    }
    return extra;
  }

 private:
  ByteView m_file;
  const std::string& m_name;
  size_t m_pos = 0;
  bool m_gzip = false;
  bool m_ended = false;
  z_stream m_zs{};
  bool m_zs_live = false;
  Status m_status;
};

// Reads exactly n bytes of payload into *out, growing the buffer as data actually arrives so
// that a tiny file whose header claims gigabytes costs no more memory than it really holds.
size_t ReadPayload(Source& src, uint64_t n, Bytes* out, uint64_t size_hint) {
  out->clear();
  out->reserve(static_cast<size_t>(std::min(n, size_hint)));
  while (out->size() < n) {
    const size_t have = out->size();
    const size_t grow = static_cast<size_t>(std::min<uint64_t>(
        n - have, std::max<uint64_t>({have, size_t{1} << 20, out->capacity() - have})));
    out->resize(have + grow);
    const size_t got = src.Read(out->data() + have, grow);
    if (got < grow) {
      out->resize(have + got);
      break;
    }
  }
  return out->size();
}

// The gzip trailer's ISIZE (uncompressed length mod 2^32): only a hint for pre-allocation.
uint64_t GzipSizeHint(ByteView file) {
  if (file.size() < 18) return 0;
  const uint8_t* p = file.data() + file.size() - 4;
  return uint64_t{p[0]} | uint64_t{p[1]} << 8 | uint64_t{p[2]} << 16 | uint64_t{p[3]} << 24;
}

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

// Reads and checks the magic and the dimension sizes. `kind` is "images" or "labels".
Result<IdxHeader> ReadIdxHeader(Source& src, const std::string& name, bool images) {
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

template <typename T>
Result<T> ParseIdx(ByteView file, const std::string& name, size_t max_bytes, bool images,
                   T (*make)(IdxHeader&, uint64_t per_item, Bytes&& payload)) {
  Source src(file, name);
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

// ---------------------------------------------------------------------------------------------
// IDX

namespace internal {

bool IsGzip(ByteView bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

Result<Bytes> Gunzip(ByteView gz, const std::string& name, size_t max_bytes) {
  if (!IsGzip(gz)) return Status::Corrupt(name + ": not gzip data (no 1f 8b magic)");
  Source src(gz, name);
  if (!src.status().ok()) return src.status();
  Bytes out;
  ReadPayload(src, max_bytes, &out, GzipSizeHint(gz));
  if (!src.status().ok()) return src.status();
  if (src.DrainTrailing(0) > 0) {
    return Status::ResourceExhausted(name + ": decompresses to more than the limit of " +
                                     std::to_string(max_bytes) + " bytes");
  }
  if (!src.status().ok()) return src.status();
  return out;
}

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

// ---------------------------------------------------------------------------------------------
// CSV

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ParseFloat(std::string_view s, float* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<Dataset> LoadCsv(const std::string& path, const LoadOptions& options) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  auto file = ReadFile(path, options.max_file_bytes);
  if (!file.ok()) return file.status();
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());

  Dataset out;
  bool shaped = false;
  bool first_content_line = true;
  uint32_t num_features = options.expected_features;
  std::vector<float> row;
  size_t line_no = 0;
  size_t pos = 0;
  const auto where = [&](size_t column) {
    return path + ": line " + std::to_string(line_no) + ", column " + std::to_string(column);
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_no;
    if (line.empty()) continue;

    row.clear();
    std::string_view label_field;
    size_t column = 0;
    size_t start = 0;
    bool header = false;
    while (true) {
      const size_t comma = line.find(',', start);
      const std::string_view field =
          Trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
      ++column;
      if (column == 1) {
        label_field = field;
        float probe;
        if (first_content_line && !ParseFloat(field, &probe)) {
          header = true;
          break;
        }
      } else {
        float v;
        if (field.empty()) return Status::InvalidArgument(where(column) + ": empty field");
        if (!ParseFloat(field, &v)) {
          return Status::InvalidArgument(where(column) + ": \"" + std::string(field) +
                                         "\" is not a number");
        }
        if (!std::isfinite(v)) {
          return Status::InvalidArgument(where(column) + ": \"" + std::string(field) +
                                         "\" is not a finite number");
        }
        row.push_back(v);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    first_content_line = false;
    if (header) continue;

    int64_t label = -1;
    const auto [end, ec] =
        std::from_chars(label_field.data(), label_field.data() + label_field.size(), label);
    if (label_field.empty() || ec != std::errc() ||
        end != label_field.data() + label_field.size()) {
      return Status::InvalidArgument(where(1) + ": label \"" + std::string(label_field) +
                                     "\" is not an integer");
    }
    if (label < 0 || label >= options.num_classes) {
      return Status::InvalidArgument(where(1) + ": label " + std::to_string(label) +
                                     " is out of range (must be 0.." +
                                     std::to_string(options.num_classes - 1) + ")");
    }
    if (row.empty()) {
      return Status::InvalidArgument(path + ": line " + std::to_string(line_no) +
                                     ": a label but no features");
    }
    if (!shaped) {
      if (num_features != 0 && row.size() != num_features) {
        return Status::InvalidArgument(path + ": line " + std::to_string(line_no) + ": " +
                                       Plural(row.size(), "feature", "features") + " but " +
                                       std::to_string(num_features) + " were expected");
      }
      num_features = static_cast<uint32_t>(row.size());
      out = Dataset(num_features, options.num_classes);
      shaped = true;
    } else if (row.size() != num_features) {
      return Status::InvalidArgument(path + ": line " + std::to_string(line_no) + ": " +
                                     Plural(row.size(), "feature", "features") +
                                     " but the rows before have " + std::to_string(num_features));
    }
    out.AddDense(row, static_cast<uint8_t>(label));
  }
  if (!shaped) out = Dataset(num_features, options.num_classes);
  return out;
}

}  // namespace dust
