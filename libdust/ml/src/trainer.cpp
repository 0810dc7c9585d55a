// Trainer (model.h): mini-batch SGD with momentum over the fast kernels (kernels.h). The
// kernel computes the batch's gradient and applies the update to the first layer's weights row
// by row as each row's gradient completes; Step then updates every other parameter.
#include <algorithm>
#include <limits>
#include <numeric>

#include "dust/ml/model.h"
#include "kernels.h"

namespace dust {
namespace {

float NaN() { return std::numeric_limits<float>::quiet_NaN(); }

internal::BatchBuffers MakeBuffers(uint32_t max_chunk, std::vector<uint32_t>& count,
                                   std::vector<uint16_t>& sample, std::vector<float>& value,
                                   std::vector<float>& delta, std::vector<float>& scratch) {
  return {.max_chunk = max_chunk,
          .feature_count = count.data(),
          .feature_sample = sample.data(),
          .feature_value = value.data(),
          .delta = delta.data(),
          .scratch = scratch.data()};
}

}  // namespace

Trainer::Trainer(const Mlp& model, SgdOptions options)
    : m_options(options),
      m_sizes(model.layer_sizes()),
      m_momentum(model.num_params(), 0.0f),
      m_grad(model.num_params(), 0.0f) {
  const internal::BufferPlan plan = internal::PlanBuffers(m_sizes, m_options.batch_size);
  m_max_chunk = plan.max_chunk;
  m_feature_count.assign(m_sizes[0], 0);
  m_feature_sample.assign(plan.entries, 0);
  m_feature_value.assign(plan.entries, 0.0f);
  m_delta.assign(plan.delta, 0.0f);
  m_scratch.assign(plan.scratch, 0.0f);
  m_scaled_order.resize(m_options.batch_size);
  std::iota(m_scaled_order.begin(), m_scaled_order.end(), 0u);
}

Trainer::Batch Trainer::ScaledBatch(const Mlp& model, const Dataset& data,
                                    std::span<const uint32_t> indices) {
  const InputScaling& scaling = model.scaling();
  if (scaling.identity()) return {&data, indices};
  if (m_scaled.num_features() != data.num_features() ||
      m_scaled.num_classes() != data.num_classes()) {
    m_scaled = Dataset(data.num_features(), data.num_classes());
  }
  m_scaled.Clear();
  for (uint32_t i : indices) {
    const SampleView z = scaling.Apply(data.sample(i), m_scale_index, m_scale_value);
    m_scaled.AddSparse(z.index, z.value, z.label);
  }
  return {&m_scaled, std::span<const uint32_t>(m_scaled_order).first(indices.size())};
}

bool Trainer::Compatible(const Mlp& model, const Dataset& data, size_t batch) const {
  return model.layer_sizes() == m_sizes && internal::DataFits(model, data) &&
         batch <= m_options.batch_size;
}

float Trainer::Gradient(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                        std::span<float> grad) {
  if (grad.size() != model.num_params() || !Compatible(model, data, indices.size())) return NaN();
  std::fill(grad.begin(), grad.end(), 0.0f);
  if (indices.empty()) return 0.0f;
  const float scale = 1.0f / static_cast<float>(indices.size());
  const internal::BatchBuffers buf = MakeBuffers(m_max_chunk, m_feature_count, m_feature_sample,
                                                 m_feature_value, m_delta, m_scratch);
  const Batch batch = ScaledBatch(model, data, indices);
  const double loss = internal::AccumulateBatch(internal::DetectIsa(), model, *batch.data,
                                                batch.indices, scale, buf, grad.data(), nullptr);
  return static_cast<float>(loss / static_cast<double>(indices.size()));
}

float Trainer::Step(Mlp& model, const Dataset& data, std::span<const uint32_t> indices) {
  if (!Compatible(model, data, indices.size())) return NaN();
  if (indices.empty()) return 0.0f;
  const float scale = 1.0f / static_cast<float>(indices.size());
  const float lr = m_options.learning_rate;
  const float mu = m_options.momentum;
  const float wd = m_options.weight_decay;
  // The first layer's weights are updated inside the kernel, row by row as each row's
  // gradient completes (FeatureBackward), with the same operations as below.
  const internal::FirstLayerSgd sgd{.learning_rate = lr,
                                    .momentum = mu,
                                    .weight_decay = wd,
                                    .weight = model.params().data(),
                                    .momentum_buffer = m_momentum.data()};
  const internal::BatchBuffers buf = MakeBuffers(m_max_chunk, m_feature_count, m_feature_sample,
                                                 m_feature_value, m_delta, m_scratch);
  const Batch batch = ScaledBatch(model, data, indices);
  const double loss = internal::AccumulateBatch(internal::DetectIsa(), model, *batch.data,
                                                batch.indices, scale, buf, m_grad.data(), &sgd);

  // Every other parameter: g' = g + wd*w; v = mu*v + g'; w -= lr*v (PyTorch's order of
  // operations). That part of m_grad is left all-zero for the next step.
  float* __restrict w = model.params().data();
  float* __restrict v = m_momentum.data();
  float* __restrict g = m_grad.data();
  for (size_t j = size_t{m_sizes[0]} * m_sizes[1]; j < m_grad.size(); ++j) {
    const float gj = g[j] + wd * w[j];
    g[j] = 0.0f;
    v[j] = mu * v[j] + gj;
    w[j] -= lr * v[j];
  }
  ++m_steps;
  return static_cast<float>(loss / static_cast<double>(indices.size()));
}

}  // namespace dust
