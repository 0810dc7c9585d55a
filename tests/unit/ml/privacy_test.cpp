// The RDP accountant (dust/ml/privacy.h). The second set of values is checked against an
// independent Python implementation by tests/integration/privacy_test.sh.
#include "dust/ml/privacy.h"

#include <catch2/catch.hpp>
#include <cmath>

namespace dust {
namespace {

double Rounded4(double v) {  // to 4 significant digits
  const double scale = std::pow(10.0, 3 - std::floor(std::log10(std::abs(v))));
  return std::round(v * scale) / scale;
}

TEST_CASE("accountant: the issue's vector (Opacus' MNIST example) to 4 significant digits",
          "[privacy]") {
  // q = 256/60000, sigma = 1.1, 14,062 steps (60 epochs), delta = 1e-5.
  RdpAccountant acc;
  acc.Compose(256.0 / 60000.0, 1.1, 14062);
  CHECK(acc.steps() == 14062);
  CHECK(Rounded4(acc.Spent(1e-5).epsilon) == 2.597);
  CHECK(Rounded4(acc.Spent(1e-5, RdpConversion::kClassic).epsilon) == 3.009);
  // One step at a time composes to the same curve (the node composes step by step).
  RdpAccountant stepwise;
  for (int i = 0; i < 14062; ++i) stepwise.Compose(256.0 / 60000.0, 1.1);
  CHECK(stepwise.Spent(1e-5).epsilon == Approx(acc.Spent(1e-5).epsilon).epsilon(1e-9));
}

TEST_CASE("accountant: limits of the formula", "[privacy]") {
  // q = 1 is the Gaussian mechanism: alpha / (2 sigma^2).
  CHECK(SampledGaussianRdp(1.0, 2.0, 8) == Approx(8.0 / 8.0));
  CHECK(SampledGaussianRdp(0.0, 1.0, 8) == 0.0);
  CHECK(std::isinf(SampledGaussianRdp(0.01, 0.0, 8)));
  CHECK(std::isinf(SampledGaussianRdp(0.01, NAN, 8)));
  // Sub-sampling amplifies privacy: less RDP than the full-batch Gaussian, more with larger q.
  CHECK(SampledGaussianRdp(0.01, 1.0, 32) < SampledGaussianRdp(0.1, 1.0, 32));
  CHECK(SampledGaussianRdp(0.1, 1.0, 32) < SampledGaussianRdp(1.0, 1.0, 32));
  // Order 256 with little noise: the terms overflow a double if not taken in log space.
  const double big = SampledGaussianRdp(0.5, 0.3, 256);
  CHECK(std::isfinite(big));
  CHECK(big > 100);
  // No noisy step: no order, infinite epsilon only if something was spent without noise.
  RdpAccountant none;
  CHECK(none.Spent(1e-5).epsilon < 0.03);  // the conversion's floor at order 256
  none.Compose(0.01, 0.0);
  CHECK(std::isinf(none.Spent(1e-5).epsilon));
}

TEST_CASE("accountant: EpsilonAfter previews without composing, Restore refuses bad curves",
          "[privacy]") {
  RdpAccountant acc;
  acc.Compose(0.01, 1.0, 100);
  const double now = acc.Spent(1e-5).epsilon;
  const double after = acc.EpsilonAfter(0.01, 1.0, 100, 1e-5).epsilon;
  CHECK(after > now);
  CHECK(acc.Spent(1e-5).epsilon == now);
  RdpAccountant twice;
  twice.Compose(0.01, 1.0, 200);
  CHECK(after == Approx(twice.Spent(1e-5).epsilon).epsilon(1e-12));
  RdpCurve bad = acc.rdp();
  bad[3] = -1;
  RdpAccountant restored;
  CHECK_FALSE(restored.Restore(bad, 5));
  CHECK(restored.steps() == 0);
  bad[3] = NAN;
  CHECK_FALSE(restored.Restore(bad, 5));
  CHECK(restored.Restore(acc.rdp(), acc.steps()));
  CHECK(restored.Spent(1e-5).epsilon == now);
}

TEST_CASE("accountant: NoiseForEpsilon inverts the accountant", "[privacy]") {
  const double q = 256.0 / 60000.0;
  const double sigma = NoiseForEpsilon(2.597, q, 14062, 1e-5);
  // The vector spends 2.597 at sigma 1.1 (2.59698 exactly): the plan finds 1.1 back
  // to the rounding of the epsilon.
  CHECK(sigma == Approx(1.1).epsilon(2e-4));
  RdpAccountant acc;
  acc.Compose(q, sigma, 14062);
  CHECK(acc.Spent(1e-5).epsilon <= 2.597);
  // A sigma just below the answer overspends (the answer is the smallest, to 1e-6).
  RdpAccountant less;
  less.Compose(q, sigma * (1 - 1e-5), 14062);
  CHECK(less.Spent(1e-5).epsilon > 2.597);
  CHECK(NoiseForEpsilon(1.0, q, 0, 1e-5) == 0.0);
  CHECK(std::isnan(NoiseForEpsilon(-1.0, q, 10, 1e-5)));
  CHECK(std::isnan(NoiseForEpsilon(1.0, q, 10, 1.0)));
  CHECK(std::isinf(NoiseForEpsilon(1e-9, 1.0, 1000000, 1e-5)));
}

}  // namespace
}  // namespace dust
