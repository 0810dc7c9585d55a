// The node checkpoint layout of 0.1.0 ("DSTN"), which Node::ImportCheckpoint still reads so an
// upgrade keeps the model (docs/protocol.md, "Checkpoint file"). Nothing writes it any more.
#pragma once

#include "dust/ml/checkpoint.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust::internal {

// Whether `bytes` start with the 0.1.0 layout's magic (and so are decoded by
// DecodeLegacyCheckpoint, not checkpoint.h's DecodeCheckpoint).
bool IsLegacyCheckpoint(ByteView bytes);

// Strict: the sealed-file checks of OpenSealedFile (size, magic, version 1: kUnsupported
// otherwise, reserved bytes, checksum), then kCorrupt on a bad layer count or width, length, or
// a non-finite value. The result has no residual (0.1.0 did not store one).
Result<Checkpoint> DecodeLegacyCheckpoint(ByteView bytes);

}  // namespace dust::internal
