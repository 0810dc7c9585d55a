// Internals of model.cpp exposed for the unit tests: the batch gradient kernel with an explicit
// instruction-set choice, so both compiled variants can be checked against each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dust/dataset.h"
#include "dust/model.h"

namespace dust::internal {

// The kernel variants model.cpp carries: SSE2 (x86-64 baseline, always available) and AVX2
// (used when the CPU has it). Both perform the same float operations in the same order (no
// FMA), so they produce bit-identical results; AVX2 only does more lanes per instruction.
enum class Isa : uint8_t { kSse2 = 0, kAvx2 = 1 };

// The best variant this CPU runs.
Isa DetectIsa();

// Floats of per-sample scratch AccumulateBatch needs for these layer sizes.
size_t AccumulateScratchSize(std::span<const uint32_t> layer_sizes);

// Adds to grad (model.num_params() floats, parameter layout) the gradient of
// scale * sum over `indices` of the samples' cross-entropy, and returns that sum (unscaled).
// scratch: AccumulateScratchSize floats. If touched is not null (model.input_size() bytes),
// touched[k] is set to 1 for every first-layer row k a sample uses (input k non-zero); other
// entries are left as they were. The caller has checked that data fits the model.
double AccumulateBatch(Isa isa, const Mlp& model, const Dataset& data,
                       std::span<const uint32_t> indices, float scale, float* grad, float* scratch,
                       uint8_t* touched);

}  // namespace dust::internal
