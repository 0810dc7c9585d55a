// The key pair of the test vectors in docs/protocol.md: Ed25519 from the seed 01 02 .. 20 (hex),
// shared by every test that checks bytes or text against those vectors.
#pragma once

#include "dust/util/crypto.h"

namespace dust::testutil {

// Initialises libsodium (throws std::runtime_error if it cannot) and returns the vector key pair.
KeyPair VectorKey();

}  // namespace dust::testutil
