// The daemon: owns the io_context and composes the engine (dust::Node) with the gossip socket,
// the control socket, the state directory, the data directory, metrics and systemd.
//
// Threading: one thread runs the io_context and owns every piece of state here. One worker
// thread (m_workers) runs the slow, read-only jobs -- data dir scans and evaluations -- on
// immutable inputs (shared_ptr<const Dataset>, a copy of the model) and posts the result back
// to the loop. A second one (m_predict_worker) runs large predict requests the same way, so
// that they neither hold the loop nor wait behind an evaluation of a whole data directory.
// Nothing else is shared.
//
// Scheduling: the engine is round-based (round = now_ms / send_interval_ms; its model moves by
// merges and each update carries one round of local progress), so the daemon runs exactly one
// Node::TrainUnit (batches-per-round SGD steps) at the start of each round, then OnTick sends
// the round's update. A unit is short (~0.2 ms per batch of 32 for 784-32-10), so datagrams and
// control requests wait at most that long. cpu-budget caps the share of each round spent
// training: an over-long unit leaves a debt paid by skipping rounds. Paused (or without data)
// no unit runs, and the daemon wakes only for its gossip and housekeeping timers.
//
// Lifecycle: Run() = Start (state, data, node, sockets, READY) -> io_context.run() ->
// graceful Stop on SIGTERM/SIGINT (STOPPING, stop accepting, finish workers, checkpoint,
// close). SIGHUP reloads the config file (what can change at runtime), the trust store and
// the data dir.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "command_args.h"
#include "control.h"
#include "data_dir.h"
#include "data_dir_reader.h"
#include "dust/engine/node.h"
#include "dust/ml/dataset.h"
#include "dust/ml/load_options.h"
#include "dust/net/fleet_trust.h"
#include "dust/net/trust.h"
#include "endpoints.h"
#include "gossip.h"
#include "history.h"
#include "metrics.h"
#include "notify.h"
#include "options.h"
#include "schedule.h"
#include "storage.h"
#include "watch.h"

namespace dust::daemon {

inline constexpr size_t kMaxEvalSamples = 2000;  // holdout/test samples per periodic evaluation
// predict requests with at most this much row text are answered on the loop: 64 KiB of rows
// (about 20 MNIST rows at 7.9 us of daemon CPU each, docs/benchmarks.md) hold it for about
// 0.2 ms, as long as a training unit; a one-row request then needs no copy of the model.
inline constexpr size_t kInlinePredictBytes = 65536;

// Splits `data` deterministically: sample i goes to the holdout iff a hash of (seed, i) falls
// below `fraction`. Stable when files are appended (earlier samples keep their side).
void SplitHoldout(const Dataset& data, double fraction, uint64_t seed, Dataset* train,
                  Dataset* holdout);

// A dataset holding at most `cap` samples of `data`, evenly spread (deterministic): what a
// periodic evaluation reads of the holdout and test data.
std::shared_ptr<const Dataset> Capped(const Dataset& data, size_t cap);

// What each drop slot of the history counts: the engine's reasons (ingress.h), then "own".
std::vector<std::string> HistoryDropNames();

class Daemon {
 public:
  // `argv` is kept for SIGHUP (the config is re-read with the same command line).
  Daemon(Options options, std::vector<std::string> argv);
  ~Daemon();

  // Returns the process exit code.
  int Run();

  // For tests: the dispatcher with every command registered.
  const ControlDispatcher& dispatcher() const { return m_dispatcher; }

 private:
  // A data file ScanDataDir skipped, as (path, reason): its messages read "<path>: <reason>".
  static std::pair<std::string, std::string> SkippedFile(const Status& why);

  struct DataState {
    std::shared_ptr<const Dataset> holdout;
    std::shared_ptr<const Dataset> test;
    size_t train_samples = 0;
    std::vector<std::string> used;
    std::vector<std::pair<std::string, std::string>> skipped;  // path, reason
    // Files used in part: a CSV file up to its first bad line, an IDX pair's last good read.
    struct FileError {
      std::string path;
      size_t samples = 0;  // what the file contributes
      std::string reason;
    };
    std::vector<FileError> with_errors;
    std::vector<std::pair<std::string, uint64_t>> incomplete;  // path, bytes of its last line
    size_t test_samples = 0;                                   // before capping for evaluation
    size_t files_read = 0;  // by the scan that produced this state (the others were unchanged)
    uint64_t bytes_read = 0;
    int64_t scanned_ms = 0;
    std::string signature;  // names, sizes and mtimes: rescans skip an unchanged dir
  };
  struct ScanResult {
    Status status;
    Dataset train;
    DataState data;
  };

  // Lifecycle and timers (daemon.cpp).
  Status Start();
  void Stop(const std::string& why);
  NodeOptions MakeNodeOptions();
  LearningRateSchedule Schedule() const;
  void WaitSignals();
  // Runs `fn` every `seconds` on `timer` until the daemon stops (or the timer is cancelled).
  void Every(boost::asio::steady_timer& timer, double seconds, std::function<void()> fn);
  // SIGHUP (reload.cpp).
  void Reload();

  // Control commands (commands.cpp): a table of the commands of docs/control-protocol.md,
  // each with its handler. A handler that answers at once returns its result or the error to
  // reply with (ErrorCodeFor gives the code). One that answers later, because its work runs
  // off the loop, returns an error at once, or Ok after it has taken `reply` to answer
  // through when the work is done.
  using AnswerNow = Result<Json> (Daemon::*)(const Json& request);
  using AnswerLater = Status (Daemon::*)(const Json& request, const Responder& reply);
  struct Command {
    const char* name;
    std::variant<AnswerNow, AnswerLater> handler;
  };

  // Registers the table of commands with m_dispatcher.
  void RegisterCommands();
  Result<Json> CmdStatus(const Json& request);
  Result<Json> CmdPeers(const Json& request);
  Result<Json> CmdTrustShow(const Json& request);
  Result<Json> CmdTrustList(const Json& request);
  Result<Json> CmdTrustAdd(const Json& request);
  Result<Json> CmdTrustRemove(const Json& request);
  Result<Json> CmdFleetInstall(const Json& request);
  Result<Json> CmdModelExport(const Json& request);
  Status CmdEvaluate(const Json& request, const Responder& reply);
  Result<Json> CmdPause(const Json& request);
  Result<Json> CmdResume(const Json& request);
  Result<Json> CmdMetrics(const Json& request);
  Result<Json> CmdCheckpoint(const Json& request);
  Status CmdRescan(const Json& request, const Responder& reply);
  Status CmdWatch(const Json& request, const Responder& reply);
  Result<Json> CmdHistory(const Json& request);
  // predict, a bulk command (control.h): `features` is the JSON text of its rows. Small
  // requests are answered on the loop; larger ones (more than kInlinePredictBytes of rows) on
  // m_predict_worker with a copy of the model.
  void CmdPredict(const Json& request, std::string_view features, const Responder& reply);
  // predict's work: `model` on the rows in `features`, as the result's JSON text.
  static Result<std::string> PredictRows(const Mlp& model, std::string_view features,
                                         uint64_t steps);
  // evaluate's work, on the worker (reads files, touches no daemon state): `model` evaluated on
  // the `split` of the IDX/CSV files in `dir` (empty split: test if there are test files, else
  // all; test files by `tests`), as the command's result.
  static Result<Json> EvaluateDir(const Mlp& model, const std::string& dir,
                                  const std::string& split, const LoadOptions& lo,
                                  const TestFileRule& tests);

  // Data directory (data_scan.cpp).
  // A scan with `reader` (which reads only what changed since its last scan): the training
  // data, the holdout split off each training file, the test data capped for evaluation.
  static ScanResult ScanData(const Options& options, uint32_t features, uint32_t classes,
                             DataDirReader* reader);
  static void LogScan(const DataState& data);
  // A file name's share of the holdout seed.
  static uint64_t NameHash(const std::string& name);
  static std::string DataSignature(const std::string& dir);
  // Scans on the worker, then applies the result on the loop and answers `reply` (if not null)
  // with the rescan command's result. Does nothing while a scan runs (CmdRescan refuses first),
  // nor, unless `force` or `reply`, when the directory looks unchanged.
  void RescanAsync(bool force, const Responder* reply);
  void ApplyScan(ScanResult result);

  // Receive path and round tick (round_tick.cpp).
  void OnDatagram(ByteView bytes, const boost::asio::ip::udp::endpoint& from, bool broadcast);
  void ScheduleTick();
  void DoTick();
  // Reach beyond the broadcast domain (reach.cpp; docs/operations.md, "Across sites").
  EndpointTableOptions EndpointOptions() const;
  // Starts the peer-exchange, name-resolution and interface timers (again, after a reload).
  void StartReachTimers();
  // A certified peer's certificate arrived: its endpoints (if any) into the endpoint table.
  void CertificateEndpointsOf(const PublicKey& peer);
  // The trust store's endpoints (pairing URIs, certificates) into the table, after any trust
  // change.
  void TrustEndpointsChanged();
  // Prunes the table (expiry, trust) and hands the endpoints to send to to the socket.
  void ApplyEndpoints();
  // The source address of a verified datagram of `peer`: roaming (unicast) or seen (broadcast).
  void LearnSource(const PublicKey& peer, const boost::asio::ip::udp::endpoint& from,
                   bool broadcast);
  void SendPeerExchange();
  void OnPeerExchange(const PublicKey& from, ByteView payload);
  void IntroduceTo(const PeerExchangeEntry& entry, int64_t now);
  Json EndpointsJson(const PublicKey& peer) const;
  Json ReachJson() const;  // status "network.reach"

  // Training and evaluation (training.cpp).
  void TrainStep();
  void EvaluateAsync();
  // Checkpoints and the trust store on disk (saved_state.cpp).
  Status WriteCheckpoint();
  // The live model files (model_files.cpp): every model-export-formats file in
  // model-export-dir, each replaced atomically, when the model differs from the last export.
  // Errors are logged, counted and published; the next checkpoint tries again.
  void ExportModelFiles();
  // Events for watchers (watch.h): the kind and its fields; the hub stamps seq and time.
  void Publish(std::string_view kind, Json fields) {
    m_watch.Publish(kind, std::move(fields), NowMs());
  }
  // Peer seen / stale / back events: compares the node's peer table with the last look.
  void WatchPeers();
  Status SaveTrust();
  // Fleet certificates (fleet.cpp): the FleetTrust over m_trust with the configured fleets,
  // this node's certificate and the held revocation lists and exclusions from the state dir.
  void InitFleet();
  // Writes the held revocation lists when one was accepted since the last call (O(1) when not).
  void SaveFleetListsIfChanged();
  Status SaveFleetExcluded();
  Json FleetJson() const;
  const char* TrustOf(const PublicKey& key) const;  // "paired", "certificate" or nullptr
  uint64_t Rounds() const;

  // Reports (replies.cpp).
  Json StatusJson();
  Json ScalingJson() const;  // status "model.scaling"
  Json PrivacyJson() const;  // status "privacy"
  Json PeersJson();
  Json ModelJson(bool with_params, bool checkpoint);
  std::string MetricsTextNow();
  std::string StatusLine();
  // The files_skipped list of status, rescan and evaluate: [{"path", "reason"}, ...].
  static Json SkippedFilesJson(const std::vector<std::pair<std::string, std::string>>& skipped);
  // The data dir as status and rescan report it.
  Json DataJson();
  uint64_t Steps() const { return m_steps_base + m_units; }
  // The fleet-wide schedule (training.cpp; docs/engine.md, "A fleet-wide learning-rate
  // schedule"): this node's position on it, and the rate there.
  uint64_t SchedulePosition() const { return m_schedule.Position(Steps()); }
  double LearningRate() const { return ScheduledLearningRate(Schedule(), SchedulePosition()); }
  // Once a second: the fleet's position from the trusted live peers' announces; moves this
  // node up to it, and tells the node what to announce.
  void FollowFleetSchedule();
  // Whether training waits to hear the fleet's position first (right after a start).
  bool AwaitingFleetSchedule() const;

  // History (history_sampler.cpp): a sample of the node and its trusted peers every
  // kHistoryFineMs; loaded at start, saved with each checkpoint and at stop.
  void SampleHistory();
  void LoadHistory();
  void SaveHistory();
  Json HistoryJson(const HistoryArgs& args);
  // The dashboard (dashboard.cpp): GET / on the metrics address.
  std::string DashboardHtml(const std::string& query);

  static int64_t NowMs();

  Options m_options;
  std::vector<std::string> m_argv;
  boost::asio::io_context m_io;
  boost::asio::thread_pool m_workers{1};
  boost::asio::thread_pool m_predict_worker{1};
  boost::asio::signal_set m_signals;
  boost::asio::steady_timer m_tick_timer;
  boost::asio::steady_timer m_checkpoint_timer;
  boost::asio::steady_timer m_rescan_timer;
  boost::asio::steady_timer m_eval_timer;
  boost::asio::steady_timer m_watchdog_timer;
  boost::asio::steady_timer m_status_timer;
  boost::asio::steady_timer m_peer_timer;
  boost::asio::steady_timer m_exchange_timer;
  boost::asio::steady_timer m_resolve_timer;
  boost::asio::steady_timer m_interfaces_timer;
  boost::asio::steady_timer m_history_timer;

  StateDir m_state;
  int m_lock_fd = -1;
  KeyPair m_identity;
  TrustStore m_trust;
  std::optional<Node> m_node;
  DataState m_data;
  // What the scans read of the data dir. Used by one scan at a time: at start on the loop, then
  // on the worker (m_scanning).
  std::unique_ptr<DataDirReader> m_reader = std::make_unique<DataDirReader>();
  bool m_scanning = false;

  ControlDispatcher m_dispatcher;
  std::unique_ptr<ControlServer> m_control;
  std::unique_ptr<GossipSocket> m_gossip;
  std::unique_ptr<MetricsHttpServer> m_metrics_http;
  Notifier m_notifier;

  // Training.
  bool m_paused = false;
  int64_t m_last_train_round = -1;
  double m_train_debt_s = 0;
  uint64_t m_rounds_skipped = 0;
  bool m_dp_exhausted_logged = false;  // the budget-spent state last logged
  uint64_t m_units = 0;                // TrainUnits this run
  uint64_t m_steps_base = 0;
  ScheduleTracker m_schedule;
  std::optional<uint64_t> m_fleet_position;  // from the last FollowFleetSchedule
  size_t m_fleet_position_peers = 0;         // trusted live peers it came from
  bool m_fleet_position_heard = false;       // some trusted peer announced one since start
  uint64_t m_rounds_base = 0;
  uint64_t m_samples_trained = 0;
  double m_train_seconds = 0;
  double m_steps_per_s = 0;
  uint64_t m_rate_units = 0;
  std::chrono::steady_clock::time_point m_rate_at{};

  // Evaluation.
  bool m_evaluating = false;
  std::optional<double> m_accuracy;
  std::optional<double> m_test_accuracy;
  int64_t m_accuracy_ms = 0;

  // Receive side, beyond the node's own counters.
  uint64_t m_own_datagrams = 0;
  std::map<PublicKey, std::string> m_peer_address;  // trusted senders only (bounded by trust)
  std::unique_ptr<FleetTrust> m_fleet;
  std::optional<Certificate> m_certificate;  // ours, installed with `dustctl fleet install`
  Bytes m_certificate_bytes;                 // its bytes, as sent (IntroduceTo)
  uint64_t m_fleet_lists_saved = 0;          // FleetCounters::revocations_accepted last saved

  // Reach: every endpoint known for each trusted peer, and the peer exchange's counters.
  EndpointTable m_endpoints;
  struct ExchangeCounters {
    uint64_t sent = 0;           // peer-exchange datagrams sent
    uint64_t accepted = 0;       // verified and decoded
    uint64_t dropped = 0;        // refused by the receive checks, or a payload that did not decode
    uint64_t learned = 0;        // entries taken (for trusted keys)
    uint64_t ignored = 0;        // entries for keys we do not trust, or our own
    uint64_t introductions = 0;  // our certificate sent to an untrusted entry's endpoint
  } m_exchange;
  // When we last introduced ourselves to each key (IntroduceTo): at most once an announce
  // interval per key, and a bounded map.
  std::map<PublicKey, int64_t> m_introduced;
  size_t m_exchange_cursor = 0;  // where the next exchange starts in the list (rotation)

  // Checkpoints.
  int64_t m_checkpoint_ms = 0;
  uint64_t m_checkpoint_steps = 0;
  uint64_t m_checkpoints_written = 0;
  uint64_t m_checkpoint_errors = 0;

  // Watchers and what their events compare against.
  WatchHub m_watch;
  std::map<PublicKey, bool> m_peer_stale;  // peers of the last WatchPeers, and whether stale
  std::string m_watch_model_hash;          // content hash of the last model event

  // Live model files.
  struct ModelExportState {
    std::string content_hash;  // of the model last written ("" : none yet this run)
    uint64_t steps = 0;
    int64_t written_ms = 0;
    uint64_t written = 0;  // exports (all formats) written this run
    uint64_t errors = 0;
    std::string last_error;
  } m_export;

  History m_history{HistoryDropNames()};

  int64_t m_start_ms = 0;
  std::chrono::steady_clock::time_point m_start{};
  bool m_stopping = false;
  int m_exit_code = 0;
};

}  // namespace dust::daemon
