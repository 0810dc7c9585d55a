// Deterministic pseudo-random numbers: xoshiro256** seeded through SplitMix64.
//
// libdust never reads a global or OS random source for anything that must be reproducible
// (initialisation, shuffling, simulation). The same seed gives the same sequence on every
// platform. Not for secrets: keys and nonces come from libsodium (crypto.h).
#pragma once

#include <cstdint>

namespace dust {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t Next();
  // Uniform in [0, bound) without modulo bias; bound must be > 0.
  uint64_t Below(uint64_t bound);
  // Uniform float in [0, 1) with 24 random bits.
  float UniformFloat();
  // Uniform double in [0, 1) with 53 random bits.
  double Uniform();
  // Standard normal (Box-Muller; no cached second value, so the stream stays simple).
  double Normal();
  // Gamma(shape, 1) by Marsaglia-Tsang; shape > 0. Used for Dirichlet splits.
  double Gamma(double shape);

 private:
  uint64_t m_s[4];
};

}  // namespace dust
