// Input scaling (scaling.h): pooled feature moments and the per-feature affine map.
#include "dust/ml/scaling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace dust {
namespace {

// A feature that is zero in at least this share of the samples is "mostly zero" (scaling.h).
constexpr double kSparseShare = 0.5;
// A feature is centred when its offset dominates its spread: |mean| > this * std.
constexpr double kOffsetDominates = 3.0;

std::string FeatureName(size_t j) { return "feature " + std::to_string(j); }

}  // namespace

FeatureMoments FeatureMoments::Empty(uint32_t features) {
  FeatureMoments m;
  m.mean.assign(features, 0.0);
  m.m2.assign(features, 0.0);
  m.zeros.assign(features, 0);
  m.max_abs.assign(features, 0.0f);
  return m;
}

FeatureMoments FeatureMoments::Of(const Dataset& data) {
  const uint32_t f = data.num_features();
  FeatureMoments m = Empty(f);
  m.count = data.size();
  if (data.empty()) return m;
  // Two passes in double: sums for the means, then squared deviations (stable, and the data is
  // small enough to read twice). A feature absent from a sample's sparse row is a zero.
  std::vector<uint64_t> nonzero(f, 0);
  for (size_t i = 0; i < data.size(); ++i) {
    const SampleView s = data.sample(i);
    for (size_t e = 0; e < s.index.size(); ++e) {
      const uint32_t j = s.index[e];
      m.mean[j] += s.value[e];
      m.max_abs[j] = std::max(m.max_abs[j], std::fabs(s.value[e]));
      ++nonzero[j];
    }
  }
  const double n = static_cast<double>(m.count);
  for (uint32_t j = 0; j < f; ++j) {
    m.mean[j] /= n;
    m.zeros[j] = m.count - nonzero[j];
    // The zeros' squared deviations, then the stored values' below.
    m.m2[j] = static_cast<double>(m.zeros[j]) * m.mean[j] * m.mean[j];
  }
  for (size_t i = 0; i < data.size(); ++i) {
    const SampleView s = data.sample(i);
    for (size_t e = 0; e < s.index.size(); ++e) {
      const double d = s.value[e] - m.mean[s.index[e]];
      m.m2[s.index[e]] += d * d;
    }
  }
  return m;
}

Status FeatureMoments::Merge(const FeatureMoments& other) {
  if (other.features() != features()) {
    return Status::InvalidArgument("feature moments of " + std::to_string(other.features()) +
                                   " features cannot pool with " + std::to_string(features()));
  }
  if (other.count == 0) return Status::Ok();
  if (count == 0) {
    *this = other;
    return Status::Ok();
  }
  // Chan, Golub and LeVeque's pairwise update.
  const double na = static_cast<double>(count);
  const double nb = static_cast<double>(other.count);
  const double n = na + nb;
  for (uint32_t j = 0; j < features(); ++j) {
    const double delta = other.mean[j] - mean[j];
    mean[j] += delta * nb / n;
    m2[j] += other.m2[j] + delta * delta * na * nb / n;
    zeros[j] += other.zeros[j];
    max_abs[j] = std::max(max_abs[j], other.max_abs[j]);
  }
  count += other.count;
  return Status::Ok();
}

Status FeatureMoments::Check() const {
  const size_t f = mean.size();
  if (m2.size() != f || zeros.size() != f || max_abs.size() != f) {
    return Status::InvalidArgument("feature moments: vectors of different lengths");
  }
  for (size_t j = 0; j < f; ++j) {
    if (!std::isfinite(mean[j]) || !std::isfinite(m2[j]) || m2[j] < 0 ||
        !std::isfinite(max_abs[j]) || max_abs[j] < 0 || zeros[j] > count) {
      return Status::InvalidArgument("feature moments: " + FeatureName(j) +
                                     " has a non-finite or impossible value");
    }
  }
  return Status::Ok();
}

InputScaling::InputScaling(std::vector<float> center, std::vector<float> scale)
    : m_center(std::move(center)), m_scale(std::move(scale)) {
  for (uint32_t j = 0; j < m_center.size(); ++j) {
    if (m_center[j] != 0.0f) m_centered.push_back(j);
  }
}

Status InputScaling::Check(uint32_t features) const {
  if (m_center.empty() && m_scale.empty()) return Status::Ok();
  if (m_center.size() != features || m_scale.size() != features) {
    return Status::InvalidArgument("input scaling has " + std::to_string(m_center.size()) + "/" +
                                   std::to_string(m_scale.size()) + " entries for a model of " +
                                   std::to_string(features) + " inputs");
  }
  for (size_t j = 0; j < m_center.size(); ++j) {
    if (!std::isfinite(m_center[j]) || !std::isfinite(m_scale[j]) || !(m_scale[j] > 0.0f)) {
      return Status::InvalidArgument("input scaling: " + FeatureName(j) +
                                     " has a non-finite center or a scale that is not > 0");
    }
  }
  return Status::Ok();
}

SampleView InputScaling::Apply(const SampleView& x, std::vector<uint32_t>& index,
                               std::vector<float>& value) const {
  index.clear();
  value.clear();
  // Merge the sample's stored entries with the centred features (a centred feature maps a raw
  // zero to -center/scale), both in increasing order.
  auto emit = [&](uint32_t j, float raw) {
    const float z = (raw - m_center[j]) / m_scale[j];
    if (z != 0.0f) {
      index.push_back(j);
      value.push_back(z);
    }
  };
  size_t e = 0;
  for (uint32_t c : m_centered) {
    for (; e < x.index.size() && x.index[e] < c; ++e) emit(x.index[e], x.value[e]);
    if (e < x.index.size() && x.index[e] == c) {
      emit(c, x.value[e++]);
    } else {
      emit(c, 0.0f);
    }
  }
  for (; e < x.index.size(); ++e) emit(x.index[e], x.value[e]);
  return SampleView{.index = index, .value = value, .label = x.label};
}

InputScaling ScalingFor(const FeatureMoments& m) {
  std::vector<float> centers(m.features(), 0.0f);
  std::vector<float> scales(m.features(), 1.0f);
  bool identity = true;
  for (uint32_t j = 0; j < m.features(); ++j) {
    if (m.count == 0) break;
    const double zero_share = static_cast<double>(m.zeros[j]) / static_cast<double>(m.count);
    float center = 0.0f;
    float scale = 1.0f;
    const double mean = m.mean[j];
    const double std = std::sqrt(m.m2[j] / static_cast<double>(m.count));
    const bool sparse = zero_share >= kSparseShare;
    if (!sparse && std > 0 && std::fabs(mean) > kOffsetDominates * std) {
      center = static_cast<float>(mean);
      scale = static_cast<float>(std);
    } else if (!sparse || m.max_abs[j] > 1.0f) {
      scale = m.max_abs[j];
    }  // else a mostly-zero feature within [-1, 1]: kept as it is, never amplified
    // A constant feature, or a spread below what float resolves next to its center.
    if (!(scale > 0.0f) || !std::isfinite(scale) ||
        scale <= std::fabs(center) * std::numeric_limits<float>::epsilon()) {
      scale = 1.0f;
    }
    centers[j] = center;
    scales[j] = scale;
    identity = identity && center == 0.0f && scale == 1.0f;
  }
  if (identity) return InputScaling{};
  return InputScaling(std::move(centers), std::move(scales));
}

InputScaling ProvisionalScalingFor(const FeatureMoments& m) {
  const bool within_one =
      std::all_of(m.max_abs.begin(), m.max_abs.end(), [](float x) { return x <= 1.0f; });
  return within_one ? InputScaling{} : ScalingFor(m);
}

std::string DescribeScaling(const InputScaling& scaling, uint32_t features) {
  if (scaling.identity()) return "identity (" + std::to_string(features) + " features as they are)";
  size_t standardised = 0, divided = 0, kept = 0;
  for (uint32_t j = 0; j < scaling.features(); ++j) {
    if (scaling.center()[j] != 0.0f) {
      ++standardised;
    } else if (scaling.scale()[j] != 1.0f) {
      ++divided;
    } else {
      ++kept;
    }
  }
  return std::to_string(standardised) + " standardised, " + std::to_string(divided) +
         " divided by their largest |x|, " + std::to_string(kept) + " as they are";
}

Dataset ScaleDataset(const Dataset& data, const InputScaling& scaling) {
  if (scaling.identity()) return data;
  Dataset out(data.num_features(), data.num_classes());
  std::vector<uint32_t> index;
  std::vector<float> value;
  for (size_t i = 0; i < data.size(); ++i) {
    const SampleView z = scaling.Apply(data.sample(i), index, value);
    out.AddSparse(z.index, z.value, z.label);
  }
  return out;
}

}  // namespace dust
