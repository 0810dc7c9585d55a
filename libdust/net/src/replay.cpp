#include "dust/net/replay.h"

#include <algorithm>

#include "dust/util/sealed_file.h"

namespace dust {
namespace {

constexpr uint8_t kMarkVersion = 1;
constexpr SealedFormat kMarkFormat{
    .name = "counter file", .magic = "DSTC", .min_body = 8, .max_body = 8};

}  // namespace

// The algorithm is WireGuard's counter_validate (drivers/net/wireguard/receive.c): counters are
// shifted by one so that 0 means "nothing seen"; moving forward clears the words between the old
// and the new top (at most the whole ring), then tests and sets the counter's bit.
bool ReplayWindow::Check(uint64_t counter) const {
  if (m_top >= kRejectAfterCounter + 1 || counter >= kRejectAfterCounter) return false;
  uint64_t c = counter + 1;
  if (kReplayWindowSize + c < m_top) return false;  // too old
  if (c > m_top) return true;                       // ahead of everything seen
  uint64_t index = (c >> 6) & (kWords - 1);
  return (m_bits[index] & (uint64_t{1} << (c & 63))) == 0;
}

bool ReplayWindow::CheckAndUpdate(uint64_t counter) {
  if (m_top >= kRejectAfterCounter + 1 || counter >= kRejectAfterCounter) return false;
  uint64_t c = counter + 1;
  if (kReplayWindowSize + c < m_top) return false;
  uint64_t index = c >> 6;
  if (c > m_top) {
    uint64_t index_current = m_top >> 6;
    uint64_t top = std::min<uint64_t>(index - index_current, kWords);
    for (uint64_t i = 1; i <= top; ++i) m_bits[(i + index_current) & (kWords - 1)] = 0;
    m_top = c;
  }
  index &= kWords - 1;
  uint64_t bit = uint64_t{1} << (c & 63);
  if (m_bits[index] & bit) return false;
  m_bits[index] |= bit;
  return true;
}

CounterAllocator::CounterAllocator(uint64_t persisted_mark, uint64_t block)
    : m_next(persisted_mark), m_persisted(persisted_mark), m_block(std::max<uint64_t>(block, 2)) {}

std::optional<uint64_t> CounterAllocator::MarkToPersist() const {
  if (m_next >= kRejectAfterCounter) return std::nullopt;
  // Ask once at most half a block remains below the persisted mark.
  if (m_persisted > m_next && m_persisted - m_next > m_block / 2) return std::nullopt;
  uint64_t room = kRejectAfterCounter - m_next;
  return m_next + std::min(m_block, room);
}

void CounterAllocator::MarkPersisted(uint64_t mark) { m_persisted = std::max(m_persisted, mark); }

Result<uint64_t> CounterAllocator::Next() {
  if (m_next >= kRejectAfterCounter) {
    return Status::ResourceExhausted("message counter space exhausted; generate a new identity");
  }
  if (m_next >= m_persisted) {
    return Status::ResourceExhausted(
        "message counter " + std::to_string(m_next) +
        " is not covered by a persisted high-water mark; persist MarkToPersist() first");
  }
  return m_next++;
}

Bytes EncodeCounterMark(uint64_t mark) {
  return SealFile(
      kMarkFormat, kMarkVersion, [&](ByteWriter& w) { w.U64(mark); }, kMarkFormat.min_body);
}

Result<uint64_t> DecodeCounterMark(ByteView bytes) {
  Result<SealedFile> file = OpenSealedFile(bytes, kMarkFormat, {kMarkVersion});
  if (!file.ok()) return file.status();
  return ByteReader(file->body).U64();
}

}  // namespace dust
