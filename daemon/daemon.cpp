// The daemon's lifecycle: construction, Start (state dir and its lock, identity, trust, the first
// data scan, the node and its checkpoint, sockets, timers, READY), the SIGTERM/SIGINT/SIGHUP
// handler, the periodic timers (Every) and the graceful Stop. The rest of the Daemon class lives
// beside it: the round tick and receive path (round_tick.cpp), training and evaluation
// (training.cpp), the data directory (data_scan.cpp), SIGHUP's reload (reload.cpp), checkpoints
// and the trust store on disk (saved_state.cpp), control commands (commands.cpp) and reports
// (replies.cpp).
#include "daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dust/net/identity.h"
#include "dust/util/crypto.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

int64_t Daemon::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Daemon::Daemon(Options options, std::vector<std::string> argv)
    : m_options(std::move(options)),
      m_argv(std::move(argv)),
      m_signals(m_io),
      m_tick_timer(m_io),
      m_checkpoint_timer(m_io),
      m_rescan_timer(m_io),
      m_eval_timer(m_io),
      m_watchdog_timer(m_io),
      m_status_timer(m_io),
      m_peer_timer(m_io),
      m_exchange_timer(m_io),
      m_resolve_timer(m_io),
      m_interfaces_timer(m_io),
      m_history_timer(m_io),
      m_state(m_options.state_dir) {
  RegisterCommands();
}

Daemon::~Daemon() {
  m_workers.join();
  m_predict_worker.join();
  if (m_lock_fd >= 0) ::close(m_lock_fd);
}

int Daemon::Run() {
  Status st = Start();
  if (!st.ok()) {
    LogError("cannot start: {}", st.message());
    m_notifier.Stopping("failed: " + st.message());
    return 1;
  }
  m_io.run();
  LogInfo("stopped");
  return m_exit_code;
}

LearningRateSchedule Daemon::Schedule() const {
  return {m_options.learning_rate, m_options.learning_rate_floor,
          m_options.learning_rate_decay_steps};
}

NodeOptions Daemon::MakeNodeOptions() {
  NodeOptions n;
  n.layers = m_options.layers;
  n.init_seed = m_options.init_seed;
  n.sgd.learning_rate = static_cast<float>(m_options.learning_rate);
  n.sgd.momentum = static_cast<float>(m_options.momentum);
  n.sgd.batch_size = m_options.batch_size;
  n.batches_per_unit = m_options.batches_per_round;
  // DP noise and Poisson batches come from a ChaCha20 stream keyed from the OS (no seed).
  n.dp.noise_multiplier = static_cast<float>(m_options.dp_noise_multiplier);
  n.dp.clip = static_cast<float>(m_options.dp_clip);
  n.dp.epsilon_budget = m_options.dp_epsilon_budget;
  n.dp.delta = m_options.dp_delta;
  n.announce_stats = m_options.announce_stats;
  if (auto agg = ParseAggregator(m_options.aggregator); agg.ok()) n.aggregator = *agg;
  n.scaling = m_options.input_scaling == "none" ? ScalingMode::kNone : ScalingMode::kFleet;
  n.peer_memory_horizon_ms = static_cast<int64_t>(m_options.peer_memory_horizon * 1000);
  n.send_interval_ms = static_cast<int64_t>(m_options.send_interval * 1000);
  n.announce_interval_ms = static_cast<int64_t>(m_options.announce_interval * 1000);
  n.display_name = m_options.display_name;
  if (!ValidateDisplayName(n.display_name).ok())
    n.display_name = ShortNodeId(m_identity.public_key);
  n.listen_port = m_options.port;
  n.peer_stale_ms = std::max<int64_t>(3 * n.announce_interval_ms, 3 * n.send_interval_ms);
  // A fresh model takes the fleet's before it speaks with its weight (node.h; cleared when a
  // checkpoint is restored).
  n.listen_first = true;
  // Replay windows live in memory only: after a restart, a datagram captured before it would
  // pass the fresh window. Refusing anything stamped before this start closes that gap (a peer
  // whose clock lags ours is ignored for the lag; see docs/protocol.md, "Replay").
  n.not_before_ms = m_start_ms;
  n.counter_mark = m_state.LoadCounterMark(NowMs());
  n.persist_counter_mark = [this](uint64_t mark) { return m_state.SaveCounterMark(mark); };
  uint64_t hash_seed = 0;
  RandomBytes({reinterpret_cast<uint8_t*>(&hash_seed), sizeof(hash_seed)});
  n.rate_limit.hash_seed = hash_seed;
  return n;
}

Status Daemon::Start() {
  m_start_ms = NowMs();
  m_start = Clock::now();
  DUST_RETURN_IF_ERROR(InitCrypto());

  // Refuse early if another daemon answers on our control socket (before touching state).
  const std::string socket_path = ResolveSocketPath(m_options);
  {
    asio::local::stream_protocol::socket probe(m_io);
    boost::system::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
    if (!ec) {
      return Status::AlreadyExists(socket_path +
                                   ": another dustd is answering on this control "
                                   "socket; stop it or set control-socket");
    }
  }

  DUST_RETURN_IF_ERROR(m_state.Prepare());
  // One daemon per state directory: two would overwrite each other's checkpoints and reuse
  // replay counters.
  std::string lock_path = m_state.Path("lock");
  m_lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m_lock_fd < 0) return Status::IoError(lock_path + ": " + std::strerror(errno));
  if (::flock(m_lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Status::AlreadyExists(m_state.dir() + ": another dustd uses this state directory");
  }

  bool created = false;
  auto identity = m_state.LoadOrCreateIdentity(&created);
  if (!identity.ok()) return identity.status();
  m_identity = *identity;
  LogInfo("node {} ({}){}", FormatNodeId(m_identity.public_key), m_options.display_name,
          created ? ": new identity created" : "");
  m_trust = m_state.LoadTrust();
  LogInfo("trust store: {} trusted peer(s)", m_trust.size());

  // Data: the first scan runs here, synchronously; later ones on the worker.
  ScanResult scan =
      ScanData(m_options, m_options.layers.front(), m_options.layers.back(), m_reader.get());
  if (!scan.status.ok()) {
    LogWarn("data dir {}: {}; training waits for data (rescan on SIGHUP or every {} s)",
            m_options.data_dir, scan.status.message(), m_options.rescan_interval);
    scan.train = Dataset(m_options.layers.front(), m_options.layers.back());
  }
  Dataset train = std::move(scan.train);
  m_data = std::move(scan.data);
  LogScan(m_data);
  // Loading inflates whole files into temporary buffers; give that memory back to the system
  // (a long-running daemon's footprint is its steady state, not the peak of a scan).
  ::malloc_trim(0);

  uint64_t batch_seed = 0;
  RandomBytes({reinterpret_cast<uint8_t*>(&batch_seed), sizeof(batch_seed)});
  auto node = Node::Create(MakeNodeOptions(), m_identity, &m_trust, std::move(train), batch_seed);
  if (!node.ok()) return node.status();
  m_node.emplace(std::move(node.value()));
  InitFleet();

  auto checkpoint = m_state.LoadCheckpoint(
      [this](const CheckpointData& d) { return m_node->ImportCheckpoint(d.node); },
      CheckpointReadCap(m_options.layers));
  if (checkpoint) {
    m_steps_base = checkpoint->steps;
    m_rounds_base = checkpoint->rounds;
    m_checkpoint_ms = checkpoint->written_ms;
    m_checkpoint_steps = checkpoint->steps;
    LogInfo("model restored from checkpoint: {} steps, {} rounds", m_steps_base, m_rounds_base);
  } else {
    LogInfo("model: fresh initialisation (seed {})", m_options.init_seed);
  }
  LoadHistory();

  // Sockets.
  m_gossip = std::make_unique<GossipSocket>(
      m_io, [this](ByteView bytes, const asio::ip::udp::endpoint& from, bool broadcast) {
        OnDatagram(bytes, from, broadcast);
      });
  DUST_RETURN_IF_ERROR(m_gossip->Open(m_options));
  m_endpoints.set_options(EndpointOptions());
  TrustEndpointsChanged();

  PeerPolicy policy{::geteuid(), ::getegid(), static_cast<gid_t>(-1)};
  gid_t socket_gid = static_cast<gid_t>(-1);
  if (!m_options.control_group.empty()) {
    group* g = ::getgrnam(m_options.control_group.c_str());
    if (!g)
      return Status::InvalidArgument("control-group " + m_options.control_group +
                                     ": no such group");
    policy.extra_gid = g->gr_gid;
    socket_gid = g->gr_gid;
  }
  m_control = std::make_unique<ControlServer>(m_io, m_dispatcher, policy);
  DUST_RETURN_IF_ERROR(m_control->Listen(socket_path, socket_gid));
  LogInfo("control socket {}", socket_path);

  if (!m_options.metrics_listen.empty()) {
    auto hp = SplitHostPort(m_options.metrics_listen);
    if (!hp.ok()) return hp.status();
    m_metrics_http = std::make_unique<MetricsHttpServer>(m_io, [this] { return MetricsTextNow(); });
    m_metrics_http->AddPage("/", "text/html; charset=utf-8",
                            [this](const std::string& query) { return DashboardHtml(query); });
    DUST_RETURN_IF_ERROR(m_metrics_http->Listen(hp->first, hp->second));
    LogInfo("metrics on http://{}/metrics, dashboard on http://{}/", m_options.metrics_listen,
            m_options.metrics_listen);
  }

  WaitSignals();
  FollowFleetSchedule();  // the first announce carries our position
  ScheduleTick();
  Every(m_checkpoint_timer, m_options.checkpoint_interval, [this] { (void)WriteCheckpoint(); });
  if (m_options.rescan_interval > 0) {
    Every(m_rescan_timer, m_options.rescan_interval, [this] { RescanAsync(false, nullptr); });
  }
  Every(m_eval_timer, m_options.eval_interval, [this] { EvaluateAsync(); });
  Every(m_history_timer, kHistoryFineMs / 1000.0, [this] { SampleHistory(); });
  Every(m_status_timer, 10.0, [this] { m_notifier.Status(StatusLine()); });
  // Peer events need a look at the peer table; once a second is well inside announce-interval.
  // So is the fleet's schedule position.
  Every(m_peer_timer, 1.0, [this] {
    WatchPeers();
    FollowFleetSchedule();
    ApplyEndpoints();
  });
  StartReachTimers();
  if (m_notifier.watchdog_interval().count() > 0) {
    Every(m_watchdog_timer, m_notifier.watchdog_interval().count() / 1000.0,
          [this] { m_notifier.Watchdog(); });
  }
  // The live model files: written now (missing, or from an older model), then at checkpoints.
  ExportModelFiles();
  EvaluateAsync();
  m_notifier.Ready(StatusLine());
  LogInfo("ready: udp port {}, {} training samples, {} holdout", m_gossip->port(),
          m_node->train_size(), m_data.holdout ? m_data.holdout->size() : 0);
  return Status::Ok();
}

void Daemon::Every(asio::steady_timer& timer, double seconds, std::function<void()> fn) {
  auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  timer.expires_after(period);
  timer.async_wait([this, &timer, seconds, fn](boost::system::error_code ec) {
    if (ec || m_stopping) return;
    fn();
    Every(timer, seconds, fn);
  });
}

void Daemon::WaitSignals() {
  m_signals.add(SIGTERM);
  m_signals.add(SIGINT);
  m_signals.add(SIGHUP);
  m_signals.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      LogInfo("SIGHUP: reloading configuration, trust store and data");
      Reload();
      WaitSignals();
      return;
    }
    Stop(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });
}

void Daemon::Stop(const std::string& why) {
  if (m_stopping) return;
  m_stopping = true;
  LogInfo("{}: stopping (checkpoint, then exit)", why);
  m_notifier.Stopping("stopping: " + why);
  // Stop accepting first, then quiesce: no more control clients, datagrams or training.
  if (m_control) m_control->StopAccepting();
  if (m_metrics_http) m_metrics_http->Close();
  if (m_gossip) m_gossip->Close();
  boost::system::error_code ec;
  m_signals.cancel(ec);
  for (auto* t : {&m_tick_timer, &m_checkpoint_timer, &m_rescan_timer, &m_eval_timer,
                  &m_watchdog_timer, &m_status_timer, &m_peer_timer, &m_exchange_timer,
                  &m_resolve_timer, &m_interfaces_timer, &m_history_timer}) {
    t->cancel();
  }
  // Workers only read immutable inputs; their posted results are ignored once stopping.
  m_workers.join();
  m_predict_worker.join();
  Status st = WriteCheckpoint();
  if (!st.ok()) m_exit_code = 1;
  if (m_control) m_control->CloseAll();
  m_io.stop();
}
}  // namespace dust::daemon
