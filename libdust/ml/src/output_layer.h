// The output layer's scalar functions: softmax cross-entropy and the arg-max class. The
// reference MLP (reference_mlp.h), the fast kernels (vector_kernels.h) and Predict all use these
// same lines: the output layer is a handful of classes wide, so there is nothing to vectorise,
// and one definition keeps the three in the same float operations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace dust::internal {

// Softmax of logits z [n] in place into probabilities; returns -log p[label] computed stably.
// Real is float everywhere but in the reference MLP's double-precision gradient checks.
template <typename Real>
[[gnu::always_inline]] inline Real SoftmaxCrossEntropy(Real* z, uint32_t n, uint32_t label) {
  Real m = z[0];
  for (uint32_t j = 1; j < n; ++j) m = std::max(m, z[j]);
  const Real z_label = z[label];
  Real sum = 0;
  for (uint32_t j = 0; j < n; ++j) {
    z[j] = std::exp(z[j] - m);
    sum += z[j];
  }
  const Real inv = 1 / sum;
  for (uint32_t j = 0; j < n; ++j) z[j] *= inv;
  return std::log(sum) + m - z_label;
}

// The first index of the largest of z [n] (n >= 1).
[[gnu::always_inline]] inline uint32_t ArgMax(const float* z, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t j = 1; j < n; ++j) {
    if (z[j] > z[best]) best = j;
  }
  return best;
}

}  // namespace dust::internal
