// The daemon's history (docs/operations.md, "History"): what the node and each trusted peer
// looked like over the last day, so an operator can see whether accuracy goes up, which peer is
// behind or quiet, and when drops started.
//
// Two tiers per series, each a fixed-capacity ring: a fine one (one sample every
// kHistoryFineMs, the last kHistoryFineSamples: ten minutes) and a coarse one (a sample whenever
// kHistoryCoarseMs have passed since the last coarse one, the last kHistoryCoarseSamples: a
// day). The node's series holds holdout and test accuracy, loss, learning rate, epsilon, steps,
// live peers, updates and bytes in/out and the drop counters by reason; each trusted peer's
// (at most kHistoryMaxPeers) its announced accuracy, liveness and updates accepted/rejected.
// Memory is bounded by the capacities alone (docs/benchmarks.md measures it).
//
// The history is kept across restarts in the state directory's `history` file, a sealed file
// (sealed_file.h; format in docs/protocol.md, "History file"). DecodeHistoryFile never trusts
// its input: every count is checked against the capacities before anything is allocated, and
// times must not go backwards within a ring.
//
// Nothing here does I/O or knows the daemon: the daemon samples (history_sampler.cpp), this
// keeps, encodes and selects.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust::daemon {

inline constexpr int64_t kHistoryFineMs = 5000;
inline constexpr size_t kHistoryFineSamples = 120;  // 10 minutes at 5 s
inline constexpr int64_t kHistoryCoarseMs = 60000;
inline constexpr size_t kHistoryCoarseSamples = 1440;  // 24 hours at 1 minute
inline constexpr size_t kHistoryMaxPeers = 256;
// Drop counters per sample: the engine's reasons (ingress.h, 16 today) and the daemon's "own".
inline constexpr size_t kHistoryDropSlots = 24;
inline constexpr size_t kHistoryMaxNameBytes = 64;

// A float that was not measured (accuracy before the first evaluation, epsilon without DP).
inline constexpr float kHistoryNone = NAN;

struct NodeSample {
  int64_t t_ms = 0;
  float accuracy = kHistoryNone;  // holdout
  float test_accuracy = kHistoryNone;
  float loss = kHistoryNone;
  float learning_rate = kHistoryNone;
  float epsilon = kHistoryNone;
  uint32_t live_peers = 0;
  uint64_t steps = 0;
  uint64_t updates_in = 0;   // accepted
  uint64_t updates_out = 0;  // update datagrams built
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::array<uint64_t, kHistoryDropSlots> drops{};  // by History::drop_names()
};

struct PeerSample {
  uint32_t t_s = 0;               // Unix seconds (samples are seconds apart)
  uint16_t accuracy_bp = 0xFFFF;  // announced holdout accuracy, basis points; 0xFFFF: none yet
  uint8_t live = 0;               // 1 if live at the sample
  uint32_t updates_accepted = 0;  // since the daemon started (saturating)
  uint32_t updates_rejected = 0;
};

// A ring of at most `capacity` samples, oldest first.
template <typename T>
class HistoryRing {
 public:
  explicit HistoryRing(size_t capacity) : m_capacity(capacity) {}
  void Push(const T& v) {
    if (m_items.size() < m_capacity) {
      // Grow by doubling but stop at the capacity: a full ring holds no spare slots.
      if (m_items.size() == m_items.capacity()) {
        m_items.reserve(std::min(m_capacity, std::max<size_t>(8, 2 * m_items.size())));
      }
      m_items.push_back(v);
    } else {
      m_items[m_start] = v;
      m_start = (m_start + 1) % m_capacity;
    }
  }
  size_t size() const { return m_items.size(); }
  size_t capacity() const { return m_capacity; }
  bool empty() const { return m_items.empty(); }
  const T& at(size_t i) const { return m_items[(m_start + i) % m_items.size()]; }
  const T& back() const { return at(size() - 1); }
  void clear() {
    m_items.clear();
    m_start = 0;
  }

 private:
  size_t m_capacity;
  std::vector<T> m_items;
  size_t m_start = 0;
};

// A fine and a coarse ring of one series.
template <typename T>
struct Tiers {
  HistoryRing<T> fine{kHistoryFineSamples};
  HistoryRing<T> coarse{kHistoryCoarseSamples};
};

enum class HistoryResolution { kAuto, kFine, kCoarse };

struct PeerHistory {
  std::string name;  // display name at the last sample (peer-supplied: escape before showing)
  Tiers<PeerSample> tiers;
};

class History {
 public:
  // `drop_names`: what each drop slot counts (at most kHistoryDropSlots).
  explicit History(std::vector<std::string> drop_names);

  // Adds a node sample at s.t_ms: to the fine ring always, to the coarse ring when
  // kHistoryCoarseMs have passed since its last sample (or it is empty). A sample older than
  // the newest one (a clock set back) is ignored: the rings stay in time order.
  void Add(const NodeSample& s);
  // Adds a sample of the peer `key` (creating its series, unless kHistoryMaxPeers are kept).
  void AddPeer(const PublicKey& key, const std::string& name, const PeerSample& s);
  // Forgets every peer not in `keep` (trust removed).
  void RetainPeers(const std::vector<PublicKey>& keep);

  const std::vector<std::string>& drop_names() const { return m_drop_names; }
  const Tiers<NodeSample>& node() const { return m_node; }
  const std::map<PublicKey, PeerHistory>& peers() const { return m_peers; }

  // The ring a query for [from_ms, to_ms] reads: kFine and kCoarse as asked; kAuto the fine
  // ring if it reaches back to from_ms, else the coarse one.
  static HistoryResolution Pick(HistoryResolution asked, int64_t from_ms,
                                const Tiers<NodeSample>& t);

  // The samples of `ring` with from <= t <= to, at most `max_points` of them (evenly thinned,
  // the newest always kept). `time` gives a sample's time in ms.
  template <typename T, typename TimeMs>
  static std::vector<T> Select(const HistoryRing<T>& ring, int64_t from_ms, int64_t to_ms,
                               size_t max_points, TimeMs time) {
    std::vector<T> in;
    for (size_t i = 0; i < ring.size(); ++i) {
      const T& v = ring.at(i);
      if (time(v) >= from_ms && time(v) <= to_ms) in.push_back(v);
    }
    if (max_points == 0 || in.size() <= max_points) return in;
    std::vector<T> out;
    out.reserve(max_points);
    // Index i of max_points picks in[(i + 1) * n / max_points - 1]: the last one is the newest.
    for (size_t i = 0; i < max_points; ++i) out.push_back(in[(i + 1) * in.size() / max_points - 1]);
    return out;
  }

  // The memory the samples take (capacity reserved as they grow), for the benchmark.
  size_t SampleBytes() const;

 private:
  friend Result<History> DecodeHistoryFile(ByteView bytes,
                                           const std::vector<std::string>& drop_names);
  std::vector<std::string> m_drop_names;
  Tiers<NodeSample> m_node;
  std::map<PublicKey, PeerHistory> m_peers;
};

// The `history` file (docs/protocol.md, "History file"): "DSHI" | version u8 = 1 | 3 zero bytes
// | body | Checksum64.
Bytes EncodeHistoryFile(const History& history);
// Refuses (kCorrupt/kUnsupported, with the reason) anything EncodeHistoryFile cannot have
// written: bad envelope, counts beyond the capacities, names too long or empty, times going
// backwards, trailing bytes. Drop slots are matched by name to `drop_names` (a reason this
// build does not know is left out).
Result<History> DecodeHistoryFile(ByteView bytes, const std::vector<std::string>& drop_names);
// The largest file EncodeHistoryFile writes: the read cap.
size_t MaxHistoryFileBytes();

}  // namespace dust::daemon
