// Trainer::DpStep (model.h): DP-SGD's per-sample clipping, written sample by sample beside the
// fused kernel rather than inside it, so that training without DP runs exactly the code it ran
// before (same speed, same results).
//
// Per-sample gradient norms without per-sample gradients: for a dense layer y = b + x W the
// sample's gradient of W is the outer product x (x) dy and that of b is dy, so
//   ||grad W||^2 + ||grad b||^2 = ||x||^2 ||dy||^2 + ||dy||^2 = (||x||^2 + 1) ||dy||^2
// (the Frobenius norm of a rank-one matrix is the product of its vectors' norms). Summed over
// the layers this is the sample's whole gradient norm, exactly; the sample's contribution is
// then added to the sum already scaled by min(1, C / norm).
#include <algorithm>
#include <cmath>
#include <limits>

#include "dust/ml/model.h"
#include "kernels.h"
#include "output_layer.h"

namespace dust {

float Trainer::DpStep(Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                      float clip, float noise_multiplier, float expected_batch,
                      std::span<const float> noise) {
  const size_t layers = m_sizes.size() - 1;
  if (model.layer_sizes() != m_sizes || !internal::DataFits(model, data) ||
      noise.size() != model.num_params() || !(clip > 0) || !(expected_batch > 0) ||
      !(noise_multiplier >= 0)) {
    return std::numeric_limits<float>::quiet_NaN();
  }
  for (uint32_t i : indices) {
    if (i >= data.size()) return std::numeric_limits<float>::quiet_NaN();
  }
  if (m_dp_act.size() != layers + 1) {
    m_dp_act.resize(layers + 1);
    m_dp_delta.resize(layers + 1);
    for (size_t l = 1; l <= layers; ++l) {
      m_dp_act[l].assign(m_sizes[l], 0.0f);
      m_dp_delta[l].assign(m_sizes[l], 0.0f);
    }
  }
  m_dp_sum.assign(model.num_params(), 0.0f);
  std::vector<size_t> offset(layers);  // layer l's W [in][out]; its bias follows
  for (size_t l = 0, off = 0; l < layers; ++l) {
    offset[l] = off;
    off += size_t{m_sizes[l]} * m_sizes[l + 1] + m_sizes[l + 1];
  }
  const float* w = model.params().data();
  const InputScaling& scaling = model.scaling();
  double loss = 0;
  for (uint32_t i : indices) {
    const SampleView raw = data.sample(i);
    const SampleView x =
        scaling.identity() ? raw : scaling.Apply(raw, m_scale_index, m_scale_value);
    // Forward: layer 0 from the sparse input, then dense layers; ReLU on hidden layers.
    for (size_t l = 0; l < layers; ++l) {
      const size_t in = m_sizes[l], out = m_sizes[l + 1];
      const float* wl = w + offset[l];
      float* y = m_dp_act[l + 1].data();
      std::copy(wl + in * out, wl + in * out + out, y);
      if (l == 0) {
        for (size_t n = 0; n < x.index.size(); ++n) {
          const float xv = x.value[n];
          const float* row = wl + size_t{x.index[n]} * out;
          for (size_t j = 0; j < out; ++j) y[j] += xv * row[j];
        }
      } else {
        const float* a = m_dp_act[l].data();
        for (size_t k = 0; k < in; ++k) {
          const float* row = wl + k * out;
          for (size_t j = 0; j < out; ++j) y[j] += a[k] * row[j];
        }
      }
      if (l + 1 < layers) {
        for (size_t j = 0; j < out; ++j) y[j] = y[j] > 0 ? y[j] : 0.0f;
      }
    }
    // Backward: delta[l + 1] = dL/d(layer l's output before its ReLU).
    float* z = m_dp_act[layers].data();
    std::copy(z, z + m_sizes[layers], m_dp_delta[layers].data());
    loss += internal::SoftmaxCrossEntropy(m_dp_delta[layers].data(), m_sizes[layers], x.label);
    m_dp_delta[layers][x.label] -= 1.0f;
    double norm2 = 0;
    for (size_t l = layers; l-- > 0;) {
      const size_t in = m_sizes[l], out = m_sizes[l + 1];
      const float* dy = m_dp_delta[l + 1].data();
      double dy2 = 0, x2 = 0;
      for (size_t j = 0; j < out; ++j) dy2 += double{dy[j]} * dy[j];
      if (l == 0) {
        for (float v : x.value) x2 += double{v} * v;
      } else {
        for (size_t k = 0; k < in; ++k) x2 += double{m_dp_act[l][k]} * m_dp_act[l][k];
        const float* wl = w + offset[l];
        const float* a = m_dp_act[l].data();
        float* dx = m_dp_delta[l].data();
        for (size_t k = 0; k < in; ++k) {
          float dot = 0;
          for (size_t j = 0; j < out; ++j) dot += wl[k * out + j] * dy[j];
          dx[k] = a[k] > 0 ? dot : 0.0f;  // ReLU' (no gradient where its output is 0)
        }
      }
      norm2 += (x2 + 1.0) * dy2;
    }
    const double norm = std::sqrt(norm2);
    const float c = norm > clip ? static_cast<float>(clip / norm) : 1.0f;
    // The clipped gradient, added into the sum: layer 0 only on the sample's non-zero inputs.
    for (size_t l = 0; l < layers; ++l) {
      const size_t in = m_sizes[l], out = m_sizes[l + 1];
      float* gw = m_dp_sum.data() + offset[l];
      float* gb = gw + in * out;
      const float* dy = m_dp_delta[l + 1].data();
      for (size_t j = 0; j < out; ++j) gb[j] += c * dy[j];
      if (l == 0) {
        for (size_t n = 0; n < x.index.size(); ++n) {
          const float cx = c * x.value[n];
          float* row = gw + size_t{x.index[n]} * out;
          for (size_t j = 0; j < out; ++j) row[j] += cx * dy[j];
        }
      } else {
        for (size_t k = 0; k < in; ++k) {
          const float ca = c * m_dp_act[l][k];
          if (ca == 0.0f) continue;
          float* row = gw + k * out;
          for (size_t j = 0; j < out; ++j) row[j] += ca * dy[j];
        }
      }
    }
  }
  // Noise on the sum, then the mean over the expected batch, then SGD with momentum (the same
  // update as Step: g' = g + wd*w; v = mu*v + g'; w -= lr*v).
  const float noise_std = noise_multiplier * clip;
  const float inv_batch = 1.0f / expected_batch;
  const float lr = m_options.learning_rate, mu = m_options.momentum, wd = m_options.weight_decay;
  float* pw = model.params().data();
  float* v = m_momentum.data();
  for (size_t j = 0; j < m_dp_sum.size(); ++j) {
    const float g = (m_dp_sum[j] + noise_std * noise[j]) * inv_batch + wd * pw[j];
    v[j] = mu * v[j] + g;
    pw[j] -= lr * v[j];
  }
  ++m_steps;
  return indices.empty() ? 0.0f : static_cast<float>(loss / static_cast<double>(indices.size()));
}

}  // namespace dust
