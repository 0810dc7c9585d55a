// Differential privacy accounting (docs/privacy.md, docs/engine.md "Differential privacy"):
// Renyi DP of the sampled Gaussian mechanism that DP-SGD is (Mironov, Talwar and Zhang 2019,
// "Renyi Differential Privacy of the Sampled Gaussian Mechanism", the formula for integer
// orders), composed over steps by adding RDP, and converted to (epsilon, delta).
//
// Pure functions and a value type; nothing here draws random numbers or reads a clock.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace dust {

// The Renyi orders tracked: every integer from 2 to 256 (Opacus' default list has the same
// integers, plus fractional orders below 11 and a few above 256, which this accountant does not
// track: its epsilon is never below the true one, only possibly a little above Opacus').
inline constexpr uint32_t kRdpMinOrder = 2;
inline constexpr uint32_t kRdpMaxOrder = 256;
inline constexpr size_t kRdpOrders = kRdpMaxOrder - kRdpMinOrder + 1;
using RdpCurve = std::array<double, kRdpOrders>;  // [alpha - kRdpMinOrder]

// The RDP at integer order `alpha` >= 2 of ONE step of the sampled Gaussian mechanism: each
// record is in the batch independently with probability q (Poisson sampling), the sum of the
// batch's clipped contributions gets Gaussian noise of standard deviation sigma times the clip
// norm. log A_alpha / (alpha - 1) with
//   A_alpha = sum_{i=0..alpha} C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2)),
// each term taken in log space (lgamma) and summed by log-sum-exp, so nothing overflows at
// alpha = 256. q = 0 gives 0; q = 1 gives the Gaussian's alpha / (2 sigma^2); sigma <= 0 (no
// noise) gives +infinity, as do q or sigma that are not finite numbers.
double SampledGaussianRdp(double q, double sigma, uint32_t alpha);

// The curve of one step at every tracked order.
RdpCurve SampledGaussianRdpCurve(double q, double sigma);

// How (epsilon, delta) is read off an RDP curve; the smallest over the orders is reported.
enum class RdpConversion : uint8_t {
  // Balle, Barthe, Gaboardi, Hsu and Sato 2020 (Proposition 12), as Opacus' get_privacy_spent:
  //   epsilon = rdp - (log delta + log alpha) / (alpha - 1) + log((alpha - 1) / alpha)
  kBalle2020 = 0,
  // Mironov 2017 (Proposition 3): epsilon = rdp + log(1 / delta) / (alpha - 1).
  kClassic = 1,
};

struct PrivacySpent {
  double epsilon = 0;  // +infinity when every order is infinite
  uint32_t order = 0;  // the order that gave it (0 if none)
};

PrivacySpent EpsilonFromRdp(const RdpCurve& rdp, double delta,
                            RdpConversion conversion = RdpConversion::kBalle2020);

// The RDP a node has spent: the sum of the curves of every noisy step it took, whatever their
// q and sigma (composition of RDP is addition at each order).
class RdpAccountant {
 public:
  RdpAccountant() { m_rdp.fill(0.0); }

  // Adds `steps` steps at sampling rate q and noise multiplier sigma. The last (q, sigma)'s
  // curve is cached, so a node composing one step at a time pays for the formula once.
  void Compose(double q, double sigma, uint64_t steps = 1);
  // The epsilon the accountant would report after `steps` more steps at (q, sigma), without
  // composing them (the budget check before a step).
  PrivacySpent EpsilonAfter(double q, double sigma, uint64_t steps, double delta,
                            RdpConversion conversion = RdpConversion::kBalle2020);

  PrivacySpent Spent(double delta, RdpConversion conversion = RdpConversion::kBalle2020) const {
    return EpsilonFromRdp(m_rdp, delta, conversion);
  }
  const RdpCurve& rdp() const { return m_rdp; }
  uint64_t steps() const { return m_steps; }
  bool empty() const { return m_steps == 0; }

  // Restores a saved state (checkpoints). Refuses (false, nothing changed) a curve with a
  // negative or NaN value: a corrupt file must not hand back budget.
  bool Restore(const RdpCurve& rdp, uint64_t steps);

 private:
  const RdpCurve& StepCurve(double q, double sigma);

  RdpCurve m_rdp;
  uint64_t m_steps = 0;
  double m_cached_q = -1, m_cached_sigma = -1;
  RdpCurve m_cached{};
};

// The smallest noise multiplier (to 1e-6 relative, rounded up) with which `steps` steps at
// sampling rate q spend at most `epsilon` at `delta` (Balle conversion), by bisection on sigma
// (epsilon falls as sigma grows). 0 if no noise is needed (steps == 0 or q == 0); +infinity if
// no sigma up to 1e6 does it (an epsilon too small for that many steps). Arguments must be
// finite with epsilon > 0, 0 < delta < 1 and 0 <= q <= 1 (else NaN).
double NoiseForEpsilon(double epsilon, double q, uint64_t steps, double delta);

}  // namespace dust
