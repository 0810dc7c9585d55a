#include "daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "data_dir.h"
#include "dust/util/crypto.h"
#include "dust/util/file.h"
#include "dust/net/identity.h"
#include "dust/engine/merge.h"
#include "dust/net/wire.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Helpers

namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string EndpointText(const asio::ip::udp::endpoint& ep) {
  if (ep.address().is_v6())
    return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// A dataset holding at most `cap` samples of `data`, evenly spread (deterministic).
std::shared_ptr<const Dataset> Capped(const Dataset& data, size_t cap) {
  if (data.size() <= cap) return std::make_shared<const Dataset>(data);
  std::vector<uint32_t> idx(cap);
  for (size_t i = 0; i < cap; ++i) idx[i] = static_cast<uint32_t>(i * data.size() / cap);
  return std::make_shared<const Dataset>(data.Subset(idx));
}

}  // namespace

void SplitHoldout(const Dataset& data, double fraction, uint64_t seed, Dataset* train,
                  Dataset* holdout) {
  std::vector<uint32_t> train_idx;
  std::vector<uint32_t> hold_idx;
  const uint64_t threshold =
      fraction <= 0 ? 0 : static_cast<uint64_t>(std::ldexp(std::min(fraction, 1.0), 64) - 1);
  for (size_t i = 0; i < data.size(); ++i) {
    bool hold = fraction > 0 && SplitMix(seed ^ SplitMix(i)) < threshold;
    (hold ? hold_idx : train_idx).push_back(static_cast<uint32_t>(i));
  }
  *train = data.Subset(train_idx);
  *holdout = data.Subset(hold_idx);
}

std::string Base64(ByteView bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int64_t Daemon::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Construction and lifecycle

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
      m_state(m_options.state_dir) {
  RegisterCommands();
}

Daemon::~Daemon() {
  m_workers.join();
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
  if (auto agg = ParseAggregator(m_options.aggregator); agg.ok()) n.aggregator = *agg;
  n.send_interval_ms = static_cast<int64_t>(m_options.send_interval * 1000);
  n.announce_interval_ms = static_cast<int64_t>(m_options.announce_interval * 1000);
  n.display_name = m_options.display_name;
  if (!ValidateDisplayName(n.display_name).ok())
    n.display_name = ShortNodeId(m_identity.public_key);
  n.listen_port = m_options.port;
  n.peer_stale_ms = std::max<int64_t>(3 * n.announce_interval_ms, 3 * n.send_interval_ms);
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
  ScanResult scan = ScanData(m_options, m_options.layers.front(), m_options.layers.back());
  if (!scan.status.ok()) {
    LogWarn("data dir {}: {}; training waits for data (rescan on SIGHUP or every {} s)",
            m_options.data_dir, scan.status.message(), m_options.rescan_interval);
    scan.train = Dataset(m_options.layers.front(), m_options.layers.back());
  }
  Dataset train = std::move(scan.train);
  m_data = std::move(scan.data);
  for (const auto& [path, why] : m_data.skipped) LogWarn("data: skipped {}: {}", path, why);
  // Loading inflates whole files into temporary buffers; give that memory back to the system
  // (a long-running daemon's footprint is its steady state, not the peak of a scan).
  ::malloc_trim(0);

  uint64_t batch_seed = 0;
  RandomBytes({reinterpret_cast<uint8_t*>(&batch_seed), sizeof(batch_seed)});
  auto node = Node::Create(MakeNodeOptions(), m_identity, &m_trust, std::move(train), batch_seed);
  if (!node.ok()) return node.status();
  m_node.emplace(std::move(node.value()));

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

  // Sockets.
  m_gossip = std::make_unique<GossipSocket>(
      m_io,
      [this](ByteView bytes, const asio::ip::udp::endpoint& from) { OnDatagram(bytes, from); });
  DUST_RETURN_IF_ERROR(m_gossip->Open(m_options));

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
    DUST_RETURN_IF_ERROR(m_metrics_http->Listen(hp->first, hp->second));
    LogInfo("metrics on http://{}/metrics", m_options.metrics_listen);
  }

  WaitSignals();
  ScheduleTick();
  Every(m_checkpoint_timer, m_options.checkpoint_interval, [this] { (void)WriteCheckpoint(); });
  if (m_options.rescan_interval > 0) {
    Every(m_rescan_timer, m_options.rescan_interval, [this] { RescanAsync(false, nullptr); });
  }
  Every(m_eval_timer, m_options.eval_interval, [this] { EvaluateAsync(); });
  Every(m_status_timer, 10.0, [this] { m_notifier.Status(StatusLine()); });
  if (m_notifier.watchdog_interval().count() > 0) {
    Every(m_watchdog_timer, m_notifier.watchdog_interval().count() / 1000.0,
          [this] { m_notifier.Watchdog(); });
  }
  EvaluateAsync();
  m_notifier.Ready(StatusLine());
  LogInfo("ready: udp port {}, {} training samples, {} holdout", m_gossip->port(),
          m_node->train_size(), m_data.holdout ? m_data.holdout->size() : 0);
  return Status::Ok();
}

template <typename Fn>
void Daemon::Every(asio::steady_timer& timer, double seconds, Fn fn) {
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
                  &m_watchdog_timer, &m_status_timer}) {
    t->cancel();
  }
  // Workers only read immutable inputs; their posted results are ignored once stopping.
  m_workers.join();
  Status st = WriteCheckpoint();
  if (!st.ok()) m_exit_code = 1;
  if (m_control) m_control->CloseAll();
  m_io.stop();
}

void Daemon::Reload() {
  std::vector<const char*> argv;
  for (const auto& a : m_argv) argv.push_back(a.c_str());
  ParseOutcome parsed = ParseOptions(static_cast<int>(argv.size()), argv.data());
  if (parsed.action != ParseOutcome::Action::kRun) {
    LogError("reload: configuration rejected, keeping the running one: {}", parsed.message);
  } else {
    const Options& n = parsed.options;
    // What needs a restart: each group is named in the log if any of its options changed.
    auto restart_needed = [&](const char* what, auto... fields) {
      if (((n.*fields != m_options.*fields) || ...)) {
        LogWarn("reload: {} changed; takes effect after a restart", what);
      }
    };
    using O = Options;
    restart_needed("state-dir", &O::state_dir);
    restart_needed("port/bind-address", &O::port, &O::bind_address);
    restart_needed(
        "the model (layers, init-seed, momentum, batch-size, batches-per-round, aggregator)",
        &O::layers, &O::init_seed, &O::momentum, &O::batch_size, &O::batches_per_round,
        &O::aggregator);
    restart_needed("control-socket/control-group", &O::control_socket, &O::control_group);
    restart_needed("send/announce interval, display-name", &O::send_interval, &O::announce_interval,
                   &O::display_name);
    restart_needed("metrics-listen, multicast-group, multicast-interface", &O::metrics_listen,
                   &O::multicast_group, &O::multicast_interface);
    // What applies at once. (The learning-rate schedule is evaluated before every unit, so a
    // new one applies from the next step.)
    Options keep = m_options;
    auto apply = [&](auto... fields) { ((m_options.*fields = n.*fields), ...); };
    apply(&O::data_dir, &O::broadcast, &O::peers, &O::cpu_budget, &O::learning_rate,
          &O::learning_rate_floor, &O::learning_rate_decay_steps, &O::holdout_fraction,
          &O::holdout_seed, &O::checkpoint_interval, &O::rescan_interval, &O::eval_interval,
          &O::log_level);
    SetLogLevel(m_options.log_level);
    if (m_gossip) m_gossip->RefreshDestinations(m_options);
    if (keep.checkpoint_interval != m_options.checkpoint_interval) {
      Every(m_checkpoint_timer, m_options.checkpoint_interval, [this] { (void)WriteCheckpoint(); });
    }
    if (keep.rescan_interval != m_options.rescan_interval) {
      m_rescan_timer.cancel();
      if (m_options.rescan_interval > 0) {
        Every(m_rescan_timer, m_options.rescan_interval, [this] { RescanAsync(false, nullptr); });
      }
    }
    if (keep.eval_interval != m_options.eval_interval) {
      Every(m_eval_timer, m_options.eval_interval, [this] { EvaluateAsync(); });
    }
  }
  // The trust store is rewritten only by us, but an operator may have restored one.
  TrustStore loaded = m_state.LoadTrust();
  if (!(loaded == m_trust)) {
    m_trust = std::move(loaded);  // same object: the node's pointer stays valid
    LogInfo("reload: trust store now has {} peer(s)", m_trust.size());
  }
  RescanAsync(true, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Data directory

std::string Daemon::DataSignature(const std::string& dir) {
  std::vector<std::string> entries;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return "error:" + std::string(std::strerror(errno));
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;
    entries.push_back(name + ":" + std::to_string(st.st_size) + ":" +
                      std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  }
  ::closedir(d);
  std::sort(entries.begin(), entries.end());
  std::string sig;
  for (const auto& e : entries) sig += e + "\n";
  return sig;
}

Daemon::ScanResult Daemon::ScanData(const Options& options, uint32_t features, uint32_t classes) {
  ScanResult r;
  r.data.signature = DataSignature(options.data_dir);
  r.data.scanned_ms = NowMs();
  LoadOptions lo;
  lo.num_classes = classes;
  lo.expected_features = features;
  auto contents = ScanDataDir(options.data_dir, lo, /*strict=*/false);
  if (!contents.ok()) {
    r.status = contents.status();
    return r;
  }
  r.data.used = contents->used;
  for (const Status& s : contents->skipped) r.data.skipped.push_back(SkippedFile(s));
  Dataset holdout;
  SplitHoldout(contents->train, options.holdout_fraction, options.holdout_seed, &r.train, &holdout);
  r.data.train_samples = r.train.size();
  r.data.holdout = std::make_shared<const Dataset>(std::move(holdout));
  if (!contents->test.empty()) r.data.test = Capped(contents->test, kMaxEvalSamples);
  return r;
}

void Daemon::RescanAsync(bool force, const Responder* reply) {
  if (m_scanning) return;
  if (!force && !reply && DataSignature(m_options.data_dir) == m_data.signature) return;
  m_scanning = true;
  std::optional<Responder> responder;
  if (reply) responder = *reply;
  Options options = m_options;
  asio::post(m_workers, [this, options, responder] {
    ScanResult result = ScanData(options, options.layers.front(), options.layers.back());
    asio::post(m_io, [this, result = std::move(result), responder]() mutable {
      m_scanning = false;
      if (m_stopping) return;
      Status st = result.status;
      Json skipped = SkippedFilesJson(result.data.skipped);
      size_t used = result.data.used.size();
      ApplyScan(std::move(result));
      if (!responder) return;
      if (!st.ok()) {
        responder->Error(errc::kFailed, st.message());
        return;
      }
      responder->Ok({{"files_used", used},
                     {"files_skipped", skipped},
                     {"train_samples", m_node->train_size()},
                     {"holdout_samples", m_data.holdout ? m_data.holdout->size() : 0}});
    });
  });
}

void Daemon::ApplyScan(ScanResult result) {
  if (!result.status.ok()) {
    LogWarn("data dir {}: {} (keeping the data already loaded)", m_options.data_dir,
            result.status.message());
    m_data.signature = result.data.signature;  // do not rescan an unchanged broken dir
    return;
  }
  for (const auto& [path, why] : result.data.skipped) LogWarn("data: skipped {}: {}", path, why);
  Status st = m_node->SetDataset(std::move(result.train));
  if (!st.ok()) {
    LogError("data dir {}: {}", m_options.data_dir, st.message());
    return;
  }
  m_data = std::move(result.data);
  ::malloc_trim(0);
  LogInfo("data: {} file(s), {} training samples, {} holdout, {} test", m_data.used.size(),
          m_node->train_size(), m_data.holdout ? m_data.holdout->size() : 0,
          m_data.test ? m_data.test->size() : 0);
  EvaluateAsync();
}

// ---------------------------------------------------------------------------------------------
// Network

void Daemon::OnDatagram(ByteView bytes, const asio::ip::udp::endpoint& from) {
  if (m_stopping) return;
  // Our own broadcasts come back: recognise them by the sender key before any other work, and
  // count them apart from real drops.
  if (PeekSender(bytes) == m_identity.public_key) {
    ++m_own_datagrams;
    return;
  }
  SourceKey source;
  if (from.address().is_v4()) {
    auto a = from.address().to_v4().to_bytes();
    source = SourceKey::FromBytes(ByteView(a.data(), a.size()));
  } else {
    auto a = from.address().to_v6().to_bytes();
    source = SourceKey::FromBytes(ByteView(a.data(), a.size()));
  }
  DatagramOutcome outcome = m_node->OnDatagram(bytes, source, NowMs());
  if (outcome.accepted && m_trust.Contains(*outcome.sender)) {
    m_peer_address[*outcome.sender] = EndpointText(from);
  }
}

void Daemon::ScheduleTick() {
  int64_t now = NowMs();
  const int64_t round_ms = m_node->options().send_interval_ms;
  int64_t next = std::min(m_node->NextTickMs(), (now / round_ms + 1) * round_ms);
  int64_t wait = std::clamp<int64_t>(next - now, 1, 1000);
  m_tick_timer.expires_after(std::chrono::milliseconds(wait));
  m_tick_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || m_stopping) return;
    DoTick();
    ScheduleTick();
  });
}

void Daemon::DoTick() {
  int64_t now = NowMs();
  // One training unit per round, before the round's update is sent (the engine's model moves
  // by merges; its update carries the local progress of this round: docs/engine.md).
  int64_t round = now / m_node->options().send_interval_ms;
  if (round != m_last_train_round) {
    m_last_train_round = round;
    TrainStep();
  }
  std::vector<Bytes> out;
  m_node->OnTick(now, &out);
  for (const Bytes& d : out) m_gossip->SendToAll(d);
  // Forget addresses of peers no longer trusted (bounded by the trust store).
  for (auto it = m_peer_address.begin(); it != m_peer_address.end();) {
    it = m_trust.Contains(it->first) ? std::next(it) : m_peer_address.erase(it);
  }
}

// ---------------------------------------------------------------------------------------------
// Training and evaluation

void Daemon::TrainStep() {
  if (m_paused || m_stopping || m_node->train_size() == 0) return;
  // CPU budget: a unit that took longer than budget x round leaves a debt paid by skipping
  // rounds, so the long-run share stays at the budget whatever batches-per-round is.
  const double round_s = m_options.send_interval;
  const double allowance = round_s * m_options.cpu_budget;
  if (m_train_debt_s > 0) {
    m_train_debt_s = std::max(0.0, m_train_debt_s - allowance);
    ++m_rounds_skipped;
    return;
  }
  // The rate follows the model's step count ever (checkpointed), not this process's uptime:
  // a restart resumes the decay where it was (schedule.h).
  m_node->set_learning_rate(static_cast<float>(ScheduledLearningRate(Schedule(), Steps())));
  auto t0 = Clock::now();
  TrainUnitResult r = m_node->TrainUnit();
  double spent = std::chrono::duration<double>(Clock::now() - t0).count();
  m_train_seconds += spent;
  if (spent > allowance) m_train_debt_s += spent - allowance;
  if (r.samples > 0) {
    m_units += m_options.batches_per_round;
    m_samples_trained += r.samples;
  }
}

void Daemon::EvaluateAsync() {
  if (m_evaluating || m_stopping || !m_node) return;
  // Steps per second over the last interval (for status).
  auto now = Clock::now();
  if (m_rate_at != Clock::time_point{}) {
    double secs = std::chrono::duration<double>(now - m_rate_at).count();
    if (secs > 0) m_steps_per_s = static_cast<double>(m_units - m_rate_units) / secs;
  }
  m_rate_at = now;
  m_rate_units = m_units;

  bool have_holdout = m_data.holdout && !m_data.holdout->empty();
  if (!have_holdout && !m_data.test) return;
  m_evaluating = true;
  auto holdout = have_holdout ? Capped(*m_data.holdout, kMaxEvalSamples) : nullptr;
  auto test = m_data.test;
  asio::post(m_workers, [this, model = m_node->model(), holdout, test] {
    std::optional<double> acc, test_acc;
    if (holdout) acc = Evaluate(model, *holdout).accuracy;
    if (test) test_acc = Evaluate(model, *test).accuracy;
    asio::post(m_io, [this, acc, test_acc] {
      m_evaluating = false;
      if (m_stopping) return;
      m_accuracy = acc;
      m_test_accuracy = test_acc;
      m_accuracy_ms = NowMs();
      if (acc) m_node->set_accuracy_bp(static_cast<uint16_t>(std::lround(*acc * 10000)));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// State

uint64_t Daemon::Rounds() const { return m_rounds_base + m_node->counters().merges; }

Status Daemon::WriteCheckpoint() {
  if (!m_node) return Status::Ok();
  CheckpointData d;
  d.steps = Steps();
  d.rounds = Rounds();
  d.written_ms = NowMs();
  d.node = m_node->ExportCheckpoint();
  Status st = m_state.SaveCheckpoint(d);
  if (!st.ok()) {
    ++m_checkpoint_errors;
    LogError("checkpoint: {}", st.message());
    return st;
  }
  ++m_checkpoints_written;
  m_checkpoint_ms = d.written_ms;
  m_checkpoint_steps = d.steps;
  LogDebug("checkpoint written: {} steps, {} rounds", d.steps, d.rounds);
  return st;
}

Status Daemon::SaveTrust() {
  Status st = m_state.SaveTrust(m_trust);
  if (!st.ok()) LogError("trust store: {}", st.message());
  return st;
}

std::pair<std::string, std::string> Daemon::SkippedFile(const Status& why) {
  const std::string& m = why.message();
  auto colon = m.find(": ");
  if (colon == std::string::npos) return {"", m};
  return {m.substr(0, colon), m.substr(colon + 2)};
}

}  // namespace dust::daemon
