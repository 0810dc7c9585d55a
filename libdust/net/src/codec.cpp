// Update payload codec (codec.h; byte layout in docs/protocol.md, "Update payload").
#include "dust/net/codec.h"

#include <lz4.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "dust/net/wire.h"

namespace dust {
namespace {

constexpr uint8_t kPayloadFlagLz4 = 0x01;  // mirrored from the header flag, see Encode
constexpr size_t kMaxVarintBytes = 5;
constexpr uint8_t kKindDelta = 0x08;  // kind byte: bits 0-2 layout, bit 3 delta, bits 4-7 coding

int32_t MaxCode(ValueCoding c) { return c == ValueCoding::kInt8 ? 127 : 32767; }
bool IsIntCoding(ValueCoding c) { return c == ValueCoding::kInt8 || c == ValueCoding::kInt16; }

void PutVarint(Bytes* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

size_t VarintBytes(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Strict varint: at most 5 bytes, value < 2^32, canonical (no redundant trailing zero group).
bool GetVarint(ByteReader& r, uint32_t* v) {
  uint64_t acc = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    uint8_t b = r.U8();
    if (!r.ok()) return false;
    acc |= uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) == 0) {
      if (i > 0 && b == 0) return false;  // non-canonical
      if (acc > UINT32_MAX) return false;
      *v = static_cast<uint32_t>(acc);
      return true;
    }
  }
  return false;
}

uint8_t KindByte(const UpdateSegment& s) {
  return static_cast<uint8_t>(static_cast<uint8_t>(s.layout) | (s.delta ? kKindDelta : 0) |
                              (static_cast<uint8_t>(s.coding) << 4));
}

bool CodeValid(ValueCoding c, int32_t code) {
  switch (c) {
    case ValueCoding::kFp32:
      return std::isfinite(std::bit_cast<float>(code));
    case ValueCoding::kFp16:
      return code >= 0 && code <= 0xFFFF && (code & 0x7C00) != 0x7C00;
    case ValueCoding::kInt8:
    case ValueCoding::kInt16:
      return code >= -MaxCode(c) && code <= MaxCode(c);
  }
  return false;
}

// Checks one segment's structure; `next_index` is the lowest index it may start at.
Status ValidateSegment(const UpdateSegment& s, uint64_t* next_index, uint64_t limit) {
  if (s.layout != SegmentLayout::kDense && s.layout != SegmentLayout::kSparse) {
    return Status::InvalidArgument("unknown segment layout");
  }
  if (static_cast<uint8_t>(s.coding) > static_cast<uint8_t>(ValueCoding::kInt16)) {
    return Status::InvalidArgument("unknown value coding");
  }
  if (s.codes.empty() || s.codes.size() > 0xFFFF) {
    return Status::InvalidArgument("segment of " + std::to_string(s.codes.size()) + " values");
  }
  if (IsIntCoding(s.coding)) {
    if (!std::isfinite(s.scale) || s.scale <= 0) return Status::InvalidArgument("bad scale");
  } else if (s.scale != 0) {
    return Status::InvalidArgument("scale on a float segment");
  }
  if (s.layout == SegmentLayout::kDense) {
    if (!s.indices.empty() || s.first < *next_index) {
      return Status::InvalidArgument("dense segment overlaps or is out of order");
    }
    uint64_t end = uint64_t{s.first} + s.codes.size();
    if (end > limit) return Status::InvalidArgument("index beyond the model");
    *next_index = end;
  } else {
    if (s.first != 0 || s.indices.size() != s.codes.size()) {
      return Status::InvalidArgument("sparse segment with bad index list");
    }
    for (uint32_t idx : s.indices) {
      if (idx < *next_index) return Status::InvalidArgument("indices not strictly increasing");
      if (idx >= limit) return Status::InvalidArgument("index beyond the model");
      *next_index = uint64_t{idx} + 1;
    }
  }
  int32_t max_abs_code = 0;
  for (int32_t code : s.codes) {
    if (!CodeValid(s.coding, code)) return Status::InvalidArgument("value not finite or in range");
    if (IsIntCoding(s.coding)) max_abs_code = std::max(max_abs_code, code < 0 ? -code : code);
  }
  // A finite scale times a code can still overflow: every decoded value must be finite.
  if (IsIntCoding(s.coding) && !std::isfinite(static_cast<float>(max_abs_code) * s.scale)) {
    return Status::InvalidArgument("scaled value overflows");
  }
  return Status::Ok();
}

void EncodeSegment(const UpdateSegment& s, Bytes* out) {
  ByteWriter w(out);
  w.U8(KindByte(s));
  w.U16(static_cast<uint16_t>(s.codes.size()));
  if (s.layout == SegmentLayout::kDense) {
    w.U32(s.first);
  } else {
    w.U32(s.indices[0]);
    for (size_t k = 1; k < s.indices.size(); ++k) PutVarint(out, s.indices[k] - s.indices[k - 1]);
  }
  if (IsIntCoding(s.coding)) w.F32(s.scale);
  for (int32_t code : s.codes) {
    switch (s.coding) {
      case ValueCoding::kFp32:
        w.U32(static_cast<uint32_t>(code));
        break;
      case ValueCoding::kFp16:
        w.U16(static_cast<uint16_t>(code));
        break;
      case ValueCoding::kInt8:
        w.U8(static_cast<uint8_t>(static_cast<int8_t>(code)));
        break;
      case ValueCoding::kInt16:
        w.U16(static_cast<uint16_t>(static_cast<int16_t>(code)));
        break;
    }
  }
}

Status DecodeBody(ByteView body, uint32_t num_params, UpdatePayload* out) {
  ByteReader r(body);
  uint64_t next_index = 0;
  size_t entries = 0;
  while (r.remaining() > 0) {
    if (out->segments.size() >= kMaxUpdateSegments) return Status::Corrupt("too many segments");
    UpdateSegment s;
    uint8_t kind = r.U8();
    uint16_t count = r.U16();
    if (!r.ok()) return Status::Corrupt("truncated segment header");
    uint8_t layout = kind & 0x07, coding = kind >> 4;
    s.delta = (kind & kKindDelta) != 0;
    if (layout > 1) return Status::Corrupt("unknown segment layout " + std::to_string(layout));
    if (coding > 3) return Status::Corrupt("unknown value coding " + std::to_string(coding));
    s.layout = static_cast<SegmentLayout>(layout);
    s.coding = static_cast<ValueCoding>(coding);
    if (count == 0) return Status::Corrupt("empty segment");
    entries += count;
    if (entries > kMaxUpdateEntries) return Status::Corrupt("too many values");
    // Cheap size check before allocating: every value takes at least one byte.
    if (r.remaining() < 4 + size_t{count}) return Status::Corrupt("truncated segment");
    uint32_t first = r.U32();
    if (s.layout == SegmentLayout::kDense) {
      s.first = first;
    } else {
      s.indices.reserve(count);
      s.indices.push_back(first);
      uint64_t idx = first;
      for (size_t k = 1; k < count; ++k) {
        uint32_t gap = 0;
        if (!GetVarint(r, &gap)) return Status::Corrupt("bad index varint");
        if (gap == 0) return Status::Corrupt("zero index gap");
        idx += gap;
        if (idx >= num_params) return Status::Corrupt("index beyond the model");
        s.indices.push_back(static_cast<uint32_t>(idx));
      }
    }
    if (IsIntCoding(s.coding)) s.scale = r.F32();
    size_t need = size_t{count} * CodingBytes(s.coding);
    if (!r.ok() || r.remaining() < need) return Status::Corrupt("truncated segment values");
    s.codes.resize(count);
    for (size_t k = 0; k < count; ++k) {
      switch (s.coding) {
        case ValueCoding::kFp32:
          s.codes[k] = static_cast<int32_t>(r.U32());
          break;
        case ValueCoding::kFp16:
          s.codes[k] = r.U16();
          break;
        case ValueCoding::kInt8:
          s.codes[k] = static_cast<int8_t>(r.U8());
          break;
        case ValueCoding::kInt16:
          s.codes[k] = static_cast<int16_t>(r.U16());
          break;
      }
    }
    Status st = ValidateSegment(s, &next_index, num_params);
    if (!st.ok()) return Status::Corrupt(st.message());
    out->segments.push_back(std::move(s));
  }
  if (out->segments.empty()) return Status::Corrupt("update without segments");
  return Status::Ok();
}

}  // namespace

uint16_t FloatToHalf(float v) {
  uint32_t f = std::bit_cast<uint32_t>(v);
  uint32_t sign = (f >> 16) & 0x8000u;
  uint32_t exp = (f >> 23) & 0xFFu;
  uint32_t mant = f & 0x7FFFFFu;
  if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant ? 0x200u : 0));
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 0x1F) return static_cast<uint16_t>(sign | 0x7C00u);  // overflow -> inf
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) ++half;  // may carry into exponent: ok
  return static_cast<uint16_t>(sign | half);
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = uint32_t{h & 0x8000u} << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    float m = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -m : m;
  }
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

float UpdateSegment::value(size_t k) const {
  int32_t code = codes[k];
  switch (coding) {
    case ValueCoding::kFp32:
      return std::bit_cast<float>(code);
    case ValueCoding::kFp16:
      return HalfToFloat(static_cast<uint16_t>(code));
    case ValueCoding::kInt8:
    case ValueCoding::kInt16:
      return static_cast<float>(code) * scale;
  }
  return 0;
}

size_t UpdatePayload::entries() const {
  size_t n = 0;
  for (const auto& s : segments) n += s.size();
  return n;
}

size_t CodingBytes(ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp32:
      return 4;
    case ValueCoding::kFp16:
    case ValueCoding::kInt16:
      return 2;
    case ValueCoding::kInt8:
      return 1;
  }
  return 4;
}

size_t SegmentOverheadBytes(ValueCoding coding) {
  return 1 + 2 + 4 + (IsIntCoding(coding) ? 4 : 0);
}

size_t SegmentEncodedBytes(const UpdateSegment& s) {
  size_t n = SegmentOverheadBytes(s.coding) + s.codes.size() * CodingBytes(s.coding);
  for (size_t k = 1; k < s.indices.size(); ++k) n += VarintBytes(s.indices[k] - s.indices[k - 1]);
  return n;
}

namespace {
void Quantize(std::span<const float> values, ValueCoding coding, UpdateSegment* s) {
  s->coding = coding;
  s->codes.resize(values.size());
  if (IsIntCoding(coding)) {
    float max_abs = 0;
    for (float v : values) max_abs = std::max(max_abs, std::fabs(v));
    int32_t mc = MaxCode(coding);
    s->scale = max_abs > 0 ? max_abs / static_cast<float>(mc) : 1.0f;
    if (!std::isfinite(s->scale) || s->scale <= 0) s->scale = 1.0f;  // denormal max
    for (size_t k = 0; k < values.size(); ++k) {
      long q = std::lround(values[k] / s->scale);
      s->codes[k] = static_cast<int32_t>(std::clamp<long>(q, -mc, mc));
    }
  } else {
    s->scale = 0;
    for (size_t k = 0; k < values.size(); ++k) {
      s->codes[k] = coding == ValueCoding::kFp32 ? std::bit_cast<int32_t>(values[k])
                                                 : static_cast<int32_t>(FloatToHalf(values[k]));
    }
  }
}
}  // namespace

UpdateSegment MakeDenseSegment(uint32_t first, std::span<const float> values, ValueCoding coding,
                               bool delta) {
  UpdateSegment s;
  s.delta = delta;
  s.layout = SegmentLayout::kDense;
  s.first = first;
  Quantize(values, coding, &s);
  return s;
}

UpdateSegment MakeSparseSegment(std::span<const uint32_t> indices, std::span<const float> values,
                                ValueCoding coding, bool delta) {
  UpdateSegment s;
  s.delta = delta;
  s.layout = SegmentLayout::kSparse;
  s.indices.assign(indices.begin(), indices.end());
  Quantize(values, coding, &s);
  return s;
}

Status EncodeUpdate(const UpdatePayload& payload, Bytes* out, bool* lz4) {
  out->clear();
  *lz4 = false;
  if (payload.segments.empty()) return Status::InvalidArgument("update without segments");
  if (payload.segments.size() > kMaxUpdateSegments) {
    return Status::InvalidArgument("too many segments");
  }
  if (payload.entries() > kMaxUpdateEntries) return Status::InvalidArgument("too many values");
  uint64_t next_index = 0;
  Bytes body;
  for (const auto& s : payload.segments) {
    DUST_RETURN_IF_ERROR(ValidateSegment(s, &next_index, uint64_t{UINT32_MAX} + 1));
    EncodeSegment(s, &body);
  }
  if (body.size() > kMaxUpdateBodyBytes) return Status::InvalidArgument("update body too large");

  // Try LZ4; keep it only if strictly smaller including its 2-byte raw length.
  Bytes packed(static_cast<size_t>(LZ4_compressBound(static_cast<int>(body.size()))));
  int n = LZ4_compress_default(reinterpret_cast<const char*>(body.data()),
                               reinterpret_cast<char*>(packed.data()),
                               static_cast<int>(body.size()), static_cast<int>(packed.size()));
  ByteWriter w(out);
  w.U8(kUpdateCodecVersion);
  if (n > 0 && static_cast<size_t>(n) + 2 < body.size()) {
    w.U8(kPayloadFlagLz4);
    w.U16(static_cast<uint16_t>(body.size()));
    w.Raw(ByteView(packed.data(), static_cast<size_t>(n)));
    *lz4 = true;
  } else {
    w.U8(0);
    w.Raw(body);
  }
  if (out->size() > kMaxPayloadBytes) {
    out->clear();
    *lz4 = false;
    return Status::InvalidArgument("update of " + std::to_string(out->size()) +
                                   " bytes exceeds the payload budget " +
                                   std::to_string(kMaxPayloadBytes));
  }
  return Status::Ok();
}

Result<UpdatePayload> DecodeUpdate(ByteView payload, bool lz4, uint32_t num_params) {
  if (payload.size() > kMaxPayloadBytes) return Status::Corrupt("update payload too large");
  ByteReader r(payload);
  uint8_t version = r.U8();
  uint8_t flags = r.U8();
  if (!r.ok()) return Status::Corrupt("update payload truncated");
  if (version != kUpdateCodecVersion) {
    return Status::Corrupt("unknown update codec version " + std::to_string(version));
  }
  if ((flags & ~kPayloadFlagLz4) != 0) return Status::Corrupt("unknown update flags");
  bool body_lz4 = (flags & kPayloadFlagLz4) != 0;
  if (body_lz4 != lz4) return Status::Corrupt("LZ4 flag in header and payload disagree");
  UpdatePayload out;
  if (!body_lz4) {
    DUST_RETURN_IF_ERROR(DecodeBody(r.rest(), num_params, &out));
    return out;
  }
  uint16_t raw_len = r.U16();
  if (!r.ok()) return Status::Corrupt("update payload truncated");
  ByteView packed = r.rest();
  if (raw_len > kMaxUpdateBodyBytes) return Status::Corrupt("declared body too large");
  if (packed.size() + 2 >= raw_len) return Status::Corrupt("compressed body not smaller");
  Bytes body(raw_len);
  int n = LZ4_decompress_safe(reinterpret_cast<const char*>(packed.data()),
                              reinterpret_cast<char*>(body.data()), static_cast<int>(packed.size()),
                              static_cast<int>(body.size()));
  if (n != static_cast<int>(raw_len)) return Status::Corrupt("bad LZ4 body");
  DUST_RETURN_IF_ERROR(DecodeBody(body, num_params, &out));
  return out;
}

}  // namespace dust
