// The model update payload codec: what an update datagram carries (docs/protocol.md, "Update
// payload").
//
// An update is a sparse view of the sender's parameter vector: a list of segments, each either
// a dense run of consecutive parameters (implicit indices) or an explicit list of strictly
// increasing indices (gap-coded varints), with its values quantized as fp32, fp16, int8 or
// int16 (int8/int16 carry one fp32 scale per segment: value = code * scale). What the values
// MEAN (absolute parameter values, deltas, ...) is the engine's business (node.h); the codec
// only moves them, with one bit per segment saying whether its values are absolute values or
// deltas (changes to add).
//
// Encoding is pure and deterministic. After building the plain body, the encoder tries LZ4
// and uses it only if the result is strictly smaller; it reports that through *lz4, which the
// caller puts in the datagram header (wire.h kFlagPayloadLz4).
//
// Decoding is strict and capped, for bytes from the network:
//   - the payload is at most kMaxPayloadBytes; a compressed body declares its raw length,
//     which must be <= kMaxUpdateBodyBytes, and must decompress to exactly that length (LZ4's
//     safe decoder never writes past the bound); a compressed body that is not strictly
//     smaller than the raw one is refused (non-canonical);
//   - at most kMaxUpdateEntries values in all, at most kMaxUpdateSegments segments;
//   - every index < num_params, strictly increasing across the whole update (segments in
//     order, no overlap), every gap >= 1, no varint longer than 5 bytes or above 2^32 - 1;
//   - every value finite (fp32/fp16 codes of NaN or infinity are refused), every scale finite
//     and > 0;
//   - no unknown version, segment kind or coding, no trailing bytes.
// Decode then Encode gives the same bytes (for an uncompressed payload; a compressed one gives
// the same decoded update).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr uint8_t kUpdateCodecVersion = 1;
// Raw (decompressed) body cap: LZ4 can expand ~255x, so this bound, not the datagram size,
// limits what a decoder allocates and writes.
inline constexpr size_t kMaxUpdateBodyBytes = 16384;
inline constexpr size_t kMaxUpdateEntries = 16384;
inline constexpr size_t kMaxUpdateSegments = 256;

// Explicit values, never reused.
enum class SegmentLayout : uint8_t {
  kDense = 0,   // parameters first, first+1, ..., first+count-1
  kSparse = 1,  // explicit strictly increasing indices
};
enum class ValueCoding : uint8_t {
  kFp32 = 0,   // IEEE binary32 bits
  kFp16 = 1,   // IEEE binary16 bits (round to nearest even on encode)
  kInt8 = 2,   // signed code in [-127, 127] times scale
  kInt16 = 3,  // signed code in [-32767, 32767] times scale
};

// One segment in its coded form: decode-then-encode reproduces it exactly.
struct UpdateSegment {
  SegmentLayout layout = SegmentLayout::kDense;
  bool delta = false;  // values are changes to add, not absolute parameter values
  ValueCoding coding = ValueCoding::kInt8;
  uint32_t first = 0;             // kDense: first parameter index (kSparse: unused, 0)
  std::vector<uint32_t> indices;  // kSparse: the parameter indices (kDense: empty)
  float scale = 0;                // kInt8/kInt16: value = code * scale (others: unused, 0)
  std::vector<int32_t> codes;     // one per value: int8/int16 code, or fp16/fp32 bits

  size_t size() const { return codes.size(); }
  uint32_t index(size_t k) const {
    return layout == SegmentLayout::kDense ? first + static_cast<uint32_t>(k) : indices[k];
  }
  float value(size_t k) const;  // the decoded value of entry k
  bool operator==(const UpdateSegment&) const = default;
};

struct UpdatePayload {
  std::vector<UpdateSegment> segments;

  size_t entries() const;
  bool operator==(const UpdatePayload&) const = default;
};

// Quantizes values (all finite) into a segment. int codings pick scale = max|v| / max_code
// (a segment of all zeros gets scale 1). kSparse needs strictly increasing `indices` of the
// same length as `values`.
UpdateSegment MakeDenseSegment(uint32_t first, std::span<const float> values, ValueCoding coding,
                               bool delta = false);
UpdateSegment MakeSparseSegment(std::span<const uint32_t> indices, std::span<const float> values,
                                ValueCoding coding, bool delta = false);

// Bytes a segment takes in the uncompressed body (for planning what fits).
size_t SegmentEncodedBytes(const UpdateSegment& segment);
// Fixed bytes before the segments in an uncompressed payload.
inline constexpr size_t kUpdatePreambleBytes = 2;
// Bytes per value for a coding.
size_t CodingBytes(ValueCoding coding);
// Fixed per-segment bytes (kind, first/count, scale) excluding indices and values.
size_t SegmentOverheadBytes(ValueCoding coding);

// Encodes `payload` into *out (replacing its contents) and sets *lz4 if the body was
// compressed. kInvalidArgument if the payload breaks any rule Decode checks (except
// num_params, which Encode does not know) or does not fit in kMaxPayloadBytes.
Status EncodeUpdate(const UpdatePayload& payload, Bytes* out, bool* lz4);

// Decodes a payload for a model of num_params parameters; lz4 is the header's flag.
// kCorrupt naming the problem on anything the rules above refuse.
Result<UpdatePayload> DecodeUpdate(ByteView payload, bool lz4, uint32_t num_params);

// fp16 conversion used by kFp16 (exposed for tests).
uint16_t FloatToHalf(float v);
float HalfToFloat(uint16_t h);

}  // namespace dust
