#include "dust/net/ratelimit.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace dust {
namespace {
constexpr uint32_t kNil = UINT32_MAX;
}

SourceKey SourceKey::FromBytes(ByteView b) {
  SourceKey k;
  k.length = static_cast<uint8_t>(std::min<size_t>(b.size(), k.bytes.size()));
  if (k.length > 0) std::memcpy(k.bytes.data(), b.data(), k.length);
  return k;
}

SourceKey SourceKey::FromIndex(uint64_t index) {
  SourceKey k;
  for (size_t i = 0; i < 8; ++i) k.bytes[i] = static_cast<uint8_t>(index >> (8 * i));
  k.length = 8;
  return k;
}

size_t RateLimiter::KeyHash::operator()(const SourceKey& k) const noexcept {
  // SipHash-2-4 keyed with the caller's seed: an attacker choosing source addresses cannot
  // aim them at one bucket of the table without knowing the seed.
  uint8_t key[crypto_shorthash_KEYBYTES] = {};
  for (size_t i = 0; i < 8; ++i) key[i] = static_cast<uint8_t>(seed >> (8 * i));
  uint8_t in[17];
  std::memcpy(in, k.bytes.data(), 16);
  in[16] = k.length;
  uint8_t out[crypto_shorthash_BYTES];
  crypto_shorthash(out, in, sizeof in, key);
  uint64_t v;
  std::memcpy(&v, out, sizeof v);
  return static_cast<size_t>(v);
}

RateLimiter::RateLimiter(RateLimiterOptions options)
    : m_options(options),
      m_map(options.capacity == 0 ? 1 : options.capacity, KeyHash{options.hash_seed}),
      m_head(kNil),
      m_tail(kNil) {
  if (m_options.capacity == 0) m_options.capacity = 1;
  if (m_options.capacity >= kNil) m_options.capacity = kNil - 1;
  m_entries.resize(m_options.capacity);
  m_free.reserve(m_options.capacity);
  for (size_t i = m_options.capacity; i-- > 0;) m_free.push_back(static_cast<uint32_t>(i));
  m_map.reserve(m_options.capacity);
}

void RateLimiter::Unlink(uint32_t i) {
  Entry& e = m_entries[i];
  if (e.prev != kNil)
    m_entries[e.prev].next = e.next;
  else
    m_head = e.next;
  if (e.next != kNil)
    m_entries[e.next].prev = e.prev;
  else
    m_tail = e.prev;
  e.prev = e.next = kNil;
}

void RateLimiter::PushFront(uint32_t i) {
  Entry& e = m_entries[i];
  e.prev = kNil;
  e.next = m_head;
  if (m_head != kNil) m_entries[m_head].prev = i;
  m_head = i;
  if (m_tail == kNil) m_tail = i;
}

bool RateLimiter::Allow(const SourceKey& source, int64_t now_ms) {
  auto it = m_map.find(source);
  uint32_t idx;
  if (it == m_map.end()) {
    if (m_free.empty()) {
      idx = m_tail;  // evict the least recently seen source
      Unlink(idx);
      m_map.erase(m_entries[idx].key);
      ++m_evictions;
    } else {
      idx = m_free.back();
      m_free.pop_back();
    }
    Entry& e = m_entries[idx];
    e.key = source;
    e.tokens = m_options.burst;
    e.last_ms = now_ms;
    m_map.emplace(source, idx);
    PushFront(idx);
  } else {
    idx = it->second;
    Unlink(idx);
    PushFront(idx);
    Entry& e = m_entries[idx];
    if (now_ms > e.last_ms) {
      e.tokens = std::min(m_options.burst, e.tokens + static_cast<double>(now_ms - e.last_ms) *
                                                          m_options.tokens_per_s / 1000.0);
      e.last_ms = now_ms;
    }
  }
  Entry& e = m_entries[idx];
  if (e.tokens < 1.0) return false;
  e.tokens -= 1.0;
  return true;
}

}  // namespace dust
