#include "byte_source.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "plural.h"

namespace dust::internal {

bool IsGzip(ByteView bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

ByteSource::ByteSource(ByteView file, const std::string& name) : m_file(file), m_name(name) {
  m_gzip = IsGzip(file);
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

ByteSource::~ByteSource() {
  if (m_zs_live) inflateEnd(&m_zs);
}

size_t ByteSource::Read(uint8_t* out, size_t n) {
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
      m_status = Status::Corrupt(m_name + ": gzip data is corrupt (" +
                                 (m_zs.msg ? m_zs.msg : "zlib error " + std::to_string(ret)) + ")");
    }
  }
  return done;
}

uint64_t ByteSource::DrainTrailing(uint64_t limit) {
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

size_t ReadPayload(ByteSource& src, uint64_t n, Bytes* out, uint64_t size_hint) {
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

uint64_t GzipSizeHint(ByteView file) {
  if (file.size() < 18) return 0;
  const uint8_t* p = file.data() + file.size() - 4;
  return uint64_t{p[0]} | uint64_t{p[1]} << 8 | uint64_t{p[2]} << 16 | uint64_t{p[3]} << 24;
}

Result<Bytes> Gunzip(ByteView gz, const std::string& name, size_t max_bytes) {
  if (!IsGzip(gz)) return Status::Corrupt(name + ": not gzip data (no 1f 8b magic)");
  ByteSource src(gz, name);
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

}  // namespace dust::internal
