// StreamRng (stream_rng.h).
#include "dust/util/stream_rng.h"

#include <sodium.h>

#include <cmath>
#include <cstring>
#include <numbers>

#include "dust/util/crypto.h"

namespace dust {

StreamRng StreamRng::FromOs() {
  Key k;
  RandomBytes(k);
  return StreamRng(k);
}

StreamRng StreamRng::FromSeed(uint64_t seed) {
  uint8_t in[16] = {'d', 'u', 's', 't', '-', 'd', 'p', 0};
  std::memcpy(in + 8, &seed, sizeof seed);
  const Hash256 h = Blake2b256(ByteView(in, sizeof in));
  Key k;
  std::memcpy(k.data(), h.data(), k.size());
  return StreamRng(k);
}

void StreamRng::Refill() {
  // Each block is the keystream under its own 64-bit nonce: a counter that never repeats
  // within one key, so no two blocks share keystream.
  uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {};
  static_assert(sizeof nonce == sizeof m_block);
  std::memcpy(nonce, &m_block, sizeof m_block);
  ++m_block;
  crypto_stream_chacha20(reinterpret_cast<unsigned char*>(m_buf.data()), sizeof m_buf, nonce,
                         m_key.data());
  m_pos = 0;
}

uint64_t StreamRng::Next() {
  if (m_pos == m_buf.size()) Refill();
  return m_buf[m_pos++];
}

double StreamRng::UniformOpen() {
  return (static_cast<double>(Next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void StreamRng::FillNormal(std::span<float> out) {
  for (size_t i = 0; i < out.size(); i += 2) {
    const double r = std::sqrt(-2.0 * std::log(UniformOpen()));
    const double t = 2.0 * std::numbers::pi * UniformOpen();
    out[i] = static_cast<float>(r * std::cos(t));
    if (i + 1 < out.size()) out[i + 1] = static_cast<float>(r * std::sin(t));
  }
}

}  // namespace dust
