#include "dust/util/rng.h"

#include <cmath>

namespace dust {
namespace {
uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// The 128-bit product a * b: returns the low 64 bits and stores the high 64 bits in *hi.
// 32-bit targets (armhf) have no __uint128_t: there the product is put together from 32-bit
// halves, which gives the same bits.
uint64_t MulWide(uint64_t a, uint64_t b, uint64_t* hi) {
#if defined(__SIZEOF_INT128__)
  const __uint128_t m = static_cast<__uint128_t>(a) * b;
  *hi = static_cast<uint64_t>(m >> 64);
  return static_cast<uint64_t>(m);
#else
  const uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
  const uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
  const uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
  *hi = a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
  return (cross << 32) | (lo_lo & 0xffffffffu);
#endif
}
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : m_s) s = SplitMix64(&seed);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(m_s[1] * 5, 7) * 9;
  const uint64_t t = m_s[1] << 17;
  m_s[2] ^= m_s[0];
  m_s[3] ^= m_s[1];
  m_s[1] ^= m_s[2];
  m_s[0] ^= m_s[3];
  m_s[2] ^= t;
  m_s[3] = Rotl(m_s[3], 45);
  return result;
}

uint64_t Rng::Below(uint64_t bound) {
  // Lemire's nearly-divisionless method: the high half of Next() * bound, rejecting the few
  // low halves that would bias it.
  uint64_t high = 0;
  uint64_t low = MulWide(Next(), bound, &high);
  if (low < bound) {
    const uint64_t threshold = -bound % bound;
    while (low < threshold) low = MulWide(Next(), bound, &high);
  }
  return high;
}

float Rng::UniformFloat() { return static_cast<float>(Next() >> 40) * 0x1.0p-24f; }
double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Rng::Normal() {
  double u1 = Uniform();
  while (u1 <= 0.0) u1 = Uniform();
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double Rng::Gamma(double shape) {
  if (shape < 1.0) {
    // Boost shape by one and scale back (Marsaglia-Tsang's note).
    double u = Uniform();
    while (u <= 0.0) u = Uniform();
    return Gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = Normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = Uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace dust
