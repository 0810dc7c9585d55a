#include "history.h"

#include <algorithm>
#include <set>

#include "dust/util/sealed_file.h"

namespace dust::daemon {
namespace {

// Body (all little-endian; docs/protocol.md, "History file"):
//   drop name count u8 (<= kHistoryDropSlots) | each: length u8 (1..64) | bytes
//   node fine: count u32 | samples      node coarse: count u32 | samples
//     sample: t_ms i64 | accuracy f32 | test_accuracy f32 | loss f32 | learning_rate f32 |
//             epsilon f32 | live_peers u32 | steps u64 | updates_in u64 | updates_out u64 |
//             bytes_in u64 | bytes_out u64 | one u64 per drop name
//   peer count u32 (<= kHistoryMaxPeers) | each: key 32 | name length u8 (<= 64) | name |
//     fine: count u32 | samples   coarse: count u32 | samples
//     sample: t_s u32 | accuracy_bp u16 | live u8 | updates_accepted u32 | updates_rejected u32
constexpr size_t kNodeSampleFixed = 8 + 5 * 4 + 4 + 5 * 8;
constexpr size_t kPeerSampleBytes = 4 + 2 + 1 + 4 + 4;
constexpr size_t kMaxNamesBytes = 1 + kHistoryDropSlots * (1 + kHistoryMaxNameBytes);
constexpr size_t kMaxNodeBytes = 2 * 4 + (kHistoryFineSamples + kHistoryCoarseSamples) *
                                             (kNodeSampleFixed + 8 * kHistoryDropSlots);
constexpr size_t kMaxPeerBytes = 32 + 1 + kHistoryMaxNameBytes + 2 * 4 +
                                 (kHistoryFineSamples + kHistoryCoarseSamples) * kPeerSampleBytes;
constexpr size_t kMaxBody = kMaxNamesBytes + kMaxNodeBytes + 4 + kHistoryMaxPeers * kMaxPeerBytes;

constexpr SealedFormat kHistoryFormat{"history file", "DSHI", SealedVersionField::kU8ThenZeros, 0,
                                      kMaxBody};

int64_t NodeTime(const NodeSample& s) { return s.t_ms; }
int64_t PeerTime(const PeerSample& s) { return int64_t{s.t_s} * 1000; }

// Fine always; coarse when its interval has passed. A sample a little older than the newest
// (less than a coarse interval: two samplers racing) is ignored; one older by more means the
// wall clock was stepped back (a device that booted with its clock ahead, then NTP): the
// samples from the future go, or nothing would be recorded until the clock caught up with them.
template <typename T, typename TimeMs>
void AddTiered(Tiers<T>& t, const T& s, TimeMs time) {
  if (!t.fine.empty() && time(s) < time(t.fine.back())) {
    if (time(t.fine.back()) - time(s) < kHistoryCoarseMs) return;
    t.fine.clear();
    t.coarse.clear();
  }
  t.fine.Push(s);
  if (t.coarse.empty() || time(s) - time(t.coarse.back()) >= kHistoryCoarseMs) t.coarse.Push(s);
}

void PutName(ByteWriter& w, const std::string& s) {
  w.U8(static_cast<uint8_t>(s.size()));
  w.Raw({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

void PutNode(ByteWriter& w, const HistoryRing<NodeSample>& ring, size_t drops) {
  w.U32(static_cast<uint32_t>(ring.size()));
  for (size_t i = 0; i < ring.size(); ++i) {
    const NodeSample& s = ring.at(i);
    w.I64(s.t_ms);
    for (float f : {s.accuracy, s.test_accuracy, s.loss, s.learning_rate, s.epsilon}) w.F32(f);
    w.U32(s.live_peers);
    for (uint64_t v : {s.steps, s.updates_in, s.updates_out, s.bytes_in, s.bytes_out}) w.U64(v);
    for (size_t d = 0; d < drops; ++d) w.U64(s.drops[d]);
  }
}

void PutPeer(ByteWriter& w, const HistoryRing<PeerSample>& ring) {
  w.U32(static_cast<uint32_t>(ring.size()));
  for (size_t i = 0; i < ring.size(); ++i) {
    const PeerSample& s = ring.at(i);
    w.U32(s.t_s);
    w.U16(s.accuracy_bp);
    w.U8(s.live);
    w.U32(s.updates_accepted);
    w.U32(s.updates_rejected);
  }
}

// The reader's failure as a Status (ByteReader fails softly: check ok() after reading).
Status Corrupt(const std::string& why) { return Status::Corrupt("history file: " + why); }

Result<std::string> GetName(ByteReader& r, bool allow_empty) {
  size_t n = r.U8();
  if (!r.ok()) return Corrupt("truncated");
  if (n > kHistoryMaxNameBytes) return Corrupt("name of " + std::to_string(n) + " bytes");
  if (n == 0 && !allow_empty) return Corrupt("empty drop reason name");
  ByteView v = r.Raw(n);
  if (!r.ok()) return Corrupt("truncated");
  return std::string(v.begin(), v.end());
}

// Reads a ring's count, checks it against the ring's capacity and the bytes left, then its
// samples in time order.
template <typename T, typename ReadOne, typename TimeMs>
Status GetRing(ByteReader& r, HistoryRing<T>& ring, size_t sample_bytes, ReadOne read, TimeMs time,
               const char* what) {
  uint32_t n = r.U32();
  if (!r.ok()) return Corrupt("truncated");
  if (n > ring.capacity()) {
    return Corrupt(std::string(what) + ": " + std::to_string(n) + " samples, at most " +
                   std::to_string(ring.capacity()));
  }
  if (size_t{n} * sample_bytes > r.remaining()) return Corrupt("truncated");
  for (uint32_t i = 0; i < n; ++i) {
    T s = read(r);
    if (!ring.empty() && time(s) < time(ring.back())) {
      return Corrupt(std::string(what) + ": time goes backwards");
    }
    ring.Push(s);
  }
  return Status::Ok();
}

}  // namespace

History::History(std::vector<std::string> drop_names) : m_drop_names(std::move(drop_names)) {
  if (m_drop_names.size() > kHistoryDropSlots) m_drop_names.resize(kHistoryDropSlots);
}

void History::Add(const NodeSample& s) { AddTiered(m_node, s, NodeTime); }

void History::AddPeer(const PublicKey& key, const std::string& name, const PeerSample& s) {
  auto it = m_peers.find(key);
  if (it == m_peers.end()) {
    if (m_peers.size() >= kHistoryMaxPeers) return;
    it = m_peers.emplace(key, PeerHistory{}).first;
  }
  it->second.name = name.substr(0, kHistoryMaxNameBytes);
  AddTiered(it->second.tiers, s, PeerTime);
}

void History::RetainPeers(const std::vector<PublicKey>& keep) {
  std::set<PublicKey> k(keep.begin(), keep.end());
  std::erase_if(m_peers, [&](const auto& p) { return !k.count(p.first); });
}

HistoryResolution History::Pick(HistoryResolution asked, int64_t from_ms,
                                const Tiers<NodeSample>& t) {
  if (asked != HistoryResolution::kAuto) return asked;
  if (!t.fine.empty() && t.fine.at(0).t_ms <= from_ms) return HistoryResolution::kFine;
  // The fine ring covers the whole history while it is younger than ten minutes.
  if (t.fine.size() == t.coarse.size() || t.fine.size() < t.fine.capacity()) {
    return HistoryResolution::kFine;
  }
  return HistoryResolution::kCoarse;
}

size_t History::SampleBytes() const {
  size_t bytes = (m_node.fine.size() + m_node.coarse.size()) * sizeof(NodeSample);
  for (const auto& [key, p] : m_peers) {
    bytes += sizeof(p) + (p.tiers.fine.size() + p.tiers.coarse.size()) * sizeof(PeerSample);
  }
  return bytes;
}

size_t MaxHistoryFileBytes() { return kHistoryFormat.file_bytes(kMaxBody); }

Bytes EncodeHistoryFile(const History& h) {
  const size_t drops = h.drop_names().size();
  return SealFile(kHistoryFormat, 1, [&](ByteWriter& w) {
    w.U8(static_cast<uint8_t>(drops));
    for (const std::string& n : h.drop_names()) PutName(w, n.substr(0, kHistoryMaxNameBytes));
    PutNode(w, h.node().fine, drops);
    PutNode(w, h.node().coarse, drops);
    w.U32(static_cast<uint32_t>(h.peers().size()));
    for (const auto& [key, p] : h.peers()) {
      w.Raw(key);
      PutName(w, p.name);
      PutPeer(w, p.tiers.fine);
      PutPeer(w, p.tiers.coarse);
    }
  });
}

Result<History> DecodeHistoryFile(ByteView bytes, const std::vector<std::string>& drop_names) {
  auto opened = OpenSealedFile(bytes, kHistoryFormat, {1});
  if (!opened.ok()) return opened.status();
  ByteReader r(opened->body);
  History h(drop_names);
  const size_t file_drops = r.U8();
  if (!r.ok()) return Corrupt("truncated");
  if (file_drops > kHistoryDropSlots) {
    return Corrupt(std::to_string(file_drops) + " drop reasons, at most " +
                   std::to_string(kHistoryDropSlots));
  }
  // slot[i]: where the file's i-th counter goes in ours (SIZE_MAX: a reason we do not know).
  std::vector<size_t> slot(file_drops, SIZE_MAX);
  std::set<std::string> seen;
  for (size_t i = 0; i < file_drops; ++i) {
    auto name = GetName(r, false);
    if (!name.ok()) return name.status();
    if (!seen.insert(*name).second) return Corrupt("drop reason " + *name + " twice");
    auto it = std::find(h.drop_names().begin(), h.drop_names().end(), *name);
    if (it != h.drop_names().end()) slot[i] = static_cast<size_t>(it - h.drop_names().begin());
  }
  auto read_node = [&](ByteReader& in) {
    NodeSample s;
    s.t_ms = in.I64();
    for (float* f : {&s.accuracy, &s.test_accuracy, &s.loss, &s.learning_rate, &s.epsilon}) {
      *f = in.F32();
    }
    s.live_peers = in.U32();
    for (uint64_t* v : {&s.steps, &s.updates_in, &s.updates_out, &s.bytes_in, &s.bytes_out}) {
      *v = in.U64();
    }
    for (size_t d = 0; d < file_drops; ++d) {
      uint64_t v = in.U64();
      if (slot[d] != SIZE_MAX) s.drops[slot[d]] = v;
    }
    return s;
  };
  auto read_peer = [](ByteReader& in) {
    PeerSample s;
    s.t_s = in.U32();
    s.accuracy_bp = in.U16();
    s.live = in.U8();
    s.updates_accepted = in.U32();
    s.updates_rejected = in.U32();
    return s;
  };
  auto& node = h.m_node;
  const size_t node_bytes = kNodeSampleFixed + 8 * file_drops;
  DUST_RETURN_IF_ERROR(GetRing(r, node.fine, node_bytes, read_node, NodeTime, "node fine"));
  DUST_RETURN_IF_ERROR(GetRing(r, node.coarse, node_bytes, read_node, NodeTime, "node coarse"));
  uint32_t peers = r.U32();
  if (!r.ok()) return Corrupt("truncated");
  if (peers > kHistoryMaxPeers) {
    return Corrupt(std::to_string(peers) + " peers, at most " + std::to_string(kHistoryMaxPeers));
  }
  auto& map = h.m_peers;
  for (uint32_t i = 0; i < peers; ++i) {
    PublicKey key = r.Array<32>();
    auto name = GetName(r, true);
    if (!name.ok()) return name.status();
    if (map.count(key)) return Corrupt("a peer twice");
    PeerHistory& p = map[key];
    p.name = *name;
    DUST_RETURN_IF_ERROR(
        GetRing(r, p.tiers.fine, kPeerSampleBytes, read_peer, PeerTime, "peer fine"));
    DUST_RETURN_IF_ERROR(
        GetRing(r, p.tiers.coarse, kPeerSampleBytes, read_peer, PeerTime, "peer coarse"));
  }
  if (!r.ok()) return Corrupt("truncated");
  if (r.remaining() != 0) return Corrupt(std::to_string(r.remaining()) + " trailing bytes");
  return h;
}

}  // namespace dust::daemon
