// The update planners (libdust/engine/src/update_planner.h): pure, within the datagram, and
// choosing what docs/engine.md says (top-k of the accumulator outside a round-robin block).
#include "update_planner.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <vector>

#include "dust/net/codec.h"
#include "dust/net/wire.h"
#include "dust/util/rng.h"

namespace dust::internal {
namespace {

NodeOptions SmallModel() {
  NodeOptions o;
  o.layers = {64, 16, 4};  // 1,108 parameters
  return o;
}

std::vector<float> Random(size_t n, uint64_t seed, float zero_share) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = rng.UniformFloat() < zero_share ? 0.0f : rng.UniformFloat() - 0.5f;
  return v;
}

UpdatePayload Decode(const PlannedUpdate& plan, size_t np) {
  Result<UpdatePayload> u = DecodeUpdate(plan.body, plan.lz4, static_cast<uint32_t>(np));
  REQUIRE(u.ok());
  return *u;
}

TEST_CASE("the hybrid plan is pure: same state, same bytes, inputs untouched") {
  const NodeOptions o = SmallModel();
  const size_t np = ParamCount(o.layers);
  const std::vector<float> params = Random(np, 1, 0.0f), residual = Random(np, 2, 0.5f);
  std::vector<float> p = params, r = residual;
  Result<PlannedUpdate> a = PlanHybridUpdate(7, p, r, 40.0f, o);
  Result<PlannedUpdate> b = PlanHybridUpdate(7, p, r, 40.0f, o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->body == b->body);
  CHECK(a->own_delta.index == b->own_delta.index);
  CHECK(a->own_delta.value == b->own_delta.value);
  CHECK(p == params);
  CHECK(r == residual);
  CHECK(a->body.size() <= kMaxPayloadBytes);
  CHECK(a->own_delta.weight == 40.0f);
}

TEST_CASE("the hybrid plan sends a round's block and the largest residuals outside it") {
  const NodeOptions o = SmallModel();
  const size_t np = ParamCount(o.layers);
  const std::vector<float> params = Random(np, 3, 0.0f), residual = Random(np, 4, 0.3f);
  for (uint64_t round : {0u, 1u, 2u}) {
    Result<PlannedUpdate> plan = PlanHybridUpdate(round, params, residual, 1.0f, o);
    REQUIRE(plan.ok());
    std::set<uint32_t> block, deltas;
    for (const UpdateSegment& seg : Decode(*plan, np).segments) {
      for (size_t k = 0; k < seg.size(); ++k) (seg.delta ? deltas : block).insert(seg.index(k));
    }
    REQUIRE_FALSE(block.empty());
    CHECK(*block.rbegin() - *block.begin() + 1 == block.size());  // one run of coordinates
    const std::vector<uint32_t>& sent = plan->own_delta.index;
    CHECK(std::vector<uint32_t>(deltas.begin(), deltas.end()) == sent);
    float smallest_sent = INFINITY;
    for (uint32_t i : sent) {
      CHECK(block.count(i) == 0);
      smallest_sent = std::min(smallest_sent, std::fabs(residual[i]));
    }
    for (uint32_t i = 0; i < np; ++i) {
      if (block.count(i) == 0 && deltas.count(i) == 0)
        CHECK(std::fabs(residual[i]) <= smallest_sent);
    }
    // The own delta is the residual as quantized: within half an int8 step of it.
    float max_abs = 0;
    for (uint32_t i : sent) max_abs = std::max(max_abs, std::fabs(residual[i]));
    for (size_t j = 0; j < sent.size(); ++j) {
      CHECK(std::fabs(plan->own_delta.value[j] - residual[sent[j]]) <= max_abs / 127 / 2 * 1.01f);
    }
  }
}

TEST_CASE("a model smaller than the absolute block still sends every residual as a delta") {
  // 5-32-3: 291 parameters, fewer than the ~560 int8 values the block may take. Were the block
  // the whole model, no coordinate could leave as a delta and the model would never move.
  NodeOptions o;
  o.layers = {5, 32, 3};
  const size_t np = ParamCount(o.layers);
  const std::vector<float> params = Random(np, 7, 0.0f), residual = Random(np, 8, 0.0f);
  std::set<uint32_t> sent_over_rounds;
  for (uint64_t round : {0u, 1u}) {
    Result<PlannedUpdate> plan = PlanHybridUpdate(round, params, residual, 1.0f, o);
    REQUIRE(plan.ok());
    std::set<uint32_t> block;
    for (const UpdateSegment& seg : Decode(*plan, np).segments) {
      for (size_t k = 0; k < seg.size(); ++k) {
        if (!seg.delta) block.insert(seg.index(k));
      }
    }
    CHECK(block.size() == (np + 1) / 2 - round);  // 146, then the other 145
    // Every coordinate outside the block goes as a delta: they all fit.
    CHECK(plan->own_delta.index.size() == np - block.size());
    sent_over_rounds.insert(plan->own_delta.index.begin(), plan->own_delta.index.end());
  }
  CHECK(sent_over_rounds.size() == np);
}

TEST_CASE("with nothing to send as delta, the hybrid plan is the absolute block alone") {
  const NodeOptions o = SmallModel();
  const size_t np = ParamCount(o.layers);
  Result<PlannedUpdate> plan =
      PlanHybridUpdate(0, Random(np, 5, 0.0f), std::vector<float>(np, 0.0f), 1.0f, o);
  REQUIRE(plan.ok());
  CHECK(plan->own_delta.index.empty());
  for (const UpdateSegment& seg : Decode(*plan, np).segments) CHECK_FALSE(seg.delta);
}

TEST_CASE("the absolute plan sends the head every round and sweeps the first layer") {
  NodeOptions o = SmallModel();
  o.gossip = GossipMode::kAbsolute;
  const size_t np = ParamCount(o.layers);
  const size_t l1 = size_t{o.layers[0]} * o.layers[1];
  const std::vector<float> params = Random(np, 6, 0.0f);
  std::set<uint32_t> covered;
  for (uint64_t round = 0; round < 8; ++round) {
    Result<PlannedUpdate> plan = PlanAbsoluteUpdate(round, params, o);
    REQUIRE(plan.ok());
    CHECK(plan->own_delta.index.empty());
    std::set<uint32_t> sent;
    for (const UpdateSegment& seg : Decode(*plan, np).segments) {
      CHECK_FALSE(seg.delta);
      for (size_t k = 0; k < seg.size(); ++k) sent.insert(seg.index(k));
    }
    for (size_t i = l1; i < np; ++i) CHECK(sent.count(static_cast<uint32_t>(i)) == 1);
    covered.insert(sent.begin(), sent.end());
  }
  CHECK(covered.size() == np);
}

TEST_CASE("BuildPayload keeps the indices and their order, dense runs as dense segments") {
  std::vector<uint32_t> index;
  std::vector<float> value;
  for (uint32_t i : {3u, 9u}) index.push_back(i);
  for (uint32_t i = 20; i < 60; ++i) index.push_back(i);  // a dense run
  for (uint32_t i : {61u, 70u, 200u}) index.push_back(i);
  for (uint32_t i = 300; i < 320; ++i) index.push_back(i);  // another
  for (size_t k = 0; k < index.size(); ++k) value.push_back(0.01f * static_cast<float>(k));
  UpdatePayload p = BuildPayload(index, value, ValueCoding::kFp32);
  std::vector<uint32_t> got;
  std::vector<float> got_value;
  size_t dense = 0;
  for (const UpdateSegment& seg : p.segments) {
    dense += seg.layout == SegmentLayout::kDense ? 1 : 0;
    for (size_t k = 0; k < seg.size(); ++k) {
      got.push_back(seg.index(k));
      got_value.push_back(seg.value(k));
    }
  }
  CHECK(dense == 2);
  CHECK(got == index);
  CHECK(got_value == value);
  Bytes body;
  bool lz4 = false;
  CHECK(EncodeUpdate(p, &body, &lz4).ok());
}

}  // namespace
}  // namespace dust::internal
