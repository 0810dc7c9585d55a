// MLP forward/backward, SGD with momentum, evaluation and inference (see model.h).
//
// Shape conventions: W_l is [in][out] (row k = the weights leaving input k), b_l is [out].
// Training (AccumulateLoop) runs each sample forward and backward down to the first layer's
// delta at once (its activations stay in L1), keeping one activation buffer per layer
// ([sizes[l+1]]) and two ping-pong delta buffers ([max width]); the weights do not change
// inside a batch. The first layer's weight gradient is then formed per batch, row by row, from
// the non-zero inputs the forward passes filed by feature and the kept deltas, and in Step
// applied to the row at once (docs/model.md, "Training step").
#include "dust/ml/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/rng.h"
#include "model_internal.h"

namespace dust {
namespace {

constexpr uint32_t kPredictStackWidth = 1024;
// Column tile of the sparse first layer: 32 floats stay in vector registers (8 SSE or 4 AVX)
// while the sample's non-zero features are walked once per tile.
constexpr uint32_t kTile = 32;

float NaN() { return std::numeric_limits<float>::quiet_NaN(); }

// The hot kernels are templates over a GCC vector type V of kLanes floats and are compiled
// twice: with V4 (SSE2, the x86-64 baseline every package must run on) and with V8 inside a
// function built for AVX2 (target attribute), chosen at run time by the CPU (DetectIsa). A
// 32-wide row is 8 V4 or 4 V8 registers. Both variants do the same operations in the same
// order per lane, so they give the same results up to the order of none: no FMA is used, and
// no reduction spans lanes. Loads and stores go through memcpy (unaligned, no aliasing UB).
// These helpers are internal and always inlined into their caller, so the ABI note g++ gives
// for passing a 32-byte vector without AVX (-Wpsabi) does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float V4 __attribute__((vector_size(16)));
typedef float V8 __attribute__((vector_size(32)));
#define DUST_INLINE [[gnu::always_inline]] inline

template <typename V>
DUST_INLINE V LoadV(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
DUST_INLINE void StoreV(float* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// Where the training forward pass files each non-zero input for the first layer's backward
// pass over the chunk: input k's (chunk-local sample, value) pairs are sample[k * stride + c],
// value[k * stride + c] for c < count[k], in the order they were filed (samples ascending).
struct FeatureSlots {
  uint32_t* count;  // [in]
  uint16_t* sample;
  float* value;
  size_t stride;  // the chunk's maximum number of samples
};

DUST_INLINE void File(const FeatureSlots& slots, uint32_t k, uint16_t s, float x) {
  const size_t q = size_t{k} * slots.stride + slots.count[k]++;
  slots.sample[q] = s;
  slots.value[q] = x;
}

// h [32] = b [32] + sum_n val[n] * W[idx[n]][c0 : c0 + 32], W rows `stride` floats apart.
// kFile: also file each (idx[n], s, val[n]) into `slots` (free here: the loop waits on the
// additions into acc).
template <typename V, bool kFile>
DUST_INLINE void SparseAffine32(const float* w, size_t stride, const float* b, const uint32_t* idx,
                                const float* val, size_t nnz, float* h, const FeatureSlots* slots,
                                uint16_t s) {
  constexpr int kLanes = sizeof(V) / sizeof(float);
  constexpr int kRegs = kTile / kLanes;
  V acc[kRegs];
  for (int r = 0; r < kRegs; ++r) acc[r] = LoadV<V>(b + r * kLanes);
  for (size_t n = 0; n < nnz; ++n) {
    const float x = val[n];
    const float* row = w + size_t{idx[n]} * stride;
    for (int r = 0; r < kRegs; ++r) acc[r] += x * LoadV<V>(row + r * kLanes);
    if constexpr (kFile) File(*slots, idx[n], s, x);
  }
  for (int r = 0; r < kRegs; ++r) StoreV(h + r * kLanes, acc[r]);
}

// h [out] = b + sum_n val[n] * W[idx[n]][:]; with slots (training), files x's non-zeros as
// sample s of the chunk.
template <typename V>
DUST_INLINE void SparseAffine(const float* __restrict w, const float* __restrict b, uint32_t out,
                              const SampleView& x, float* __restrict h,
                              const FeatureSlots* slots = nullptr, uint16_t s = 0) {
  const uint32_t* idx = x.index.data();
  const float* val = x.value.data();
  const size_t nnz = x.index.size();
  const uint32_t tiled = out - out % kTile;
  for (uint32_t c0 = 0; c0 < tiled; c0 += kTile) {
    if (slots != nullptr && c0 == 0) {
      SparseAffine32<V, true>(w, out, b, idx, val, nnz, h, slots, s);
    } else {
      SparseAffine32<V, false>(w + c0, out, b + c0, idx, val, nnz, h + c0, nullptr, 0);
    }
  }
  if (slots != nullptr && tiled == 0) {
    for (size_t n = 0; n < nnz; ++n) File(*slots, idx[n], s, val[n]);
  }
  if (tiled == out) return;
  for (uint32_t j = tiled; j < out; ++j) h[j] = b[j];
  for (size_t n = 0; n < nnz; ++n) {
    const float v = val[n];
    const float* row = w + size_t{idx[n]} * out;
    for (uint32_t j = tiled; j < out; ++j) h[j] += v * row[j];
  }
}

// y [out] = b + a [in] . W [in][out]; zero inputs (ReLU outputs, ~half) are skipped, which
// is exact: they contribute 0 * W.
DUST_INLINE void DenseAffine(const float* __restrict w, const float* __restrict b, uint32_t in,
                             uint32_t out, const float* __restrict a, float* __restrict y) {
  for (uint32_t j = 0; j < out; ++j) y[j] = b[j];
  for (uint32_t i = 0; i < in; ++i) {
    const float ai = a[i];
    if (ai == 0.0f) continue;
    const float* row = w + size_t{i} * out;
    for (uint32_t j = 0; j < out; ++j) y[j] += ai * row[j];
  }
}

DUST_INLINE void Relu(float* a, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) a[i] = a[i] > 0.0f ? a[i] : 0.0f;
}

// Backward through a dense layer whose input `a` [in] is a ReLU output:
//   gW [in][out] += a (x) d;  gb [out] += d;  d_prev [in] = (W d) * (a > 0)
// (PyTorch's ReLU passes no gradient where its output is exactly zero.)
DUST_INLINE void DenseBackward(const float* __restrict w, uint32_t in, uint32_t out,
                               const float* __restrict a, const float* __restrict d,
                               float* __restrict gw, float* __restrict gb,
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
DUST_INLINE float SoftmaxCrossEntropy(float* z, uint32_t n, uint32_t label) {
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

DUST_INLINE uint32_t ArgMax(const float* z, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t j = 1; j < n; ++j) {
    if (z[j] > z[best]) best = j;
  }
  return best;
}

// Forward pass of one sample through `model` using two buffers of the widest layer's size;
// returns the buffer holding the logits.
template <typename V>
DUST_INLINE float* ForwardLogits(const Mlp& model, const SampleView& x, float* buf_a,
                                 float* buf_b) {
  const size_t layers = model.num_layers();
  ConstLayerView l0 = model.layer(0);
  SparseAffine<V>(l0.weight, l0.bias, l0.out, x, buf_a);
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

// The samples of a shuffled batch are scattered over the dataset, mostly out of cache: the
// training loop fetches the indices and values of the sample kPrefetchAhead places on.
constexpr size_t kPrefetchAhead = 4;

DUST_INLINE void PrefetchSample(const SampleView& x) {
  const char* idx = reinterpret_cast<const char*>(x.index.data());
  const char* val = reinterpret_cast<const char*>(x.value.data());
  const size_t bytes = x.index.size() * sizeof(uint32_t);
  for (size_t b = 0; b < bytes; b += 64) {
    __builtin_prefetch(idx + b);
    __builtin_prefetch(val + b);
  }
}

template <typename V>
constexpr int kLanesOf = sizeof(V) / sizeof(float);

// First-layer backward over a chunk for the columns [c0, c0 + kRegs * lanes): row k of the
// weight gradient is the sum over input k's filed (s, x), s ascending, of x * delta[s][:],
// continuing the partial sum of earlier chunks kept in g0 unless `first`. Unless `last`, the
// partial sum goes back to g0; on the last chunk the finished row is written to g0 (sgd null)
// or applied by SGD with momentum right away (so for a one-chunk batch g0 is never touched).
// V = float with kRegs = 1 handles the columns that do not fill a tile.
template <typename V, int kRegs>
DUST_INLINE void FeatureBackward(uint32_t in, uint32_t out, uint32_t c0, const FeatureSlots& slots,
                                 const float* delta, bool first, bool last, float* g0,
                                 const internal::FirstLayerSgd* sgd) {
  constexpr int kLanes = kLanesOf<V>;
  const float lr = sgd ? sgd->learning_rate : 0.0f;
  const float mu = sgd ? sgd->momentum : 0.0f;
  const float wd = sgd ? sgd->weight_decay : 0.0f;
  for (uint32_t k = 0; k < in; ++k) {
    const uint32_t n = slots.count[k];
    const uint16_t* sample = slots.sample + size_t{k} * slots.stride;
    const float* value = slots.value + size_t{k} * slots.stride;
    const size_t off = size_t{k} * out + c0;
    float* grow = g0 + off;
    V acc[kRegs];
    if (n == 0) {  // no sample of this chunk uses input k
      if (!last) {
        if (first) {
          for (int r = 0; r < kRegs; ++r) StoreV(grow + r * kLanes, V{});
        }
        continue;
      }
      if (first) {  // nor of the whole batch: gradient exactly 0
        if (sgd == nullptr) {
          for (int r = 0; r < kRegs; ++r) StoreV(grow + r * kLanes, V{});
          continue;
        }
        float* w = sgd->weight + off;
        float* v = sgd->momentum_buffer + off;
        for (int r = 0; r < kRegs; ++r) {
          const V wr = LoadV<V>(w + r * kLanes);
          const V vr = mu * LoadV<V>(v + r * kLanes) + wd * wr;
          StoreV(v + r * kLanes, vr);
          StoreV(w + r * kLanes, wr - lr * vr);
        }
        continue;
      }
      if (sgd == nullptr) continue;  // g0 already holds the finished row
    }
    for (int r = 0; r < kRegs; ++r) acc[r] = first ? V{} : LoadV<V>(grow + r * kLanes);
    for (uint32_t c = 0; c < n; ++c) {
      const float x = value[c];
      const float* d = delta + size_t{sample[c]} * out + c0;
      for (int r = 0; r < kRegs; ++r) acc[r] += x * LoadV<V>(d + r * kLanes);
    }
    if (!last || sgd == nullptr) {
      for (int r = 0; r < kRegs; ++r) StoreV(grow + r * kLanes, acc[r]);
      continue;
    }
    float* w = sgd->weight + off;
    float* v = sgd->momentum_buffer + off;
    for (int r = 0; r < kRegs; ++r) {
      const V wr = LoadV<V>(w + r * kLanes);
      const V gr = acc[r] + wd * wr;
      const V vr = mu * LoadV<V>(v + r * kLanes) + gr;
      StoreV(v + r * kLanes, vr);
      StoreV(w + r * kLanes, wr - lr * vr);
    }
  }
}

// The batch gradient (see AccumulateBatch in model_internal.h), chunk by chunk. Per sample:
// forward (the first layer files the sample's non-zero inputs by feature on the way), softmax
// cross-entropy, backward down to the first layer's delta, kept for the chunk. Then the first
// layer's weight gradient for the whole chunk, row by row (FeatureBackward): each row is read,
// summed and (last chunk of a Step) updated once, instead of once per sample that uses it.
template <typename V>
DUST_INLINE double AccumulateLoop(const Mlp& model, const Dataset& data,
                                  std::span<const uint32_t> indices, float scale,
                                  const internal::BatchBuffers& buf, float* grad,
                                  const internal::FirstLayerSgd* sgd) {
  constexpr int kRegs = static_cast<int>(kTile) / kLanesOf<V>;
  const std::vector<uint32_t>& sizes = model.layer_sizes();
  const size_t layers = model.num_layers();
  const uint32_t classes = model.num_classes();
  const uint32_t width = MaxWidth(sizes);
  const ConstLayerView l0 = model.layer(0);
  const uint32_t in0 = l0.in;
  const uint32_t out0 = l0.out;
  const uint32_t tiled = out0 - out0 % kTile;
  // Scratch: act_1 .. act_L [sizes[l]] (act_L = logits, then probabilities), then two delta
  // buffers [width].
  float* act[kMaxLayers + 1];
  float* p = buf.scratch;
  for (size_t l = 1; l <= layers; ++l) {
    act[l] = p;
    p += sizes[l];
  }
  float* const delta_a = p;
  float* const delta_b = p + width;
  float* g0 = grad;  // layer 0's weight gradient [in][out] is the start of grad
  float* gb0 = grad + size_t{in0} * out0;
  const FeatureSlots slots{.count = buf.feature_count,
                           .sample = buf.feature_sample,
                           .value = buf.feature_value,
                           .stride = buf.max_chunk};

  double loss_sum = 0.0;
  for (size_t pos = 0; pos < indices.size(); pos += buf.max_chunk) {
    const size_t chunk = std::min<size_t>(buf.max_chunk, indices.size() - pos);
    const std::span<const uint32_t> samples = indices.subspan(pos, chunk);
    const bool first = pos == 0;
    const bool last = pos + chunk == indices.size();
    std::fill(slots.count, slots.count + in0, 0u);
    for (size_t s = 0; s < std::min(chunk, kPrefetchAhead); ++s) {
      PrefetchSample(data.sample(samples[s]));
    }
    for (size_t s = 0; s < chunk; ++s) {
      if (s + kPrefetchAhead < chunk) PrefetchSample(data.sample(samples[s + kPrefetchAhead]));
      const uint32_t i = samples[s];
      const uint32_t label = data.label(i);
      // Forward.
      SparseAffine<V>(l0.weight, l0.bias, out0, data.sample(i), act[1], &slots,
                      static_cast<uint16_t>(s));
      for (size_t l = 1; l < layers; ++l) {
        const ConstLayerView lv = model.layer(l);
        Relu(act[l], lv.in);
        DenseAffine(lv.weight, lv.bias, lv.in, lv.out, act[l], act[l + 1]);
      }
      float* probs = act[layers];
      loss_sum += SoftmaxCrossEntropy(probs, classes, label);
      // d (loss_s * scale) / d logits = (p - onehot(label)) * scale.
      float* delta = delta_a;
      float* delta_prev = delta_b;
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
      for (uint32_t j = 0; j < out0; ++j) gb0[j] += delta[j];
      std::memcpy(buf.delta + s * out0, delta, sizeof(float) * out0);
    }
    // First layer's weights, for the whole chunk.
    for (uint32_t c0 = 0; c0 < tiled; c0 += kTile) {
      FeatureBackward<V, kRegs>(in0, out0, c0, slots, buf.delta, first, last, g0, sgd);
    }
    for (uint32_t c0 = tiled; c0 < out0; ++c0) {
      FeatureBackward<float, 1>(in0, out0, c0, slots, buf.delta, first, last, g0, sgd);
    }
  }
  return loss_sum;
}

// Evaluation over samples [0, data.size()): accumulates into r's confusion matrix and returns
// (correct, summed loss). buf: 2 * width floats.
template <typename V>
DUST_INLINE void EvaluateLoop(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                              EvalResult* r, size_t* correct, double* loss) {
  const uint32_t classes = model.num_classes();
  for (size_t i = 0; i < data.size(); ++i) {
    float* z = ForwardLogits<V>(model, data.sample(i), buf, buf + width);
    const uint32_t label = data.label(i);
    const uint32_t pred = ArgMax(z, classes);
    *loss += SoftmaxCrossEntropy(z, classes, label);
    *correct += pred == label;
    ++r->confusion[size_t{label} * classes + pred];
  }
}

template <typename V>
DUST_INLINE void PredictLoop(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                             std::span<uint32_t> out) {
  const size_t n = std::min(out.size(), data.size());
  for (size_t i = 0; i < n; ++i) {
    float* z = ForwardLogits<V>(model, data.sample(i), buf, buf + width);
    out[i] = ArgMax(z, model.num_classes());
  }
}

// The two compiled variants of each loop. Only the AVX2 ones carry a target attribute; the
// always-inline kernels take on their caller's instruction set.
#define DUST_AVX2 __attribute__((target("avx2")))

double AccumulateSse2(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                      float scale, const internal::BatchBuffers& buf, float* grad,
                      const internal::FirstLayerSgd* sgd) {
  return AccumulateLoop<V4>(model, data, indices, scale, buf, grad, sgd);
}
DUST_AVX2 double AccumulateAvx2(const Mlp& model, const Dataset& data,
                                std::span<const uint32_t> indices, float scale,
                                const internal::BatchBuffers& buf, float* grad,
                                const internal::FirstLayerSgd* sgd) {
  return AccumulateLoop<V8>(model, data, indices, scale, buf, grad, sgd);
}
void EvaluateSse2(const Mlp& model, const Dataset& data, float* buf, uint32_t width, EvalResult* r,
                  size_t* correct, double* loss) {
  EvaluateLoop<V4>(model, data, buf, width, r, correct, loss);
}
DUST_AVX2 void EvaluateAvx2(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                            EvalResult* r, size_t* correct, double* loss) {
  EvaluateLoop<V8>(model, data, buf, width, r, correct, loss);
}
void PredictSse2(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                 std::span<uint32_t> out) {
  PredictLoop<V4>(model, data, buf, width, out);
}
DUST_AVX2 void PredictAvx2(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                           std::span<uint32_t> out) {
  PredictLoop<V8>(model, data, buf, width, out);
}

}  // namespace

namespace internal {

Isa DetectIsa() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? Isa::kAvx2 : Isa::kSse2;
}

BufferPlan PlanBuffers(std::span<const uint32_t> layer_sizes, uint32_t batch_size,
                       size_t max_entries) {
  BufferPlan plan;
  const uint32_t in0 = layer_sizes[0];
  const uint32_t out0 = layer_sizes[1];
  plan.max_chunk = static_cast<uint32_t>(std::max<size_t>(
      1,
      std::min<size_t>({batch_size, kMaxChunkSamples, max_entries / in0, kMaxChunkHidden / out0})));
  plan.entries = size_t{plan.max_chunk} * in0;
  plan.delta = size_t{plan.max_chunk} * out0;
  plan.scratch = 2 * size_t{*std::max_element(layer_sizes.begin() + 1, layer_sizes.end())};
  for (size_t l = 1; l < layer_sizes.size(); ++l) plan.scratch += layer_sizes[l];
  return plan;
}

double AccumulateBatch(Isa isa, const Mlp& model, const Dataset& data,
                       std::span<const uint32_t> indices, float scale, const BatchBuffers& buffers,
                       float* grad, const FirstLayerSgd* sgd) {
  return isa == Isa::kAvx2 ? AccumulateAvx2(model, data, indices, scale, buffers, grad, sgd)
                           : AccumulateSse2(model, data, indices, scale, buffers, grad, sgd);
}

}  // namespace internal

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
      m_grad(model.num_params(), 0.0f) {
  const internal::BufferPlan plan = internal::PlanBuffers(m_sizes, m_options.batch_size);
  m_max_chunk = plan.max_chunk;
  m_feature_count.assign(m_sizes[0], 0);
  m_feature_sample.assign(plan.entries, 0);
  m_feature_value.assign(plan.entries, 0.0f);
  m_delta.assign(plan.delta, 0.0f);
  m_scratch.assign(plan.scratch, 0.0f);
}

bool Trainer::Compatible(const Mlp& model, const Dataset& data, size_t batch) const {
  return model.layer_sizes() == m_sizes && DataFits(model, data) && batch <= m_options.batch_size;
}

namespace {

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

float Trainer::Gradient(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                        std::span<float> grad) {
  if (grad.size() != model.num_params() || !Compatible(model, data, indices.size())) return NaN();
  std::fill(grad.begin(), grad.end(), 0.0f);
  if (indices.empty()) return 0.0f;
  const float scale = 1.0f / static_cast<float>(indices.size());
  const internal::BatchBuffers buf = MakeBuffers(m_max_chunk, m_feature_count, m_feature_sample,
                                                 m_feature_value, m_delta, m_scratch);
  const double loss = internal::AccumulateBatch(internal::DetectIsa(), model, data, indices, scale,
                                                buf, grad.data(), nullptr);
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
  const double loss = internal::AccumulateBatch(internal::DetectIsa(), model, data, indices, scale,
                                                buf, m_grad.data(), &sgd);

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

EvalResult Evaluate(const Mlp& model, const Dataset& data) {
  EvalResult r;
  const uint32_t classes = model.num_classes();
  r.confusion.assign(size_t{classes} * classes, 0);
  if (!DataFits(model, data)) return r;
  const uint32_t width = MaxWidth(model.layer_sizes());
  std::vector<float> buf(2 * size_t{width});
  size_t correct = 0;
  double loss = 0.0;
  if (internal::DetectIsa() == internal::Isa::kAvx2) {
    EvaluateAvx2(model, data, buf.data(), width, &r, &correct, &loss);
  } else {
    EvaluateSse2(model, data, buf.data(), width, &r, &correct, &loss);
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
  float* z = ForwardLogits<V4>(model, x, buf, buf + width);
  const uint32_t pred = ArgMax(z, classes);
  if (probs.size() == classes) {
    (void)SoftmaxCrossEntropy(z, classes, 0);
    std::copy_n(z, classes, probs.begin());
  }
  return pred;
}

void PredictBatch(const Mlp& model, const Dataset& data, std::span<uint32_t> out) {
  if (!DataFits(model, data)) return;
  const uint32_t width = MaxWidth(model.layer_sizes());
  std::vector<float> buf(2 * size_t{width});
  if (internal::DetectIsa() == internal::Isa::kAvx2) {
    PredictAvx2(model, data, buf.data(), width, out);
  } else {
    PredictSse2(model, data, buf.data(), width, out);
  }
}

}  // namespace dust
