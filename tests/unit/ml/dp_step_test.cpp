// Trainer::DpStep (model.h): per-sample clipping by the outer-product identity, noise, and the
// update, checked against the plain reference MLP's per-sample gradients (reference_mlp.h).
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/model.h"
#include "dust/util/rng.h"
#include "reference_mlp.h"
#include "testutil/model_util.h"

using namespace dust;

namespace {

Dataset DpRandomData(uint32_t features, uint32_t classes, size_t n, uint64_t seed) {
  Dataset d(features, classes);
  Rng rng(seed);
  std::vector<float> x(features);
  for (size_t s = 0; s < n; ++s) {
    for (float& v : x) v = rng.Uniform() < 0.4 ? 0.0f : 2.0f * rng.UniformFloat() - 1.0f;
    d.AddDense(x, static_cast<uint8_t>(rng.Below(classes)));
  }
  return d;
}

double Norm(std::span<const double> v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// The change DpStep makes with lr 1, no momentum: -(clipped sum + noise) / expected_batch.
std::vector<double> Change(const Mlp& before, const Mlp& after) {
  std::vector<double> d(before.num_params());
  for (size_t j = 0; j < d.size(); ++j) d[j] = double{before.params()[j]} - after.params()[j];
  return d;
}

}  // namespace

TEST_CASE("DpStep: each sample is clipped to exactly C by its whole gradient's norm", "[dp]") {
  const std::vector<uint32_t> sizes = {12, 7, 5, 3};
  const Mlp model = testutil::MakeModel(sizes, 3);
  const Dataset data = DpRandomData(12, 3, 6, 9);
  const std::vector<float> zero(model.num_params(), 0.0f);
  for (uint32_t s = 0; s < data.size(); ++s) {
    const uint32_t one[] = {s};
    internal::ReferenceMlp<double> ref(model);
    ref.Gradient(data, one);
    const double full = Norm(ref.grad());
    REQUIRE(full > 0);
    // Clip at half the norm: the step is the gradient scaled to norm C, so the norm from the
    // outer-product identity must be the gradient's true norm.
    const double clip = 0.5 * full;
    Mlp m = model;
    Trainer t(m, {.learning_rate = 1.0f, .momentum = 0.0f, .weight_decay = 0.0f, .batch_size = 1});
    t.DpStep(m, data, one, static_cast<float>(clip), 0.0f, 1.0f, zero);
    const std::vector<double> d = Change(model, m);
    CHECK(Norm(d) == Approx(clip).epsilon(1e-5));
    for (size_t j = 0; j < d.size(); ++j) {
      REQUIRE(d[j] == Approx(ref.grad()[j] * clip / full).margin(1e-6));
    }
    // A clip above the norm leaves the gradient as it is.
    Mlp m2 = model;
    Trainer t2(m2,
               {.learning_rate = 1.0f, .momentum = 0.0f, .weight_decay = 0.0f, .batch_size = 1});
    t2.DpStep(m2, data, one, static_cast<float>(2 * full), 0.0f, 1.0f, zero);
    CHECK(Norm(Change(model, m2)) == Approx(full).epsilon(1e-5));
  }
}

TEST_CASE("DpStep: without clipping or noise it is Step's SGD on the batch mean", "[dp]") {
  const std::vector<uint32_t> sizes = {20, 16, 4};
  Mlp a = testutil::MakeModel(sizes, 5);
  Mlp b = a;
  const Dataset data = DpRandomData(20, 4, 40, 2);
  std::vector<uint32_t> batch(10);
  std::iota(batch.begin(), batch.end(), 7u);
  const SgdOptions opt{
      .learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 1e-3f, .batch_size = 10};
  Trainer ta(a, opt), tb(b, opt);
  const std::vector<float> zero(a.num_params(), 0.0f);
  for (int step = 0; step < 3; ++step) {
    const float la = ta.Step(a, data, batch);
    const float lb = tb.DpStep(b, data, batch, 1e9f, 0.0f, 10.0f, zero);
    CHECK(lb == Approx(la).epsilon(1e-5));
  }
  for (size_t j = 0; j < a.num_params(); ++j) {
    REQUIRE(b.params()[j] == Approx(a.params()[j]).margin(1e-5));
  }
  CHECK(tb.steps() == 3);
}

TEST_CASE("DpStep: noise of sigma*C on the sum, divided by the expected batch", "[dp]") {
  const std::vector<uint32_t> sizes = {6, 4, 2};
  const Mlp model = testutil::MakeModel(sizes, 1);
  const Dataset data = DpRandomData(6, 2, 4, 1);
  std::vector<float> noise(model.num_params());
  Rng rng(4);
  for (float& n : noise) n = static_cast<float>(rng.Normal());
  // An empty Poisson batch still takes the noisy step: the update is pure noise: w -= lr * sigma *
  // C * noise / B.
  Mlp m = model;
  Trainer t(m, {.learning_rate = 1.0f, .momentum = 0.0f, .weight_decay = 0.0f, .batch_size = 4});
  CHECK(t.DpStep(m, data, {}, 0.5f, 2.0f, 4.0f, noise) == 0.0f);
  const std::vector<double> d = Change(model, m);
  for (size_t j = 0; j < d.size(); ++j) REQUIRE(d[j] == Approx(2.0 * 0.5 * noise[j] / 4.0));
  // Wrong noise length, clip or expected batch: NaN and no change.
  Mlp n = model;
  CHECK(std::isnan(t.DpStep(n, data, {}, 0.5f, 1.0f, 4.0f, std::span(noise).first(3))));
  CHECK(std::isnan(t.DpStep(n, data, {}, 0.0f, 1.0f, 4.0f, noise)));
  const uint32_t out_of_range[] = {99};
  CHECK(std::isnan(t.DpStep(n, data, out_of_range, 1.0f, 1.0f, 4.0f, noise)));
  CHECK(n.params()[0] == model.params()[0]);
}
