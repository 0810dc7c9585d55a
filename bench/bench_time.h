// Wall-clock time for the dust-bench subcommands that speak the wire protocol, whose headers carry
// a Unix-epoch timestamp in milliseconds (peers reject datagrams too far from their own clock).
#pragma once

#include <chrono>
#include <cstdint>

namespace dust::bench {

// Milliseconds since the Unix epoch, from the system clock (not steady: peers compare it with
// their own wall clock).
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace dust::bench
