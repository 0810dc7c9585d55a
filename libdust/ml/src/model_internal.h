// Internals of model.cpp exposed for the unit tests: the batch gradient kernel with an explicit
// instruction-set choice and explicit buffers, so both compiled variants, and batches split
// into several chunks, can be checked against each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dust/ml/dataset.h"
#include "dust/ml/model.h"

namespace dust::internal {

// The kernel variants model.cpp carries: SSE2 (x86-64 baseline, always available) and AVX2
// (used when the CPU has it). Both perform the same float operations in the same order (no
// FMA), so they produce bit-identical results; AVX2 only does more lanes per instruction.
enum class Isa : uint8_t { kSse2 = 0, kAvx2 = 1 };

// The best variant this CPU runs.
Isa DetectIsa();

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

}  // namespace dust::internal
