// The fast kernels' entry points (kernels.h): the buffer plan, the compiled variants of the
// kernel loops (vector_kernels.h) and the CPU dispatch between them. This file is the one place
// that knows which variants an architecture has: the generic variant every architecture
// compiles, then per architecture (one #if block) its wider variants and how to ask the CPU
// which of them it runs.
#include "kernels.h"

#include <algorithm>

#include "vector_kernels.h"

namespace dust::internal {
namespace {

// The kernel loops of one variant. Each entry is a separate function, not inlined into the
// dispatch: it carries its variant's instruction set (target attribute), and the always-inline
// kernels take on their caller's.
struct Variant {
  double (*accumulate)(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                       float scale, const BatchBuffers& buf, float* grad, const FirstLayerSgd* sgd);
  void (*evaluate)(const Mlp& model, const Dataset& data, float* buf, uint32_t width, EvalResult* r,
                   size_t* correct, double* loss);
  void (*predict)(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                  std::span<uint32_t> out, float* probs);
};

// The generic variant: 16-byte vectors for the architecture's baseline (SSE2 on x86-64).
double AccumulateGeneric(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                         float scale, const BatchBuffers& buf, float* grad,
                         const FirstLayerSgd* sgd) {
  return simd::AccumulateLoop<simd::V4>(model, data, indices, scale, buf, grad, sgd);
}
void EvaluateGeneric(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                     EvalResult* r, size_t* correct, double* loss) {
  simd::EvaluateLoop<simd::V4>(model, data, buf, width, r, correct, loss);
}
void PredictGeneric(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                    std::span<uint32_t> out, float* probs) {
  simd::PredictLoop<simd::V4>(model, data, buf, width, out, probs);
}
constexpr Variant kGenericVariant{AccumulateGeneric, EvaluateGeneric, PredictGeneric};

#if defined(__x86_64__)

// x86-64: SSE2 is the baseline (kGeneric); AVX2, where the CPU has it, runs 32-byte vectors in
// functions built for it. (An AVX-512 variant was tried and was no faster: docs/model.md.)
typedef float V8 __attribute__((vector_size(32)));
#define DUST_AVX2 __attribute__((target("avx2")))

DUST_AVX2 double AccumulateAvx2(const Mlp& model, const Dataset& data,
                                std::span<const uint32_t> indices, float scale,
                                const BatchBuffers& buf, float* grad, const FirstLayerSgd* sgd) {
  return simd::AccumulateLoop<V8>(model, data, indices, scale, buf, grad, sgd);
}
DUST_AVX2 void EvaluateAvx2(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                            EvalResult* r, size_t* correct, double* loss) {
  simd::EvaluateLoop<V8>(model, data, buf, width, r, correct, loss);
}
DUST_AVX2 void PredictAvx2(const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                           std::span<uint32_t> out, float* probs) {
  simd::PredictLoop<V8>(model, data, buf, width, out, probs);
}
constexpr Variant kAvx2Variant{AccumulateAvx2, EvaluateAvx2, PredictAvx2};

Isa Detect() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? Isa::kAvx2 : Isa::kGeneric;
}

const Variant& Select(Isa isa) { return isa == Isa::kAvx2 ? kAvx2Variant : kGenericVariant; }

#else  // every other architecture: the generic variant only

// aarch64: NEON is baseline, and the generic variant's 16-byte vectors are NEON q registers
// (objdump: fmul/fadd on .4s lanes), so a dedicated variant would compile to the same code.
// No FMA: the build passes -ffp-contract=off (CMakeLists.txt), since fused multiply-adds round
// differently and the results must be bit-identical to x86-64's.
// 32-bit ARM (Debian armhf: VFPv3-D16, NEON not baseline) and the rest: GCC lowers the vector
// operations to the same scalar operations per lane, in the same order.

Isa Detect() { return Isa::kGeneric; }

const Variant& Select(Isa) { return kGenericVariant; }

#endif

}  // namespace

Isa DetectIsa() { return Detect(); }

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
  return Select(isa).accumulate(model, data, indices, scale, buffers, grad, sgd);
}

void EvaluateSamples(Isa isa, const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                     EvalResult* r, size_t* correct, double* loss) {
  Select(isa).evaluate(model, data, buf, width, r, correct, loss);
}

void PredictSamples(Isa isa, const Mlp& model, const Dataset& data, float* buf, uint32_t width,
                    std::span<uint32_t> out, float* probs) {
  Select(isa).predict(model, data, buf, width, out, probs);
}

float* ForwardLogits(const Mlp& model, const SampleView& x, float* buf_a, float* buf_b) {
  return simd::ForwardLogits<simd::V4>(model, x, buf_a, buf_b);
}

}  // namespace dust::internal
