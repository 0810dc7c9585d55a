// Small builders the model, checkpoint and storage tests share.
#pragma once

#include <cstdint>
#include <vector>

#include "dust/ml/checkpoint.h"
#include "dust/ml/model.h"

namespace dust::testutil {

// An MLP of these layer sizes, initialised from `seed` (REQUIREs that the sizes are valid).
Mlp MakeModel(std::vector<uint32_t> sizes, uint64_t seed);

// The checkpoint of docs/protocol.md's "Checkpoint file" test vector: sizes [2, 1], seed 1,
// steps 2, rounds 3, samples seen 4, parameters [0.5, -1, 0.25], no momentum.
Checkpoint ProtocolVectorCheckpoint();

}  // namespace dust::testutil
