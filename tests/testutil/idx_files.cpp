#include "testutil/idx_files.h"

#include <zlib.h>

#include <cassert>

namespace dust::testutil {

void PutBe32(Bytes* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

Bytes IdxImagesFile(uint32_t count, const std::vector<uint32_t>& dims) {
  Bytes out = {0, 0, 0x08, static_cast<uint8_t>(1 + dims.size())};
  PutBe32(&out, count);
  size_t per = 1;
  for (uint32_t d : dims) {
    PutBe32(&out, d);
    per *= d;
  }
  for (size_t k = 0; k < count * per; ++k) out.push_back(static_cast<uint8_t>((k * 37) % 256));
  return out;
}

Bytes IdxLabelsFile(const std::vector<uint8_t>& labels) {
  Bytes out = {0, 0, 0x08, 0x01};
  PutBe32(&out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

Bytes Gzip(ByteView raw) {
  z_stream zs{};
  Bytes out;
  // 15 + 16: a gzip wrapper (header, CRC, length), not a zlib one.
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return out;
  out.resize(deflateBound(&zs, static_cast<uLong>(raw.size())));
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int ret = deflate(&zs, Z_FINISH);
  assert(ret == Z_STREAM_END);
  (void)ret;
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace dust::testutil
