#include "dust/util/crypto.h"

#include <sodium.h>

#include <cstring>

namespace dust {

Status InitCrypto() {
  if (sodium_init() < 0) return Status::IoError("libsodium failed to initialise");
  return Status::Ok();
}

Hash256 Blake2b256(ByteView data) {
  Hash256 h{};
  crypto_generichash(h.data(), h.size(), data.data(), data.size(), nullptr, 0);
  return h;
}

uint64_t Checksum64(ByteView data) {
  Hash256 h = Blake2b256(data);
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v |= uint64_t{h[i]} << (8 * i);
  return v;
}

KeyPair GenerateKeyPair() {
  KeyPair kp;
  crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

KeyPair KeyPairFromSeed(const std::array<uint8_t, kSeedBytes>& seed) {
  KeyPair kp;
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed.data());
  return kp;
}

Signature Sign(ByteView message, const KeyPair& key) {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), key.secret_key.data());
  return sig;
}

bool Verify(ByteView message, const Signature& signature, const PublicKey& public_key) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

void RandomBytes(std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); }

}  // namespace dust
