// Input scaling: the per-feature affine map z = (x - center) / scale that a model applies to raw
// features before its first layer (docs/engine.md, "Feature scaling").
//
// Raw sensor data has features on wildly different scales (a temperature around 20, a current
// around 0.01, a count around 1,000); SGD on them diverges or crawls. The fleet therefore agrees
// on one scaling, computed from pooled per-feature statistics of everyone's training data
// (FeatureMoments merge exactly, Chan et al.'s parallel update), and every model carries it: the
// trainer, evaluation, predict and the exporters all see raw features and scale them the same
// way, so an app feeds raw readings.
//
// The rule (ScalingFor), per feature; "mostly zero" = exactly 0 in at least half the samples:
//   - offset dominates (not mostly zero, |mean| > 3 std, e.g. a temperature of 21 +- 2, a
//     pressure of 1013 +- 8): standardised, center = mean, scale = standard deviation. Divided
//     by its largest value instead, its variation would be squeezed into a sliver of [0, 1].
//   - other features that are not mostly zero: divided by the largest |x| seen, so they lie in
//     [-1, 1]. Not centred: centring turns zeros into non-zeros, and the first layer's kernels
//     skip zero inputs.
//   - mostly zero (image pixels, counts of rare events): divided by the largest |x| when that
//     is above 1, else kept as they are. Never amplified: scaling a pixel that is set in a few
//     images up to 1 gave it outsized weight and cost 1 point on mnist-10k (docs/engine.md).
//   - a constant feature is divided by its value (it maps to 1); a feature never seen: scale 1.
// So data already in [0, 1] (MNIST-like images) maps to the identity, and raw tabular features
// (every reading on its own scale) to O(1) values.
// A model whose map is the identity carries an empty InputScaling.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/util/status.h"

namespace dust {

// Per-feature statistics of a set of samples, exactly mergeable: pooling the moments of two
// disjoint sets gives the moments of their union (up to rounding), in any order.
struct FeatureMoments {
  uint64_t count = 0;           // samples
  std::vector<double> mean;     // [features]
  std::vector<double> m2;       // [features] sum of squared deviations from the mean
  std::vector<uint64_t> zeros;  // [features] samples where the feature is exactly 0
  std::vector<float> max_abs;   // [features] largest |x|

  // The moments of every sample of `data` (features = data.num_features()).
  static FeatureMoments Of(const Dataset& data);
  // Empty moments of `features` features.
  static FeatureMoments Empty(uint32_t features);

  uint32_t features() const { return static_cast<uint32_t>(mean.size()); }
  // Pools `other` (same number of features; InvalidArgument and no change otherwise).
  Status Merge(const FeatureMoments& other);
  // Sizes consistent, every value finite and in range (a zero count above the sample count,
  // a negative m2 or max_abs are refused): what a decoder of received moments must check.
  Status Check() const;

  bool operator==(const FeatureMoments&) const = default;
};

class InputScaling {
 public:
  // The identity.
  InputScaling() = default;
  // center and scale of the same length; Check says whether they are valid for a model.
  InputScaling(std::vector<float> center, std::vector<float> scale);

  bool identity() const { return m_center.empty(); }
  uint32_t features() const { return static_cast<uint32_t>(m_center.size()); }
  const std::vector<float>& center() const { return m_center; }  // [features], or empty
  const std::vector<float>& scale() const { return m_scale; }    // [features], or empty
  // The features with a non-zero center (a raw zero does not map to zero), increasing.
  const std::vector<uint32_t>& centered() const { return m_centered; }

  // Identity, or center and scale of `features` entries each, finite, every scale > 0.
  Status Check(uint32_t features) const;
  // Applies the map to one raw sample of features() features; writes the non-zero results
  // (index increasing) to index/value and returns a view of them. O(stored entries + centered
  // features), allocation-free once the vectors have grown.
  SampleView Apply(const SampleView& x, std::vector<uint32_t>& index,
                   std::vector<float>& value) const;

  bool operator==(const InputScaling& o) const {
    return m_center == o.m_center && m_scale == o.m_scale;
  }

 private:
  std::vector<float> m_center;
  std::vector<float> m_scale;
  std::vector<uint32_t> m_centered;
};

// The scaling for these moments (the rule above); the identity if every feature maps to itself.
InputScaling ScalingFor(const FeatureMoments& moments);

// The scaling a node uses on its own while the fleet calibrates (fleet_scaling.h), before any
// pooled statistics exist: the identity when every feature lies within [-1, 1] (nothing to
// shrink, SGD cannot diverge on it), else ScalingFor(moments). Nodes whose maps differ cannot
// merge each other's updates, and ScalingFor of non-IID slices of [0, 1] images differs from
// node to node (a pixel set in most of one node's images but never up to 1 is amplified, a
// nearly constant one centred) although the pooled scaling of such data is the identity: MNIST
// lost updates in every calibration round that way (docs/benchmarks.md). Raw readings need
// their own node's scaling at once, or the first rounds diverge.
InputScaling ProvisionalScalingFor(const FeatureMoments& moments);

// For people: "identity", or e.g. "13 standardised, 6 divided by their largest |x|, 2 as
// they are" (features = the model's input width).
std::string DescribeScaling(const InputScaling& scaling, uint32_t features);

// `data` with every sample scaled (labels and shape kept). The identity returns a copy.
Dataset ScaleDataset(const Dataset& data, const InputScaling& scaling);

}  // namespace dust
