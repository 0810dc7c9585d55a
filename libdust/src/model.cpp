// MLP forward/backward, SGD with momentum, evaluation and inference (see model.h).
//
// Shape conventions: W_l is [in][out] (row k = the weights leaving input k), b_l is [out].
// Per sample, the forward pass keeps the activation of every layer ([sizes[l+1]] each) and the
// backward pass ping-pongs two delta buffers ([max width]); the whole batch is processed one
// sample at a time (forward then backward), gradients summed into one buffer, because the
// weights do not change inside a batch. That keeps each sample's sparse feature list and
// activations hot in L1 between the two passes.
#include "dust/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "dust/bytes.h"
#include "dust/crypto.h"
#include "dust/rng.h"

namespace dust {
namespace {

constexpr uint32_t kPredictStackWidth = 1024;
// Column tile of the sparse first layer: 32 floats stay in vector registers (8 SSE or 4 AVX)
// while the sample's non-zero features are walked once per tile.
constexpr uint32_t kTile = 32;

float NaN() { return std::numeric_limits<float>::quiet_NaN(); }

// h [out] = b + sum_n val[n] * W[idx[n]][:]
template <uint32_t kOut>
void SparseAffineFixed(const float* __restrict w, const float* __restrict b, uint32_t out,
                       const uint32_t* __restrict idx, const float* __restrict val, size_t nnz,
                       float* __restrict h) {
  static_assert(kOut == kTile);
  float acc[kOut];
  for (uint32_t c0 = 0; c0 + kOut <= out; c0 += kOut) {
    for (uint32_t j = 0; j < kOut; ++j) acc[j] = b[c0 + j];
    for (size_t n = 0; n < nnz; ++n) {
      const float x = val[n];
      const float* row = w + size_t{idx[n]} * out + c0;
      for (uint32_t j = 0; j < kOut; ++j) acc[j] += x * row[j];
    }
    for (uint32_t j = 0; j < kOut; ++j) h[c0 + j] = acc[j];
  }
}

void SparseAffine(const float* __restrict w, const float* __restrict b, uint32_t out,
                  const SampleView& x, float* __restrict h) {
  const uint32_t* idx = x.index.data();
  const float* val = x.value.data();
  const size_t nnz = x.index.size();
  const uint32_t tiled = out - out % kTile;
  if (tiled > 0) SparseAffineFixed<kTile>(w, b, out, idx, val, nnz, h);
  if (tiled == out) return;
  for (uint32_t j = tiled; j < out; ++j) h[j] = b[j];
  for (size_t n = 0; n < nnz; ++n) {
    const float v = val[n];
    const float* row = w + size_t{idx[n]} * out;
    for (uint32_t j = tiled; j < out; ++j) h[j] += v * row[j];
  }
}

// G[idx[n]][:] += val[n] * d[:] for every non-zero feature of the sample.
template <uint32_t kOut>
void SparseOuterFixed(float* __restrict g, const float* __restrict d, const uint32_t* idx,
                      const float* val, size_t nnz) {
  float dv[kOut];
  for (uint32_t j = 0; j < kOut; ++j) dv[j] = d[j];
  for (size_t n = 0; n < nnz; ++n) {
    const float x = val[n];
    float* row = g + size_t{idx[n]} * kOut;
    for (uint32_t j = 0; j < kOut; ++j) row[j] += x * dv[j];
  }
}

void SparseOuter(float* __restrict g, const float* __restrict d, uint32_t out,
                 const SampleView& x) {
  const uint32_t* idx = x.index.data();
  const float* val = x.value.data();
  const size_t nnz = x.index.size();
  if (out == kTile) return SparseOuterFixed<kTile>(g, d, idx, val, nnz);
  for (size_t n = 0; n < nnz; ++n) {
    const float v = val[n];
    float* row = g + size_t{idx[n]} * out;
    for (uint32_t j = 0; j < out; ++j) row[j] += v * d[j];
  }
}

// y [out] = b + a [in] . W [in][out]; zero inputs (ReLU outputs, ~half) are skipped, which
// is exact: they contribute 0 * W.
void DenseAffine(const float* __restrict w, const float* __restrict b, uint32_t in, uint32_t out,
                 const float* __restrict a, float* __restrict y) {
  for (uint32_t j = 0; j < out; ++j) y[j] = b[j];
  for (uint32_t i = 0; i < in; ++i) {
    const float ai = a[i];
    if (ai == 0.0f) continue;
    const float* row = w + size_t{i} * out;
    for (uint32_t j = 0; j < out; ++j) y[j] += ai * row[j];
  }
}

void Relu(float* a, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) a[i] = a[i] > 0.0f ? a[i] : 0.0f;
}

// Backward through a dense layer whose input `a` [in] is a ReLU output:
//   gW [in][out] += a (x) d;  gb [out] += d;  d_prev [in] = (W d) * (a > 0)
// (PyTorch's ReLU passes no gradient where its output is exactly zero.)
void DenseBackward(const float* __restrict w, uint32_t in, uint32_t out, const float* __restrict a,
                   const float* __restrict d, float* __restrict gw, float* __restrict gb,
                   float* __restrict d_prev) {
  for (uint32_t j = 0; j < out; ++j) gb[j] += d[j];
  for (uint32_t i = 0; i < in; ++i) {
    const float ai = a[i];
    if (ai <= 0.0f) {
      d_prev[i] = 0.0f;
      continue;
    }
    const float* row = w + size_t{i} * out;
    float* grow = gw + size_t{i} * out;
    float dot = 0.0f;
    for (uint32_t j = 0; j < out; ++j) {
      grow[j] += ai * d[j];
      dot += row[j] * d[j];
    }
    d_prev[i] = dot;
  }
}

// Softmax of logits z [n] in place into probabilities; returns -log p[label] computed stably.
float SoftmaxCrossEntropy(float* z, uint32_t n, uint32_t label) {
  float m = z[0];
  for (uint32_t j = 1; j < n; ++j) m = std::max(m, z[j]);
  const float z_label = z[label];
  float sum = 0.0f;
  for (uint32_t j = 0; j < n; ++j) {
    z[j] = std::exp(z[j] - m);
    sum += z[j];
  }
  const float inv = 1.0f / sum;
  for (uint32_t j = 0; j < n; ++j) z[j] *= inv;
  return std::log(sum) + m - z_label;
}

uint32_t ArgMax(const float* z, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t j = 1; j < n; ++j) {
    if (z[j] > z[best]) best = j;
  }
  return best;
}

// Forward pass of one sample through `model` using two buffers of the widest layer's size;
// returns the buffer holding the logits.
float* ForwardLogits(const Mlp& model, const SampleView& x, float* buf_a, float* buf_b) {
  const size_t layers = model.num_layers();
  ConstLayerView l0 = model.layer(0);
  SparseAffine(l0.weight, l0.bias, l0.out, x, buf_a);
  float* cur = buf_a;
  float* next = buf_b;
  for (size_t l = 1; l < layers; ++l) {
    ConstLayerView lv = model.layer(l);
    Relu(cur, lv.in);
    DenseAffine(lv.weight, lv.bias, lv.in, lv.out, cur, next);
    std::swap(cur, next);
  }
  return cur;
}

uint32_t MaxWidth(const std::vector<uint32_t>& sizes) {
  return *std::max_element(sizes.begin() + 1, sizes.end());
}

// The dataset's samples must fit the model: same width (feature indices stay in bounds) and
// labels below the number of outputs.
bool DataFits(const Mlp& model, const Dataset& data) {
  return data.num_features() == model.input_size() && data.num_classes() <= model.num_classes();
}

}  // namespace

size_t ParamCount(std::span<const uint32_t> layer_sizes) {
  size_t n = 0;
  for (size_t l = 0; l + 1 < layer_sizes.size(); ++l) {
    n += size_t{layer_sizes[l]} * layer_sizes[l + 1] + layer_sizes[l + 1];
  }
  return n;
}

Result<Mlp> Mlp::Create(std::vector<uint32_t> layer_sizes) {
  if (layer_sizes.size() < 2 || layer_sizes.size() > kMaxLayers + 1) {
    return Status::InvalidArgument("model needs 2 to " + std::to_string(kMaxLayers + 1) +
                                   " layer sizes, got " + std::to_string(layer_sizes.size()));
  }
  for (uint32_t s : layer_sizes) {
    if (s == 0 || s > kMaxLayerWidth) {
      return Status::InvalidArgument("layer width " + std::to_string(s) + " outside [1, " +
                                     std::to_string(kMaxLayerWidth) + "]");
    }
  }
  const size_t count = ParamCount(layer_sizes);
  if (count > kMaxParams) {
    return Status::InvalidArgument("model has " + std::to_string(count) +
                                   " parameters, more than the cap of " +
                                   std::to_string(kMaxParams));
  }
  Mlp m;
  m.m_sizes = std::move(layer_sizes);
  size_t off = 0;
  for (size_t l = 0; l + 1 < m.m_sizes.size(); ++l) {
    m.m_offsets.push_back(off);
    off += size_t{m.m_sizes[l]} * m.m_sizes[l + 1] + m.m_sizes[l + 1];
  }
  m.m_params.assign(count, 0.0f);
  return m;
}

void Mlp::Init(uint64_t seed) {
  Rng rng(seed);
  for (size_t l = 0; l < num_layers(); ++l) {
    LayerView lv = layer(l);
    const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(lv.in)));
    // U(-bound, bound): 2u - 1 is exact in float for the 24-bit u, so one rounding.
    auto draw = [&] { return (2.0f * rng.UniformFloat() - 1.0f) * bound; };
    for (size_t i = 0; i < size_t{lv.in} * lv.out; ++i) lv.weight[i] = draw();
    for (uint32_t j = 0; j < lv.out; ++j) lv.bias[j] = draw();
  }
}

LayerView Mlp::layer(size_t l) {
  float* w = m_params.data() + m_offsets[l];
  const uint32_t in = m_sizes[l];
  const uint32_t out = m_sizes[l + 1];
  return {w, w + size_t{in} * out, in, out};
}

ConstLayerView Mlp::layer(size_t l) const {
  const float* w = m_params.data() + m_offsets[l];
  const uint32_t in = m_sizes[l];
  const uint32_t out = m_sizes[l + 1];
  return {w, w + size_t{in} * out, in, out};
}

ModelFingerprint Fingerprint(std::span<const uint32_t> layer_sizes, uint64_t init_seed) {
  // Encoding (protocol.md, "Model fingerprint"): ASCII "dust-model-v1", u32 count, u32 sizes,
  // u64 seed, little-endian; the fingerprint is the first 8 bytes of BLAKE2b-256 of it.
  Bytes b;
  ByteWriter w(&b);
  w.Raw(AsBytes("dust-model-v1"));
  w.U32(static_cast<uint32_t>(layer_sizes.size()));
  for (uint32_t s : layer_sizes) w.U32(s);
  w.U64(init_seed);
  const Hash256 h = Blake2b256(b);
  ModelFingerprint f{};
  std::copy_n(h.begin(), f.size(), f.begin());
  return f;
}

Trainer::Trainer(const Mlp& model, SgdOptions options)
    : m_options(options),
      m_sizes(model.layer_sizes()),
      m_momentum(model.num_params(), 0.0f),
      m_grad(model.num_params(), 0.0f),
      m_touched(model.input_size(), 0),
      m_touched_rows(model.input_size(), 0) {
  size_t scratch = 2 * size_t{MaxWidth(m_sizes)};
  for (size_t l = 1; l < m_sizes.size(); ++l) scratch += m_sizes[l];
  m_scratch.assign(scratch, 0.0f);
}

bool Trainer::Compatible(const Mlp& model, const Dataset& data, size_t batch) const {
  return model.layer_sizes() == m_sizes && DataFits(model, data) && batch <= m_options.batch_size;
}

double Trainer::Accumulate(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                           float scale, float* grad, bool track_rows) {
  const size_t layers = model.num_layers();
  const uint32_t classes = model.num_classes();
  const uint32_t width = MaxWidth(m_sizes);
  // Scratch: act_1 .. act_L (act_L = logits, then probabilities), then two delta buffers.
  float* act[kMaxLayers + 1];
  float* p = m_scratch.data();
  for (size_t l = 1; l <= layers; ++l) {
    act[l] = p;
    p += m_sizes[l];
  }
  float* delta = p;
  float* delta_prev = p + width;
  const ConstLayerView l0 = model.layer(0);
  float* g0 = grad;  // layer 0's weight gradient is the start of grad
  float* gb0 = grad + size_t{l0.in} * l0.out;

  double loss_sum = 0.0;
  for (uint32_t i : indices) {
    const SampleView x = data.sample(i);
    const uint32_t label = data.label(i);
    // Forward.
    SparseAffine(l0.weight, l0.bias, l0.out, x, act[1]);
    for (size_t l = 1; l < layers; ++l) {
      const ConstLayerView lv = model.layer(l);
      Relu(act[l], lv.in);
      DenseAffine(lv.weight, lv.bias, lv.in, lv.out, act[l], act[l + 1]);
    }
    float* probs = act[layers];
    loss_sum += SoftmaxCrossEntropy(probs, classes, label);
    // d loss_s * scale / d logits = (p - onehot(label)) * scale.
    for (uint32_t j = 0; j < classes; ++j) delta[j] = probs[j] * scale;
    delta[label] -= scale;
    // Backward through the dense layers.
    for (size_t l = layers - 1; l >= 1; --l) {
      const ConstLayerView lv = model.layer(l);
      const size_t off = static_cast<size_t>(lv.weight - model.params().data());
      DenseBackward(lv.weight, lv.in, lv.out, act[l], delta, grad + off,
                    grad + off + size_t{lv.in} * lv.out, delta_prev);
      std::swap(delta, delta_prev);
    }
    // First layer: only the rows of this sample's non-zero features get gradient.
    for (uint32_t j = 0; j < l0.out; ++j) gb0[j] += delta[j];
    SparseOuter(g0, delta, l0.out, x);
    if (track_rows) {
      for (uint32_t k : x.index) {
        if (!m_touched[k]) {
          m_touched[k] = 1;
          m_touched_rows[m_num_touched++] = k;
        }
      }
    }
  }
  return loss_sum;
}

float Trainer::Gradient(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                        std::span<float> grad) {
  if (grad.size() != model.num_params() || !Compatible(model, data, indices.size())) return NaN();
  std::fill(grad.begin(), grad.end(), 0.0f);
  if (indices.empty()) return 0.0f;
  const float scale = 1.0f / static_cast<float>(indices.size());
  const double loss = Accumulate(model, data, indices, scale, grad.data(), false);
  return static_cast<float>(loss / static_cast<double>(indices.size()));
}

float Trainer::Step(Mlp& model, const Dataset& data, std::span<const uint32_t> indices) {
  if (!Compatible(model, data, indices.size())) return NaN();
  if (indices.empty()) return 0.0f;
  const float scale = 1.0f / static_cast<float>(indices.size());
  const double loss = Accumulate(model, data, indices, scale, m_grad.data(), true);

  // Update every parameter: g' = g + wd*w; v = mu*v + g'; w -= lr*v (PyTorch's order of
  // operations). m_grad is left all-zero for the next step. First-layer rows no sample in
  // the batch touched have g == 0 exactly, so they skip reading and clearing the gradient
  // but still decay/move by their momentum, as in the dense formulation.
  const float lr = m_options.learning_rate;
  const float mu = m_options.momentum;
  const float wd = m_options.weight_decay;
  float* __restrict w = model.params().data();
  float* __restrict v = m_momentum.data();
  float* __restrict g = m_grad.data();
  const uint32_t in0 = m_sizes[0];
  const uint32_t out0 = m_sizes[1];
  for (uint32_t k = 0; k < in0; ++k) {
    const size_t base = size_t{k} * out0;
    if (m_touched[k]) {
      for (size_t j = base; j < base + out0; ++j) {
        const float gj = g[j] + wd * w[j];
        g[j] = 0.0f;
        v[j] = mu * v[j] + gj;
        w[j] -= lr * v[j];
      }
    } else {
      for (size_t j = base; j < base + out0; ++j) {
        v[j] = mu * v[j] + wd * w[j];
        w[j] -= lr * v[j];
      }
    }
  }
  for (size_t j = size_t{in0} * out0; j < m_grad.size(); ++j) {
    const float gj = g[j] + wd * w[j];
    g[j] = 0.0f;
    v[j] = mu * v[j] + gj;
    w[j] -= lr * v[j];
  }
  for (size_t t = 0; t < m_num_touched; ++t) m_touched[m_touched_rows[t]] = 0;
  m_num_touched = 0;
  ++m_steps;
  return static_cast<float>(loss / static_cast<double>(indices.size()));
}

EvalResult Evaluate(const Mlp& model, const Dataset& data) {
  EvalResult r;
  const uint32_t classes = model.num_classes();
  r.confusion.assign(size_t{classes} * classes, 0);
  if (!DataFits(model, data)) return r;
  const uint32_t width = MaxWidth(model.layer_sizes());
  std::vector<float> buf(2 * size_t{width});
  size_t correct = 0;
  double loss = 0.0;
  for (size_t i = 0; i < data.size(); ++i) {
    float* z = ForwardLogits(model, data.sample(i), buf.data(), buf.data() + width);
    const uint32_t label = data.label(i);
    const uint32_t pred = ArgMax(z, classes);
    loss += SoftmaxCrossEntropy(z, classes, label);
    correct += pred == label;
    ++r.confusion[size_t{label} * classes + pred];
  }
  r.samples = data.size();
  if (r.samples > 0) {
    r.accuracy = static_cast<double>(correct) / static_cast<double>(r.samples);
    r.mean_loss = loss / static_cast<double>(r.samples);
  }
  return r;
}

uint32_t Predict(const Mlp& model, const SampleView& x, std::span<float> probs) {
  const uint32_t classes = model.num_classes();
  const uint32_t width = MaxWidth(model.layer_sizes());
  float stack_buf[2 * kPredictStackWidth];
  std::vector<float> heap_buf;
  float* buf = stack_buf;
  if (width > kPredictStackWidth) {
    heap_buf.resize(2 * size_t{width});
    buf = heap_buf.data();
  }
  float* z = ForwardLogits(model, x, buf, buf + width);
  const uint32_t pred = ArgMax(z, classes);
  if (probs.size() == classes) {
    (void)SoftmaxCrossEntropy(z, classes, 0);
    std::copy_n(z, classes, probs.begin());
  }
  return pred;
}

void PredictBatch(const Mlp& model, const Dataset& data, std::span<uint32_t> out) {
  const uint32_t width = MaxWidth(model.layer_sizes());
  std::vector<float> buf(2 * size_t{width});
  const size_t n = std::min(out.size(), data.size());
  for (size_t i = 0; i < n; ++i) {
    float* z = ForwardLogits(model, data.sample(i), buf.data(), buf.data() + width);
    out[i] = ArgMax(z, model.num_classes());
  }
}

}  // namespace dust
