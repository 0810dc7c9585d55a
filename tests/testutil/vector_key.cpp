#include "testutil/vector_key.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace dust::testutil {

KeyPair VectorKey() {
  if (!InitCrypto().ok()) throw std::runtime_error("VectorKey: libsodium failed to initialise");
  std::array<uint8_t, kSeedBytes> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i + 1);
  return KeyPairFromSeed(seed);
}

}  // namespace dust::testutil
