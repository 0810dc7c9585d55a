// The MLP written plainly, to check the maths against (in the manner of llm.c's reference beside
// its kernels): forward and backward as dense loops over every input, zeros included, one
// sample at a time, then the SGD-with-momentum update of every parameter. Nothing in it is fast
// and nothing in the library runs it: the unit tests compare the fast kernels with it.
//
// In float it performs the same float operations in the same order as the fast kernels are
// documented to (kernels.h; docs/model.md, "Training step"): each pre-activation starts at its
// bias and adds the inputs in ascending order; every gradient starts at zero and adds the
// samples in batch order; the softmax (output_layer.h) and the update as written in
// reference_mlp.cpp. The zero inputs the kernels skip add +-0, which changes no value, so its
// Step and Gradient equal the Trainer's exactly (up to the sign of a zero). In double it is the
// loss a numerical gradient check differentiates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/model.h"

namespace dust::internal {

template <typename Real>  // float or double
class ReferenceMlp {
 public:
  // A copy of the model's layer sizes and parameters (converted to Real), a zero momentum
  // buffer, and the options Step uses (their batch_size is not).
  explicit ReferenceMlp(const Mlp& model, SgdOptions options = {});

  // The mean cross-entropy of the samples data[batch]. The batch is not empty and the data fits
  // the model (same width, labels below its number of classes).
  Real Loss(const Dataset& data, std::span<const uint32_t> batch) const;

  // The same mean loss, returned, and its gradient w.r.t. every parameter into grad().
  Real Gradient(const Dataset& data, std::span<const uint32_t> batch);

  // Gradient, then one step of SGD with momentum (model.h) on every parameter. Returns the
  // mean loss before the step.
  Real Step(const Dataset& data, std::span<const uint32_t> batch);

  // Parameters, momentum and the last gradient, in the model's parameter layout (model.h).
  std::span<Real> params() { return m_w; }
  std::span<const Real> params() const { return m_w; }
  std::span<const Real> momentum() const { return m_v; }
  std::span<const Real> grad() const { return m_g; }

 private:
  // Layer l's weights W [in][out] start at Offset(l); its bias b [out] follows them.
  size_t Offset(size_t l) const;
  // One sample forward: a[0] = x as a dense vector, a[l + 1] = the output of layer l (ReLU
  // after every hidden layer, the logits out of the last).
  void Forward(const SampleView& x, std::vector<std::vector<Real>>& a) const;

  std::vector<uint32_t> m_sizes;
  SgdOptions m_options;
  std::vector<Real> m_w;  // parameters
  std::vector<Real> m_v;  // momentum
  std::vector<Real> m_g;  // gradient of the last Gradient or Step
};

extern template class ReferenceMlp<float>;
extern template class ReferenceMlp<double>;

}  // namespace dust::internal
