// The plain reference MLP (reference_mlp.h). Written for reading, not speed: each function is
// one formula of the model, in the order its sums are taken.
#include "reference_mlp.h"

#include <utility>

#include "output_layer.h"

namespace dust::internal {
namespace {

// y [out] = b + x [in] . W [in][out]: each output starts at its bias and adds the inputs in
// ascending order.
template <typename Real>
void LinearForward(const Real* w, const Real* b, size_t in, size_t out, const Real* x, Real* y) {
  for (size_t j = 0; j < out; ++j) {
    Real s = b[j];
    for (size_t k = 0; k < in; ++k) s += x[k] * w[k * out + j];
    y[j] = s;
  }
}

// a = max(a, 0), written so that the output is +0 wherever the input is not positive.
template <typename Real>
void ReluForward(Real* a, size_t n) {
  for (size_t k = 0; k < n; ++k) a[k] = a[k] <= 0 ? 0 : a[k];
}

// Backward through y = b + x . W given dy = dL/dy [out]:
//   gW [in][out] += x (x) dy;   gb [out] += dy;   dx [in] = W dy.
template <typename Real>
void LinearBackward(const Real* w, size_t in, size_t out, const Real* x, const Real* dy, Real* gw,
                    Real* gb, Real* dx) {
  for (size_t j = 0; j < out; ++j) gb[j] += dy[j];
  for (size_t k = 0; k < in; ++k) {
    Real dot = 0;
    for (size_t j = 0; j < out; ++j) {
      gw[k * out + j] += x[k] * dy[j];
      dot += w[k * out + j] * dy[j];
    }
    dx[k] = dot;
  }
}

// Backward through a = relu(z): dz = da where the output a is positive, else 0 (PyTorch's
// convention: no gradient where the ReLU's output is exactly 0).
template <typename Real>
void ReluBackward(const Real* a, size_t n, Real* d) {
  for (size_t k = 0; k < n; ++k) d[k] = a[k] > 0 ? d[k] : 0;
}

}  // namespace

template <typename Real>
ReferenceMlp<Real>::ReferenceMlp(const Mlp& model, SgdOptions options)
    : m_sizes(model.layer_sizes()),
      m_options(options),
      m_w(model.params().begin(), model.params().end()),
      m_v(model.num_params(), 0),
      m_g(model.num_params(), 0) {}

template <typename Real>
size_t ReferenceMlp<Real>::Offset(size_t l) const {
  size_t off = 0;
  for (size_t i = 0; i < l; ++i) off += size_t{m_sizes[i]} * m_sizes[i + 1] + m_sizes[i + 1];
  return off;
}

template <typename Real>
void ReferenceMlp<Real>::Forward(const SampleView& x, std::vector<std::vector<Real>>& a) const {
  const size_t layers = m_sizes.size() - 1;
  a.resize(layers + 1);
  a[0].assign(m_sizes[0], 0);
  for (size_t n = 0; n < x.index.size(); ++n) a[0][x.index[n]] = x.value[n];
  for (size_t l = 0; l < layers; ++l) {
    const size_t in = m_sizes[l], out = m_sizes[l + 1], off = Offset(l);
    a[l + 1].assign(out, 0);
    LinearForward(&m_w[off], &m_w[off + in * out], in, out, a[l].data(), a[l + 1].data());
    if (l + 1 < layers) ReluForward(a[l + 1].data(), out);
  }
}

template <typename Real>
Real ReferenceMlp<Real>::Loss(const Dataset& data, std::span<const uint32_t> batch) const {
  std::vector<std::vector<Real>> a;
  double loss_sum = 0;
  for (uint32_t i : batch) {
    Forward(data.sample(i), a);
    loss_sum += SoftmaxCrossEntropy(a.back().data(), m_sizes.back(), data.label(i));
  }
  return static_cast<Real>(loss_sum / static_cast<double>(batch.size()));
}

template <typename Real>
Real ReferenceMlp<Real>::Gradient(const Dataset& data, std::span<const uint32_t> batch) {
  const size_t layers = m_sizes.size() - 1;
  const uint32_t classes = m_sizes.back();
  // The gradient of the MEAN loss: each sample's is scaled by 1 / batch size.
  const Real scale = Real{1} / static_cast<Real>(batch.size());
  m_g.assign(m_w.size(), 0);
  std::vector<std::vector<Real>> a;
  double loss_sum = 0;
  for (uint32_t i : batch) {
    Forward(data.sample(i), a);
    const uint32_t label = data.label(i);
    std::vector<Real>& p = a[layers];  // logits, then probabilities
    loss_sum += SoftmaxCrossEntropy(p.data(), classes, label);
    // d (scale * loss) / d logits = (p - onehot(label)) * scale.
    std::vector<Real> d(classes);
    for (uint32_t j = 0; j < classes; ++j) d[j] = p[j] * scale;
    d[label] -= scale;
    for (size_t l = layers; l-- > 0;) {
      const size_t in = m_sizes[l], out = m_sizes[l + 1], off = Offset(l);
      std::vector<Real> d_in(in);
      LinearBackward(&m_w[off], in, out, a[l].data(), d.data(), &m_g[off], &m_g[off + in * out],
                     d_in.data());
      if (l > 0) ReluBackward(a[l].data(), in, d_in.data());  // a[0] is the input, no ReLU
      d = std::move(d_in);
    }
  }
  return static_cast<Real>(loss_sum / static_cast<double>(batch.size()));
}

template <typename Real>
Real ReferenceMlp<Real>::Step(const Dataset& data, std::span<const uint32_t> batch) {
  const Real loss = Gradient(data, batch);
  const Real lr = m_options.learning_rate;
  const Real mu = m_options.momentum;
  const Real wd = m_options.weight_decay;
  for (size_t p = 0; p < m_w.size(); ++p) {
    const Real g = m_g[p] + wd * m_w[p];  // weight decay: L2 added to the gradient
    m_v[p] = mu * m_v[p] + g;
    m_w[p] -= lr * m_v[p];
  }
  return loss;
}

template class ReferenceMlp<float>;
template class ReferenceMlp<double>;

}  // namespace dust::internal
