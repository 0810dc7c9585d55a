// Counts in the readers' error messages: "1 byte", "2 bytes".
#pragma once

#include <cstdint>
#include <string>

namespace dust::internal {

// n followed by `one` if n is 1, else by `many`.
inline std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace dust::internal
