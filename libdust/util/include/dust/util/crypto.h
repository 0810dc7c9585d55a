// Thin wrappers over libsodium: BLAKE2b hashing, Ed25519 signatures, secure randomness.
//
// InitCrypto() must succeed once per process before any other function here (it calls
// sodium_init, which is idempotent and thread-safe).
#pragma once

#include <array>
#include <cstdint>

#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSecretKeyBytes = 64;  // libsodium's seed || public key form
inline constexpr size_t kSeedBytes = 32;
inline constexpr size_t kSignatureBytes = 64;

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;
using Hash256 = std::array<uint8_t, 32>;

Status InitCrypto();

// BLAKE2b with a 32-byte output, and a 64-bit truncation of it (little-endian) for checksums.
Hash256 Blake2b256(ByteView data);
uint64_t Checksum64(ByteView data);

struct KeyPair {
  PublicKey public_key{};
  std::array<uint8_t, kSecretKeyBytes> secret_key{};
};

// A fresh key pair from libsodium's CSPRNG.
KeyPair GenerateKeyPair();
// The key pair deterministically derived from a 32-byte seed (test vectors, simulations).
KeyPair KeyPairFromSeed(const std::array<uint8_t, kSeedBytes>& seed);

Signature Sign(ByteView message, const KeyPair& key);
bool Verify(ByteView message, const Signature& signature, const PublicKey& public_key);

// Fills `out` with bytes from libsodium's CSPRNG.
void RandomBytes(std::span<uint8_t> out);

}  // namespace dust
