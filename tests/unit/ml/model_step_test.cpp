// Trainer::Step and Trainer::Gradient against the library's plain reference MLP
// (libdust/ml/src/reference_mlp.h): dense loops over every input (zeros included), one sample at
// a time, then the SGD-with-momentum update of every parameter. It performs the same float
// operations in the same order as the fast kernels are documented to (docs/model.md, "Training
// step"): per sample, each pre-activation starts at the bias and adds inputs in ascending order;
// gradients are summed over the batch in batch order starting from zero; the same softmax and
// update. Adding the zero inputs the kernels skip adds +-0, which changes no value, so the
// comparison is exact (operator== on floats, which also treats -0 and +0 as equal): any change
// of summation order, a row updated twice or not at all, a sample filed under the wrong feature
// shows up as a mismatch.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/model.h"
#include "dust/util/rng.h"
#include "kernels.h"
#include "reference_mlp.h"
#include "testutil/model_util.h"

using namespace dust;

namespace {

using internal::ReferenceMlp;
using testutil::MakeModel;

// Random values in (-1, 1) with about `zero_fraction` zeros, and three features with a fixed
// pattern: feature 0 non-zero in every sample, feature 1 non-zero only in every 7th sample
// (s % 7 == 3), feature 2 zero in every sample.
Dataset PatternData(uint32_t features, uint32_t classes, size_t n, uint64_t seed,
                    double zero_fraction) {
  REQUIRE(features >= 3);
  Dataset d(features, classes);
  Rng rng(seed);
  std::vector<float> x(features);
  for (size_t s = 0; s < n; ++s) {
    for (uint32_t k = 0; k < features; ++k) {
      x[k] = rng.Uniform() < zero_fraction ? 0.0f : 2.0f * rng.UniformFloat() - 1.0f;
    }
    x[0] = 0.25f + rng.UniformFloat();
    x[1] = s % 7 == 3 ? 0.5f + rng.UniformFloat() : 0.0f;
    x[2] = 0.0f;
    d.AddDense(x, static_cast<uint8_t>(rng.Below(classes)));
  }
  return d;
}

// Number of positions where a and b differ (operator==), with the first few reported.
size_t Mismatches(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i]) && bad++ < 3) FAIL_CHECK("index " << i << ": " << a[i] << " vs " << b[i]);
  }
  return bad;
}

std::vector<uint32_t> Range(uint32_t first, uint32_t n) {
  std::vector<uint32_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

// Batches of sizes 1, 7 (the configured maximum), 5 and 2, one with a repeated sample, one
// where feature 1 is used by exactly one sample (sample 3) and one where no sample uses it.
std::vector<std::vector<uint32_t>> MixedBatches() {
  return {{3}, Range(0, 7), {8, 9, 10, 11, 12}, {5, 5}, Range(14, 7), {0, 4}, Range(21, 7)};
}

}  // namespace

TEST_CASE("step equals the plain reference exactly over steps with momentum and weight decay") {
  // Shapes: one 32-column tile; a tile plus 13 leftover columns; no full tile; a single
  // (output) layer; two tiles. Each with batches of 1, 7, 5 and 2 samples.
  const std::vector<std::vector<uint32_t>> shapes{
      {40, 32, 9, 4}, {37, 45, 6}, {20, 7, 5}, {12, 3}, {70, 64, 13, 3}};
  for (const auto& sizes : shapes) {
    CAPTURE(sizes);
    Mlp m = MakeModel(sizes, 21);
    const SgdOptions opt{
        .learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f, .batch_size = 7};
    Trainer t(m, opt);
    ReferenceMlp<float> ref(m, opt);
    Dataset data = PatternData(sizes[0], sizes.back(), 28, 7, 0.6);
    for (int epoch = 0; epoch < 2; ++epoch) {
      for (const auto& batch : MixedBatches()) {
        CAPTURE(epoch, batch);
        const float loss = t.Step(m, data, batch);
        CHECK(loss == ref.Step(data, batch));
        REQUIRE(Mismatches(m.params(), ref.params()) == 0);
        REQUIRE(Mismatches(t.momentum(), ref.momentum()) == 0);
      }
    }
    // Guard: the comparison means something only if the parameters moved.
    Mlp initial = MakeModel(sizes, 21);
    size_t moved = 0;
    for (size_t p = 0; p < m.num_params(); ++p) moved += m.params()[p] != initial.params()[p];
    CHECK(moved > m.num_params() * 9 / 10);
  }
}

TEST_CASE("gradient equals the plain reference exactly, zero rows included, after steps") {
  // Gradient must overwrite every first-layer row, also those no sample of this batch uses
  // (feature 2 never, feature 1 only in sample 3), whatever earlier Steps left in the buffers.
  const std::vector<uint32_t> sizes{40, 32, 9, 4};
  Mlp m = MakeModel(sizes, 3);
  Trainer t(m, SgdOptions{.learning_rate = 0.1f, .momentum = 0.9f, .batch_size = 7});
  Dataset data = PatternData(40, 4, 28, 5, 0.7);
  std::vector<float> grad(m.num_params(), 123.0f);
  for (const auto& batch : MixedBatches()) {
    CAPTURE(batch);
    ReferenceMlp<float> ref(m, t.options());
    const float loss = t.Gradient(m, data, batch, grad);
    CHECK(loss == ref.Gradient(data, batch));
    REQUIRE(Mismatches(grad, ref.grad()) == 0);
    for (uint32_t j = 0; j < 32; ++j) CHECK(grad[2 * 32 + j] == 0.0f);
    const bool uses_1 =
        std::any_of(batch.begin(), batch.end(), [](uint32_t s) { return s % 7 == 3; });
    CHECK((std::count(grad.begin() + 32, grad.begin() + 64, 0.0f) == 32) == !uses_1);
    t.Step(m, data, batch);
  }
}

TEST_CASE("a batch larger than one chunk steps exactly like the plain reference") {
  // 1024 inputs x 300 samples exceed the entry cap (kMaxChunkEntries / 1024 = 128 samples per
  // chunk), so the Trainer splits each batch into chunks of 128, 128 and 44 samples and keeps
  // the first layer's partial gradient between them.
  const std::vector<uint32_t> sizes{1024, 32, 10};
  const internal::BufferPlan plan = internal::PlanBuffers(sizes, 300);
  REQUIRE(plan.max_chunk == 128);
  Mlp m = MakeModel(sizes, 8);
  const SgdOptions opt{
      .learning_rate = 0.05f, .momentum = 0.9f, .weight_decay = 0.001f, .batch_size = 300};
  Trainer t(m, opt);
  ReferenceMlp<float> ref(m, opt);
  Dataset data = PatternData(1024, 10, 600, 9, 0.97);
  for (uint32_t step = 0; step < 3; ++step) {
    const std::vector<uint32_t> batch = Range(step % 2 == 0 ? 0 : 300, 300);
    CHECK(t.Step(m, data, batch) == ref.Step(data, batch));
    REQUIRE(Mismatches(m.params(), ref.params()) == 0);
    REQUIRE(Mismatches(t.momentum(), ref.momentum()) == 0);
  }
  std::vector<float> grad(m.num_params());
  const std::vector<uint32_t> last = Range(150, 299);
  CHECK(t.Gradient(m, data, last, grad) == ref.Gradient(data, last));
  CHECK(Mismatches(grad, ref.grad()) == 0);
}

namespace {

// Buffers for internal::AccumulateBatch, owned by the test.
struct OwnedBuffers {
  OwnedBuffers(std::span<const uint32_t> sizes, uint32_t batch, size_t max_entries) {
    const internal::BufferPlan plan = internal::PlanBuffers(sizes, batch, max_entries);
    count.resize(sizes[0]);
    sample.resize(plan.entries);
    value.resize(plan.entries);
    delta.resize(plan.delta);
    scratch.resize(plan.scratch);
    view = {.max_chunk = plan.max_chunk,
            .feature_count = count.data(),
            .feature_sample = sample.data(),
            .feature_value = value.data(),
            .delta = delta.data(),
            .scratch = scratch.data()};
  }
  std::vector<uint32_t> count;
  std::vector<uint16_t> sample;
  std::vector<float> value, delta, scratch;
  internal::BatchBuffers view;
};

struct KernelRun {
  double loss;
  std::vector<float> grad;      // the gradient (no update) ...
  std::vector<float> params;    // ... or the parameters and momentum after the fused update
  std::vector<float> momentum;  // of the first layer's weights
};

KernelRun RunKernel(internal::Isa isa, const Mlp& model, const Dataset& data,
                    std::span<const uint32_t> batch, size_t max_entries, bool update) {
  OwnedBuffers buf(model.layer_sizes(), static_cast<uint32_t>(batch.size()), max_entries);
  KernelRun r;
  r.grad.assign(model.num_params(), 0.0f);
  r.params.assign(model.params().begin(), model.params().end());
  r.momentum.assign(model.num_params(), 0.01f);
  const internal::FirstLayerSgd sgd{.learning_rate = 0.1f,
                                    .momentum = 0.9f,
                                    .weight_decay = 0.01f,
                                    .weight = r.params.data(),
                                    .momentum_buffer = r.momentum.data()};
  const float scale = 1.0f / static_cast<float>(batch.size());
  r.loss = internal::AccumulateBatch(isa, model, data, batch, scale, buf.view, r.grad.data(),
                                     update ? &sgd : nullptr);
  if (update) {
    // The first layer's part of grad is scratch when a Step updates; compare the rest.
    const size_t w0 = size_t{model.layer_sizes()[0]} * model.layer_sizes()[1];
    std::fill_n(r.grad.begin(), w0, 0.0f);
  }
  return r;
}

}  // namespace

TEST_CASE("chunked and one-chunk batches, sse2 and avx2, give bit-identical results") {
  // max_entries = inputs * c forces chunks of c samples (c = 1, 2, 3 and the whole batch); the
  // first layer's row sums continue across chunks in batch order, so nothing may change. A
  // 64-wide first layer covers two 32-column tiles; 45 leaves 13 columns outside a tile.
  const bool have_avx2 = internal::DetectIsa() == internal::Isa::kAvx2;
  if (!have_avx2) WARN("this CPU has no AVX2: only the generic kernels ran");
  for (const std::vector<uint32_t>& sizes :
       {std::vector<uint32_t>{70, 64, 13, 3}, std::vector<uint32_t>{37, 45, 6}}) {
    CAPTURE(sizes);
    Mlp m = MakeModel(sizes, 11);
    Dataset data = PatternData(sizes[0], sizes.back(), 40, 2, 0.7);
    const std::vector<uint32_t> batch = Range(3, 11);
    for (bool update : {false, true}) {
      CAPTURE(update);
      const KernelRun base =
          RunKernel(internal::Isa::kGeneric, m, data, batch, internal::kMaxChunkEntries, update);
      CHECK(*std::max_element(base.grad.begin(), base.grad.end()) > 0.0f);
      for (size_t c : {1, 2, 3, 11}) {
        for (internal::Isa isa : {internal::Isa::kGeneric, internal::Isa::kAvx2}) {
          if (isa == internal::Isa::kAvx2 && !have_avx2) continue;
          CAPTURE(c, static_cast<int>(isa));
          const KernelRun r = RunKernel(isa, m, data, batch, sizes[0] * c, update);
          CHECK(r.loss == base.loss);
          CHECK(Mismatches(r.grad, base.grad) == 0);
          CHECK(Mismatches(r.params, base.params) == 0);
          CHECK(Mismatches(r.momentum, base.momentum) == 0);
        }
      }
    }
  }
}

TEST_CASE("buffer plan caps chunk samples and entries but always fits one sample") {
  const std::vector<uint32_t> def{784, 32, 10};
  CHECK(internal::PlanBuffers(def, 32).max_chunk == 32);
  CHECK(internal::PlanBuffers(def, 32).entries == 32 * 784);
  CHECK(internal::PlanBuffers(def, 4096).max_chunk == internal::kMaxChunkEntries / 784);
  CHECK(internal::PlanBuffers(def, 4096).entries <= internal::kMaxChunkEntries);
  CHECK(internal::PlanBuffers(std::vector<uint32_t>{8, 4}, 4096).max_chunk ==
        internal::kMaxChunkSamples);
  const std::vector<uint32_t> wide{kMaxLayerWidth, 8, 2};
  CHECK(internal::PlanBuffers(wide, 64).max_chunk == 2);
  CHECK(internal::PlanBuffers(wide, 64, 10).max_chunk == 1);
  CHECK(internal::PlanBuffers(wide, 64, 10).entries == kMaxLayerWidth);
  CHECK(internal::PlanBuffers(def, 0).max_chunk == 1);
}
