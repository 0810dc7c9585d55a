// What a node's update datagram carries this round (docs/engine.md, "What a node does"):
// pure functions from the node's state to an encoded payload and, for the hybrid algorithm,
// the node's own delta. They change nothing; the node applies their result.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dust/engine/merge.h"
#include "dust/engine/node.h"
#include "dust/net/codec.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust::internal {

struct PlannedUpdate {
  Bytes body;        // the encoded payload (codec.h), at most kMaxPayloadBytes
  bool lz4 = false;  // EncodeUpdate compressed it: set wire.h kFlagPayloadLz4
  // kHybrid: the deltas sent, coded (options.coding) as the payload carries them but with
  // one scale over all of them (the payload's delta segments below and above the block have a
  // scale each, so a receiver's value may differ by a rounding step), and honest even when
  // options.tamper_outgoing changed what was sent; weighted by the node's own sample weight.
  // The node removes them from its accumulator (what quantization lost stays there) and
  // merges them with this round's updates. Empty for kAbsolute or no deltas.
  MergeInput own_delta;
};

// kHybrid (GossipMode): the absolute values of one block of coordinates chosen by `round`
// (round-robin over the whole model, its size options.delta_fraction's complement of the
// payload but at most half the model), and the largest-magnitude entries of `residual` outside
// that block as deltas, as many as fit. `params` and `residual` have the model's size.
// kNotFound when there is nothing to send; kResourceExhausted when no plan fits in a datagram.
Result<PlannedUpdate> PlanHybridUpdate(uint64_t round, std::span<const float> params,
                                       std::span<const float> residual, float own_weight,
                                       const NodeOptions& options);

// kAbsolute: absolute values only, for the parameters after the first layer's weights (every
// round, when options.send_head_every_round and they fit in half the payload) and a block of
// the first layer's weights chosen by `round` (round-robin, so every coordinate is sent every
// ceil(L1 / block) rounds). kInvalidArgument when the payload does not encode.
Result<PlannedUpdate> PlanAbsoluteUpdate(uint64_t round, std::span<const float> params,
                                         const NodeOptions& options);

// Absolute values of the strictly increasing `index` as a payload in index order: dense runs
// of at least a few consecutive indices as dense segments, the rest in sparse segments
// between them.
UpdatePayload BuildPayload(const std::vector<uint32_t>& index, const std::vector<float>& value,
                           ValueCoding coding);

}  // namespace dust::internal
