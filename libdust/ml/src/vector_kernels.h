// The fast kernels' bodies: templates over a GCC vector type V of kLanes floats, which
// kernels.cpp compiles once per instruction-set variant (kernels.h). Included by kernels.cpp
// only. The plain formulation they must agree with, exactly: reference_mlp.h.
//
// Shape conventions: W_l is [in][out] (row k = the weights leaving input k), b_l is [out].
// Training (AccumulateLoop) runs each sample forward and backward down to the first layer's
// delta at once (its activations stay in L1), keeping one activation buffer per layer
// ([sizes[l+1]]) and two ping-pong delta buffers ([max width]); the weights do not change
// inside a batch. The first layer's weight gradient is then formed per batch, row by row, from
// the non-zero inputs the forward passes filed by feature and the kept deltas, and in Step
// applied to the row at once (docs/model.md, "Training step").
#pragma once

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/model.h"
#include "kernels.h"
#include "output_layer.h"

namespace dust::internal::simd {

// Column tile of the sparse first layer: 32 floats stay in vector registers (8 SSE or 4 AVX)
// while the sample's non-zero features are walked once per tile.
inline constexpr uint32_t kTile = 32;

// Each variant instantiates these templates with its vector type: V4 below (16 bytes, the
// baseline every package must run on: SSE2 on x86-64) or a wider one inside a function built
// for that instruction set (target attribute; kernels.cpp). A 32-wide row is 8 V4 or 4 V8
// registers. All variants do the same operations in the same order per lane, so they give the
// same results up to the order of none: no FMA is used, and no reduction spans lanes. Loads and
// stores go through memcpy (unaligned, no aliasing UB). These helpers are internal and always
// inlined into their caller, so the ABI note g++ gives for passing a 32-byte vector without AVX
// (-Wpsabi) does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float V4 __attribute__((vector_size(16)));
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

// The samples of a shuffled batch are scattered over the dataset, mostly out of cache: the
// training loop fetches the indices and values of the sample kPrefetchAhead places on.
inline constexpr size_t kPrefetchAhead = 4;

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
inline constexpr int kLanesOf = sizeof(V) / sizeof(float);

// First-layer backward over a chunk for the columns [c0, c0 + kRegs * lanes): row k of the
// weight gradient is the sum over input k's filed (s, x), s ascending, of x * delta[s][:],
// continuing the partial sum of earlier chunks kept in g0 unless `first`. Unless `last`, the
// partial sum goes back to g0; on the last chunk the finished row is written to g0 (sgd null)
// or applied by SGD with momentum right away (so for a one-chunk batch g0 is never touched).
// V = float with kRegs = 1 handles the columns that do not fill a tile.
template <typename V, int kRegs>
DUST_INLINE void FeatureBackward(uint32_t in, uint32_t out, uint32_t c0, const FeatureSlots& slots,
                                 const float* delta, bool first, bool last, float* g0,
                                 const FirstLayerSgd* sgd) {
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
                                  const BatchBuffers& buf, float* grad, const FirstLayerSgd* sgd) {
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

// Inference over samples [0, min(out.size(), data.size())): the arg-max class into out[i] and,
// if probs is not null, the softmax probabilities into probs[i * classes ...]. buf: 2 * width
// floats.
template <typename V>
DUST_INLINE void PredictLoop(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                             std::span<uint32_t> out, float* probs) {
  const size_t n = std::min(out.size(), data.size());
  const uint32_t classes = model.num_classes();
  for (size_t i = 0; i < n; ++i) {
    float* z = ForwardLogits<V>(model, data.sample(i), buf, buf + width);
    out[i] = ArgMax(z, classes);
    if (probs != nullptr) {
      (void)SoftmaxCrossEntropy(z, classes, 0);
      std::copy_n(z, classes, probs + i * classes);
    }
  }
}

}  // namespace dust::internal::simd
