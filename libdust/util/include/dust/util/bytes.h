// Byte buffers and bounds-checked coding of integers and floats.
//
// ByteWriter appends to a Bytes it does not own. ByteReader reads from a ByteView it does not
// own (the caller keeps the bytes alive); every read is bounds-checked and a failed read leaves
// the reader in a sticky failed state, so a decoder can read a whole header and check ok() once.
// Wire formats in this project are little-endian; IDX files (the MNIST format) are big-endian.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dust {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Lower-case hex, two characters per byte.
std::string ToHex(ByteView bytes);
// Parses hex (either case, no separators); false if the text is not even-length hex.
bool FromHex(std::string_view hex, Bytes* out);

class ByteWriter {
 public:
  explicit ByteWriter(Bytes* out) : m_out(out) {}

  void U8(uint8_t v) { m_out->push_back(v); }
  void U16(uint16_t v) { PutLe(v); }
  void U32(uint32_t v) { PutLe(v); }
  void U64(uint64_t v) { PutLe(v); }
  void I64(int64_t v) { PutLe(static_cast<uint64_t>(v)); }
  void F32(float v) { PutLe(std::bit_cast<uint32_t>(v)); }
  void F64(double v) { PutLe(std::bit_cast<uint64_t>(v)); }
  void Raw(ByteView v) { m_out->insert(m_out->end(), v.begin(), v.end()); }
  size_t size() const { return m_out->size(); }

 private:
  template <typename U>
  void PutLe(U v) {
    for (size_t i = 0; i < sizeof(U); ++i) m_out->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes* m_out;
};

class ByteReader {
 public:
  explicit ByteReader(ByteView in) : m_in(in) {}

  uint8_t U8() { return static_cast<uint8_t>(GetLe<1>()); }
  uint16_t U16() { return static_cast<uint16_t>(GetLe<2>()); }
  uint32_t U32() { return static_cast<uint32_t>(GetLe<4>()); }
  uint64_t U64() { return GetLe<8>(); }
  int64_t I64() { return static_cast<int64_t>(GetLe<8>()); }
  float F32() { return std::bit_cast<float>(U32()); }
  double F64() { return std::bit_cast<double>(U64()); }
  uint32_t U32Be() {
    if (!Need(4)) return 0;
    uint32_t v = (uint32_t{m_in[m_pos]} << 24) | (uint32_t{m_in[m_pos + 1]} << 16) |
                 (uint32_t{m_in[m_pos + 2]} << 8) | uint32_t{m_in[m_pos + 3]};
    m_pos += 4;
    return v;
  }
  // A view of the next n bytes (empty and failed if fewer remain).
  ByteView Raw(size_t n) {
    if (!Need(n)) return {};
    ByteView v = m_in.subspan(m_pos, n);
    m_pos += n;
    return v;
  }
  template <size_t N>
  std::array<uint8_t, N> Array() {
    std::array<uint8_t, N> a{};
    ByteView v = Raw(N);
    if (!v.empty()) std::memcpy(a.data(), v.data(), N);
    return a;
  }

  bool ok() const { return m_ok; }
  size_t remaining() const { return m_ok ? m_in.size() - m_pos : 0; }
  size_t position() const { return m_pos; }
  ByteView rest() const { return m_ok ? m_in.subspan(m_pos) : ByteView{}; }

 private:
  bool Need(size_t n) {
    if (!m_ok || m_in.size() - m_pos < n) {
      m_ok = false;
      return false;
    }
    return true;
  }
  template <size_t N>
  uint64_t GetLe() {
    if (!Need(N)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < N; ++i) v |= uint64_t{m_in[m_pos + i]} << (8 * i);
    m_pos += N;
    return v;
  }
  ByteView m_in;
  size_t m_pos = 0;
  bool m_ok = true;
};

}  // namespace dust
