// libFuzzer target for the engine: two or three Nodes (node.h) with a tiny model and in-memory
// data, driven through a fuzzed sequence of events: clock advances and ticks, training units,
// delivery of the datagrams they emitted (in any order, lost, duplicated, bit-flipped or
// truncated), trust added and removed, clock steps, dataset swaps and checkpoint round trips.
//
// Input: 4 configuration bytes (see Sim::Sim), then events, one opcode byte each (low nibble:
// the event, high nibble: the node it acts on) followed by its argument bytes (Sim::Step).
// Bytes past the end read as 0; at most kMaxEvents events run.
//
// After every event, for every node, the target checks (and traps with a message otherwise):
//   - every model parameter is finite;
//   - counters add up (node_counters.h): every datagram received is accepted or dropped for
//     exactly one reason, and each delivery moves exactly the counter its outcome names;
//     per-peer counts sum to the node's; datagrams and bytes sent match what was emitted;
//   - a datagram is accepted only unmodified, from a sender the receiver trusts at that moment,
//     and at most once (unless the receiver revoked the sender in between, which prunes its
//     replay window);
//   - merges (ticks and training units merge first): the target mirrors the node's buffer of
//     accepted updates from the datagrams it saw accepted, and at each merge drops the parts of
//     senders the receiver no longer trusts. The node's revoked_before_merge must grow by the
//     number of such updates, updates_merged (+ ignored_outlier_delta) by the number of parts
//     kept, and the model must equal a reference merge (merge.h Merger) of the KEPT absolute
//     parts alone, bit for bit, on every coordinate no kept delta touches: an update from a
//     sender that is not trusted at the time of the merge leaves no trace in the model. A
//     change of input scaling (fleet calibration; a scaling message or new data merge first)
//     moves the reference the same way (model.h ChangeScaling). A round in which the node took
//     absent peers' remembered steps (peer_memory.h) is compared on its counters only.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dust/engine/merge.h"
#include "dust/engine/node.h"
#include "dust/net/codec.h"
#include "dust/net/trust.h"
#include "dust/net/wire.h"
#include "dust/util/rng.h"
#include "node_counters.h"

namespace {

using namespace dust;
using namespace dust::fuzz;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr uint32_t kFeatures = 16, kHidden = 32, kClasses = 3;
constexpr size_t kSamplesPerClass = 4;
constexpr size_t kMaxEvents = 256;
constexpr size_t kMaxInFlight = 48;  // older datagrams are lost when more are in flight

// Bytes past the end read as 0 (the event loop stops there).
class Input {
 public:
  Input(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}
  uint8_t Byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | Byte() << 8); }
  bool done() const { return m_pos >= m_size; }

 private:
  const uint8_t* m_data;
  size_t m_size;
  size_t m_pos = 0;
};

KeyPair Key(size_t i) {
  std::array<uint8_t, kSeedBytes> seed{};
  seed.fill(static_cast<uint8_t>(0x40 + i));
  return KeyPairFromSeed(seed);
}

// Class c lights up features [5c, 5c + 5) plus a little noise; node i holds classes i and i+1.
Dataset MakeData(size_t node) {
  Dataset d(kFeatures, kClasses);
  Rng rng(node + 1);
  std::vector<float> x(kFeatures);
  for (size_t s = 0; s < kSamplesPerClass; ++s) {
    for (uint8_t c :
         {static_cast<uint8_t>(node % kClasses), static_cast<uint8_t>((node + 1) % kClasses)}) {
      for (uint32_t f = 0; f < kFeatures; ++f) {
        x[f] =
            f / 5 == c ? 0.5f + 0.5f * rng.UniformFloat() : (rng.UniformFloat() < 0.1f ? 0.3f : 0);
      }
      d.AddDense(x, c);
    }
  }
  return d;
}

// One received update part as the node buffers it (node.cpp OnDatagram), and whose it is.
struct Part {
  uint64_t update = 0;  // which accepted datagram it came from
  size_t sender = 0;
  bool own = false;  // the node's own delta (values unknown here: only its indices are used)
  MergeInput input;
};

// Splits a decoded update payload into its absolute and delta parts, weighted as node.cpp does.
void SplitUpdate(const UpdatePayload& u, uint32_t sample_weight, MergeInput* abs, MergeInput* dl) {
  abs->weight = dl->weight = static_cast<float>(std::max<uint32_t>(sample_weight, 1));
  for (const UpdateSegment& seg : u.segments) {
    MergeInput& dst = seg.delta ? *dl : *abs;
    for (size_t k = 0; k < seg.size(); ++k) {
      dst.index.push_back(seg.index(k));
      dst.value.push_back(seg.value(k));
    }
  }
}

struct Peer {
  KeyPair key;
  Dataset data;
  TrustStore trust;  // never holds the node's own key (the daemon refuses it)
  std::optional<Node> node;
  int64_t offset_ms = 0;  // this node's clock minus the global clock
  // The mirror of the node's update buffer (absolute and delta parts, arrival order).
  std::vector<Part> pending_abs, pending_delta;
  uint64_t expected_revoked = 0, expected_merged = 0, sent = 0, bytes_sent = 0;
  std::map<size_t, std::set<Bytes>> accepted;  // by sender: datagrams accepted since trusted
};

struct InFlight {
  size_t from;
  Bytes bytes;
};

class Sim {
 public:
  explicit Sim(Input& in) : m_in(in) {
    const uint8_t c0 = in.Byte(), c1 = in.Byte(), c2 = in.Byte(), c3 = in.Byte();
    NodeOptions o;
    o.layers = {kFeatures, kHidden, kClasses};
    o.init_seed = 5;
    o.gossip = (c0 & 1) ? GossipMode::kAbsolute : GossipMode::kHybrid;
    m_n = (c0 & 2) ? 3 : 2;
    static constexpr AggregatorKind kKinds[] = {AggregatorKind::kMean, AggregatorKind::kMedian,
                                                AggregatorKind::kTrimmedMean,
                                                AggregatorKind::kClip};
    o.aggregator.kind = kKinds[(c0 >> 2) & 3];
    o.coding = static_cast<ValueCoding>((c0 >> 4) & 3);
    // Three sources at most: a small table keeps Create cheap. A tight bucket reaches rate_limited.
    o.rate_limit =
        (c0 & 0x40) ? RateLimiterOptions{2.0, 3.0, 4, 0} : RateLimiterOptions{200, 400, 4, 0};
    o.announce_interval_ms = (c0 & 0x80) ? 2500 : 0;
    // The model has 643 parameters, more than the absolute block holds in any coding (512 in
    // int8 with a delta fraction of 0.6, one to three values with 0.99), and more than the
    // top-k of deltas holds in fp32 and fp16.
    static constexpr float kDeltaFraction[] = {0.6f, 0.9f, 0.95f, 0.99f};
    static constexpr float kLearningRate[] = {0.05f, 0.3f, 2.0f, 20.0f};
    static constexpr size_t kMaxPending[] = {512, 1, 2, 3};
    o.delta_fraction = kDeltaFraction[c1 & 3];
    o.sgd.learning_rate = kLearningRate[(c1 >> 2) & 3];
    o.max_pending_updates = kMaxPending[(c1 >> 4) & 3];
    o.sgd.batch_size = (c1 & 0x40) ? 3 : 8;
    o.batches_per_unit = (c1 & 0x80) ? 2 : 1;
    o.send_interval_ms = 1000;
    o.not_before_ms = kT0;
    o.max_peers = (c3 & 0x40) ? 1 : 1024;  // 1: the peer table evicts
    // Fleet scaling: calibration moments and agreed scalings travel, and a change moves the
    // model; few calibration rounds so that short inputs reach the freeze.
    o.scaling = (c3 & 0x80) ? ScalingMode::kNone : ScalingMode::kFleet;
    o.scaling_calibration_rounds = 3;
    o.scaling_announce_rounds = 2;
    for (size_t i = 0; i < m_n; ++i) {
      auto p = std::make_unique<Peer>();
      p->key = Key(i);
      p->data = MakeData(i);
      p->offset_ms = (static_cast<int64_t>((c3 >> (2 * i)) & 3) - 1) * 700;
      m_peers.push_back(std::move(p));
    }
    for (size_t i = 0; i < m_n; ++i) {
      for (size_t j = 0; j < m_n; ++j) {
        if (i != j && (c2 >> (3 * i + j) & 1) == 0) SetTrust(i, j, true);
      }
      auto node = Node::Create(o, m_peers[i]->key, &m_peers[i]->trust, m_peers[i]->data, 7 + i);
      INVARIANT(node.ok());
      m_peers[i]->node.emplace(std::move(*node));
    }
  }

  void Run() {
    for (size_t e = 0; e < kMaxEvents && !m_in.done(); ++e) {
      Step();
      for (size_t i = 0; i < m_n; ++i) {
        if (m_touched & (1u << i)) CheckNode(i);
      }
      m_touched = 0;
    }
    if (std::getenv("FUZZ_NODE_VERBOSE") != nullptr) PrintCounters();
  }

  // FUZZ_NODE_VERBOSE=1: each node's non-zero counters at the end, to see what an input reaches.
  void PrintCounters() {
    for (size_t i = 0; i < m_n; ++i) {
      std::fprintf(stderr, "node %zu:", i);
      for (const auto& [name, n] : ReadTally(node(i).counters()).by_name) {
        if (n != 0)
          std::fprintf(stderr, " %s=%llu", name.c_str(), static_cast<unsigned long long>(n));
      }
      const Tally t = ReadTally(node(i).counters());
      std::fprintf(stderr, " merged=%llu sent=%llu\n", static_cast<unsigned long long>(t.merged),
                   static_cast<unsigned long long>(t.sent));
    }
  }

 private:
  Node& node(size_t i) { return *m_peers[i]->node; }
  // Marks node i as acted on by this event (its invariants are checked after it).
  Node& Touch(size_t i) {
    m_touched |= 1u << i;
    return node(i);
  }
  int64_t Now(size_t i) const { return m_now + m_peers[i]->offset_ms; }

  void Step() {
    const uint8_t op = m_in.Byte();
    const size_t i = (op >> 4) % m_n;
    switch (op & 0x0F) {
      case 0: {  // the clock advances (up to 2 s in 10 ms steps, or minutes), every node ticks
        const uint8_t t = m_in.Byte();
        m_now += t < 200 ? t * 10 : (t - 199) * 7000;
        for (size_t k = 0; k < m_n; ++k) Tick(k);
        break;
      }
      case 1:  // node i's timer: the clock advances to the tick it asked for (node.h NextTickMs)
        m_now = std::max(m_now, node(i).NextTickMs() - m_peers[i]->offset_ms);
        Tick(i);
        break;
      case 2:
        Tick(i);
        break;
      case 3:
      case 4:
        Train(i);
        break;
      case 5:
      case 6:  // delivery in any order (reordering), the datagram leaves the network
        Deliver(i, Pick(), /*keep=*/false, nullptr);
        break;
      case 7:  // duplication: delivered, and still in flight
        Deliver(i, Pick(), /*keep=*/true, nullptr);
        break;
      case 8: {  // corruption of one copy: a bit flip or a truncation
        const size_t k = Pick();
        const uint16_t pos = m_in.U16();
        const uint8_t how = m_in.Byte();
        Deliver(i, k, /*keep=*/true, [&](Bytes& b) {
          if (how & 1) {
            b.resize(pos % b.size());
          } else {
            b[pos % b.size()] ^= static_cast<uint8_t>(1u << ((how >> 1) & 7));
          }
        });
        break;
      }
      case 9: {  // loss
        const size_t k = Pick();
        if (k < m_net.size()) m_net.erase(m_net.begin() + static_cast<long>(k));
        break;
      }
      case 10: {  // trust added or removed (never the node's own key)
        const size_t j = m_in.Byte() % m_n;
        if (j != i) SetTrust(i, j, !m_peers[i]->trust.Contains(m_peers[j]->key.public_key));
        break;
      }
      case 11:  // the node's clock steps (either way, up to about two minutes)
        m_peers[i]->offset_ms = static_cast<int8_t>(m_in.Byte()) * 1000;
        break;
      case 12:  // the data directory changes: emptied, or back
        MergeIfRescaled(i, [&] {
          INVARIANT(node(i).SetDataset((m_in.Byte() & 1) ? Dataset() : m_peers[i]->data).ok());
        });
        break;
      case 13:
        CheckpointRoundTrip(i);
        break;
      default:  // everything in flight reaches every node, in order or reversed
        DeliverAll((op & 0x0F) == 15);
        break;
    }
  }

  // A datagram in flight (any of them: reordering); the byte is read even when none is.
  size_t Pick() {
    const uint8_t b = m_in.Byte();
    return m_net.empty() ? 0 : b % m_net.size();
  }

  void SetTrust(size_t i, size_t j, bool trusted) {
    Peer& p = *m_peers[i];
    const PublicKey& key = m_peers[j]->key.public_key;
    m_touched |= 1u << i;
    if (trusted) {
      INVARIANT(p.trust.Add(key, "peer", m_now).ok());
    } else {
      INVARIANT(p.trust.Remove(key));
      p.accepted.erase(j);  // its replay window may be pruned: a replay may be accepted again
    }
  }

  void Tick(size_t i) {
    std::vector<Bytes> out;
    MergeAround(i, /*may_train=*/false, [&] { node(i).OnTick(Now(i), &out); });
    Peer& p = *m_peers[i];
    for (Bytes& d : out) {
      INVARIANT(d.size() <= kMaxDatagramBytes);
      Result<ParsedDatagram> parsed = ParseDatagram(d);
      INVARIANT(parsed.ok() && parsed->header.sender == p.key.public_key);
      INVARIANT(parsed->header.timestamp_ms == Now(i));
      p.sent += 1;
      p.bytes_sent += d.size();
      if (parsed->header.type == MessageType::kUpdate) {
        // The node buffered its own delta (if it sent any) for the next merge: mirror its
        // indices, which are the sent delta segments' (node.cpp PlanHybrid).
        Result<UpdatePayload> u =
            DecodeUpdate(parsed->payload, (parsed->header.flags & kFlagPayloadLz4) != 0,
                         static_cast<uint32_t>(node(i).model().num_params()));
        INVARIANT(u.ok());
        Part own{0, i, true, {}};
        MergeInput abs;
        SplitUpdate(*u, 1, &abs, &own.input);
        if (!own.input.index.empty()) p.pending_delta.push_back(std::move(own));
      }
      m_net.push_back({i, std::move(d)});
      if (m_net.size() > kMaxInFlight) m_net.erase(m_net.begin());
    }
  }

  void Train(size_t i) {
    const bool trains_model =
        node(i).options().gossip == GossipMode::kAbsolute && node(i).train_size() > 0;
    MergeAround(i, trains_model, [&] { node(i).TrainUnit(); });
  }

  // What the mirror of node i's buffer says its next merge does (read, not yet taken).
  struct MergePlan {
    Tally before;
    Mlp ref;  // the model as it was, then the reference merge
    std::vector<MergeInput> kept_abs;
    std::vector<bool> delta_touched;
    size_t revoked = 0, kept = 0;
    uint64_t scaling_changes = 0;
    uint64_t standins = 0;
  };

  MergePlan PlanMerge(size_t i) {
    Peer& p = *m_peers[i];
    MergePlan m{ReadTally(Touch(i).counters()), node(i).model(), {}, {}, 0, 0, 0};
    m.delta_touched.assign(m.ref.num_params(), false);
    m.scaling_changes = node(i).scaling_status().changes;
    m.standins = node(i).counters().standins;
    std::set<uint64_t> revoked;
    auto trusted = [&](const Part& part) {
      return part.own || p.trust.Contains(m_peers[part.sender]->key.public_key);
    };
    for (const Part& part : p.pending_abs) {
      if (!trusted(part)) {
        revoked.insert(part.update);
      } else {
        m.kept_abs.push_back(part.input);
        ++m.kept;
      }
    }
    for (const Part& part : p.pending_delta) {
      if (!trusted(part)) {
        revoked.insert(part.update);
        continue;
      }
      ++m.kept;
      for (uint32_t k : part.input.index) m.delta_touched[k] = true;
    }
    m.revoked = revoked.size();
    return m;
  }

  // The node merged as planned: the mirror's buffer is taken, the counters moved by exactly the
  // plan, and (unless it also trained: `compare_model`) the model equals the reference merge on
  // every coordinate no kept delta touches. A change of scaling after the merge (calibration's
  // end, a better fleet scaling) moved the first layer: the reference moves the same way
  // (ChangeScaling; a bias takes its column's weights along, so a delta on one of them leaves
  // that bias unknown), or, when the move would overflow, takes the scaling as it is (node.cpp).
  void TakeMerge(size_t i, MergePlan& m, bool compare_model) {
    Peer& p = *m_peers[i];
    p.pending_abs.clear();
    p.pending_delta.clear();
    p.expected_revoked += m.revoked;
    p.expected_merged += m.kept;
    const Tally after = ReadTally(node(i).counters());
    INVARIANT(after.revoked - m.before.revoked == m.revoked);
    INVARIANT((after.merged + after.ignored_outlier) -
                  (m.before.merged + m.before.ignored_outlier) ==
              m.kept);
    INVARIANT(after.merges - m.before.merges == (m.kept > 0 ? 1u : 0u));
    // Absent peers' remembered steps, taken at a round's start (peer_memory.h), move every
    // coordinate: only the counters can be compared then.
    if (!compare_model || node(i).counters().standins != m.standins) return;
    if (!m.kept_abs.empty()) {
      const float own_weight = static_cast<float>(std::max<size_t>(node(i).train_size(), 1));
      Merger(m.ref.num_params(), node(i).options().aggregator)
          .Merge(m.ref.params(), own_weight, m.kept_abs);
    }
    const InputScaling& now = node(i).model().scaling();
    if (!(now == m.ref.scaling())) {
      INVARIANT(node(i).scaling_status().changes > m.scaling_changes);
      const uint32_t in = m.ref.input_size(), out = m.ref.layer_sizes()[1];
      for (uint32_t o = 0; o < out; ++o) {
        bool touched = false;
        for (uint32_t k = 0; k < in; ++k) touched = touched || m.delta_touched[size_t{k} * out + o];
        if (touched) m.delta_touched[size_t{in} * out + o] = true;
      }
      if (!ChangeScaling(m.ref, now, {}).ok()) INVARIANT(m.ref.SetScaling(now).ok());
    }
    auto x = node(i).model().params();
    auto ref = m.ref.params();
    for (size_t k = 0; k < ref.size(); ++k) {
      INVARIANT(m.delta_touched[k] || std::memcmp(&ref[k], &x[k], sizeof(float)) == 0);
    }
  }

  // Runs `event`, which merges node i's buffered updates before anything else, and checks the
  // merge against the mirror of the buffer (see the file comment). `may_train`: the event also
  // trains the model in place after merging, so only the counters can be compared.
  template <typename Event>
  void MergeAround(size_t i, bool may_train, Event event) {
    MergePlan m = PlanMerge(i);
    event();
    TakeMerge(i, m, !may_train);
  }

  // Runs `event`, which merges node i's buffer only if it changes the node's scaling (a
  // scaling message, new data: the buffer was sent in the old scaling and is merged first).
  template <typename Event>
  void MergeIfRescaled(size_t i, Event event) {
    MergePlan m = PlanMerge(i);
    event();
    if (node(i).scaling_status().changes != m.scaling_changes) {
      TakeMerge(i, m, /*compare_model=*/true);
      return;
    }
    const Tally after = ReadTally(node(i).counters());
    INVARIANT(after.merged == m.before.merged && after.merges == m.before.merges);
    INVARIANT(after.revoked == m.before.revoked);
  }

  void Deliver(size_t to, size_t k, bool keep, const std::function<void(Bytes&)>& corrupt) {
    if (k >= m_net.size()) return;
    const size_t from = m_net[k].from;
    Bytes bytes = m_net[k].bytes;
    if (!keep) m_net.erase(m_net.begin() + static_cast<long>(k));
    if (corrupt) corrupt(bytes);
    Receive(to, from, bytes, corrupt != nullptr);
  }

  void DeliverAll(bool reversed) {
    std::vector<InFlight> net = std::move(m_net);
    m_net.clear();
    if (reversed) std::reverse(net.begin(), net.end());
    for (const InFlight& d : net) {
      for (size_t to = 0; to < m_n; ++to) {
        if (to != d.from) Receive(to, d.from, d.bytes, false);
      }
    }
  }

  void Receive(size_t to, size_t from, const Bytes& bytes, bool modified) {
    Peer& p = *m_peers[to];
    const Tally before = ReadTally(Touch(to).counters());
    DatagramOutcome o;
    MergeIfRescaled(to,
                    [&] { o = node(to).OnDatagram(bytes, SourceKey::FromIndex(from), Now(to)); });
    CheckDeliveryCounters(before, ReadTally(node(to).counters()), o);
    // Whatever a node sends decodes at its peers, within the model and finite (only its size
    // may be refused), and a modified datagram never gets that far.
    INVARIANT(o.drop != DropReason::kBadPayload && o.drop != DropReason::kQuarantinedNonFinite &&
              o.drop != DropReason::kQuarantinedIncompatible);
    const size_t max_pending = node(to).options().max_pending_updates;
    const bool full = p.pending_abs.size() + p.pending_delta.size() >= 2 * max_pending;
    if (o.drop == DropReason::kPendingFull) INVARIANT(full);
    if (!o.accepted) return;
    INVARIANT(!modified);
    INVARIANT(to != from && p.trust.Contains(m_peers[from]->key.public_key));
    INVARIANT(p.accepted[from].insert(bytes).second);  // never accepted twice
    if (o.type != MessageType::kUpdate) return;
    INVARIANT(!full);
    Result<ParsedDatagram> d = ParseDatagram(bytes);
    INVARIANT(d.ok() && d->header.type == MessageType::kUpdate);
    Result<UpdatePayload> u = DecodeUpdate(d->payload, (d->header.flags & kFlagPayloadLz4) != 0,
                                           static_cast<uint32_t>(node(to).model().num_params()));
    INVARIANT(u.ok());
    const uint64_t id = ++m_updates;
    Part abs{id, from, false, {}}, delta{id, from, false, {}};
    SplitUpdate(*u, d->header.sample_weight, &abs.input, &delta.input);
    if (!abs.input.index.empty()) p.pending_abs.push_back(std::move(abs));
    if (!delta.input.index.empty()) p.pending_delta.push_back(std::move(delta));
  }

  // A restart's worth of state: export, import, same model; the update buffer is discarded.
  void CheckpointRoundTrip(size_t i) {
    std::vector<float> before(node(i).model().params().begin(), node(i).model().params().end());
    const Bytes ck = Touch(i).ExportCheckpoint();
    INVARIANT(node(i).ImportCheckpoint(ck).ok());
    auto x = node(i).model().params();
    INVARIANT(std::memcmp(before.data(), x.data(), before.size() * sizeof(float)) == 0);
    m_peers[i]->pending_abs.clear();
    m_peers[i]->pending_delta.clear();
  }

  void CheckNode(size_t i) {
    const Peer& p = *m_peers[i];
    for (float v : node(i).model().params()) INVARIANT(std::isfinite(v));
    const Tally t = ReadTally(node(i).counters());
    CheckCounterTotals(t);
    INVARIANT(t.revoked == p.expected_revoked);
    INVARIANT(t.merged + t.ignored_outlier == p.expected_merged);
    INVARIANT(t.sent == p.sent && t.bytes_sent == p.bytes_sent);
    uint64_t updates = 0, announces = 0, rejected = 0;
    const std::vector<PeerInfo> peers = node(i).Peers(Now(i));
    INVARIANT(peers.size() <= node(i).options().max_peers);
    for (const PeerInfo& peer : peers) {
      INVARIANT(peer.key != p.key.public_key);
      updates += peer.updates_accepted;
      announces += peer.announces;
      rejected += peer.updates_rejected;
    }
    if (node(i).options().max_peers < m_n - 1) return;  // an evicted peer took its counts along
    INVARIANT(updates == t.updates_accepted && announces == t.announces_accepted);
    INVARIANT(rejected == t.rejected_authenticated);
  }

  Input& m_in;
  size_t m_n = 2;
  std::vector<std::unique_ptr<Peer>> m_peers;  // a Node keeps a pointer to its Peer's trust
  std::vector<InFlight> m_net;
  // 10 s after every node's not_before_ms (kT0): a clock offset of a second is fine, a clock
  // step back of more than 10 s makes what the node sends too old for its peers.
  int64_t m_now = kT0 + 10000;
  uint64_t m_updates = 0;
  uint32_t m_touched = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool crypto = dust::InitCrypto().ok();
  if (!crypto) __builtin_trap();
  Input in(data, size);
  Sim sim(in);
  sim.Run();
  return 0;
}
