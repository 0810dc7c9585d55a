// Per-source token buckets in a table of fixed capacity.
//
// A source is whatever the caller can attribute a datagram to before authentication: the
// daemon passes the sender's IP address bytes (4 or 16), the simulator a node index. The table
// never holds more than `capacity` sources; when a new source arrives and the table is full, the
// least recently seen source is evicted (it gets a full bucket if it comes back, which bounds
// memory at the price of letting an attacker who cycles through more addresses than the
// capacity get `burst` datagrams per address; the signature check behind the limiter still
// holds). Memory is bounded by the capacity. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "dust/util/bytes.h"

namespace dust {

struct SourceKey {
  std::array<uint8_t, 16> bytes{};
  uint8_t length = 0;

  // Up to 16 bytes (longer input is truncated to 16).
  static SourceKey FromBytes(ByteView b);
  static SourceKey FromIndex(uint64_t index);
  bool operator==(const SourceKey&) const = default;
};

struct RateLimiterOptions {
  double tokens_per_s = 200.0;  // sustained datagrams per second per source
  double burst = 400.0;         // bucket size
  size_t capacity = 4096;       // sources tracked at once
  uint64_t hash_seed = 0;       // keys the table's hash; pass random bytes to resist flooding
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimiterOptions options = {});

  // Takes one token from `source`'s bucket; false if it is empty. now_ms must not go backwards
  // by much (a clock step back just refills nothing until time catches up).
  bool Allow(const SourceKey& source, int64_t now_ms);

  size_t size() const { return m_map.size(); }
  size_t capacity() const { return m_options.capacity; }
  uint64_t evictions() const { return m_evictions; }

 private:
  struct Entry {
    SourceKey key;
    double tokens = 0;
    int64_t last_ms = 0;
    uint32_t prev = 0, next = 0;  // LRU list (indices; kNil terminates)
  };
  struct KeyHash {
    uint64_t seed;
    size_t operator()(const SourceKey& k) const noexcept;
  };
  void Unlink(uint32_t i);
  void PushFront(uint32_t i);

  RateLimiterOptions m_options;
  std::vector<Entry> m_entries;
  std::vector<uint32_t> m_free;
  std::unordered_map<SourceKey, uint32_t, KeyHash> m_map;
  uint32_t m_head;  // most recently used
  uint32_t m_tail;  // least recently used
  uint64_t m_evictions = 0;
};

}  // namespace dust
