// The update planners (update_planner.h).
#include "update_planner.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "dust/net/wire.h"

namespace dust::internal {
namespace {

// Splits a strictly increasing index list into dense runs and quantizes each run as one
// segment. Runs shorter than this are merged into one sparse segment instead.
constexpr size_t kMinDenseRun = 16;

// An attack hook (options.tamper_outgoing) may produce anything; the codec refuses what is not
// finite, so such values are sent as 0.
void ZeroNonFinite(std::vector<float>& values) {
  for (float& v : values) v = std::isfinite(v) ? v : 0.0f;
}

// kAbsolute's coordinates for round `r`: a block of the first layer's weights, visited
// round-robin, then the parameters after them ("head", small) when they are sent every round.
void AbsoluteIndex(uint64_t r, size_t np, const NodeOptions& options,
                   std::vector<uint32_t>* index) {
  index->clear();
  const size_t cb = CodingBytes(options.coding);
  const size_t ov = SegmentOverheadBytes(options.coding);
  size_t budget = kMaxPayloadBytes - kUpdatePreambleBytes;
  size_t l1 = size_t{options.layers[0]} * options.layers[1];
  size_t head = np - l1;
  bool send_head = options.send_head_every_round && (head + ov) * cb <= budget / 2;
  size_t sweep_begin = 0, sweep_end = np;
  if (send_head) {
    budget -= ov + head * cb;
    sweep_end = l1;
  }
  size_t block = std::min((budget - ov) / cb, sweep_end - sweep_begin);
  size_t nblocks = (sweep_end - sweep_begin + block - 1) / block;
  size_t b = static_cast<size_t>(r % nblocks);
  size_t start = sweep_begin + b * block;
  size_t end = std::min(start + block, sweep_end);
  for (size_t i = start; i < end; ++i) index->push_back(static_cast<uint32_t>(i));
  if (send_head) {
    for (size_t i = l1; i < np; ++i) index->push_back(static_cast<uint32_t>(i));
  }
}

}  // namespace

UpdatePayload BuildPayload(const std::vector<uint32_t>& index, const std::vector<float>& value,
                           ValueCoding coding) {
  UpdatePayload p;
  std::vector<uint32_t> sparse_i;
  std::vector<float> sparse_v;
  size_t k = 0;
  while (k < index.size()) {
    size_t e = k + 1;
    while (e < index.size() && index[e] == index[e - 1] + 1 && e - k < 0xFFFF) ++e;
    if (e - k >= kMinDenseRun) {
      p.segments.push_back(
          MakeDenseSegment(index[k], std::span<const float>(value.data() + k, e - k), coding));
    } else {
      for (size_t j = k; j < e; ++j) {
        sparse_i.push_back(index[j]);
        sparse_v.push_back(value[j]);
      }
    }
    k = e;
  }
  if (!sparse_i.empty()) {
    // Keep segments in index order: insert the sparse one where its first index belongs only
    // if it does not interleave with dense runs; otherwise split it per gap between runs.
    std::vector<UpdateSegment> merged;
    size_t si = 0;
    for (auto& seg : p.segments) {
      std::vector<uint32_t> ri;
      std::vector<float> rv;
      while (si < sparse_i.size() && sparse_i[si] < seg.first) {
        ri.push_back(sparse_i[si]);
        rv.push_back(sparse_v[si]);
        ++si;
      }
      if (!ri.empty()) merged.push_back(MakeSparseSegment(ri, rv, coding));
      merged.push_back(std::move(seg));
    }
    if (si < sparse_i.size()) {
      std::vector<uint32_t> ri(sparse_i.begin() + static_cast<long>(si), sparse_i.end());
      std::vector<float> rv(sparse_v.begin() + static_cast<long>(si), sparse_v.end());
      merged.push_back(MakeSparseSegment(ri, rv, coding));
    }
    p.segments = std::move(merged);
  }
  return p;
}

Result<PlannedUpdate> PlanHybridUpdate(uint64_t round, std::span<const float> params,
                                       std::span<const float> residual, float own_weight,
                                       const NodeOptions& options) {
  const uint64_t r = round;
  const size_t np = params.size();
  const size_t budget = kMaxPayloadBytes - kUpdatePreambleBytes;
  const size_t cb = CodingBytes(options.coding), ov = SegmentOverheadBytes(options.coding);
  size_t abs_bytes = static_cast<size_t>(budget * (1.0f - options.delta_fraction));
  // At most half the model (rounded up): a block that covered the whole model would leave no
  // coordinate to send a delta for, and a small model (a few hundred parameters, as tabular
  // data gives) would then never move, its training stuck in the accumulator. With two or more
  // blocks every coordinate is outside the block at least every other round.
  size_t block = abs_bytes > ov + cb ? std::min((abs_bytes - ov) / cb, (np + 1) / 2) : 0;
  size_t start = 0, end = 0;
  if (block > 0) {
    size_t nblocks = (np + block - 1) / block;
    start = static_cast<size_t>(r % nblocks) * block;
    end = std::min(start + block, np);
  }
  std::vector<uint32_t> abs_index;
  std::vector<float> abs_value;
  for (size_t i = start; i < end; ++i) {
    abs_index.push_back(static_cast<uint32_t>(i));
    abs_value.push_back(params[i]);
  }
  // Candidates for the deltas: every coordinate outside the block, by |residual|.
  size_t delta_bytes = budget - (block > 0 ? ov + block * cb : 0);
  size_t k = delta_bytes > ov ? (delta_bytes - ov) / (cb + 1) : 0;
  std::vector<uint32_t> cand;
  cand.reserve(np);
  for (size_t i = 0; i < np; ++i) {
    if ((i < start || i >= end) && residual[i] != 0.0f) cand.push_back(static_cast<uint32_t>(i));
  }
  auto by_mag = [&](uint32_t a, uint32_t b) {
    float fa = std::fabs(residual[a]), fb = std::fabs(residual[b]);
    return fa != fb ? fa > fb : a < b;
  };
  PlannedUpdate plan;
  for (int attempt = 0; attempt < 8; ++attempt) {
    k = std::min(k, cand.size());
    std::vector<uint32_t> top(cand);
    if (k < top.size()) {
      std::nth_element(top.begin(), top.begin() + static_cast<long>(k), top.end(), by_mag);
      top.resize(k);
    }
    std::sort(top.begin(), top.end());
    std::vector<float> dv(top.size());
    for (size_t j = 0; j < top.size(); ++j) dv[j] = residual[top[j]];
    std::vector<float> sent_dv = dv;
    std::vector<float> sent_abs = abs_value;
    std::vector<uint32_t> sent_top = top, sent_abs_index = abs_index;
    if (options.tamper_outgoing) {
      options.tamper_outgoing(r, sent_abs_index, sent_abs);
      options.tamper_outgoing(r, sent_top, sent_dv);
      ZeroNonFinite(sent_abs);
      ZeroNonFinite(sent_dv);
    }
    UpdatePayload payload;
    // Segments in index order: deltas below the block, the block, deltas above it.
    auto lower = std::lower_bound(sent_top.begin(), sent_top.end(), static_cast<uint32_t>(start));
    size_t nlo = static_cast<size_t>(lower - sent_top.begin());
    if (nlo > 0) {
      payload.segments.push_back(MakeSparseSegment(std::span<const uint32_t>(sent_top.data(), nlo),
                                                   std::span<const float>(sent_dv.data(), nlo),
                                                   options.coding, true));
    }
    if (!sent_abs_index.empty()) {
      payload.segments.push_back(
          MakeDenseSegment(static_cast<uint32_t>(start), sent_abs, options.coding, false));
    }
    if (nlo < sent_top.size()) {
      payload.segments.push_back(
          MakeSparseSegment(std::span<const uint32_t>(sent_top.data() + nlo, sent_top.size() - nlo),
                            std::span<const float>(sent_dv.data() + nlo, sent_dv.size() - nlo),
                            options.coding, true));
    }
    if (payload.segments.empty()) return Status::NotFound("nothing to send");
    if (!EncodeUpdate(payload, &plan.body, &plan.lz4).ok()) {
      k = k * 9 / 10;  // index gaps were larger than planned: fewer deltas
      continue;
    }
    // Our own delta: the honest values, quantized (PlannedUpdate::own_delta says how).
    if (!top.empty()) {
      UpdateSegment q = MakeSparseSegment(top, dv, options.coding, true);
      plan.own_delta.weight = own_weight;
      plan.own_delta.index = std::move(top);
      plan.own_delta.value.reserve(q.size());
      for (size_t j = 0; j < q.size(); ++j) plan.own_delta.value.push_back(q.value(j));
    }
    return plan;
  }
  return Status::ResourceExhausted("update does not fit");
}

Result<PlannedUpdate> PlanAbsoluteUpdate(uint64_t round, std::span<const float> params,
                                         const NodeOptions& options) {
  std::vector<uint32_t> index;
  AbsoluteIndex(round, params.size(), options, &index);
  std::vector<float> value(index.size());
  for (size_t k = 0; k < index.size(); ++k) value[k] = params[index[k]];
  if (options.tamper_outgoing) options.tamper_outgoing(round, index, value);
  ZeroNonFinite(value);
  PlannedUpdate plan;
  DUST_RETURN_IF_ERROR(
      EncodeUpdate(BuildPayload(index, value, options.coding), &plan.body, &plan.lz4));
  return plan;
}

}  // namespace dust::internal
