// The engine: one peer's learning-and-gossip state machine, sans I/O (docs/engine.md).
//
// dustd and dust-sim drive the same Node. The caller owns every clock, socket and file:
//   - OnDatagram(bytes, source, now_ms) for every datagram received (any bytes at all);
//   - OnTick(now_ms, &out) regularly (at least every send interval): merges what arrived, and
//     appends the datagrams to broadcast now (an update once per round, an announce every
//     announce interval);
//   - TrainUnit() whenever it has CPU to spare: one small unit of local training;
//   - checkpoints (ExportCheckpoint / ImportCheckpoint) and the counter mark (persist hook).
//
// Rounds: round = now_ms / send_interval_ms, so peers whose clocks agree roughly send the same
// block of coordinates in the same round (coherent averages; see docs/engine.md). With the
// default gossip (GossipMode::kHybrid) an update datagram carries, quantized (options.coding):
//   - DELTAS: the top-k of the sender's local progress not yet sent (error feedback: what is
//     not sent, or lost to quantization, stays in its accumulator), which receivers add in as
//     the mean over the round's expected senders, so a lost delta only shrinks a step;
//   - the sender's ABSOLUTE values for that round's block of coordinates (round-robin), which
//     receivers average with their own (merge.h): anti-entropy that repairs whatever lost
//     deltas, restarts or partitions made the models disagree on.
// The model then moves only by merges (training fills the accumulator), so without loss every
// node holds the same model. GossipMode::kAbsolute sends absolute values only, the small layers
// every round and a round-robin block of the first layer (loss-proof but slow; kept for
// comparison).
//
// Receive path (cheapest check first, every drop counted by reason: ingress.h DropReason):
// ingress.h's checks (structure, sender trusted, model fingerprint, timestamp, replay window,
// rate limit per source, signature), then payload decode with caps (codec.h), quarantine of
// each part (merge.h CheckUpdate) and the bounded round buffer. Only updates from keys in the
// TrustStore are ever merged, and a key removed from it loses what it had buffered.
//
// Thread-safety: none; one owner (the daemon's event loop or the simulator) calls everything.
// The TrustStore passed to Create must outlive the Node; changes to it (trust/revoke) take
// effect on the next datagram.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dust/engine/merge.h"
#include "dust/ml/dataset.h"
#include "dust/ml/model.h"
#include "dust/net/codec.h"
#include "dust/net/ingress.h"
#include "dust/net/ratelimit.h"
#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust {

class TrustStore;
class FleetTrust;

// What an update datagram carries (docs/engine.md compares them).
enum class GossipMode : uint8_t {
  // Top-k of the node's unsent local progress as int8 deltas (error feedback: what is not sent
  // stays in the accumulator), which every receiver adds in as the mean over the round's
  // updates, PLUS the sender's absolute values for a block of coordinates chosen by round
  // (round-robin), which receivers average in: anti-entropy that repairs whatever lost deltas
  // made the models disagree on. The node's model moves only by merges, so without loss all
  // nodes hold the same model (compressed synchronous SGD).
  kHybrid = 0,
  // Absolute values only: the output layers every round plus a round-robin block of the first
  // layer. Loss-proof but mixes slowly (kept for comparison).
  kAbsolute = 1,
};

// How a node scales raw features (docs/engine.md, "Feature scaling").
enum class ScalingMode : uint8_t {
  // Agree with the peers on one scaling from pooled statistics of everyone's data (default).
  kFleet = 0,
  // Raw features, no scaling messages (every peer must use the same mode).
  kNone = 1,
};

// Differential privacy of local training (docs/engine.md "Differential privacy",
// docs/privacy.md). Off unless both noise_multiplier and clip are > 0.
struct DpOptions {
  float noise_multiplier = 0.0f;  // sigma: noise std = sigma * clip on each batch's sum
  float clip = 0.0f;              // C: each sample's gradient is clipped to L2 norm C
  double epsilon_budget = 0.0;    // stop training on own data before passing it (0: no budget)
  // delta of the reported epsilon; 0: min(1e-5, 0.1 / local samples), re-read as the data
  // changes (so it stays well below 1 / samples).
  double delta = 0.0;
  // Simulation only: noise and Poisson sampling from a stream keyed by this seed, so runs
  // repeat. Unset (dustd): keyed from the OS's CSPRNG.
  std::optional<uint64_t> seed;
  bool enabled() const { return noise_multiplier > 0 && clip > 0; }
};

struct NodeOptions {
  // Model: all peers must agree on these two (they form the fingerprint in every datagram).
  std::vector<uint32_t> layers = Mlp::DefaultLayers();
  uint64_t init_seed = 1;

  ScalingMode scaling = ScalingMode::kFleet;
  // kFleet: rounds of calibration from the first tick (at least 3 passes over the node's
  // blocks of moments), then a block of the agreed scaling every scaling_announce_rounds.
  uint32_t scaling_calibration_rounds = 10;
  uint32_t scaling_announce_rounds = 4;

  SgdOptions sgd;                 // local training
  DpOptions dp;                   // DP-SGD instead of SGD when dp.enabled()
  uint32_t batches_per_unit = 1;  // SGD steps (of sgd.batch_size samples) per TrainUnit
  AggregatorOptions aggregator;   // how received values are merged

  // Gossip.
  GossipMode gossip = GossipMode::kHybrid;
  float delta_fraction = 0.6f;  // kHybrid: share of the payload for deltas (rest: absolute block)
  int64_t send_interval_ms = 1000;       // one update datagram per interval (= one round)
  int64_t announce_interval_ms = 10000;  // announce datagram period (0: never)
  ValueCoding coding = ValueCoding::kInt8;
  bool send_head_every_round = true;  // kAbsolute: also carry every parameter after layer 1
  float max_norm_ratio = 50.0f;       // quarantine threshold (merge.h CheckUpdate)

  // Memory of absent peers (docs/engine.md, "Peers that sleep"; kHybrid only): while a
  // trusted peer is away, the fleet keeps taking its step for it: its recent average delta
  // (per unit of learning rate), plus a pull of strength peer_memory_anchor (per unit of
  // learning rate) back towards the model as it was when the peer was last heard. Together
  // they are a quadratic model of the absent peer's loss around that point; the delta alone
  // (MIFA) keeps pushing as the model moves and drifts away (engine.md measures both). Full
  // weight for half the horizon, then fading to nothing at the horizon (0: no memory). The
  // default, 48 h, keeps a device switched off overnight at full weight and forgets one gone
  // for good within two days.
  int64_t peer_memory_horizon_ms = 48LL * 3600 * 1000;
  size_t peer_memory_max_peers = 64;  // peers remembered (least recently heard forgotten)
  float peer_memory_anchor = 5.0f;    // 0: the remembered delta alone (MIFA)
  bool peer_memory_deltas = true;     // false: the anchor alone (measurements only)

  // Peers and receive path.
  size_t max_peers = 1024;             // peer-table entries (least recently seen evicted)
  int64_t peer_stale_ms = 60000;       // a peer silent this long is reported stale
  size_t max_pending_updates = 512;    // updates buffered between merges (extra ones dropped)
  int64_t max_clock_skew_ms = 120000;  // datagram timestamps further off are refused as stale
  int64_t not_before_ms = 0;  // refuse datagrams stamped earlier (the daemon: its start time)
  RateLimiterOptions rate_limit;

  // Joining: a node started without a checkpoint first listens, so that its initial model does
  // not pull a settled fleet's towards it (docs/engine.md, "Joining a settled fleet"). While it
  // listens, its updates carry sample weight 0 (receivers count 1) and it weighs its own values
  // 1 in its merges of absolute values, so it takes the fleet's model; it stops once its peers'
  // absolute values have covered every coordinate of its model, or listen_max_ms after the
  // first of them arrived, or when a checkpoint is imported. false (dust-sim): never listens.
  bool listen_first = false;
  int64_t listen_max_ms = 120000;

  // Announce contents.
  std::string display_name = "dust";
  // Announce the held-out accuracy and the local sample count (both computed from private
  // data); false sends "unknown" and 0 (docs/privacy.md).
  bool announce_stats = true;
  uint16_t listen_port = 0;

  // Counter persistence (replay.h CounterAllocator): the mark loaded from disk (0 on a first
  // start), and a hook that must durably store a new mark before it returns OK. Without a
  // hook, marks are considered persisted at once (tests, simulation).
  uint64_t counter_mark = 0;
  std::function<Status(uint64_t mark)> persist_counter_mark;

  // Simulation of faulty peers ONLY (dust-sim --byzantine): called on every outgoing update
  // after it is planned and before it is encoded and signed. Production leaves it empty.
  std::function<void(uint64_t round, std::vector<uint32_t>& index, std::vector<float>& value)>
      tamper_outgoing;
};

struct TrainUnitResult {
  uint32_t samples = 0;  // 0: nothing to train on
  uint32_t steps = 0;  // SGD steps taken (fewer than batches_per_unit if the DP budget stopped it)
  float loss = 0.0f;   // mean batch loss of the unit
};

// What happened to one datagram.
struct DatagramOutcome {
  bool accepted = false;  // an update buffered for the next merge, or an announce
  // Why it was not accepted (nullopt when it was). A quarantined update reports the check that
  // refused it (kQuarantinedNonFinite, ...); the counters count it under kQuarantined too.
  std::optional<DropReason> drop;
  // Set when the signature verified, whether or not the engine then accepted it (a payload can
  // still fail to decode, be quarantined or find the round buffer full): who sent it.
  std::optional<PublicKey> sender;
  MessageType type = MessageType::kUpdate;  // with `sender`: what it was
  // An accepted message the engine carries but does not read (kPeerExchange, the daemon's):
  // its authenticated payload, a view into the bytes given to OnDatagram.
  ByteView payload;
};

// Where the node's input scaling stands (dustctl status "scaling").
struct ScalingStatus {
  ScalingMode mode = ScalingMode::kFleet;
  bool agreed = false;           // kFleet: frozen (or adopted); false while calibrating
  uint64_t samples = 0;          // agreed: samples pooled; calibrating: the node's own
  uint64_t id = 0;               // ScalingId of the current scaling (0 for kNone)
  size_t peers_pooled = 0;       // peers whose moments this node pooled when it froze
  uint64_t calibration_end = 0;  // round at which calibration ends (0: not started)
  uint64_t changes = 0;          // times the model moved to another scaling
};

// Where the node's privacy accounting stands (dustctl status "privacy").
struct DpStatus {
  bool enabled = false;
  float noise_multiplier = 0, clip = 0;
  double epsilon = 0;         // spent so far (Balle conversion at `delta`); 0 before any step
  uint32_t order = 0;         // the Renyi order that gave it
  double delta = 0;           // the delta in use
  double epsilon_budget = 0;  // 0: none
  uint64_t steps = 0;         // noisy steps composed, over the node's whole life
  bool exhausted = false;     // the next step would pass the budget: no more local training
};

struct PeerInfo {
  PublicKey key{};
  std::string display_name;  // from its last announce ("" until one arrives)
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t last_update_ms = 0;  // last accepted update (0: none yet)
  uint64_t last_round = 0;
  uint32_t sample_weight = 0;     // last update's / announce's sample count
  uint16_t accuracy_bp = 0xFFFF;  // from its last announce
  // From its last announce: its learning-rate schedule position (nullopt: that announce had
  // none, or none arrived yet), and when that announce arrived.
  std::optional<uint64_t> schedule_position;
  int64_t schedule_position_ms = 0;
  // From its last announce: the epsilon it has spent and its budget (nullopt: it announced
  // none: no DP, or an older version).
  std::optional<float> dp_epsilon;
  float dp_epsilon_budget = 0;
  uint64_t announces = 0;
  uint64_t updates_accepted = 0;
  uint64_t updates_rejected = 0;  // authenticated but refused (decode, quarantine, overflow)
  float outlier_score = 0.0f;     // robust rules: how often its values were far from the aggregate
  bool stale = false;
};

// Counters since Create, by name (stable snake_case names, for metrics).
struct NodeCounters {
  uint64_t datagrams_received = 0;
  uint64_t updates_accepted = 0;
  uint64_t announces_accepted = 0;
  uint64_t scaling_accepted = 0;  // scaling messages (calibration moments, fleet scalings)
  uint64_t others_accepted = 0;   // messages the engine carries for its caller (peer exchange)
  // Fleet messages (certificates, revocation lists) accepted by ingress and FleetTrust, or
  // ignored because the node has no FleetTrust (a paired sender's certificate).
  uint64_t fleet_accepted = 0;
  uint64_t updates_merged = 0;
  uint64_t merges = 0;
  uint64_t standins = 0;  // absent peers' remembered deltas applied (one per peer per round)
  uint64_t datagrams_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t max_datagram_bytes = 0;
  // Every drop by reason (ingress.h DropReason: the receive checks' and the engine's), in one
  // array; iterating it lists every reason as (name, count).
  DropCounters drops;
};

class Node {
 public:
  // kInvalidArgument on bad options (layers, intervals, batch size) or a dataset whose width or
  // classes do not match the layers. `trust` is not owned and may not be null. `seed` drives
  // batch sampling only (the model is initialised from options.init_seed).
  static Result<Node> Create(NodeOptions options, KeyPair identity, const TrustStore* trust,
                             Dataset train, uint64_t seed);
  Node(Node&&) noexcept;
  Node& operator=(Node&&) noexcept;
  ~Node();

  // Network input. Never throws; any bytes are fine. `source` is what the datagram came from
  // (IP address, or a node index in the simulator) for rate limiting. Every datagram ends
  // accepted or counted under exactly one reason that RefusesDatagram (ingress.h), so
  // datagrams_received == updates_accepted + announces_accepted + scaling_accepted +
  // others_accepted + fleet_accepted +
  // counters().drops.Total().
  DatagramOutcome OnDatagram(ByteView bytes, const SourceKey& source, int64_t now_ms);

  // Fleet certificates (fleet_trust.h): `fleet` (not owned, may be null: none) receives the
  // certificates and revocation lists that arrive, and ingress admits them from senders not
  // trusted yet; `certificate` (may be empty: none) is this node's own, sent with every
  // announce together with each revocation list `fleet` holds. `fleet` must use the same
  // TrustStore as the node and outlive it.
  void SetFleet(FleetTrust* fleet, Bytes certificate);

  // Timers: merges buffered updates, then appends the datagrams to send now (each at most
  // kMaxDatagramBytes) to *out. Calling it more often than needed is harmless.
  void OnTick(int64_t now_ms, std::vector<Bytes>* out);
  // Stamps, counts and signs a datagram of a type the engine does not read (kPeerExchange)
  // like its own (the same counter sequence, so receivers' replay windows cover it), appending
  // it to *out; appends nothing if no counter is available or the payload does not fit.
  void SendOther(MessageType type, ByteView payload, int64_t now_ms, std::vector<Bytes>* out);
  // The next time OnTick has something to send (for the caller's timer).
  int64_t NextTickMs() const;

  // One unit of local training (options.batches_per_unit batches). Merges buffered updates
  // first so training starts from the mixed model. kHybrid trains a copy of the model and adds
  // its change to the accumulator of unsent progress (the model moves only by merges);
  // kAbsolute trains the model itself.
  TrainUnitResult TrainUnit();

  // Replaces the training data (data directory changed). Keeps the model.
  Status SetDataset(Dataset train);

  // Checkpoint (checkpoint.h format, docs/protocol.md "Checkpoint file"): model, momentum,
  // the unsent local progress (error-feedback residual) and the counters needed to resume;
  // not the trust store or the counter mark, which the daemon persists separately. Import is
  // strict (kCorrupt / kUnsupported), refuses a checkpoint of another model
  // (kInvalidArgument), and changes nothing when it fails.
  Bytes ExportCheckpoint() const;
  Status ImportCheckpoint(ByteView bytes);

  // Status.
  const Mlp& model() const;
  Mlp& mutable_model();  // tests and the simulator's attacks; not for the daemon
  const PublicKey& public_key() const;
  const ModelFingerprint& fingerprint() const;
  // What this node's updates carry: fingerprint() mixed with the input scaling (equal to
  // fingerprint() for the identity).
  ModelFingerprint update_fingerprint() const;
  ScalingStatus scaling_status() const;
  // Peers whose contribution the node remembers (NodeOptions peer_memory_*), and how many of
  // them were away at the last round's start (their remembered steps taken for them; counted
  // there, so status and metrics do not redo the memory's comparisons).
  size_t remembered_peers() const;
  size_t absent_peers() const;
  uint64_t round() const;         // round of the last update sent
  bool listening() const;         // options.listen_first: still taking the fleet's model
  uint64_t samples_seen() const;  // local training samples processed
  size_t train_size() const;
  float last_loss() const;
  void set_accuracy_bp(uint16_t accuracy_bp);  // the caller's held-out accuracy, for announces
  void set_learning_rate(float lr);            // schedules (the simulator's decay)
  // The caller's learning-rate schedule position, for announces (the daemon's; nullopt, the
  // default, announces none).
  void set_schedule_position(std::optional<uint64_t> position);
  DpStatus dp_status() const;
  std::vector<PeerInfo> Peers(int64_t now_ms) const;
  NodeCounters counters() const;
  const NodeOptions& options() const;

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace dust
