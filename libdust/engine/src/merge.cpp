// Aggregation rules and quarantine (merge.h).
#include "dust/engine/merge.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace dust {

Result<AggregatorOptions> ParseAggregator(std::string_view spec) {
  AggregatorOptions o;
  auto parse_arg = [&](std::string_view prefix, double* out) -> bool {
    std::string_view arg = spec.substr(prefix.size());
    const char* b = arg.data();
    const char* e = b + arg.size();
    auto [p, ec] = std::from_chars(b, e, *out);
    return ec == std::errc() && p == e;
  };
  if (spec == "mean") {
    o.kind = AggregatorKind::kMean;
  } else if (spec == "median") {
    o.kind = AggregatorKind::kMedian;
  } else if (spec.starts_with("trimmed:")) {
    double b = 0;
    if (!parse_arg("trimmed:", &b) || b < 1 || b > 1000 || b != std::floor(b)) {
      return Status::InvalidArgument("aggregator '" + std::string(spec) +
                                     "': trimmed:B needs an integer B in [1, 1000]");
    }
    o.kind = AggregatorKind::kTrimmedMean;
    o.trim = static_cast<uint32_t>(b);
  } else if (spec == "clip") {
    o.kind = AggregatorKind::kClip;
  } else if (spec.starts_with("clip:")) {
    double t = 0;
    if (!parse_arg("clip:", &t) || !(t > 0) || !std::isfinite(t)) {
      return Status::InvalidArgument("aggregator '" + std::string(spec) +
                                     "': clip:TAU needs a finite TAU > 0");
    }
    o.kind = AggregatorKind::kClip;
    o.clip_tau = static_cast<float>(t);
  } else {
    return Status::InvalidArgument("unknown aggregator '" + std::string(spec) +
                                   "' (mean, median, trimmed:B, clip, clip:TAU)");
  }
  return o;
}

std::string FormatAggregator(const AggregatorOptions& o) {
  switch (o.kind) {
    case AggregatorKind::kMean:
      return "mean";
    case AggregatorKind::kMedian:
      return "median";
    case AggregatorKind::kTrimmedMean:
      return "trimmed:" + std::to_string(o.trim);
    case AggregatorKind::kClip:
      if (o.clip_tau > 0) {
        char buf[32];
        auto [p, ec] = std::to_chars(buf, buf + sizeof buf, o.clip_tau);
        (void)ec;
        return "clip:" + std::string(buf, p);
      }
      return "clip";
  }
  return "mean";
}

const char* QuarantineReasonName(QuarantineReason r) {
  switch (r) {
    case QuarantineReason::kNonFinite:
      return "non_finite";
    case QuarantineReason::kAbsurdNorm:
      return "absurd_norm";
    case QuarantineReason::kIncompatible:
      return "incompatible";
  }
  return "unknown";
}

std::optional<QuarantineReason> CheckUpdate(std::span<const float> params, const MergeInput& u,
                                            float max_norm_ratio) {
  if (u.index.size() != u.value.size() || u.index.empty()) return QuarantineReason::kIncompatible;
  if (!std::isfinite(u.weight) || u.weight <= 0) return QuarantineReason::kIncompatible;
  double own2 = 0, their2 = 0;
  uint32_t prev = 0;
  for (size_t k = 0; k < u.index.size(); ++k) {
    uint32_t i = u.index[k];
    if (i >= params.size() || (k > 0 && i <= prev)) return QuarantineReason::kIncompatible;
    prev = i;
    float v = u.value[k];
    if (!std::isfinite(v)) return QuarantineReason::kNonFinite;
    own2 += double{params[i]} * params[i];
    their2 += double{v} * v;
  }
  double n = static_cast<double>(u.index.size());
  // The floor keeps a freshly initialised (tiny) region from quarantining honest peers.
  double own_rms = std::sqrt(own2 / n) + 0.05;
  double their_rms = std::sqrt(their2 / n);
  if (their_rms > max_norm_ratio * own_rms) return QuarantineReason::kAbsurdNorm;
  return std::nullopt;
}

Merger::Merger(size_t num_params, AggregatorOptions options)
    : m_options(options), m_count(num_params + 1, 0) {}

namespace {

double Median(float* v, size_t n) {
  size_t mid = n / 2;
  std::nth_element(v, v + mid, v + n);
  double hi = v[mid];
  if (n % 2 == 1) return hi;
  double lo = *std::max_element(v, v + mid);
  return 0.5 * (lo + hi);
}

// The clip rule's radius: clip_tau when given, else the median of this merge's difference norms
// (the upper one of the two middle norms for an even count).
double ClipRadius(float clip_tau, std::vector<double> norms) {
  if (clip_tau > 0) return clip_tau;
  std::nth_element(norms.begin(), norms.begin() + static_cast<long>(norms.size() / 2), norms.end());
  return norms[norms.size() / 2];
}

}  // namespace

MergeStats Merger::Merge(std::span<float> params, float own_weight,
                         std::span<const MergeInput> updates) {
  MergeStats stats;
  if (updates.empty()) return stats;
  stats.updates = updates.size();
  const size_t np = params.size();
  if (m_count.size() != np + 1) m_count.assign(np + 1, 0);

  if (m_options.kind == AggregatorKind::kClip) {
    // Per update: difference norm over its coordinates, then clipped weighted accumulation.
    std::vector<double> norms(updates.size());
    for (size_t j = 0; j < updates.size(); ++j) {
      double s = 0;
      for (size_t k = 0; k < updates[j].index.size(); ++k) {
        double d = double{updates[j].value[k]} - params[updates[j].index[k]];
        s += d * d;
      }
      norms[j] = std::sqrt(s);
    }
    const double tau = ClipRadius(m_options.clip_tau, norms);
    // Accumulate sum_j w_j * clip_j(d_j) and sum_j w_j per coordinate (m_values as dense).
    m_values.assign(np, 0.0f);
    m_weights.assign(np, 0.0f);
    m_touched.clear();
    for (size_t j = 0; j < updates.size(); ++j) {
      double f = (norms[j] > tau && norms[j] > 0) ? tau / norms[j] : 1.0;
      if (f < 1.0) stats.clipped += 1;
      float w = updates[j].weight;
      for (size_t k = 0; k < updates[j].index.size(); ++k) {
        uint32_t i = updates[j].index[k];
        if (m_weights[i] == 0.0f) m_touched.push_back(i);
        m_values[i] += static_cast<float>(w * f * (double{updates[j].value[k]} - params[i]));
        m_weights[i] += w;
      }
    }
    for (uint32_t i : m_touched) params[i] += m_values[i] / (m_weights[i] + own_weight);
    stats.coordinates = m_touched.size();
    return stats;
  }

  // Bucket all received values by coordinate (counting sort), own value first in each bucket.
  m_touched.clear();
  size_t total = 0;
  for (const auto& u : updates) {
    for (uint32_t i : u.index) {
      if (m_count[i] == 0) m_touched.push_back(i);
      ++m_count[i];
    }
    total += u.index.size();
  }
  total += m_touched.size();
  if (m_values.size() < total) {
    m_values.resize(total);
    m_weights.resize(total);
  }
  // m_count[i] becomes the write cursor of bucket i; bucket sizes are remembered by the cursor
  // moving from start to end. Starts are kept in a parallel pass over m_touched (in order).
  std::sort(m_touched.begin(), m_touched.end());
  std::vector<uint32_t> start(m_touched.size() + 1);
  {
    uint32_t pos = 0;
    for (size_t t = 0; t < m_touched.size(); ++t) {
      uint32_t i = m_touched[t];
      start[t] = pos;
      m_values[pos] = params[i];
      m_weights[pos] = own_weight;
      uint32_t n = m_count[i];
      m_count[i] = pos + 1;  // cursor
      pos += n + 1;
    }
    start[m_touched.size()] = pos;
  }
  for (const auto& u : updates) {
    for (size_t k = 0; k < u.index.size(); ++k) {
      uint32_t c = m_count[u.index[k]]++;
      m_values[c] = u.value[k];
      m_weights[c] = u.weight;
    }
  }
  for (size_t t = 0; t < m_touched.size(); ++t) {
    uint32_t i = m_touched[t];
    m_count[i] = 0;
    float* v = m_values.data() + start[t];
    float* w = m_weights.data() + start[t];
    size_t n = start[t + 1] - start[t];
    double out = params[i];
    switch (m_options.kind) {
      case AggregatorKind::kMean: {
        double sw = 0, swv = 0;
        for (size_t k = 0; k < n; ++k) {
          sw += w[k];
          swv += double{w[k]} * v[k];
        }
        out = sw > 0 ? swv / sw : out;
        break;
      }
      case AggregatorKind::kMedian:
        out = Median(v, n);
        break;
      case AggregatorKind::kTrimmedMean: {
        size_t b = m_options.trim;
        if (n < 2 * b + 1) {
          out = Median(v, n);
        } else {
          std::sort(v, v + n);
          double s = 0;
          for (size_t k = b; k < n - b; ++k) s += v[k];
          out = s / static_cast<double>(n - 2 * b);
        }
        break;
      }
      case AggregatorKind::kClip:
        break;
    }
    params[i] = static_cast<float>(out);
  }
  stats.coordinates = m_touched.size();
  return stats;
}

MergeStats Merger::MergeDeltas(std::span<float> params, std::span<const MergeInput> deltas,
                               double expected_weight, std::vector<double>* factors) {
  MergeStats stats;
  if (factors != nullptr) factors->assign(deltas.size(), 1.0);
  if (deltas.empty()) return stats;
  stats.updates = deltas.size();
  const bool robust = m_options.kind != AggregatorKind::kMean;
  std::vector<double> factor(deltas.size(), 1.0);
  double total_w = 0;
  if (robust) {
    std::vector<double> norms(deltas.size());
    for (size_t j = 0; j < deltas.size(); ++j) {
      double s2 = 0;
      for (float v : deltas[j].value) s2 += double{v} * v;
      norms[j] = std::sqrt(s2);
    }
    const double tau = ClipRadius(m_options.clip_tau, norms);
    for (size_t j = 0; j < deltas.size(); ++j) {
      if (norms[j] > tau && norms[j] > 0) {
        factor[j] = tau / norms[j];
        stats.clipped += 1;
      }
    }
    total_w = static_cast<double>(deltas.size());
  } else {
    for (const auto& d : deltas) total_w += d.weight;
  }
  total_w = std::max(total_w, expected_weight);
  if (factors != nullptr) factors->assign(factor.begin(), factor.end());
  if (!(total_w > 0)) return stats;
  for (size_t j = 0; j < deltas.size(); ++j) {
    double f = factor[j] * (robust ? 1.0 : deltas[j].weight) / total_w;
    for (size_t k = 0; k < deltas[j].index.size(); ++k) {
      uint32_t i = deltas[j].index[k];
      if (i < params.size()) params[i] += static_cast<float>(f * deltas[j].value[k]);
    }
    stats.coordinates += deltas[j].index.size();
  }
  return stats;
}

}  // namespace dust
