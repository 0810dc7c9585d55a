// Replay protection: the receiver's sliding window per sender, and the sender's counter that
// never repeats, even across crashes.
//
// ReplayWindow is RFC 6479's bitmap window as WireGuard implements it (counter.c): 2048 bits
// in 64-bit words, one word kept spare so sliding never clears live bits, giving a usable
// window of kReplayWindowSize = 1984 counters behind the highest seen. It must be moved
// (CheckAndUpdate) only by datagrams whose signature verified; Check is read-only and may be
// used before verification to skip verifying obvious replays.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr uint64_t kReplayBitsTotal = 2048;
inline constexpr uint64_t kReplayWindowSize = kReplayBitsTotal - 64;  // 1984
// Counters at or above this are refused (WireGuard's REJECT_AFTER_MESSAGES), so counter + 1
// never overflows inside the window arithmetic.
inline constexpr uint64_t kRejectAfterCounter = UINT64_MAX - kReplayWindowSize - 1;

// Invariant: a counter is accepted at most once; counters more than kReplayWindowSize below the
// highest accepted are refused. Not thread-safe.
class ReplayWindow {
 public:
  // Would CheckAndUpdate accept `counter`? Changes nothing.
  bool Check(uint64_t counter) const;
  // Accepts `counter` (true) and records it, or refuses it (false) and changes nothing.
  bool CheckAndUpdate(uint64_t counter);

 private:
  static constexpr size_t kWords = kReplayBitsTotal / 64;
  std::array<uint64_t, kWords> m_bits{};
  uint64_t m_top = 0;  // highest accepted counter + 1 (0 = nothing accepted yet)
};

// Sender side. The state on disk is a high-water mark M: every counter below M may already have
// been used, so after a restart counters start at M. Before handing out counter c the allocator
// requires a persisted mark > c: it asks for a new mark (next + block) when at most block/2
// counters remain below the persisted one, so with prompt persistence Next never has to wait.
//
// Sans-I/O use:
//   CounterAllocator alloc(loaded_mark);          // 0 on first start
//   if (auto m = alloc.MarkToPersist()) { write EncodeCounterMark(*m) atomically;
//   alloc.MarkPersisted(*m); } Result<uint64_t> c = alloc.Next();             // fails if no
//   persisted mark covers it yet
class CounterAllocator {
 public:
  static constexpr uint64_t kDefaultBlock = 65536;

  explicit CounterAllocator(uint64_t persisted_mark, uint64_t block = kDefaultBlock);

  // A mark that should be persisted now (before the range runs out), or nullopt.
  std::optional<uint64_t> MarkToPersist() const;
  // The caller durably stored `mark` (as returned by MarkToPersist).
  void MarkPersisted(uint64_t mark);
  // The next counter. kResourceExhausted if it is not covered by a persisted mark (persist first)
  // or the counter space is exhausted (kRejectAfterCounter: replace the identity).
  Result<uint64_t> Next();

  uint64_t next() const { return m_next; }
  uint64_t persisted_mark() const { return m_persisted; }

 private:
  uint64_t m_next;
  uint64_t m_persisted;
  uint64_t m_block;
};

// Counter mark file: "DSTC" | version u8 = 1 | 3 zero bytes | mark u64 | Checksum64 u64. 24 bytes.
Bytes EncodeCounterMark(uint64_t mark);
Result<uint64_t> DecodeCounterMark(ByteView bytes);

}  // namespace dust
