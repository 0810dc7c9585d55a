// Merging peers' updates into the local model: aggregation rules and quarantine.
//
// The engine (node.h) gossips two kinds of values, and a merge takes the node's own parameters
// and the updates received since the last merge:
//   - ABSOLUTE parameter values for a block of coordinates (Merge): for every coordinate
//     covered by at least one update, the node's value becomes an aggregate of {own value} U
//     {received values for that coordinate}. Coordinates nobody sent are untouched, so a lost
//     block only delays mixing; it can never make nodes diverge.
//   - DELTAS, changes to add (MergeDeltas): the node's parameters move by the mean of the
//     round's deltas over every sender expected, so a lost delta shrinks the step and never
//     scales up the others'.
//
// Rules (AggregatorOptions, parsed from "mean", "median", "trimmed:B", "clip[:TAU]"), as Merge
// applies them to absolute values (MergeDeltas says what they mean for deltas):
//   mean      weighted mean; weights are the updates' sample weights (own: own_weight).
//   median    coordinate-wise median of the values (unweighted; ties: mean of the two middle).
//   trimmed:B per coordinate, drop the B largest and B smallest values, unweighted mean of the
//             rest; with fewer than 2B+1 values it falls back to the median.
//   clip[:T]  centered clipping (Karimireddy et al. 2021) around the own value: each update's
//             difference vector d_j = v_j - own over its coordinates is scaled to norm <= tau,
//             then own += weighted mean of clipped differences (own difference 0). tau = T if
//             given, else the median of the ||d_j|| of this merge (adaptive, parameter-free).
//
// Quarantine (CheckUpdate) runs on each part (absolute values, deltas) of a received update
// before it is buffered: non-finite values, absurd magnitude (RMS over its coordinates more
// than max_norm_ratio times the local RMS on the same coordinates plus a floor), or indices
// outside the model are refused, counted by reason by the caller. Robust rules handle the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dust/util/status.h"

namespace dust {

enum class AggregatorKind : uint8_t { kMean = 0, kMedian = 1, kTrimmedMean = 2, kClip = 3 };

struct AggregatorOptions {
  AggregatorKind kind = AggregatorKind::kMean;
  uint32_t trim = 1;      // kTrimmedMean: values dropped at each end per coordinate
  float clip_tau = 0.0f;  // kClip: fixed radius; 0 = adaptive (median difference norm)
};

// "mean" | "median" | "trimmed:B" (B >= 1) | "clip" | "clip:TAU" (TAU > 0).
Result<AggregatorOptions> ParseAggregator(std::string_view spec);
std::string FormatAggregator(const AggregatorOptions& options);

// One received update in merge form: strictly increasing indices with their values.
struct MergeInput {
  float weight = 1.0f;  // sample weight (> 0)
  std::vector<uint32_t> index;
  std::vector<float> value;
};

enum class QuarantineReason : uint8_t { kNonFinite = 0, kAbsurdNorm = 1, kIncompatible = 2 };
const char* QuarantineReasonName(QuarantineReason reason);

// Checks an update against the local parameters. nullopt = acceptable.
std::optional<QuarantineReason> CheckUpdate(std::span<const float> params, const MergeInput& update,
                                            float max_norm_ratio);

struct MergeStats {
  size_t updates = 0;      // updates merged
  size_t coordinates = 0;  // coordinates changed
  double clipped = 0;      // kClip: updates whose difference was clipped
};

// Owns scratch space sized for one model; Merge allocates only when a merge holds more values
// than any before. Not thread-safe.
class Merger {
 public:
  Merger(size_t num_params, AggregatorOptions options);

  // Merges `updates` (each passed CheckUpdate) into `params` as described above.
  MergeStats Merge(std::span<float> params, float own_weight, std::span<const MergeInput> updates);

  // Applies DELTA updates (changes, not values): params += sum_j w_j d_j / W, a coordinate an
  // update does not carry counting as 0 for it. W is the larger of the updates' total weight
  // and `expected_weight` (the weight of every sender expected this round, lost ones
  // included), so merging a round's updates in several batches, or losing some, never scales
  // the step up. kMean weights by sample weight; every robust rule first scales each update
  // to norm <= tau (clip_tau, or the median norm of this merge) and uses weight 1 for all
  // (expected_weight then counts senders), so neither a lied-about weight nor a scaled delta
  // moves the model further than an honest peer's step.
  // `factors`, if given, receives each update's clip factor (1: not clipped), so the caller
  // can remember what was applied.
  MergeStats MergeDeltas(std::span<float> params, std::span<const MergeInput> deltas,
                         double expected_weight, std::vector<double>* factors = nullptr);

  const AggregatorOptions& options() const { return m_options; }

 private:
  AggregatorOptions m_options;
  std::vector<uint32_t> m_count;    // [num_params] values per coordinate, then bucket starts
  std::vector<uint32_t> m_touched;  // coordinates covered by this merge
  std::vector<float> m_values;      // bucketed values
  std::vector<float> m_weights;     // bucketed weights
};

}  // namespace dust
