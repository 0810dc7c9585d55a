// The engine's node state machine (node.h; algorithm and its measurements in docs/engine.md).
#include "dust/engine/node.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>
#include <tuple>

#include "batch_sampler.h"
#include "dust/ml/checkpoint.h"
#include "dust/ml/privacy.h"
#include "dust/net/fleet_trust.h"
#include "dust/net/ingress.h"
#include "dust/net/replay.h"
#include "dust/net/scaling_wire.h"
#include "dust/net/trust.h"
#include "dust/net/wire.h"
#include "dust/util/stream_rng.h"
#include "fleet_scaling.h"
#include "legacy_checkpoint.h"
#include "peer_memory.h"
#include "peer_table.h"
#include "round_buffer.h"
#include "update_planner.h"

namespace dust {
namespace {

// The counter that breaks kQuarantined down by the check that refused the update.
DropReason QuarantineDrop(QuarantineReason reason) {
  switch (reason) {
    case QuarantineReason::kNonFinite:
      return DropReason::kQuarantinedNonFinite;
    case QuarantineReason::kAbsurdNorm:
      return DropReason::kQuarantinedAbsurdNorm;
    case QuarantineReason::kIncompatible:
      return DropReason::kQuarantinedIncompatible;
  }
  return DropReason::kQuarantinedIncompatible;
}

}  // namespace

struct Node::Impl {
  NodeOptions options;
  KeyPair identity;
  const TrustStore* trust;
  FleetTrust* fleet = nullptr;
  Bytes certificate;              // ours, sent with announces (empty: none)
  uint64_t revocations_seen = 0;  // fleet->counters().revocations_accepted last looked at
  int fresh_list_rounds = 0;      // updates still to be followed by the revocation lists
  Dataset train;
  internal::BatchSampler sampler;
  Mlp model;
  Trainer trainer;
  Mlp work;               // kHybrid: training copy, reset to the model every unit
  std::vector<float> ef;  // kHybrid: local progress not yet sent (error feedback)
  Merger merger;
  Ingress ingress;
  CounterAllocator counter_alloc;
  ModelFingerprint fingerprint{};
  ModelFingerprint update_fingerprint{};  // fingerprint mixed with the input scaling
  internal::FleetScaling fleet_scaling;
  uint64_t scaling_changes = 0;

  internal::RoundBuffer round_buffer;
  internal::PeerTable peers;
  internal::PeerMemory memory;  // kHybrid: absent peers' deltas (peer_memory.h)
  double standin_weight = 0;    // the absent peers' weight this round (ApplyStandins)
  size_t standin_peers = 0;     // and how many they are
  NodeCounters counters;        // all but drops, which are ingress.drops()

  uint64_t round = 0;
  bool sent_any = false;
  int64_t next_send_ms = 0;
  int64_t next_announce_ms = 0;
  uint64_t samples_seen = 0;
  float last_loss = 0;
  uint16_t accuracy_bp = kAccuracyUnknown;
  std::optional<uint64_t> schedule_position;
  int64_t last_tick_ms = 0;
  // options.listen_first: coordinates whose absolute values a peer has sent, and when the first
  // arrived (-1: none yet).
  bool listening = false;
  std::vector<bool> heard;
  size_t heard_count = 0;
  int64_t listen_heard_ms = -1;

  // Differential privacy (options.dp): the accountant of every noisy step ever taken (mutable:
  // its cache of one step's curve is filled by the const budget check too), the stream that
  // draws the Poisson batches and the noise, and the noise buffer.
  mutable RdpAccountant accountant;
  std::optional<StreamRng> dp_rng;
  std::vector<float> dp_noise;

  Impl(NodeOptions o, KeyPair id, const TrustStore* t, Dataset d, uint64_t seed, Mlp m)
      : options(std::move(o)),
        identity(id),
        trust(t),
        train(std::move(d)),
        sampler(seed),
        model(std::move(m)),
        trainer(model, options.sgd),
        work(model),
        ef(model.num_params(), 0.0f),
        merger(model.num_params(), options.aggregator),
        ingress(IngressOptionsFor(options, id.public_key), t),
        counter_alloc(options.counter_mark),
        fleet_scaling(options.layers.front(), options.scaling_calibration_rounds,
                      options.scaling_announce_rounds),
        round_buffer(options.max_pending_updates),
        peers(options.max_peers),
        memory(model.num_params(),
               options.gossip == GossipMode::kHybrid ? options.peer_memory_horizon_ms : 0,
               options.peer_memory_max_peers) {
    if (options.dp.enabled()) {
      dp_rng = options.dp.seed ? StreamRng::FromSeed(*options.dp.seed) : StreamRng::FromOs();
      dp_noise.resize(model.num_params());
    }
    fingerprint = Fingerprint(options.layers, options.init_seed);
    update_fingerprint = fingerprint;
    if (options.listen_first) {
      listening = true;
      heard.assign(model.num_params(), false);
    }
    if (options.scaling == ScalingMode::kFleet) {
      // A fresh model is initialised in the scaled inputs' space (as if trained on them from
      // the start), not moved there: moving would multiply the first layer's initial weights
      // by the features' spreads.
      fleet_scaling.SetOwnMoments(FeatureMoments::Of(train));
      if (std::optional<InputScaling> own = fleet_scaling.TakeChange()) UseScaling(*own);
    }
  }

  void UseScaling(const InputScaling& scaling) {
    (void)model.SetScaling(scaling);  // the width is the model's: cannot fail
    (void)work.SetScaling(scaling);
    update_fingerprint = UpdateFingerprint(fingerprint, scaling);
    ingress.SetUpdateFingerprint(update_fingerprint);
  }

  // Moves the model (and the vectors of changes that go with it) to the scaling fleet_scaling
  // reports, if it changed. What is buffered was sent in the old scaling: merged first.
  void ApplyScalingChange() {
    std::optional<InputScaling> next = fleet_scaling.TakeChange();
    if (!next) return;
    MergePending();
    std::vector<std::span<float>> linked = {ef, trainer.momentum()};
    memory.AppendVectors(&linked);
    // Fails only if the move would overflow a float (a scaling some 1e30 times ours). The
    // fleet's scaling is still the one to use, or no peer could merge with us: the model then
    // takes it as it is (its function changes; merges and training pull it back).
    if (!ChangeScaling(model, *next, linked).ok()) {
      std::fill(ef.begin(), ef.end(), 0.0f);
      std::fill(trainer.momentum().begin(), trainer.momentum().end(), 0.0f);
      memory.Clear();
    }
    UseScaling(*next);
    ++scaling_changes;
  }

  // What the receive pipeline checks: our model's fingerprint, the clock rules, the rate limit,
  // and our own key (our own datagrams, looped back by a broadcast, are never a peer's).
  static IngressOptions IngressOptionsFor(const NodeOptions& o, const PublicKey& self) {
    IngressOptions io;
    io.model = Fingerprint(o.layers, o.init_seed);
    io.max_skew_ms = o.max_clock_skew_ms;
    io.not_before_ms = o.not_before_ms;
    io.rate = o.rate_limit;
    io.self = self;
    return io;
  }

  // The delta epsilon is reported at: the configured one, else min(1e-5, 0.1 / samples).
  double DpDelta() const {
    if (options.dp.delta > 0) return options.dp.delta;
    return std::min(1e-5, 0.1 / static_cast<double>(std::max<size_t>(train.size(), 1)));
  }
  // Poisson sampling rate: the expected batch over the CURRENT local data (docs/engine.md).
  double DpRate() const {
    const size_t n = train.size();
    return n <= options.sgd.batch_size
               ? 1.0
               : static_cast<double>(options.sgd.batch_size) / static_cast<double>(n);
  }
  // Every sample independently with probability q, by geometric skips between the chosen
  // ones (O(batch) draws, not O(samples)).
  void PoissonBatch(double q, std::vector<uint32_t>* batch) {
    batch->clear();
    const size_t n = train.size();
    if (q >= 1.0) {
      for (size_t i = 0; i < n; ++i) batch->push_back(static_cast<uint32_t>(i));
      return;
    }
    const double log_keep = std::log1p(-q);
    double i = -1;
    while (true) {
      i += 1 + std::floor(std::log(dp_rng->UniformOpen()) / log_keep);
      if (i >= static_cast<double>(n)) return;
      batch->push_back(static_cast<uint32_t>(i));
    }
  }
  // Whether one more noisy step at the current q would pass the budget.
  bool DpBudgetSpent() const {
    return options.dp.enabled() && options.dp.epsilon_budget > 0 && !train.empty() &&
           accountant.EpsilonAfter(DpRate(), options.dp.noise_multiplier, 1, DpDelta()).epsilon >
               options.dp.epsilon_budget;
  }
  // One DP-SGD step on `target` unless it would pass the budget; composes it. False when the
  // budget stops training.
  bool DpStep(Mlp& target, std::vector<uint32_t>* batch, double* loss) {
    const double q = DpRate();
    const double sigma = options.dp.noise_multiplier;
    if (DpBudgetSpent()) return false;
    PoissonBatch(q, batch);
    dp_rng->FillNormal(dp_noise);
    const float expected = static_cast<float>(q * static_cast<double>(train.size()));
    *loss += trainer.DpStep(target, train, *batch, options.dp.clip, sigma, expected, dp_noise);
    accountant.Compose(q, sigma);
    return true;
  }

  float OwnWeight() const { return static_cast<float>(std::max<size_t>(train.size(), 1)); }

  void StopListening() {
    listening = false;
    heard = {};
  }

  // Merges the round buffer into the model. Absolute values first: they were all taken before
  // this round's deltas, like our own model, so averaging them and then adding the round's
  // mean delta keeps every node on the same trajectory. With a robust rule the absolute values
  // also score their senders, and the deltas of outliers are left out (round_buffer.h).
  void MergePending() {
    ingress.CountDrop(DropReason::kRevokedBeforeMerge,
                      round_buffer.DropRevoked(*trust, identity.public_key));
    ForgetPeers();
    if (round_buffer.empty()) return;
    // A listening node weighs its own values 1 against its peers' sample counts: it takes the
    // fleet's model, block by block.
    MergeStats a =
        merger.Merge(model.params(), listening ? 1.0f : OwnWeight(), round_buffer.absolute());
    if (listening && heard_count == heard.size()) StopListening();
    const bool robust = options.aggregator.kind != AggregatorKind::kMean;
    if (robust) {
      round_buffer.ScoreOutliers(model.params(), peers);
      ingress.CountDrop(DropReason::kIgnoredOutlierDelta, round_buffer.DropOutlierDeltas(peers));
      ForgetPeers();
    }
    std::vector<double> factors;
    MergeStats d = merger.MergeDeltas(model.params(), round_buffer.deltas(), DeltaWeight(),
                                      memory.enabled() ? &factors : nullptr);
    if (memory.enabled()) Remember(factors);
    counters.updates_merged += a.updates + d.updates;
    counters.merges += 1;
    round_buffer.Clear();
  }

  // The weight a round's deltas are divided by: the senders expected this round (lost ones
  // included) and the absent peers whose memory stands in for them this round (peer_memory.h;
  // weighed once per round, in ApplyStandins).
  double DeltaWeight() const {
    const bool robust = options.aggregator.kind != AggregatorKind::kMean;
    return peers.ExpectedDeltaWeight(OwnWeight(), robust, *trust, last_tick_ms,
                                     options.send_interval_ms) +
           standin_weight;
  }
  int64_t ActiveMs() const { return internal::kActiveRounds * options.send_interval_ms; }

  // What the merge just applied, remembered per sender (our own delta too: it tells how much
  // of an absent peer's contribution we make ourselves): its delta part as clipped or, for an
  // update without one, a round without progress.
  //
  // Deltas are remembered per unit of learning rate (our own rate stands for the sender's:
  // the fleet follows one schedule) and taken at the rate of the round they stand in for, so a
  // remembered step shrinks as the fleet's steps do (at a constant rate it is the step itself).
  void Remember(const std::vector<double>& factors) {
    const double lr = trainer.options().learning_rate;
    if (!(lr > 0)) return;
    const bool robust = options.aggregator.kind != AggregatorKind::kMean;
    const auto deltas = round_buffer.deltas();
    const auto from = round_buffer.delta_senders();
    for (size_t j = 0; j < deltas.size(); ++j) {
      const bool own = from[j] == identity.public_key;
      memory.Observe(from[j], robust ? 1.0f : deltas[j].weight, deltas[j], factors[j] / lr,
                     own ? std::span<const float>{} : model.params(), last_tick_ms);
    }
    const auto abs = round_buffer.absolute();
    const auto abs_from = round_buffer.absolute_senders();
    for (size_t j = 0; j < abs.size(); ++j) {
      if (std::find(from.begin(), from.end(), abs_from[j]) != from.end()) continue;
      memory.Observe(abs_from[j], robust ? 1.0f : abs[j].weight, MergeInput{}, 1.0, model.params(),
                     last_tick_ms);
    }
  }

  // Peers whose memory must go at once: no longer trusted, or (robust rules) outliers. Our
  // own entry stays (it is never absent).
  void ForgetPeers() {
    if (memory.size() == 0) return;
    memory.Forget(
        [&](const PublicKey& k) {
          if (k == identity.public_key) return false;
          if (!trust->Contains(k)) return true;
          const PeerInfo* p = peers.Find(k);
          return options.aggregator.kind != AggregatorKind::kMean && p != nullptr &&
                 internal::RoundBuffer::IsOutlier(*p);
        },
        last_tick_ms);
  }

  // Once per round: the absent peers' steps, taken for them (NodeOptions peer_memory_*):
  // their remembered deltas and the pull back to their anchors, weighted like a round's deltas
  // (DeltaWeight) and by how much of their contribution no present peer makes (PeerMemory).
  void ApplyStandins() {
    standin_weight = 0;
    standin_peers = 0;
    if (memory.size() == 0) return;
    ForgetPeers();
    const bool robust = options.aggregator.kind != AggregatorKind::kMean;
    const double present = peers.ExpectedDeltaWeight(OwnWeight(), robust, *trust, last_tick_ms,
                                                     options.send_interval_ms);
    const auto standins = memory.Absent(*trust, last_tick_ms, ActiveMs(), present);
    standin_weight = internal::PeerMemory::TotalWeight(standins);
    standin_peers = standins.size();
    const double total = present + standin_weight;
    const double lr = trainer.options().learning_rate;
    if (standins.empty() || !(total > 0) || !(lr > 0)) return;
    // The pull back to the anchors is a fraction lr * anchor * share of the distance each
    // round; the absent peers weigh at most half (PeerMemory::Absent caps them at the present
    // weight) and lr * anchor is capped at 1, so it never overshoots.
    const double pull = std::min(1.0, lr * options.peer_memory_anchor);
    const double step = options.peer_memory_deltas ? lr : 0.0;
    auto x = model.params();
    for (const auto& st : standins) {
      const float g = static_cast<float>(step * st.weight / total);
      const float h = static_cast<float>(pull * st.weight / total);
      const std::vector<float>& m = *st.delta;
      const std::vector<float>& a = *st.anchor;
      for (size_t i = 0; i < x.size(); ++i) x[i] += g * m[i] + h * (a[i] - x[i]);
    }
    counters.standins += standins.size();
  }

  // An authenticated scaling message (fleet_scaling.h).
  std::optional<DropReason> AcceptScaling(const DatagramHeader& h, ByteView payload) {
    if (options.scaling != ScalingMode::kFleet) return DropReason::kBadPayload;
    Result<ScalingBlock> b = DecodeScalingBlock(payload);
    if (!b.ok() || b->features != model.input_size()) return DropReason::kBadPayload;
    fleet_scaling.OnBlock(h.sender, *b);
    ApplyScalingChange();
    counters.scaling_accepted += 1;
    return std::nullopt;
  }

  void SendScaling(uint64_t r, int64_t now_ms, std::vector<Bytes>* out) {
    std::optional<ScalingBlock> b = fleet_scaling.BlockToSend(r);
    if (!b) return;
    Result<Bytes> body = EncodeScalingBlock(*b);
    if (!body.ok()) return;
    DatagramHeader h;
    h.type = MessageType::kScaling;
    h.sample_weight = static_cast<uint32_t>(std::min<size_t>(train.size(), UINT32_MAX));
    h.round = r;
    Send(h, *body, now_ms, out);
  }

  // An authenticated announce of peer `p`: its name, accuracy, sample count and schedule
  // position. The drop reason when the payload does not decode.
  std::optional<DropReason> AcceptAnnounce(const DatagramHeader& h, ByteView payload, PeerInfo& p) {
    Result<Announce> a = DecodeAnnounce(payload);
    if (!a.ok()) return DropReason::kBadPayload;
    p.display_name = a->display_name;
    p.accuracy_bp = a->accuracy_bp;
    p.sample_weight = a->local_samples;
    p.schedule_position = a->schedule_position;
    p.schedule_position_ms = p.last_seen_ms;  // Touch set it to now
    p.dp_epsilon.reset();
    if (a->dp) {
      p.dp_epsilon = a->dp->epsilon;
      p.dp_epsilon_budget = a->dp->epsilon_budget;
    }
    p.last_round = h.round;
    p.announces += 1;
    counters.announces_accepted += 1;
    return std::nullopt;
  }

  // An authenticated update of peer `p`: decoded, split into its absolute and delta parts,
  // each checked by quarantine (merge.h CheckUpdate), then buffered for the next merge. The
  // drop reason when any of that refuses it (a quarantined update is also counted under
  // kQuarantined here; the caller counts the reason returned).
  std::optional<DropReason> AcceptUpdate(const DatagramHeader& h, ByteView payload, PeerInfo& p,
                                         int64_t now_ms) {
    p.last_round = h.round;
    Result<UpdatePayload> u = DecodeUpdate(payload, (h.flags & kFlagPayloadLz4) != 0,
                                           static_cast<uint32_t>(model.num_params()));
    if (!u.ok()) return DropReason::kBadPayload;
    MergeInput m, md;
    m.weight = md.weight = static_cast<float>(std::max<uint32_t>(h.sample_weight, 1));
    for (const auto& seg : u->segments) {
      MergeInput& dst = seg.delta ? md : m;
      for (size_t k = 0; k < seg.size(); ++k) {
        dst.index.push_back(seg.index(k));
        dst.value.push_back(seg.value(k));
      }
    }
    for (const MergeInput* part : {&m, &md}) {
      if (part->index.empty()) continue;
      if (auto q = CheckUpdate(model.params(), *part, options.max_norm_ratio)) {
        ingress.CountDrop(DropReason::kQuarantined);
        return QuarantineDrop(*q);
      }
    }
    if (round_buffer.Full()) return DropReason::kPendingFull;
    if (listening) {
      if (listen_heard_ms < 0 && !m.index.empty()) listen_heard_ms = now_ms;
      for (uint32_t i : m.index) {
        if (!heard[i]) heard[i] = true, ++heard_count;
      }
    }
    round_buffer.Add(std::move(m), std::move(md), h.sender);
    p.last_update_ms = now_ms;
    p.sample_weight = h.sample_weight;
    p.updates_accepted += 1;
    counters.updates_accepted += 1;
    return std::nullopt;
  }

  bool NextCounter(uint64_t* c) {
    if (auto mark = counter_alloc.MarkToPersist()) {
      Status st = options.persist_counter_mark ? options.persist_counter_mark(*mark) : Status::Ok();
      if (st.ok()) counter_alloc.MarkPersisted(*mark);
    }
    Result<uint64_t> n = counter_alloc.Next();
    if (!n.ok()) {
      ingress.CountDrop(DropReason::kCounterUnavailable);
      return false;
    }
    *c = *n;
    return true;
  }

  // Stamps `h` (time, model, the next counter), signs it with `body` and appends the datagram
  // to *out. Sends nothing when no counter is available (counted) or encoding fails.
  void Send(DatagramHeader h, ByteView body, int64_t now_ms, std::vector<Bytes>* out) {
    h.timestamp_ms = now_ms;
    h.model = h.type == MessageType::kUpdate ? update_fingerprint : fingerprint;
    if (!NextCounter(&h.counter)) return;
    Result<Bytes> d = EncodeDatagram(h, body, identity);
    if (!d.ok()) return;
    counters.datagrams_sent += 1;
    counters.bytes_sent += d->size();
    counters.max_datagram_bytes = std::max<uint64_t>(counters.max_datagram_bytes, d->size());
    out->push_back(std::move(*d));
  }

  void SendUpdate(uint64_t r, int64_t now_ms, std::vector<Bytes>* out) {
    Result<internal::PlannedUpdate> plan =
        options.gossip == GossipMode::kHybrid
            ? internal::PlanHybridUpdate(r, model.params(), ef, OwnWeight(), options)
            : internal::PlanAbsoluteUpdate(r, model.params(), options);
    if (!plan.ok()) return;
    // Our own delta leaves the accumulator (what quantization lost stays there) and joins this
    // round's merge beside the peers' deltas.
    MergeInput& own = plan->own_delta;
    if (!own.index.empty()) {
      for (size_t j = 0; j < own.index.size(); ++j) ef[own.index[j]] -= own.value[j];
      round_buffer.AddOwnDelta(std::move(own), identity.public_key);
    }
    DatagramHeader h;
    h.type = MessageType::kUpdate;
    h.flags = plan->lz4 ? kFlagPayloadLz4 : 0;
    // Listening: receivers count the weight as 1, so our model does not pull theirs.
    h.sample_weight =
        listening ? 0 : static_cast<uint32_t>(std::min<size_t>(train.size(), UINT32_MAX));
    h.round = r;
    Send(h, plan->body, now_ms, out);
  }

  double SpentEpsilon() const {
    return accountant.empty() ? 0.0 : accountant.Spent(DpDelta()).epsilon;
  }

  void SendAnnounce(int64_t now_ms, std::vector<Bytes>* out) {
    Announce a;
    a.display_name = options.display_name;
    a.listen_port = options.listen_port;
    if (options.announce_stats) {
      a.accuracy_bp = accuracy_bp;
      a.local_samples = static_cast<uint32_t>(std::min<size_t>(train.size(), UINT32_MAX));
    }
    a.schedule_position = schedule_position;
    if (options.dp.enabled()) {
      a.dp = AnnouncedPrivacy{.epsilon = static_cast<float>(SpentEpsilon()),
                              .epsilon_budget = static_cast<float>(options.dp.epsilon_budget)};
    }
    Result<Bytes> body = EncodeAnnounce(a);
    if (!body.ok()) return;
    DatagramHeader h;
    h.type = MessageType::kAnnounce;
    h.round = round;
    Send(h, *body, now_ms, out);
    SendFleet(now_ms, out);
  }

  // Our certificate and the newest revocation lists, with every announce: a node that starts
  // or joins late learns them within one announce interval, and a list installed on one node
  // reaches every node that hears it, which passes it on at its own next announce.
  void SendFleet(int64_t now_ms, std::vector<Bytes>* out) {
    DatagramHeader h;
    h.round = round;
    if (!certificate.empty()) {
      h.type = MessageType::kCertificate;
      Send(h, certificate, now_ms, out);
    }
    if (fleet == nullptr) return;
    for (ByteView list : fleet->RevocationLists()) {
      h.type = MessageType::kRevocationList;
      Send(h, list, now_ms, out);
    }
  }

  // A revocation list this node accepted since its last few rounds goes out with each of the
  // next kFreshListRounds updates too, not only with the next announce: a list installed on
  // one device then reaches its peers within a send interval (announces are 10 send intervals
  // apart by default), and a lost copy is made up for by the next.
  static constexpr int kFreshListRounds = 3;
  void SendFreshRevocations(int64_t now_ms, std::vector<Bytes>* out) {
    if (fleet == nullptr) return;
    if (fleet->counters().revocations_accepted != revocations_seen) {
      revocations_seen = fleet->counters().revocations_accepted;
      fresh_list_rounds = kFreshListRounds;
    }
    if (fresh_list_rounds == 0) return;
    --fresh_list_rounds;
    DatagramHeader h;
    h.round = round;
    h.type = MessageType::kRevocationList;
    for (ByteView list : fleet->RevocationLists()) Send(h, list, now_ms, out);
  }

  std::optional<DropReason> AcceptFleet(const DatagramHeader& h, ByteView payload, int64_t now_ms) {
    if (fleet == nullptr) {
      counters.fleet_accepted += 1;  // a paired sender's certificate: nothing for us to do
      return std::nullopt;
    }
    std::optional<FleetDrop> drop = h.type == MessageType::kCertificate
                                        ? fleet->OnCertificate(payload, h.sender, now_ms)
                                        : fleet->OnRevocationList(payload, now_ms);
    if (drop) return DropReason::kFleetRefused;
    // A revocation that withdrew trust: MergePending drops what the revoked had buffered.
    counters.fleet_accepted += 1;
    return std::nullopt;
  }
};

Node::Node(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;
Node::~Node() = default;

Result<Node> Node::Create(NodeOptions options, KeyPair identity, const TrustStore* trust,
                          Dataset train, uint64_t seed) {
  if (trust == nullptr) return Status::InvalidArgument("node: trust store is null");
  if (options.layers.size() < 3) {
    return Status::InvalidArgument("node: the engine needs at least one hidden layer");
  }
  Result<Mlp> model = Mlp::Create(options.layers);
  if (!model.ok()) return model.status().WithContext("node");
  if (options.send_interval_ms <= 0) {
    return Status::InvalidArgument("node: send interval must be > 0 ms");
  }
  if (options.announce_interval_ms < 0) {
    return Status::InvalidArgument("node: announce interval must be >= 0 ms");
  }
  if (options.sgd.batch_size == 0 || options.batches_per_unit == 0) {
    return Status::InvalidArgument("node: batch size and batches per unit must be >= 1");
  }
  if (options.max_peers == 0 || options.max_pending_updates == 0) {
    return Status::InvalidArgument("node: max peers and max pending updates must be >= 1");
  }
  if (!train.empty() && (train.num_features() != options.layers.front() ||
                         train.num_classes() > options.layers.back())) {
    return Status::InvalidArgument(
        "node: training data has " + std::to_string(train.num_features()) + " features and " +
        std::to_string(train.num_classes()) + " classes, the model expects " +
        std::to_string(options.layers.front()) + " and " + std::to_string(options.layers.back()));
  }
  model->Init(options.init_seed);
  auto impl = std::make_unique<Impl>(std::move(options), identity, trust, std::move(train), seed,
                                     std::move(*model));
  return Node(std::move(impl));
}

DatagramOutcome Node::OnDatagram(ByteView bytes, const SourceKey& source, int64_t now_ms) {
  Impl& s = *m_impl;
  s.counters.datagrams_received += 1;
  IngressResult in = s.ingress.Receive(bytes, source, now_ms);
  DatagramOutcome outcome;
  if (!in.accepted()) {
    outcome.drop = in.drop;
    return outcome;
  }
  const DatagramHeader& h = in.datagram.header;
  outcome.sender = h.sender;
  outcome.type = h.type;
  if (IsFleetMessage(h.type)) {
    // Before the peer table: a sender not trusted (yet) gets no entry there.
    outcome.drop = s.AcceptFleet(h, in.datagram.payload, now_ms);
    if (outcome.drop) s.ingress.CountDrop(*outcome.drop);
    outcome.accepted = !outcome.drop;
    return outcome;
  }
  PeerInfo& p = s.peers.Touch(h.sender, now_ms);
  switch (h.type) {
    case MessageType::kAnnounce:
      outcome.drop = s.AcceptAnnounce(h, in.datagram.payload, p);
      break;
    case MessageType::kScaling:
      outcome.drop = s.AcceptScaling(h, in.datagram.payload);
      break;
    case MessageType::kUpdate:
      outcome.drop = s.AcceptUpdate(h, in.datagram.payload, p, now_ms);
      break;
    case MessageType::kPeerExchange:
      outcome.payload = in.datagram.payload;
      s.counters.others_accepted += 1;
      break;
    case MessageType::kCertificate:
    case MessageType::kRevocationList:
      break;  // handled above
  }
  if (outcome.drop) {
    s.ingress.CountDrop(*outcome.drop);
    p.updates_rejected += 1;
  }
  outcome.accepted = !outcome.drop;
  return outcome;
}

void Node::OnTick(int64_t now_ms, std::vector<Bytes>* out) {
  Impl& s = *m_impl;
  s.last_tick_ms = std::max(s.last_tick_ms, now_ms);
  if (s.listening && s.listen_heard_ms >= 0 &&
      now_ms - s.listen_heard_ms >= s.options.listen_max_ms) {
    s.StopListening();
  }
  s.MergePending();
  if (now_ms >= s.next_send_ms) {
    uint64_t r = static_cast<uint64_t>(std::max<int64_t>(now_ms, 0) / s.options.send_interval_ms);
    if (!s.sent_any || r != s.round) {
      if (s.options.scaling == ScalingMode::kFleet) {
        s.fleet_scaling.OnRound(r, *s.trust, s.identity.public_key);
        s.ApplyScalingChange();
      }
      if (s.sent_any) s.ApplyStandins();  // for the round that just ended
      s.SendUpdate(r, now_ms, out);
      s.SendFreshRevocations(now_ms, out);
      if (s.options.scaling == ScalingMode::kFleet) s.SendScaling(r, now_ms, out);
      s.round = r;
      s.sent_any = true;
    }
    s.next_send_ms = static_cast<int64_t>(r + 1) * s.options.send_interval_ms;
  }
  if (s.options.announce_interval_ms > 0 && now_ms >= s.next_announce_ms) {
    s.SendAnnounce(now_ms, out);
    s.next_announce_ms = now_ms + s.options.announce_interval_ms;
  }
}

void Node::SendOther(MessageType type, ByteView payload, int64_t now_ms, std::vector<Bytes>* out) {
  Impl& s = *m_impl;
  DatagramHeader h;
  h.type = type;
  h.round = s.round;
  s.Send(h, payload, now_ms, out);
}

void Node::SetFleet(FleetTrust* fleet, Bytes certificate) {
  Impl& s = *m_impl;
  s.fleet = fleet;
  s.certificate = std::move(certificate);
  s.ingress.SetFleetMessages(fleet != nullptr);
}

int64_t Node::NextTickMs() const {
  const Impl& s = *m_impl;
  if (s.options.announce_interval_ms > 0) return std::min(s.next_send_ms, s.next_announce_ms);
  return s.next_send_ms;
}

TrainUnitResult Node::TrainUnit() {
  Impl& s = *m_impl;
  s.MergePending();
  TrainUnitResult r;
  if (s.train.empty()) return r;
  std::vector<uint32_t> batch;
  double loss = 0;
  const bool hybrid = s.options.gossip == GossipMode::kHybrid;
  Mlp& target = hybrid ? s.work : s.model;
  if (hybrid) std::copy(s.model.params().begin(), s.model.params().end(), s.work.params().begin());
  const bool dp = s.options.dp.enabled();
  uint32_t steps = 0;
  for (uint32_t b = 0; b < s.options.batches_per_unit; ++b) {
    if (dp) {
      if (!s.DpStep(target, &batch, &loss)) break;
    } else {
      s.sampler.Next(s.train.size(), s.options.sgd.batch_size, &batch);
      loss += s.trainer.Step(target, s.train, batch);
    }
    ++steps;
    r.samples += static_cast<uint32_t>(batch.size());
  }
  r.steps = steps;
  if (steps == 0) return r;  // the privacy budget is spent: merging and gossip go on
  if (hybrid) {
    // The model itself moves only by merges; this unit's progress waits in the accumulator.
    auto w = s.work.params();
    auto x = s.model.params();
    for (size_t i = 0; i < x.size(); ++i) s.ef[i] += w[i] - x[i];
  }
  r.loss = static_cast<float>(loss / steps);
  s.last_loss = r.loss;
  s.samples_seen += r.samples;
  return r;
}

Status Node::SetDataset(Dataset train) {
  Impl& s = *m_impl;
  if (!train.empty() && (train.num_features() != s.options.layers.front() ||
                         train.num_classes() > s.options.layers.back())) {
    return Status::InvalidArgument("node: new training data does not match the model");
  }
  s.train = std::move(train);
  s.sampler.Reset();
  if (s.options.scaling == ScalingMode::kFleet) {
    s.fleet_scaling.SetOwnMoments(FeatureMoments::Of(s.train));
    s.ApplyScalingChange();
  }
  return Status::Ok();
}

Bytes Node::ExportCheckpoint() const {
  const Impl& s = *m_impl;
  Checkpoint c = MakeCheckpoint(s.model, s.trainer, s.options.init_seed, s.round, s.samples_seen);
  // An agreed scaling is kept with the sample count it won with; a calibrating node's own
  // scaling is stored (the parameters are in it) but not as agreed.
  if (s.fleet_scaling.agreed()) c.scaling_samples = s.fleet_scaling.samples();
  // The unsent local progress goes with the model, so a restart resumes sending it; an
  // all-zero accumulator (nothing pending, or not the hybrid algorithm) is left out.
  if (std::any_of(s.ef.begin(), s.ef.end(), [](float v) { return v != 0.0f; })) {
    c.residual = s.ef;
  }
  // The memory of the peers that are away (those present are learnt again within a few of
  // their updates; keeping only the absent keeps the file small).
  for (internal::PeerMemory::Entry& e : s.memory.Export()) {
    if (s.last_tick_ms - e.last_ms <= s.ActiveMs() || e.key == s.identity.public_key ||
        e.anchor.empty()) {
      continue;
    }
    c.peers.push_back(
        {e.key, e.last_ms, e.weight, e.updates, std::move(e.delta), std::move(e.anchor)});
  }
  if (!s.accountant.empty()) c.dp = Checkpoint::DpState{s.accountant.steps(), s.accountant.rdp()};
  return EncodeCheckpoint(c);
}

Status Node::ImportCheckpoint(ByteView bytes) {
  Impl& s = *m_impl;
  auto decoded = internal::IsLegacyCheckpoint(bytes) ? internal::DecodeLegacyCheckpoint(bytes)
                                                     : DecodeCheckpoint(bytes);
  if (!decoded.ok()) return decoded.status().WithContext("node");
  const Checkpoint& c = *decoded;
  if (c.layer_sizes != s.options.layers || c.init_seed != s.options.init_seed) {
    return Status::InvalidArgument("node checkpoint: made for another model (fingerprint " +
                                   ToHex(Fingerprint(c.layer_sizes, c.init_seed)) +
                                   ", this node runs " + ToHex(s.fingerprint) + ")");
  }
  // Everything is staged first and stored only once nothing can fail, so a refused checkpoint
  // changes nothing. Decoding checked every size against the layer sizes, which equal ours.
  // The parameters are in the checkpoint's scaling. An agreed one is ours again; otherwise
  // (calibrating when it was written, or kNone) the model moves to the scaling this node uses.
  Mlp model = s.model;
  std::copy(c.params.begin(), c.params.end(), model.params().begin());
  DUST_RETURN_IF_ERROR(model.SetScaling(c.scaling).WithContext("node checkpoint"));
  std::vector<float> ef(s.ef.size(), 0.0f);
  if (!c.residual.empty()) std::copy(c.residual.begin(), c.residual.end(), ef.begin());
  std::vector<float> momentum(s.trainer.momentum().size(), 0.0f);
  if (!c.momentum.empty()) std::copy(c.momentum.begin(), c.momentum.end(), momentum.begin());
  std::vector<internal::PeerMemory::Entry> remembered;
  for (const Checkpoint::Peer& p : c.peers) {
    remembered.push_back({p.key, p.last_ms, p.weight, p.updates, p.delta, p.anchor});
  }
  internal::FleetScaling fleet_scaling = s.fleet_scaling;
  InputScaling target;  // kNone: raw features
  if (s.options.scaling == ScalingMode::kFleet) {
    if (c.scaling_samples > 0) fleet_scaling.Restore(c.scaling, c.scaling_samples);
    std::ignore = fleet_scaling.TakeChange();  // the model moves below, whatever changed
    target = fleet_scaling.scaling();
  }
  const bool moved = !(target == model.scaling());
  if (moved) {
    std::vector<std::span<float>> linked = {ef, momentum};
    for (auto& e : remembered) {
      linked.push_back(e.delta);
      linked.push_back(e.anchor);
    }
    DUST_RETURN_IF_ERROR(ChangeScaling(model, target, linked).WithContext("node checkpoint"));
  }
  // The accountant is restored even when this node now runs without DP: turning DP off and
  // on again must not reset epsilon. A checkpoint without it (older, or no noisy step yet)
  // keeps what this node has composed since it started, which is never less.
  RdpAccountant accountant = s.accountant;
  if (c.dp && c.dp->steps >= accountant.steps() && !accountant.Restore(c.dp->rdp, c.dp->steps)) {
    return Status::Corrupt("node checkpoint: bad privacy accountant");
  }
  DUST_RETURN_IF_ERROR(RestoreTrainer(c, s.trainer));  // checks before it changes anything
  s.accountant = accountant;
  std::copy(momentum.begin(), momentum.end(), s.trainer.momentum().begin());
  std::copy(model.params().begin(), model.params().end(), s.model.params().begin());
  std::copy(ef.begin(), ef.end(), s.ef.begin());
  s.fleet_scaling = std::move(fleet_scaling);
  s.memory.Restore(std::move(remembered));
  s.round = c.rounds;
  s.samples_seen = c.samples_seen;
  s.round_buffer.Clear();
  s.StopListening();  // a restored model is not fresh: it speaks with its weight at once
  if (moved) ++s.scaling_changes;
  s.UseScaling(target);
  return Status::Ok();
}

const Mlp& Node::model() const { return m_impl->model; }
Mlp& Node::mutable_model() { return m_impl->model; }
const PublicKey& Node::public_key() const { return m_impl->identity.public_key; }
const ModelFingerprint& Node::fingerprint() const { return m_impl->fingerprint; }
ModelFingerprint Node::update_fingerprint() const { return m_impl->update_fingerprint; }
ScalingStatus Node::scaling_status() const {
  const Impl& s = *m_impl;
  ScalingStatus st;
  st.mode = s.options.scaling;
  st.changes = s.scaling_changes;
  if (s.options.scaling == ScalingMode::kNone) return st;
  st.agreed = s.fleet_scaling.agreed();
  st.samples = s.fleet_scaling.samples();
  st.id = s.fleet_scaling.id();
  st.peers_pooled = s.fleet_scaling.peers_pooled();
  st.calibration_end = s.fleet_scaling.calibration_end();
  return st;
}
size_t Node::remembered_peers() const {
  const Impl& s = *m_impl;
  return s.memory.size() - (s.memory.Has(s.identity.public_key) ? 1 : 0);  // not itself
}
size_t Node::absent_peers() const { return m_impl->standin_peers; }
uint64_t Node::round() const { return m_impl->round; }
bool Node::listening() const { return m_impl->listening; }
uint64_t Node::samples_seen() const { return m_impl->samples_seen; }
size_t Node::train_size() const { return m_impl->train.size(); }
float Node::last_loss() const { return m_impl->last_loss; }
void Node::set_accuracy_bp(uint16_t accuracy_bp) { m_impl->accuracy_bp = accuracy_bp; }
void Node::set_learning_rate(float lr) { m_impl->trainer.set_learning_rate(lr); }
void Node::set_schedule_position(std::optional<uint64_t> position) {
  m_impl->schedule_position = position;
}
const NodeOptions& Node::options() const { return m_impl->options; }

DpStatus Node::dp_status() const {
  const Impl& s = *m_impl;
  DpStatus d;
  d.enabled = s.options.dp.enabled();
  d.noise_multiplier = s.options.dp.noise_multiplier;
  d.clip = s.options.dp.clip;
  d.delta = s.DpDelta();
  d.epsilon = s.SpentEpsilon();
  d.order = s.accountant.empty() ? 0 : s.accountant.Spent(d.delta).order;
  d.epsilon_budget = s.options.dp.epsilon_budget;
  d.steps = s.accountant.steps();
  d.exhausted = s.DpBudgetSpent();
  return d;
}

std::vector<PeerInfo> Node::Peers(int64_t now_ms) const {
  return m_impl->peers.Snapshot(now_ms, m_impl->options.peer_stale_ms);
}

NodeCounters Node::counters() const {
  NodeCounters c = m_impl->counters;
  c.drops = m_impl->ingress.drops();
  return c;
}

}  // namespace dust
