// Replay window (mirrors WireGuard's selftest/counter.c) and the sender's counter allocator.
#include "dust/net/replay.h"

#include <catch2/catch.hpp>

namespace dust {
namespace {

// WireGuard's self-test, case by case, with our constants (same values as WireGuard's on
// 64-bit: 2048 bits total, window 1984, REJECT_AFTER_MESSAGES = U64_MAX - window - 1).
TEST_CASE("replay window passes WireGuard's counter self-test sequence", "[replay]") {
  const uint64_t lim = kReplayWindowSize + 1;
  const uint64_t reject = kRejectAfterCounter;
  ReplayWindow w;
  int step = 0;
  auto T = [&](uint64_t n, bool expect) {
    ++step;
    INFO("step " << step << " counter " << n);
    bool check = w.Check(n);
    CHECK(check == expect);  // the read-only pre-check agrees with the update
    CHECK(w.CheckAndUpdate(n) == expect);
  };
  T(0, true);
  T(1, true);
  T(1, false);
  T(9, true);
  T(8, true);
  T(7, true);
  T(7, false);
  T(lim, true);
  T(lim - 1, true);
  T(lim - 1, false);
  T(lim - 2, true);
  T(2, true);
  T(2, false);
  T(lim + 16, true);
  T(3, false);
  T(lim + 16, false);
  T(lim * 4, true);
  T(lim * 4 - (lim - 1), true);
  T(10, false);
  T(lim * 4 - lim, false);
  T(lim * 4 - (lim + 1), false);
  T(lim * 4 - (lim - 2), true);
  T(lim * 4 + 1 - lim, false);
  T(0, false);
  T(reject, false);
  T(reject - 1, true);
  T(reject, false);
  T(reject - 1, false);
  T(reject - 2, true);
  T(reject + 1, false);
  T(reject + 2, false);
  T(reject - 2, false);
  T(reject - 3, true);
  T(0, false);
}

TEST_CASE("replay window accepts a full window in order, then the oldest still fits", "[replay]") {
  ReplayWindow w;
  for (uint64_t i = 1; i <= kReplayWindowSize; ++i) REQUIRE(w.CheckAndUpdate(i));
  CHECK(w.CheckAndUpdate(0));
  CHECK(!w.CheckAndUpdate(0));
}

TEST_CASE("replay window rejects a counter one older than the window", "[replay]") {
  ReplayWindow w;
  for (uint64_t i = 2; i <= kReplayWindowSize + 1; ++i) REQUIRE(w.CheckAndUpdate(i));
  CHECK(w.CheckAndUpdate(1));
  CHECK(!w.Check(0));
  CHECK(!w.CheckAndUpdate(0));
}

TEST_CASE("replay window accepts a whole window received in reverse order", "[replay]") {
  ReplayWindow w;
  for (uint64_t i = kReplayWindowSize + 1; i-- > 0;) REQUIRE(w.CheckAndUpdate(i));
}

TEST_CASE("replay window in reverse order one past the window drops the oldest", "[replay]") {
  ReplayWindow w;
  for (uint64_t i = kReplayWindowSize + 2; i-- > 1;) REQUIRE(w.CheckAndUpdate(i));
  CHECK(!w.CheckAndUpdate(0));
}

TEST_CASE("replay window: top after a reverse fill moves the window past zero", "[replay]") {
  {
    ReplayWindow w;
    for (uint64_t i = kReplayWindowSize + 1; i-- > 1;) REQUIRE(w.CheckAndUpdate(i));
    CHECK(w.CheckAndUpdate(kReplayWindowSize + 1));
    CHECK(!w.CheckAndUpdate(0));
  }
  {
    ReplayWindow w;
    for (uint64_t i = kReplayWindowSize + 1; i-- > 1;) REQUIRE(w.CheckAndUpdate(i));
    CHECK(w.CheckAndUpdate(0));
    CHECK(w.CheckAndUpdate(kReplayWindowSize + 1));
  }
}

TEST_CASE("replay window far jump forgets everything behind the new window", "[replay]") {
  ReplayWindow w;
  for (uint64_t i = 0; i < 100; ++i) REQUIRE(w.CheckAndUpdate(i));
  const uint64_t far = 1'000'000'000'000ULL;
  CHECK(w.CheckAndUpdate(far));
  CHECK(!w.CheckAndUpdate(50));
  CHECK(!w.CheckAndUpdate(far));
  // Inside the new window, counters not yet seen are accepted once (the bits were cleared).
  CHECK(w.CheckAndUpdate(far - 1));
  CHECK(w.CheckAndUpdate(far - kReplayWindowSize));
  CHECK(!w.CheckAndUpdate(far - kReplayWindowSize - 1));
  CHECK(!w.CheckAndUpdate(far - 1));
}

TEST_CASE("replay window Check never changes state", "[replay]") {
  ReplayWindow w;
  CHECK(w.Check(5));
  CHECK(w.Check(5));
  CHECK(w.Check(100000));
  CHECK(w.CheckAndUpdate(5));  // still accepted: the Checks above moved nothing
  CHECK(w.CheckAndUpdate(4));
}

TEST_CASE("counter allocator refuses to hand out a counter before a mark is persisted",
          "[replay]") {
  CounterAllocator alloc(0, 16);
  CHECK(alloc.Next().status().code() == StatusCode::kResourceExhausted);
  std::optional<uint64_t> mark = alloc.MarkToPersist();
  REQUIRE(mark.has_value());
  CHECK(*mark == 16);
  alloc.MarkPersisted(*mark);
  CHECK(!alloc.MarkToPersist().has_value());
  for (uint64_t i = 0; i < 8; ++i) {
    Result<uint64_t> c = alloc.Next();
    REQUIRE(c.ok());
    CHECK(*c == i);
  }
  // Half the block used: a new mark is requested ahead of need, while Next still works.
  REQUIRE(alloc.MarkToPersist().has_value());
  for (uint64_t i = 8; i < 16; ++i) REQUIRE(alloc.Next().ok());
  CHECK(!alloc.Next().ok());  // 16 is not covered yet
  alloc.MarkPersisted(*alloc.MarkToPersist());
  Result<uint64_t> c = alloc.Next();
  REQUIRE(c.ok());
  CHECK(*c == 16);
}

TEST_CASE("counters never repeat across a simulated crash at any point", "[replay]") {
  // Simulate: run, persisting marks as asked, and "crash" after every number of sends; the
  // restarted allocator starts at the last persisted mark, above every counter already used.
  for (uint64_t crash_after = 0; crash_after < 70; ++crash_after) {
    uint64_t disk = 0;  // the persisted mark
    uint64_t highest_used = 0;
    bool used_any = false;
    {
      CounterAllocator alloc(disk, 16);
      for (uint64_t sent = 0; sent < crash_after; ++sent) {
        if (auto m = alloc.MarkToPersist()) {
          disk = *m;
          alloc.MarkPersisted(*m);
        }
        Result<uint64_t> c = alloc.Next();
        REQUIRE(c.ok());
        highest_used = *c;
        used_any = true;
      }
    }
    CounterAllocator restarted(disk, 16);
    if (auto m = restarted.MarkToPersist()) restarted.MarkPersisted(*m);
    Result<uint64_t> c = restarted.Next();
    REQUIRE(c.ok());
    if (used_any) CHECK(*c > highest_used);
  }
}

TEST_CASE("counter allocator stops at the end of the counter space", "[replay]") {
  CounterAllocator alloc(kRejectAfterCounter - 2, 16);
  std::optional<uint64_t> m = alloc.MarkToPersist();
  REQUIRE(m.has_value());
  CHECK(*m == kRejectAfterCounter);
  alloc.MarkPersisted(*m);
  CHECK(alloc.Next().ok());
  CHECK(alloc.Next().ok());
  CHECK(alloc.Next().status().code() == StatusCode::kResourceExhausted);
  CHECK(!alloc.MarkToPersist().has_value());
}

TEST_CASE("counter mark file round-trips and detects corruption", "[replay]") {
  Bytes b = EncodeCounterMark(0x0123456789abcdefULL);
  Result<uint64_t> m = DecodeCounterMark(b);
  REQUIRE(m.ok());
  CHECK(*m == 0x0123456789abcdefULL);
  for (size_t i = 0; i < b.size(); ++i) {
    Bytes bad = b;
    bad[i] ^= 0x10;
    CHECK(!DecodeCounterMark(bad).ok());
  }
  CHECK(!DecodeCounterMark(ByteView(b.data(), b.size() - 1)).ok());
}

TEST_CASE("counter mark file matches a vector computed independently", "[replay]") {
  // /usr/bin/python3: b = b"DSTC" + bytes([1, 0, 0, 0]) + struct.pack("<Q", 0x0123456789abcdef);
  // (b + hashlib.blake2b(b, digest_size=32).digest()[:8]).hex()
  const char* kMarkHex = "4453544301000000efcdab8967452301deda7ec7bf31a2dd";
  CHECK(ToHex(EncodeCounterMark(0x0123456789abcdefULL)) == kMarkHex);
  Bytes b;
  REQUIRE(FromHex(kMarkHex, &b));
  Result<uint64_t> m = DecodeCounterMark(b);
  REQUIRE(m.ok());
  CHECK(*m == 0x0123456789abcdefULL);
}

}  // namespace
}  // namespace dust
