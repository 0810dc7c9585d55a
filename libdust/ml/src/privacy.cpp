// The RDP accountant (privacy.h).
#include "dust/ml/privacy.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dust {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)) without overflow.
double LogAddExp(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

}  // namespace

double SampledGaussianRdp(double q, double sigma, uint32_t alpha) {
  if (!std::isfinite(q) || !std::isfinite(sigma) || q < 0 || q > 1 || alpha < 2) return kInf;
  if (q == 0) return 0.0;
  if (sigma <= 0) return kInf;
  const double a = alpha;
  const double two_var = 2.0 * sigma * sigma;
  if (q == 1) return a / two_var;
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  const double lgamma_a1 = std::lgamma(a + 1);
  double log_a = -kInf;
  for (uint32_t i = 0; i <= alpha; ++i) {
    const double di = i;
    const double log_binom = lgamma_a1 - std::lgamma(di + 1) - std::lgamma(a - di + 1);
    log_a =
        LogAddExp(log_a, log_binom + di * log_q + (a - di) * log_1mq + (di * di - di) / two_var);
  }
  return log_a / (a - 1);
}

RdpCurve SampledGaussianRdpCurve(double q, double sigma) {
  RdpCurve c;
  for (uint32_t alpha = kRdpMinOrder; alpha <= kRdpMaxOrder; ++alpha) {
    c[alpha - kRdpMinOrder] = SampledGaussianRdp(q, sigma, alpha);
  }
  return c;
}

PrivacySpent EpsilonFromRdp(const RdpCurve& rdp, double delta, RdpConversion conversion) {
  PrivacySpent best{kInf, 0};
  if (!(delta > 0 && delta < 1)) return best;
  const double log_delta = std::log(delta);
  for (uint32_t alpha = kRdpMinOrder; alpha <= kRdpMaxOrder; ++alpha) {
    const double r = rdp[alpha - kRdpMinOrder];
    const double a = alpha;
    double eps = conversion == RdpConversion::kBalle2020
                     ? r - (log_delta + std::log(a)) / (a - 1) + std::log((a - 1) / a)
                     : r - log_delta / (a - 1);
    if (std::isnan(eps)) continue;
    // Balle's bound can come out negative for tiny rdp; epsilon is never below 0.
    eps = std::max(eps, 0.0);
    if (eps < best.epsilon) best = {eps, alpha};
  }
  return best;
}

const RdpCurve& RdpAccountant::StepCurve(double q, double sigma) {
  if (q != m_cached_q || sigma != m_cached_sigma) {
    m_cached = SampledGaussianRdpCurve(q, sigma);
    m_cached_q = q;
    m_cached_sigma = sigma;
  }
  return m_cached;
}

void RdpAccountant::Compose(double q, double sigma, uint64_t steps) {
  if (steps == 0) return;
  const RdpCurve& c = StepCurve(q, sigma);
  for (size_t i = 0; i < kRdpOrders; ++i) m_rdp[i] += static_cast<double>(steps) * c[i];
  m_steps += steps;
}

PrivacySpent RdpAccountant::EpsilonAfter(double q, double sigma, uint64_t steps, double delta,
                                         RdpConversion conversion) {
  RdpCurve next = m_rdp;
  if (steps > 0) {
    const RdpCurve& c = StepCurve(q, sigma);
    for (size_t i = 0; i < kRdpOrders; ++i) next[i] += static_cast<double>(steps) * c[i];
  }
  return EpsilonFromRdp(next, delta, conversion);
}

bool RdpAccountant::Restore(const RdpCurve& rdp, uint64_t steps) {
  for (double v : rdp) {
    if (std::isnan(v) || v < 0) return false;
  }
  m_rdp = rdp;
  m_steps = steps;
  return true;
}

double NoiseForEpsilon(double epsilon, double q, uint64_t steps, double delta) {
  if (!std::isfinite(epsilon) || epsilon <= 0 || !(delta > 0 && delta < 1) || !(q >= 0 && q <= 1)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (steps == 0 || q == 0) return 0.0;
  const auto spent = [&](double sigma) {
    RdpCurve c = SampledGaussianRdpCurve(q, sigma);
    for (double& v : c) v *= static_cast<double>(steps);
    return EpsilonFromRdp(c, delta).epsilon;
  };
  double hi = 1.0;
  while (spent(hi) > epsilon) {
    hi *= 2;
    if (hi > 1e6) return kInf;
  }
  double lo = 0.0;  // spends infinity
  // Invariant: spent(hi) <= epsilon < spent(lo). Stop at 1e-6 relative; hi is the answer, so
  // the plan errs on the private side.
  while (hi - lo > 1e-6 * hi) {
    const double mid = 0.5 * (lo + hi);
    (spent(mid) <= epsilon ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace dust
