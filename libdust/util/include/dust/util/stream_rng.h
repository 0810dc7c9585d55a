// Random numbers from the ChaCha20 keystream (libsodium crypto_stream_chacha20): a CSPRNG when
// its key comes from the OS (RandomBytes: dustd's DP noise and Poisson sampling), reproducible
// when the key is derived from a seed (dust-sim). Rng (rng.h) is faster but predictable from
// its outputs, which DP noise must not be.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace dust {

class StreamRng {
 public:
  using Key = std::array<uint8_t, 32>;
  explicit StreamRng(const Key& key) : m_key(key) {}
  // A key from the OS's CSPRNG (libsodium randombytes_buf).
  static StreamRng FromOs();
  // A key expanded from a seed (BLAKE2b of it): for simulations that must repeat.
  static StreamRng FromSeed(uint64_t seed);

  uint64_t Next();
  // Uniform in (0, 1): 53 random bits, never 0 (the logarithms below take it).
  double UniformOpen();
  // Standard normal deviates by Box-Muller in double, rounded to float.
  void FillNormal(std::span<float> out);

 private:
  void Refill();

  Key m_key;
  uint64_t m_block = 0;  // nonce of the next keystream block
  std::array<uint64_t, 512> m_buf{};
  size_t m_pos = m_buf.size();
};

}  // namespace dust
