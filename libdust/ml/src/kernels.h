// The fast kernels' interface, private to the ml layer: the batch gradient (with the first
// layer's SGD update fused in), evaluation and inference over a Dataset, each compiled once per
// instruction-set variant (kernels.cpp) and chosen by an explicit Isa, so the unit tests can
// check the variants, and batches split into several chunks, against each other and against the
// plain reference (reference_mlp.h). The maths they implement: model.h and docs/model.md.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/model.h"

namespace dust::internal {

// The compiled variants of the kernels. All perform the same float operations in the same
// order (no FMA, no reduction across lanes), so they produce bit-identical results; a wider one
// only does more lanes per instruction.
enum class Isa : uint8_t {
  // 16-byte vectors compiled for the architecture's baseline (SSE2 on x86-64): every build
  // has it, whatever the CPU.
  kGeneric = 0,
  // 32-byte vectors in functions built for AVX2: x86-64 only (elsewhere DetectIsa never
  // returns it, and asking for it runs kGeneric).
  kAvx2 = 1,
};

// The best variant this CPU runs.
Isa DetectIsa();

// The widest layer after the input (the kernels' activation buffers are this wide).
inline uint32_t MaxWidth(const std::vector<uint32_t>& sizes) {
  return *std::max_element(sizes.begin() + 1, sizes.end());
}

// The dataset's samples must fit the model: same width (feature indices stay in bounds) and
// labels below the number of outputs. Every kernel assumes it.
inline bool DataFits(const Mlp& model, const Dataset& data) {
  return data.num_features() == model.input_size() && data.num_classes() <= model.num_classes();
}

// A batch is processed in chunks of at most max_chunk samples (one chunk unless the batch is
// large). Per chunk, the forward pass files every non-zero input x_sk of sample s under its
// feature k (a fixed slot of max_chunk entries per feature, samples ascending), and keeps each
// sample's first-layer delta; the first layer's weight gradient is then summed row by row.
//
// Caps on a chunk: samples (numbered within the chunk as uint16), entries (max_chunk x inputs,
// 6 bytes each: at most 768 KiB, so a daemon configured with a large batch does not allocate
// batch x inputs entries) and first-layer deltas (max_chunk x first-layer width floats).
inline constexpr uint32_t kMaxChunkSamples = 256;
inline constexpr size_t kMaxChunkEntries = size_t{1} << 17;
inline constexpr size_t kMaxChunkHidden = size_t{1} << 16;

struct BufferPlan {
  uint32_t max_chunk = 1;  // samples per chunk, >= 1
  size_t entries = 0;      // max_chunk * layer_sizes[0]
  size_t delta = 0;        // floats: max_chunk * layer_sizes[1]
  size_t scratch = 0;      // floats of one sample's activations and deltas
};

// Buffer sizes for a trainer of this architecture and batch size; max_entries caps
// max_chunk * layer_sizes[0] (tests pass a small value to force many chunks).
BufferPlan PlanBuffers(std::span<const uint32_t> layer_sizes, uint32_t batch_size,
                       size_t max_entries = kMaxChunkEntries);

// Caller-owned storage sized by a BufferPlan. Contents are scratch: nothing is kept between
// calls.
struct BatchBuffers {
  uint32_t max_chunk = 1;
  uint32_t* feature_count = nullptr;   // [layer_sizes[0]]
  uint16_t* feature_sample = nullptr;  // [entries]
  float* feature_value = nullptr;      // [entries]
  float* delta = nullptr;              // [delta]
  float* scratch = nullptr;            // [scratch]
};

// The SGD-with-momentum update (model.h) applied to the first layer's weights as soon as
// each row's gradient is complete. weight and momentum point at the first layer's W [in][out]
// in the model's parameters and in the momentum buffer.
struct FirstLayerSgd {
  float learning_rate = 0;
  float momentum = 0;
  float weight_decay = 0;
  float* weight = nullptr;
  float* momentum_buffer = nullptr;
};

// Gradient of scale * sum over `indices` of the samples' cross-entropy; returns that sum
// (unscaled). grad has model.num_params() floats in the parameter layout:
// - every parameter after the first layer's weights (its bias, all later layers) has its
//   gradient ADDED to grad;
// - for the first layer's weights, if sgd is null, grad receives the gradient (overwritten,
//   every row, zero rows included). If sgd is set, each row k is updated in place instead
//   (g' = g + wd*w, v = mu*v + g', w -= lr*v, the same float operations as Trainer::Step;
//   a row no sample uses gets v = mu*v + wd*w) and that part of grad is scratch (used only
//   when the batch needs more than one chunk).
// The first-layer gradient rows are summed over samples in batch order whatever the chunking,
// so results do not depend on it (up to the sign of a zero). The caller has checked that the
// data fits the model and buffers match PlanBuffers for its sizes.
double AccumulateBatch(Isa isa, const Mlp& model, const Dataset& data,
                       std::span<const uint32_t> indices, float scale, const BatchBuffers& buffers,
                       float* grad, const FirstLayerSgd* sgd);

// Evaluation over every sample of `data` (which fits the model): adds each sample into
// r->confusion ([true class][predicted class], num_classes^2), the number predicted right into
// *correct and its cross-entropy into *loss. buf: 2 * width floats, width = MaxWidth.
void EvaluateSamples(Isa isa, const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                     EvalResult* r, size_t* correct, double* loss);

// The predicted class of the first n = min(out.size(), data.size()) samples of `data` (which
// fits the model) into `out` and, if `probs` is not null, their softmax probabilities into
// probs [n][num_classes]. buf: 2 * width floats, width = MaxWidth.
void PredictSamples(Isa isa, const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                    std::span<uint32_t> out, float* probs = nullptr);

// Forward pass of one sample (of the model's width) through the kGeneric variant, without
// dispatch (every variant gives the same logits), in two buffers of MaxWidth floats each;
// returns the one holding the logits. Predict's kernel.
float* ForwardLogits(const Mlp& model, const SampleView& x, float* buf_a, float* buf_b);

}  // namespace dust::internal
