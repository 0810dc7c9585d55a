#include "dust/ml/model.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/rng.h"
#include "reference_mlp.h"
#include "testutil/model_util.h"

using namespace dust;

namespace {

using testutil::MakeModel;

// n samples of `features` values in [0, 1) with about `zero_fraction` zeros; feature 3 (if it
// exists) is zero in every sample, so its first-layer rows must get no gradient.
Dataset RandomData(uint32_t features, uint32_t classes, size_t n, uint64_t seed,
                   double zero_fraction = 0.4) {
  Dataset d(features, classes);
  Rng rng(seed);
  std::vector<float> x(features);
  for (size_t s = 0; s < n; ++s) {
    for (uint32_t k = 0; k < features; ++k) {
      x[k] = rng.Uniform() < zero_fraction || k == 3 ? 0.0f : rng.UniformFloat();
    }
    d.AddDense(x, static_cast<uint8_t>(rng.Below(classes)));
  }
  return d;
}

std::vector<uint32_t> Iota(size_t n) {
  std::vector<uint32_t> v(n);
  std::iota(v.begin(), v.end(), 0u);
  return v;
}

nlohmann::json LoadFixture() {
  std::ifstream f(std::string(DUST_SOURCE_DIR) + "/tests/fixtures/torch_mlp_fixture.json");
  REQUIRE(f.good());
  auto j = nlohmann::json::parse(f, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

Dataset FixtureBatch(const nlohmann::json& batch, uint32_t features, uint32_t classes) {
  Dataset d(features, classes);
  const auto& inputs = batch.at("inputs");
  const auto& labels = batch.at("labels");
  for (size_t s = 0; s < inputs.size(); ++s) {
    std::vector<float> x = inputs[s].get<std::vector<float>>();
    REQUIRE(x.size() == features);
    d.AddDense(x, static_cast<uint8_t>(labels[s].get<int>()));
  }
  return d;
}

// |actual - expected| <= abs_tol + rel_tol * |expected| for every element.
void CheckClose(std::span<const float> actual, const std::vector<double>& expected, double abs_tol,
                double rel_tol) {
  REQUIRE(actual.size() == expected.size());
  size_t bad = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::abs(actual[i] - expected[i]) > abs_tol + rel_tol * std::abs(expected[i])) {
      if (bad++ < 5) FAIL_CHECK("index " << i << ": " << actual[i] << " vs " << expected[i]);
    }
  }
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("mlp create rejects too few layers, zero or oversized widths and too many params") {
  CHECK_FALSE(Mlp::Create({784}).ok());
  CHECK_FALSE(Mlp::Create({784, 0, 10}).ok());
  CHECK_FALSE(Mlp::Create({784, kMaxLayerWidth + 1, 10}).ok());
  CHECK_FALSE(Mlp::Create(std::vector<uint32_t>(kMaxLayers + 2, 4)).ok());
  CHECK_FALSE(Mlp::Create({kMaxLayerWidth, kMaxLayerWidth, 2}).ok());  // 2^32 weights > cap
  CHECK(Mlp::Create(std::vector<uint32_t>(kMaxLayers + 1, 4)).ok());
  auto m = Mlp::Create(Mlp::DefaultLayers());
  REQUIRE(m.ok());
  CHECK(m->num_params() == 784 * 32 + 32 + 32 * 10 + 10);
  CHECK(ParamCount(m->layer_sizes()) == m->num_params());
}

TEST_CASE("layer views tile the flat parameter buffer in order, weights then bias") {
  Mlp m = MakeModel({5, 4, 3}, 1);
  const float* base = m.params().data();
  LayerView l0 = m.layer(0);
  LayerView l1 = m.layer(1);
  CHECK(l0.weight == base);
  CHECK(l0.bias == base + 5 * 4);
  CHECK(l1.weight == base + 5 * 4 + 4);
  CHECK(l1.bias == l1.weight + 4 * 3);
  CHECK(l1.bias + 3 == base + m.num_params());
  CHECK((l0.in == 5 && l0.out == 4 && l1.in == 4 && l1.out == 3));
}

TEST_CASE("init is deterministic per seed and differs between seeds") {
  Mlp a = MakeModel(Mlp::DefaultLayers(), 42);
  Mlp b = MakeModel(Mlp::DefaultLayers(), 42);
  Mlp c = MakeModel(Mlp::DefaultLayers(), 43);
  CHECK(std::equal(a.params().begin(), a.params().end(), b.params().begin()));
  size_t same = 0;
  for (size_t i = 0; i < a.num_params(); ++i) same += a.params()[i] == c.params()[i];
  CHECK(same < a.num_params() / 100);
}

TEST_CASE("init draws every layer's weights and biases within +-1/sqrt(fan_in), spread out") {
  Mlp m = MakeModel(Mlp::DefaultLayers(), 7);
  for (size_t l = 0; l < m.num_layers(); ++l) {
    ConstLayerView lv = std::as_const(m).layer(l);
    const double bound = 1.0 / std::sqrt(static_cast<double>(lv.in));
    const size_t n = size_t{lv.in} * lv.out + lv.out;  // weights and bias are contiguous
    double max_abs = 0, sum = 0;
    for (size_t i = 0; i < n; ++i) {
      const double v = lv.weight[i];
      REQUIRE(std::abs(v) <= bound);
      max_abs = std::max(max_abs, std::abs(v));
      sum += v;
    }
    CHECK(max_abs > 0.9 * bound);                                 // uses the whole range
    CHECK(std::abs(sum / static_cast<double>(n)) < 0.1 * bound);  // centred
  }
}

TEST_CASE("gradient matches double-precision central differences from a fixed seed") {
  // Tolerance: |analytic - numeric| <= 2e-5 + 1e-3 * |numeric| per parameter. The analytic
  // gradient is fp32 (rounding ~1e-7 relative); the numeric one is a double central difference
  // with h = 1e-6 on a double re-implementation of the loss (truncation error ~h^2).
  const std::vector<uint32_t> sizes{12, 7, 6, 5};
  Mlp m = MakeModel(sizes, 12345);
  Dataset data = RandomData(12, 5, 9, 99);
  const auto idx = Iota(data.size());
  Trainer t(m, SgdOptions{.batch_size = 16});
  std::vector<float> grad(m.num_params());
  const float loss = t.Gradient(m, data, idx, grad);

  // The loss in double: the library's plain reference MLP (reference_mlp.h), dense and written
  // apart from the fast kernels.
  internal::ReferenceMlp<double> ref(m);
  const std::span<double> p = ref.params();
  CHECK(loss == Approx(ref.Loss(data, idx)).epsilon(1e-5));
  const double h = 1e-6;
  std::vector<double> numeric(p.size());
  size_t nonzero = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double saved = p[i];
    p[i] = saved + h;
    const double up = ref.Loss(data, idx);
    p[i] = saved - h;
    const double down = ref.Loss(data, idx);
    p[i] = saved;
    numeric[i] = (up - down) / (2 * h);
    nonzero += std::abs(numeric[i]) > 1e-6;
  }
  // Guard: the check means nothing if the gradient vanishes (dead ReLUs, zero inputs).
  CHECK(nonzero > p.size() / 2);
  CHECK(*std::max_element(grad.begin(), grad.end()) > 1e-3f);
  CheckClose(grad, numeric, 2e-5, 1e-3);
  // The feature no sample uses (3) gets exactly zero first-layer gradient.
  for (uint32_t j = 0; j < 7; ++j) CHECK(grad[3 * 7 + j] == 0.0f);
}

TEST_CASE("loss, gradient and two sgd-momentum steps match the pytorch fixture") {
  // Tolerance: 1e-6 absolute + 1e-4 relative. Both sides compute in fp32 but sum in
  // different orders, so agreement is to a few ulps of the largest terms, far inside this.
  const nlohmann::json fx = LoadFixture();
  const auto sizes = fx.at("layer_sizes").get<std::vector<uint32_t>>();
  auto created = Mlp::Create(sizes);
  REQUIRE(created.ok());
  Mlp m = std::move(created).value();
  const auto p0 = fx.at("params").get<std::vector<float>>();
  REQUIRE(p0.size() == m.num_params());
  std::copy(p0.begin(), p0.end(), m.params().begin());
  const uint32_t features = sizes.front(), classes = sizes.back();
  Dataset b0 = FixtureBatch(fx.at("batches")[0], features, classes);
  Dataset b1 = FixtureBatch(fx.at("batches")[1], features, classes);

  SgdOptions opt;
  opt.learning_rate = fx.at("sgd").at("learning_rate").get<float>();
  opt.momentum = fx.at("sgd").at("momentum").get<float>();
  opt.weight_decay = fx.at("sgd").at("weight_decay").get<float>();
  opt.batch_size = static_cast<uint32_t>(b0.size());
  Trainer t(m, opt);

  std::vector<float> grad(m.num_params());
  const float loss = t.Gradient(m, b0, Iota(b0.size()), grad);
  CHECK(loss == Approx(fx.at("loss").get<double>()).epsilon(1e-5));
  CheckClose(grad, fx.at("grad").get<std::vector<double>>(), 1e-6, 1e-4);

  const auto losses = fx.at("step_losses").get<std::vector<double>>();
  CHECK(t.Step(m, b0, Iota(b0.size())) == Approx(losses[0]).epsilon(1e-5));
  CHECK(t.Step(m, b1, Iota(b1.size())) == Approx(losses[1]).epsilon(1e-5));
  CHECK(t.steps() == 2);
  CheckClose(m.params(), fx.at("params_after_steps").get<std::vector<double>>(), 1e-6, 1e-4);
  CheckClose(t.momentum(), fx.at("momentum_after_steps").get<std::vector<double>>(), 1e-6, 1e-4);
}

TEST_CASE("step equals the dense sgd-momentum update applied with the computed gradient") {
  // Step updates the first layer's rows inside the kernel as their gradient completes, and
  // rows no sample in the batch uses without any gradient; this checks against the dense
  // formulation applied with Gradient (every parameter: g' = g + wd*w, v = mu*v + g',
  // w -= lr*v, in double) over steps whose batches leave different rows unused, with weight
  // decay on. model_step_test.cpp compares exactly against the plain float reference.
  const std::vector<uint32_t> sizes{40, 32, 9, 4};  // a 32-wide first layer: the fast kernels
  Mlp fast = MakeModel(sizes, 5);
  Mlp ref = MakeModel(sizes, 5);
  Dataset data = RandomData(40, 4, 64, 8, 0.85);
  SgdOptions opt{.learning_rate = 0.2f, .momentum = 0.9f, .weight_decay = 0.02f, .batch_size = 4};
  Trainer t(fast, opt);
  Trainer grad_only(ref, opt);
  std::vector<double> v(ref.num_params(), 0.0), w(ref.params().begin(), ref.params().end());
  std::vector<float> g(ref.num_params());
  for (uint32_t step = 0; step < 12; ++step) {
    const std::vector<uint32_t> batch{step * 4, step * 4 + 1, step * 4 + 2, step * 4 + 3};
    grad_only.Gradient(ref, data, batch, g);
    for (size_t i = 0; i < w.size(); ++i) {
      v[i] = opt.momentum * v[i] + (g[i] + opt.weight_decay * w[i]);
      w[i] -= opt.learning_rate * v[i];
      ref.params()[i] = static_cast<float>(w[i]);
    }
    t.Step(fast, data, batch);
  }
  CheckClose(fast.params(), w, 1e-6, 1e-5);
  CheckClose(t.momentum(), v, 1e-6, 1e-5);
}

TEST_CASE("training on a learnable problem lowers the loss") {
  // Label = which of 4 feature blocks has the most mass: learnable by the 2-layer MLP.
  Dataset data(32, 4);
  Rng rng(3);
  std::vector<float> x(32);
  for (int s = 0; s < 512; ++s) {
    const uint32_t label = static_cast<uint32_t>(rng.Below(4));
    for (uint32_t k = 0; k < 32; ++k)
      x[k] = (k / 8 == label ? 0.5f : 0.0f) + 0.5f * rng.UniformFloat();
    data.AddDense(x, static_cast<uint8_t>(label));
  }
  Mlp m = MakeModel({32, 32, 4}, 1);
  const double before = Evaluate(m, data).mean_loss;
  Trainer t(m, SgdOptions{.learning_rate = 0.05f, .momentum = 0.9f, .batch_size = 32});
  std::vector<uint32_t> batch(32);
  for (int epoch = 0; epoch < 5; ++epoch) {
    for (uint32_t b = 0; b < 512; b += 32) {
      std::iota(batch.begin(), batch.end(), b);
      CHECK(std::isfinite(t.Step(m, data, batch)));
    }
  }
  const EvalResult after = Evaluate(m, data);
  CHECK(after.mean_loss < 0.5 * before);
  CHECK(after.accuracy > 0.9);
}

TEST_CASE("trainer refuses mismatched data, models and oversized batches without changing them") {
  Mlp m = MakeModel({12, 7, 5}, 1);
  const std::vector<float> saved(m.params().begin(), m.params().end());
  Trainer t(m, SgdOptions{.batch_size = 4});
  Dataset wrong_width = RandomData(13, 5, 4, 1);
  Dataset too_many_classes = RandomData(12, 6, 4, 1);
  Dataset ok = RandomData(12, 5, 8, 1);
  CHECK(std::isnan(t.Step(m, wrong_width, Iota(4))));
  CHECK(std::isnan(t.Step(m, too_many_classes, Iota(4))));
  CHECK(std::isnan(t.Step(m, ok, Iota(5))));  // batch_size is 4
  Mlp other = MakeModel({12, 8, 5}, 1);
  CHECK(std::isnan(t.Step(other, ok, Iota(4))));
  std::vector<float> short_grad(m.num_params() - 1);
  CHECK(std::isnan(t.Gradient(m, ok, Iota(4), short_grad)));
  CHECK(t.Step(m, ok, {}) == 0.0f);
  CHECK(t.steps() == 0);
  CHECK(std::equal(saved.begin(), saved.end(), m.params().begin()));
}

TEST_CASE("evaluate reports accuracy, mean loss and the confusion matrix of a hand-set model") {
  // One linear layer 3 -> 3 with W = 2*identity, b = 0: the prediction is the arg-max feature.
  auto created = Mlp::Create({3, 3});
  REQUIRE(created.ok());
  Mlp m = std::move(created).value();
  LayerView l = m.layer(0);
  for (uint32_t k = 0; k < 3; ++k) l.weight[k * 3 + k] = 2.0f;
  Dataset data(3, 3);
  const float s0[] = {1, 0, 0}, s1[] = {0, 1, 0}, s2[] = {0, 0, 1}, s3[] = {0, 0.5f, 0};
  data.AddDense(s0, 0);  // correct
  data.AddDense(s1, 1);  // correct
  data.AddDense(s2, 0);  // predicted 2, true 0
  data.AddDense(s3, 1);  // correct
  const EvalResult r = Evaluate(m, data);
  CHECK(r.samples == 4);
  CHECK(r.accuracy == Approx(0.75));
  const std::vector<uint32_t> expected{1, 0, 1,   // true 0: one predicted 0, one predicted 2
                                       0, 2, 0,   // true 1
                                       0, 0, 0};  // true 2: none
  CHECK(r.confusion == expected);
  // Logits (2,0,0): loss log(e^2+2) - 2; for the wrong one log(e^2+2) - 0; (0,1,0): log(e+2) - 1.
  const double right = std::log(std::exp(2.0) + 2.0) - 2.0;
  const double wrong = std::log(std::exp(2.0) + 2.0);
  const double half = std::log(std::exp(1.0) + 2.0) - 1.0;
  CHECK(r.mean_loss == Approx((2 * right + wrong + half) / 4).epsilon(1e-6));
}

TEST_CASE("evaluate on data of the wrong width reports zero samples") {
  Mlp m = MakeModel({12, 7, 5}, 1);
  const EvalResult r = Evaluate(m, RandomData(10, 5, 4, 1));
  CHECK(r.samples == 0);
  CHECK(r.confusion.size() == 25);
}

TEST_CASE("predict equals predict batch and its probabilities sum to one") {
  Mlp m = MakeModel({20, 32, 16, 6}, 9);
  Dataset data = RandomData(20, 6, 50, 4);
  std::vector<uint32_t> batch(data.size(), 99);
  PredictBatch(m, data, batch);
  std::set<uint32_t> classes_seen;
  for (size_t i = 0; i < data.size(); ++i) {
    std::vector<float> probs(6);
    const uint32_t p = Predict(m, data.sample(i), probs);
    CHECK(p == batch[i]);
    CHECK(std::accumulate(probs.begin(), probs.end(), 0.0) == Approx(1.0).epsilon(1e-5));
    CHECK(std::max_element(probs.begin(), probs.end()) - probs.begin() ==
          static_cast<std::ptrdiff_t>(p));
    CHECK(Predict(m, data.sample(i)) == p);
    classes_seen.insert(p);
  }
  CHECK(classes_seen.size() > 1);  // not a constant predictor
}

TEST_CASE("predict batch with probabilities gives Predict's classes and probabilities exactly") {
  Mlp m = MakeModel({20, 32, 16, 6}, 9);
  Dataset data = RandomData(20, 6, 50, 4);
  std::vector<uint32_t> classes(data.size(), 99);
  std::vector<float> probs(data.size() * 6, -1.0f);
  PredictBatch(m, data, classes, probs);
  std::vector<uint32_t> plain(data.size(), 99);
  PredictBatch(m, data, plain);
  CHECK(classes == plain);
  size_t correct = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    std::vector<float> one(6);
    CHECK(Predict(m, data.sample(i), one) == classes[i]);
    // The batched forward pass is a wider variant of the same float operations: bit-identical.
    CHECK(std::equal(one.begin(), one.end(), probs.begin() + static_cast<std::ptrdiff_t>(i * 6)));
    correct += classes[i] == data.label(i);
  }
  // The classes are the ones Evaluate counts.
  CHECK(Evaluate(m, data).accuracy == Approx(static_cast<double>(correct) / data.size()));

  SECTION("spans of the wrong size leave everything untouched") {
    std::vector<uint32_t> c(data.size(), 99);
    std::vector<float> short_probs(data.size() * 6 - 1, -1.0f);
    PredictBatch(m, data, c, short_probs);
    CHECK(std::all_of(c.begin(), c.end(), [](uint32_t v) { return v == 99; }));
    CHECK(std::all_of(short_probs.begin(), short_probs.end(), [](float v) { return v == -1.0f; }));
  }
}

TEST_CASE("fingerprint depends on the layer sizes and the seed") {
  REQUIRE(InitCrypto().ok());
  const std::vector<uint32_t> a{784, 32, 10}, b{784, 33, 10}, c{784, 32, 10, 10};
  CHECK(Fingerprint(a, 1) == Fingerprint(a, 1));
  CHECK(Fingerprint(a, 1) != Fingerprint(a, 2));
  CHECK(Fingerprint(a, 1) != Fingerprint(b, 1));
  CHECK(Fingerprint(a, 1) != Fingerprint(c, 1));
  // Test vector from an independent implementation (Python hashlib; docs/protocol.md).
  CHECK(ToHex(Fingerprint(a, 1)) == "ead6db0551426e7c");
}
