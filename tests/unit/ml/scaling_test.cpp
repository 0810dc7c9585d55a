#include "dust/ml/scaling.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "dust/ml/checkpoint.h"
#include "dust/ml/model.h"
#include "dust/util/rng.h"
#include "testutil/dataset_util.h"
#include "testutil/model_util.h"

using namespace dust;
using testutil::Dense;
using testutil::MakeModel;

namespace {

// Raw-scale rows: feature 0 around 1000 +- 10 (offset dominates), feature 1 in [-5, 5]
// (spread about the size of the values), feature 2 a rare count (zero in ~80%, up to 40),
// feature 3 a rare flag in [0, 1] (zero in ~80%), feature 4 constant 7.
Dataset RawData(size_t n, uint64_t seed) {
  Dataset d(5, 3);
  Rng rng(seed);
  for (size_t i = 0; i < n; ++i) {
    const bool rare = rng.Uniform() < 0.2;
    const float x[5] = {static_cast<float>(1000 + 20 * (rng.Uniform() - 0.5)),
                        static_cast<float>(10 * (rng.Uniform() - 0.5)),
                        rare ? static_cast<float>(1 + rng.Below(40)) : 0.0f,
                        rare ? rng.UniformFloat() : 0.0f, 7.0f};
    d.AddDense(x, static_cast<uint8_t>(rng.Below(3)));
  }
  return d;
}

// Moments computed naively in double, as the definition says.
void CheckMoments(const FeatureMoments& m, const Dataset& d) {
  REQUIRE(m.count == d.size());
  for (uint32_t j = 0; j < d.num_features(); ++j) {
    double sum = 0, max_abs = 0;
    uint64_t zeros = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      const double x = Dense(d, i)[j];
      sum += x;
      max_abs = std::max(max_abs, std::fabs(x));
      zeros += x == 0.0;
    }
    const double mean = sum / static_cast<double>(d.size());
    double m2 = 0;
    for (size_t i = 0; i < d.size(); ++i) m2 += (Dense(d, i)[j] - mean) * (Dense(d, i)[j] - mean);
    CHECK(m.mean[j] == Approx(mean).epsilon(1e-12));
    CHECK(m.m2[j] == Approx(m2).epsilon(1e-9).margin(1e-9));
    CHECK(m.zeros[j] == zeros);
    CHECK(m.max_abs[j] == static_cast<float>(max_abs));
  }
}

}  // namespace

TEST_CASE("feature moments of a dataset and pooled moments of its parts agree") {
  const Dataset d = RawData(300, 1);
  const FeatureMoments all = FeatureMoments::Of(d);
  CheckMoments(all, d);
  std::vector<uint32_t> first(100), rest(200);
  std::iota(first.begin(), first.end(), 0u);
  std::iota(rest.begin(), rest.end(), 100u);
  FeatureMoments pooled = FeatureMoments::Of(d.Subset(rest));
  REQUIRE(pooled.Merge(FeatureMoments::Of(d.Subset(first))).ok());
  REQUIRE(pooled.count == all.count);
  for (uint32_t j = 0; j < d.num_features(); ++j) {
    CHECK(pooled.mean[j] == Approx(all.mean[j]).epsilon(1e-12));
    CHECK(pooled.m2[j] == Approx(all.m2[j]).epsilon(1e-9).margin(1e-9));
    CHECK(pooled.zeros[j] == all.zeros[j]);
    CHECK(pooled.max_abs[j] == all.max_abs[j]);
  }
  // Empty moments are the neutral element; other widths are refused and change nothing.
  FeatureMoments empty = FeatureMoments::Empty(5);
  REQUIRE(empty.Merge(all).ok());
  CHECK(empty == all);
  FeatureMoments copy = all;
  CHECK_FALSE(copy.Merge(FeatureMoments::Empty(4)).ok());
  CHECK(copy == all);
}

TEST_CASE("moments that cannot come from data are refused") {
  FeatureMoments m = FeatureMoments::Of(RawData(10, 2));
  REQUIRE(m.Check().ok());
  FeatureMoments bad = m;
  bad.m2[1] = -1;
  CHECK_FALSE(bad.Check().ok());
  bad = m;
  bad.zeros[2] = m.count + 1;
  CHECK_FALSE(bad.Check().ok());
  bad = m;
  bad.mean[0] = std::nan("");
  CHECK_FALSE(bad.Check().ok());
  bad = m;
  bad.max_abs.pop_back();
  CHECK_FALSE(bad.Check().ok());
}

TEST_CASE("the scaling rule: standardise offsets, bound the rest, never amplify rare features") {
  const FeatureMoments m = FeatureMoments::Of(RawData(2000, 3));
  const InputScaling s = ScalingFor(m);
  REQUIRE_FALSE(s.identity());
  REQUIRE(s.Check(5).ok());
  const double std0 = std::sqrt(m.m2[0] / static_cast<double>(m.count));
  CHECK(s.center()[0] == static_cast<float>(m.mean[0]));  // 1000 +- 10: standardised
  CHECK(s.scale()[0] == static_cast<float>(std0));
  CHECK(s.center()[1] == 0.0f);  // [-5, 5]: divided by its largest |x|
  CHECK(s.scale()[1] == m.max_abs[1]);
  CHECK(s.center()[2] == 0.0f);  // rare count up to 40: shrunk to [0, 1]
  CHECK(s.scale()[2] == m.max_abs[2]);
  CHECK(s.center()[3] == 0.0f);  // rare flag within [0, 1]: kept
  CHECK(s.scale()[3] == 1.0f);
  // Constant 7: its spread is 0, so it is divided by its largest value like feature 1.
  CHECK(s.center()[4] == 0.0f);
  CHECK(s.scale()[4] == 7.0f);
  CHECK(s.centered() == std::vector<uint32_t>{0});

  // Images in [0, 1] (pixels mostly zero or mostly set, none above 1) map to the identity.
  Dataset pixels(4, 2);
  Rng rng(4);
  for (int i = 0; i < 500; ++i) {
    const float x[4] = {rng.Uniform() < 0.9 ? 0.0f : rng.UniformFloat(),  // rare, max < 1
                        rng.Uniform() < 0.3 ? 0.0f : 1.0f,                // mostly set
                        rng.Uniform() < 0.5 ? 0.0f : rng.UniformFloat(), 0.0f};
    pixels.AddDense(x, static_cast<uint8_t>(i % 2));
  }
  CHECK(ScalingFor(FeatureMoments::Of(pixels)).identity());
  CHECK(ScalingFor(FeatureMoments::Empty(3)).identity());
}

TEST_CASE("the provisional scaling: the identity within [-1, 1], else the rule") {
  // Raw readings: the rule at once (features 0, 1, 2 and 4 exceed 1).
  const FeatureMoments raw = FeatureMoments::Of(RawData(2000, 3));
  CHECK(ProvisionalScalingFor(raw) == ScalingFor(raw));
  // Pixels set in most samples but never up to 1: the rule amplifies them, the provisional
  // scaling keeps them; so does it a feature whose largest |x| is exactly 1.
  FeatureMoments dim = FeatureMoments::Empty(3);
  dim.count = 10;
  dim.mean = {0.3, -0.2, 0.5};
  dim.m2 = {0.4, 0.4, 2.5};
  dim.max_abs = {0.6f, 0.5f, 1.0f};
  REQUIRE_FALSE(ScalingFor(dim).identity());
  CHECK(ProvisionalScalingFor(dim).identity());
  dim.max_abs[2] = 1.5f;  // one feature above 1: the rule for every feature
  CHECK(ProvisionalScalingFor(dim) == ScalingFor(dim));
  CHECK(ProvisionalScalingFor(FeatureMoments::Empty(3)).identity());
}

TEST_CASE("applying a scaling to a sparse sample matches the dense formula") {
  const InputScaling s({0.0f, 2.0f, 0.0f, -1.0f, 0.0f}, {4.0f, 0.5f, 1.0f, 2.0f, 3.0f});
  REQUIRE(s.centered() == std::vector<uint32_t>{1, 3});
  Dataset d(5, 2);
  d.AddDense(std::vector<float>{8, 0, 0, 3, 0}, 1);  // centred feature 1 absent, 3 present
  d.AddDense(std::vector<float>{0, 2, 0, 0, 0}, 0);  // feature 1 maps to exactly 0
  d.AddDense(std::vector<float>{0, 0, 0, 0, 0}, 0);
  const Dataset scaled = ScaleDataset(d, s);
  for (size_t i = 0; i < d.size(); ++i) {
    const std::vector<float> raw = Dense(d, i);
    const std::vector<float> z = Dense(scaled, i);
    for (uint32_t j = 0; j < 5; ++j) CHECK(z[j] == (raw[j] - s.center()[j]) / s.scale()[j]);
    CHECK(scaled.label(i) == d.label(i));
  }
  CHECK(scaled.sample(1).index.size() == 1);  // only feature 3's (0 - -1) / 2 is non-zero
  CHECK(testutil::SameData(ScaleDataset(d, InputScaling{}), d));
}

TEST_CASE("a scaling that does not fit the model is refused") {
  Mlp model = MakeModel({3, 4, 2}, 1);
  CHECK_FALSE(model.SetScaling(InputScaling({0, 0}, {1, 1})).ok());
  CHECK_FALSE(model.SetScaling(InputScaling({0, 0, 0}, {1, 0, 1})).ok());
  CHECK_FALSE(model.SetScaling(InputScaling({0, NAN, 0}, {1, 1, 1})).ok());
  CHECK(model.scaling().identity());
  CHECK(model.SetScaling(InputScaling({1, 2, 3}, {1, 2, 3})).ok());
}

TEST_CASE("changing a model's scaling keeps the function of raw features") {
  const Dataset d = RawData(50, 5);
  Mlp model = MakeModel({5, 8, 3}, 2);
  REQUIRE(model.SetScaling(ScalingFor(FeatureMoments::Of(d))).ok());
  const Mlp before = model;
  // Another fleet's scaling (from other samples), then back to the identity.
  const InputScaling other = ScalingFor(FeatureMoments::Of(RawData(70, 6)));
  std::vector<float> momentum(model.num_params());
  Rng rng(7);
  for (float& v : momentum) v = rng.UniformFloat() - 0.5f;
  std::vector<float> momentum_model(model.params().begin(), model.params().end());
  for (size_t i = 0; i < momentum.size(); ++i) momentum_model[i] += momentum[i];
  Mlp shifted = model;  // the model plus the linked vector, to check linearity
  std::copy(momentum_model.begin(), momentum_model.end(), shifted.params().begin());

  const std::span<float> linked[] = {momentum};
  REQUIRE(ChangeScaling(model, other, linked).ok());
  CHECK(model.scaling() == other);
  REQUIRE(ChangeScaling(shifted, other, {}).ok());
  for (size_t i = 0; i < d.size(); ++i) {
    std::vector<float> p0(3), p1(3);
    CHECK(Predict(before, d.sample(i), p0) == Predict(model, d.sample(i), p1));
    for (int c = 0; c < 3; ++c) CHECK(p1[c] == Approx(p0[c]).margin(1e-4));
  }
  // The linked vector moved like a difference of parameters: model + v maps to model' + v'.
  for (size_t i = 0; i < momentum.size(); ++i) {
    CHECK(model.params()[i] + momentum[i] ==
          Approx(shifted.params()[i]).margin(1e-3 * (1 + std::fabs(shifted.params()[i]))));
  }
  REQUIRE(ChangeScaling(model, InputScaling{}, {}).ok());
  CHECK(model.scaling().identity());
  for (size_t i = 0; i < d.size(); ++i) {
    std::vector<float> p0(3), p1(3);
    (void)Predict(before, d.sample(i), p0);
    (void)Predict(model, d.sample(i), p1);
    for (int c = 0; c < 3; ++c) CHECK(p1[c] == Approx(p0[c]).margin(1e-3));
  }
  // Refusals change nothing.
  const Mlp kept = model;
  std::vector<float> short_vector(3);
  const std::span<float> bad_linked[] = {short_vector};
  CHECK_FALSE(ChangeScaling(model, other, bad_linked).ok());
  CHECK_FALSE(ChangeScaling(model, InputScaling({0}, {1}), {}).ok());
  CHECK(std::equal(kept.params().begin(), kept.params().end(), model.params().begin()));
  CHECK(model.scaling() == kept.scaling());
}

TEST_CASE("a change of scaling that would overflow a float is refused and changes nothing") {
  // Found by fuzz_checkpoint: a checkpoint whose scale is tiny, moved to the identity, turned
  // the first layer's weights into inf, and the checkpoint written next could not be read.
  Mlp model = MakeModel({3, 4, 2}, 1);
  REQUIRE(model.SetScaling(InputScaling({0, 0, 0}, {1, 1e-38f, 1})).ok());
  const Mlp kept = model;
  std::vector<float> momentum(model.num_params(), 0.5f);
  const std::vector<float> momentum_kept = momentum;
  const std::span<float> linked[] = {momentum};
  // Feature 1's weights grow 1e38-fold: past float range for any weight above ~3.4.
  model.params()[1 * 4 + 0] = 10.0f;
  const Mlp big = model;
  CHECK_FALSE(ChangeScaling(model, InputScaling{}, linked).ok());
  CHECK(std::equal(big.params().begin(), big.params().end(), model.params().begin()));
  CHECK(model.scaling() == kept.scaling());
  CHECK(momentum == momentum_kept);
  // A center far from a tiny scale overflows the bias the same way.
  Mlp shifted = kept;
  REQUIRE(shifted.SetScaling(InputScaling({0, 1e30f, 0}, {1, 1e-30f, 1})).ok());
  const Mlp shifted_kept = shifted;
  CHECK_FALSE(ChangeScaling(shifted, InputScaling{}, {}).ok());
  CHECK(std::equal(shifted_kept.params().begin(), shifted_kept.params().end(),
                   shifted.params().begin()));
  // The same weights with a scale that fits move fine.
  Mlp ok = kept;
  REQUIRE(ok.SetScaling(InputScaling({0, 0, 0}, {1, 1e-3f, 1})).ok());
  CHECK(ChangeScaling(ok, InputScaling{}, linked).ok());
}

TEST_CASE("a model with a scaling trains and evaluates on raw data as on scaled data") {
  const Dataset raw = RawData(64, 8);
  const InputScaling s = ScalingFor(FeatureMoments::Of(raw));
  const Dataset scaled = ScaleDataset(raw, s);
  Mlp with = MakeModel({5, 6, 3}, 3);
  Mlp without = with;
  REQUIRE(with.SetScaling(s).ok());
  SgdOptions sgd;
  sgd.batch_size = 16;
  Trainer t_with(with, sgd), t_without(without, sgd);
  std::vector<uint32_t> batch = {5, 1, 60, 33, 2, 2, 17};
  for (int step = 0; step < 3; ++step) {
    CHECK(t_with.Step(with, raw, batch) == t_without.Step(without, scaled, batch));
  }
  CHECK(std::equal(with.params().begin(), with.params().end(), without.params().begin()));
  const EvalResult a = Evaluate(with, raw);
  const EvalResult b = Evaluate(without, scaled);
  CHECK(a.accuracy == b.accuracy);
  CHECK(a.mean_loss == b.mean_loss);
  std::vector<uint32_t> pa(raw.size()), pb(raw.size());
  PredictBatch(with, raw, pa);
  PredictBatch(without, scaled, pb);
  CHECK(pa == pb);
}

TEST_CASE("a checkpoint keeps the scaling and the sample count it came from") {
  Mlp model = MakeModel({5, 4, 3}, 1);
  REQUIRE(model.SetScaling(ScalingFor(FeatureMoments::Of(RawData(40, 9)))).ok());
  Trainer trainer(model, SgdOptions{});
  Checkpoint c = MakeCheckpoint(model, trainer, 1, 2, 3);
  c.scaling_samples = 40;
  const Bytes bytes = EncodeCheckpoint(c);
  CHECK(bytes.size() == EncodedCheckpointSize(c.layer_sizes, 2) + 8 + 8 * 5);
  auto back = DecodeCheckpoint(bytes);
  REQUIRE(back.ok());
  CHECK(*back == c);
  CHECK(EncodeCheckpoint(*back) == bytes);
  auto restored = ModelFromCheckpoint(*back);
  REQUIRE(restored.ok());
  CHECK(restored->scaling() == model.scaling());

  // The identity is stored only as a fleet's agreed scaling (with its sample count).
  c.scaling = InputScaling{};
  c.scaling_samples = 0;
  CHECK(EncodeCheckpoint(c).size() == EncodedCheckpointSize(c.layer_sizes, 2));
  c.scaling_samples = 12;
  const Bytes with_identity = EncodeCheckpoint(c);
  CHECK(with_identity.size() == EncodedCheckpointSize(c.layer_sizes, 2) + 8 + 8 * 5);
  auto identity = DecodeCheckpoint(with_identity);
  REQUIRE(identity.ok());
  CHECK(identity->scaling.identity());
  CHECK(identity->scaling_samples == 12);
  CHECK(EncodeCheckpoint(*identity) == with_identity);
}

TEST_CASE("the update fingerprint of a scaled model matches docs/protocol.md's vector") {
  const ModelFingerprint base = Fingerprint(std::vector<uint32_t>{784, 32, 10}, 1);
  CHECK(UpdateFingerprint(base, InputScaling{}) == base);
  const InputScaling s(std::vector<float>(784, 0.5f), std::vector<float>(784, 2.0f));
  // /usr/bin/python3 -c 'import struct,hashlib;
  // print(hashlib.blake2b(b"dust-scaled-v1"+bytes.fromhex("ead6db0551426e7c")+struct.pack("<784f",*([0.5]*784))+struct.pack("<784f",*([2.0]*784)),digest_size=32).digest()[:8].hex())'
  const ModelFingerprint expected = {0xcb, 0x07, 0x80, 0x04, 0x19, 0xac, 0x1c, 0x64};
  CHECK(UpdateFingerprint(base, s) == expected);
}
