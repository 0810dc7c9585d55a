// What the daemon reports about itself: the results of the status, peers and model.export
// control commands, the metrics text (control `metrics` and the HTTP endpoint) and the systemd
// status line. All read the daemon's state on the loop and change nothing.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "daemon.h"
#include "dust/net/identity.h"
#include "dust/util/crypto.h"

namespace dust::daemon {
namespace {

// Base64 (RFC 4648, with padding): how model.export carries binary data in JSON.
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

// An accuracy not measured yet is null in the replies (control-protocol.md, Conventions).
Json NullableDouble(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

// The process's resident set size (0 if /proc cannot say).
uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// The parameters as fp32 little-endian: what content_hash hashes and params_b64 carries.
Bytes ParamBytes(const Mlp& model) {
  Bytes out;
  out.reserve(model.num_params() * 4);
  ByteWriter w(&out);
  for (float v : model.params()) w.F32(v);
  return out;
}

// Per-peer series: one per trusted peer, paired or certified (so at most the trust store's size,
// whatever untrusted senders do), labelled by the short node ID and the name the trust store holds.
// The trust store's name rather than the last announce's: a peer that renamed itself in every
// announce would otherwise start a new series each scrape. Two trusted peers whose short IDs
// collide are labelled by their full IDs, so no two series ever share a label set.
void PeerMetrics(MetricsText& m, const std::vector<PeerInfo>& peers, const TrustStore& trust,
                 int64_t now_ms) {
  std::map<PublicKey, const PeerInfo*> seen;
  for (const PeerInfo& p : peers) seen[p.key] = &p;
  // Paired and certified peers alike (a paired entry hides a certified one of the same key).
  std::vector<TrustedPeer> trusted = trust.List();
  for (TrustedPeer& t : trust.ListCertified()) trusted.push_back(std::move(t));
  std::map<std::string, int> short_ids;
  for (const TrustedPeer& t : trusted) ++short_ids[ShortNodeId(t.key)];
  for (const TrustedPeer& t : trusted) {
    std::string id = ShortNodeId(t.key);
    if (short_ids[id] > 1) id = FormatNodeId(t.key);
    const Labels labels{{"node_id", id}, {"name", t.display_name}};
    auto it = seen.find(t.key);
    const PeerInfo* p = it == seen.end() ? nullptr : it->second;
    m.Gauge("dust_peer_live",
            "1 if the trusted peer was heard within peer-stale, else 0 (stale, or never heard).",
            p && !p->stale ? 1 : 0, labels);
    if (p && p->last_seen_ms) {
      m.Gauge("dust_peer_last_seen_age_seconds",
              "Seconds since anything authenticated was last received from the peer.",
              std::max<int64_t>(0, now_ms - p->last_seen_ms) / 1000.0, labels);
    }
    if (p && p->accuracy_bp <= 10000) {
      m.Gauge("dust_peer_accuracy",
              "Holdout accuracy the peer announced about itself (unverified).",
              p->accuracy_bp / 10000.0, labels);
    }
    m.Counter("dust_peer_updates_accepted_total", "Model updates accepted from the peer.",
              p ? static_cast<double>(p->updates_accepted) : 0, labels);
    m.Counter("dust_peer_updates_rejected_total",
              "Authenticated updates from the peer refused (decode, quarantine, overflow).",
              p ? static_cast<double>(p->updates_rejected) : 0, labels);
    m.Counter("dust_peer_announces_total", "Announces accepted from the peer.",
              p ? static_cast<double>(p->announces) : 0, labels);
    m.Gauge("dust_peer_outlier_score",
            "Robust aggregation: how often the peer's values were far from the aggregate.",
            p ? p->outlier_score : 0, labels);
    if (p && p->dp_epsilon) {
      m.Gauge("dust_peer_dp_epsilon",
              "Differential privacy: the epsilon the peer announced it has spent.", *p->dp_epsilon,
              labels);
      if (p->dp_epsilon_budget > 0) {
        m.Gauge("dust_peer_dp_epsilon_budget",
                "Differential privacy: the epsilon budget the peer announced.",
                p->dp_epsilon_budget, labels);
      }
    }
  }
}

}  // namespace

Json Daemon::ScalingJson() const {
  const ScalingStatus st = m_node->scaling_status();
  const Mlp& model = m_node->model();
  char id[17];
  std::snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(st.id));
  const bool fleet = st.mode == ScalingMode::kFleet;
  return Json{{"mode", fleet ? "fleet" : "none"},
              {"state", !fleet      ? "none"
                        : st.agreed ? "agreed"
                                    : "calibrating"},
              {"samples", st.samples},
              {"id", fleet ? Json(id) : Json(nullptr)},
              {"peers_pooled", st.peers_pooled},
              {"calibration_end_round", st.calibration_end},
              {"changes", st.changes},
              {"summary", DescribeScaling(model.scaling(), model.input_size())},
              {"update_fingerprint", ToHex(m_node->update_fingerprint())}};
}

Json Daemon::PrivacyJson() const {
  const DpStatus d = m_node->dp_status();
  return Json{{"enabled", d.enabled},
              {"noise_multiplier", d.noise_multiplier},
              {"clip", d.clip},
              {"epsilon", d.epsilon},
              {"delta", d.delta},
              {"order", d.order},
              {"epsilon_budget", d.epsilon_budget > 0 ? Json(d.epsilon_budget) : Json(nullptr)},
              {"noisy_steps", d.steps},
              {"budget_spent", d.exhausted},
              {"announce_stats", m_node->options().announce_stats}};
}

Json Daemon::StatusJson() {
  const Mlp& model = m_node->model();
  NodeCounters c = m_node->counters();
  int64_t now = NowMs();
  auto peers = m_node->Peers(now);
  size_t live = 0;
  for (const PeerInfo& p : peers) {
    if (!p.stale && m_trust.Contains(p.key)) ++live;
  }
  Json drops = Json::object();
  for (const auto& [reason, count] : c.drops) {
    if (count > 0) drops[reason] = count;
  }
  drops["own"] = m_own_datagrams;
  const GossipCounters& g = m_gossip->counters();
  uint64_t rejected = 0;
  for (const PeerInfo& p : peers) rejected += p.updates_rejected;
  std::string state = m_paused                        ? "paused"
                      : m_node->train_size() == 0     ? "no_data"
                      : m_node->dp_status().exhausted ? "privacy_budget_spent"
                                                      : "running";
  float loss = m_node->last_loss();
  return {
      {"node_id", FormatNodeId(m_identity.public_key)},
      {"display_name", m_node->options().display_name},
#ifdef DUST_VERSION
      {"version", DUST_VERSION},
#else
      {"version", "0.1.0"},
#endif
      {"pid", ::getpid()},
      {"uptime_s",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count()},
      {"training",
       {{"state", state},
        {"cpu_budget", m_options.cpu_budget},
        {"train_samples", m_node->train_size()},
        {"holdout_samples", m_data.holdout ? m_data.holdout->size() : 0},
        {"steps_per_s", m_steps_per_s},
        {"samples_trained", m_samples_trained},
        {"batches_per_round", m_options.batches_per_round},
        {"learning_rate", LearningRate()},
        {"learning_rate_schedule",
         {{"start", m_options.learning_rate},
          {"floor", m_options.learning_rate_floor},
          {"decay_steps", m_options.learning_rate_decay_steps},
          {"position", SchedulePosition()},
          {"own_steps", Steps()},
          {"fleet_position", m_fleet_position ? Json(*m_fleet_position) : Json(nullptr)},
          {"fleet_peers", m_fleet_position_peers},
          {"waiting_for_fleet", AwaitingFleetSchedule()}}},
        {"listening_to_fleet", m_node->listening()},
        {"rounds_skipped_for_budget", m_rounds_skipped},
        {"last_loss", m_units > 0 && std::isfinite(loss) ? Json(loss) : Json(nullptr)}}},
      {"model",
       {{"architecture", model.layer_sizes()},
        {"params", model.num_params()},
        {"fingerprint", ToHex(m_node->fingerprint())},
        {"steps", Steps()},
        {"rounds", Rounds()},
        {"accuracy", NullableDouble(m_accuracy)},
        {"test_accuracy", NullableDouble(m_test_accuracy)},
        {"accuracy_at_ms", m_accuracy_ms ? Json(m_accuracy_ms) : Json(nullptr)},
        {"content_hash", ToHex(Blake2b256(ParamBytes(model)))},
        {"scaling", ScalingJson()}}},
      {"privacy", PrivacyJson()},
      {"fleet", FleetJson()},
      {"peers",
       {{"seen", peers.size()},
        {"live", live},
        {"trusted", m_trust.size() + m_trust.certified_size()},
        {"paired", m_trust.size()},
        {"certified", m_trust.certified_size()},
        {"memory",
         {{"horizon_s", m_options.peer_memory_horizon},
          {"remembered", m_node->remembered_peers()},
          {"away", m_node->absent_peers()},
          {"standins", c.standins}}}}},
      {"network",
       {{"port", m_gossip->port()},
        {"datagrams_in", g.datagrams_in},
        {"datagrams_out", g.datagrams_out},
        {"bytes_in", g.bytes_in},
        {"bytes_out", g.bytes_out},
        {"send_errors", g.send_errors},
        {"updates_sent", c.datagrams_sent},
        {"updates_accepted", c.updates_accepted},
        {"updates_rejected", rejected},
        {"updates_merged", c.updates_merged},
        {"drops", drops},
        {"reach", ReachJson()}}},
      {"data", DataJson()},
      {"checkpoint",
       {{"last_ms", m_checkpoint_ms ? Json(m_checkpoint_ms) : Json(nullptr)},
        {"steps", m_checkpoint_steps},
        {"recoveries", m_state.recoveries()}}},
      {"model_export",
       {{"dir",
         m_options.model_export_dir.empty() ? Json(nullptr) : Json(m_options.model_export_dir)},
        {"formats", m_options.model_export_formats},
        {"written", m_export.written},
        {"errors", m_export.errors},
        {"last_ms", m_export.written_ms ? Json(m_export.written_ms) : Json(nullptr)},
        {"steps", m_export.steps},
        {"content_hash",
         m_export.content_hash.empty() ? Json(nullptr) : Json(m_export.content_hash)},
        {"last_error", m_export.last_error.empty() ? Json(nullptr) : Json(m_export.last_error)}}},
      {"watch",
       {{"watchers", m_watch.watchers()},
        {"events_published", m_watch.published()},
        {"events_dropped", m_watch.dropped()}}},
      {"memory", {{"rss_bytes", ResidentBytes()}}},
  };
}

Json Daemon::SkippedFilesJson(const std::vector<std::pair<std::string, std::string>>& skipped) {
  Json list = Json::array();
  for (const auto& [path, why] : skipped) list.push_back({{"path", path}, {"reason", why}});
  return list;
}

Json Daemon::DataJson() {
  Json errors = Json::array();
  for (const auto& f : m_data.with_errors) {
    errors.push_back({{"path", f.path}, {"samples", f.samples}, {"reason", f.reason}});
  }
  Json incomplete = Json::array();
  for (const auto& [path, bytes] : m_data.incomplete) {
    incomplete.push_back({{"path", path}, {"bytes", bytes}});
  }
  return {{"dir", m_options.data_dir},
          {"files_used", m_data.used.size()},
          {"files_skipped", SkippedFilesJson(m_data.skipped)},
          {"files_with_errors", std::move(errors)},
          {"incomplete_last_lines", std::move(incomplete)},
          {"test_samples", m_data.test_samples},
          {"files_read", m_data.files_read},
          {"bytes_read", m_data.bytes_read},
          {"last_scan_ms", m_data.scanned_ms ? Json(m_data.scanned_ms) : Json(nullptr)}};
}

Json Daemon::PeersJson() {
  int64_t now = NowMs();
  Json list = Json::array();
  std::set<PublicKey> listed;
  for (const PeerInfo& p : m_node->Peers(now)) {
    listed.insert(p.key);
    const TrustedPeer* t = m_trust.Find(p.key);
    auto addr = m_peer_address.find(p.key);
    std::string name = !p.display_name.empty() ? p.display_name : (t ? t->display_name : "");
    list.push_back(
        {{"node_id", FormatNodeId(p.key)},
         {"display_name", name.empty() ? Json(nullptr) : Json(name)},
         {"trusted", t != nullptr},
         {"trust", t != nullptr ? Json(TrustKindName(t->kind)) : Json(nullptr)},
         {"live", !p.stale},
         {"address", addr != m_peer_address.end() ? Json(addr->second) : Json(nullptr)},
         {"endpoints", EndpointsJson(p.key)},
         {"unicast", m_endpoints.IsTarget(p.key, now)},
         {"last_seen_ms", p.last_seen_ms ? Json(p.last_seen_ms) : Json(nullptr)},
         {"updates_accepted", p.updates_accepted},
         {"updates_rejected", p.updates_rejected},
         {"datagrams", p.announces + p.updates_accepted + p.updates_rejected},
         {"accuracy", p.accuracy_bp <= 10000 ? Json(p.accuracy_bp / 10000.0) : Json(nullptr)},
         {"steps", nullptr},  // the announce carries no step count (control-protocol.md)
         {"samples", p.sample_weight},
         {"round", p.last_round},
         {"epsilon", p.dp_epsilon ? Json(*p.dp_epsilon) : Json(nullptr)},
         {"epsilon_budget",
          p.dp_epsilon && p.dp_epsilon_budget > 0 ? Json(p.dp_epsilon_budget) : Json(nullptr)}});
  }
  std::vector<TrustedPeer> trusted = m_trust.List();
  for (TrustedPeer& t : m_trust.ListCertified()) trusted.push_back(std::move(t));
  for (const TrustedPeer& t : trusted) {
    if (listed.count(t.key)) continue;
    list.push_back({{"node_id", FormatNodeId(t.key)},
                    {"display_name", t.display_name.empty() ? Json(nullptr) : Json(t.display_name)},
                    {"trusted", true},
                    {"trust", TrustKindName(t.kind)},
                    {"live", false},
                    {"address", nullptr},
                    {"endpoints", EndpointsJson(t.key)},
                    {"unicast", m_endpoints.IsTarget(t.key, now)},
                    {"last_seen_ms", nullptr},
                    {"updates_accepted", 0},
                    {"updates_rejected", 0},
                    {"datagrams", 0},
                    {"accuracy", nullptr},
                    {"steps", nullptr},
                    {"samples", nullptr},
                    {"round", nullptr},
                    {"epsilon", nullptr},
                    {"epsilon_budget", nullptr}});
  }
  return {{"peers", list}};
}

Json Daemon::ModelJson(bool with_params, bool checkpoint) {
  const Mlp& model = m_node->model();
  Bytes params = ParamBytes(model);
  Json j = {
      {"format", "dust-mlp-v1"},
      {"architecture",
       {{"layers", model.layer_sizes()}, {"hidden_activation", "relu"}, {"output", "logits"}}},
      {"layout", "per layer: weight [in][out] input-major, then bias [out]; fp32 little-endian"},
      {"init_seed", m_options.init_seed},
      {"fingerprint", ToHex(m_node->fingerprint())},
      {"steps", Steps()},
      {"rounds", Rounds()},
      {"node_id", FormatNodeId(m_identity.public_key)},
      {"display_name", m_node->options().display_name},
      {"accuracy", NullableDouble(m_accuracy)},
      {"exported_ms", NowMs()},
      {"num_params", model.num_params()},
      {"content_hash", ToHex(Blake2b256(params))}};
  if (with_params) j["params_b64"] = Base64(params);
  if (checkpoint) {
    CheckpointData d;
    d.steps = Steps();
    d.rounds = Rounds();
    d.written_ms = NowMs();
    d.node = m_node->ExportCheckpoint();
    j["checkpoint_b64"] = Base64(EncodeCheckpointFile(d));
  }
  return j;
}

std::string Daemon::StatusLine() {
  std::string acc =
      m_accuracy ? std::to_string(static_cast<int>(std::lround(*m_accuracy * 1000)) / 10.0) : "?";
  acc = acc.substr(0, acc.find('.') + 2);
  size_t live = 0;
  for (const PeerInfo& p : m_node->Peers(NowMs()))
    live += (!p.stale && m_trust.Contains(p.key)) ? 1 : 0;
  return std::string(m_paused ? "paused" : "training") + ", holdout accuracy " + acc + "%, " +
         std::to_string(live) + "/" + std::to_string(m_trust.size() + m_trust.certified_size()) +
         " peers live, " + std::to_string(Steps()) + " steps";
}

std::string Daemon::MetricsTextNow() {
  MetricsText m;
  const GossipCounters& g = m_gossip->counters();
  NodeCounters c = m_node->counters();
  m.Counter("dust_datagrams_in_total", "UDP datagrams received.",
            static_cast<double>(g.datagrams_in));
  m.Counter("dust_bytes_in_total", "UDP payload bytes received.", static_cast<double>(g.bytes_in));
  m.Counter("dust_datagrams_out_total", "UDP datagrams sent (one per destination).",
            static_cast<double>(g.datagrams_out));
  m.Counter("dust_bytes_out_total", "UDP payload bytes sent.", static_cast<double>(g.bytes_out));
  m.Counter("dust_send_errors_total", "Datagrams the kernel refused to send.",
            static_cast<double>(g.send_errors));
  static constexpr char kDropsHelp[] =
      "Drops by reason: received datagrams refused, and updates the engine dropped later.";
  for (const auto& [reason, count] : c.drops) {
    m.Counter("dust_drops_total", kDropsHelp, static_cast<double>(count), {{"reason", reason}});
  }
  m.Counter("dust_drops_total", kDropsHelp, static_cast<double>(m_own_datagrams),
            {{"reason", "own"}});
  for (const auto& [outcome, count] :
       {std::pair{"accepted", m_exchange.accepted}, std::pair{"dropped", m_exchange.dropped}}) {
    m.Counter("dust_peer_exchanges_received_total",
              "Peer-exchange datagrams received, accepted (verified and decoded) or dropped.",
              static_cast<double>(count), {{"outcome", outcome}});
  }
  m.Counter("dust_peer_exchanges_sent_total", "Peer-exchange datagrams built and sent.",
            static_cast<double>(m_exchange.sent));
  m.Counter("dust_peer_exchange_entries_learned_total",
            "Endpoints of trusted peers taken from peer exchanges.",
            static_cast<double>(m_exchange.learned));
  m.Gauge("dust_unicast_endpoints", "Unicast endpoints the daemon sends to (besides peer =).",
          static_cast<double>(m_gossip->unicast().size()));
  m.Counter("dust_updates_accepted_total", "Authenticated model updates accepted.",
            static_cast<double>(c.updates_accepted));
  m.Counter("dust_updates_merged_total", "Peer updates merged into the model.",
            static_cast<double>(c.updates_merged));
  m.Counter("dust_merges_total", "Merge operations since start.", static_cast<double>(c.merges));
  m.Counter("dust_announces_accepted_total", "Authenticated announces accepted.",
            static_cast<double>(c.announces_accepted));
  m.Counter("dust_gossip_datagrams_built_total", "Datagrams built by the engine to broadcast.",
            static_cast<double>(c.datagrams_sent));
  m.Counter("dust_training_steps_total", "Local SGD steps (since this process started).",
            static_cast<double>(m_units));
  m.Counter("dust_training_samples_total", "Local samples trained on (since start).",
            static_cast<double>(m_samples_trained));
  m.Counter("dust_training_seconds_total", "Wall time spent in training units.", m_train_seconds);
  m.Gauge("dust_training_paused", "1 if training is paused.", m_paused ? 1 : 0);
  m.Gauge("dust_training_learning_rate",
          "Learning rate of the next local SGD step (schedule at the schedule position).",
          LearningRate());
  m.Gauge("dust_training_schedule_position",
          "Position on the learning-rate schedule: the model's steps, or the fleet's if ahead.",
          static_cast<double>(SchedulePosition()));
  m.Gauge("dust_model_steps", "Local SGD steps of the model, ever (checkpointed).",
          static_cast<double>(Steps()));
  m.Gauge("dust_model_rounds", "Merge rounds of the model, ever (checkpointed).",
          static_cast<double>(Rounds()));
  if (m_accuracy)
    m.Gauge("dust_model_accuracy", "Accuracy on the local holdout slice.", *m_accuracy);
  if (m_test_accuracy)
    m.Gauge("dust_model_test_accuracy", "Accuracy on the data dir's test files.", *m_test_accuracy);
  if (m_accuracy_ms) {
    m.Gauge("dust_model_accuracy_timestamp_seconds",
            "When dust_model_accuracy and dust_model_test_accuracy were measured.",
            m_accuracy_ms / 1000.0);
  }
  float loss = m_node->last_loss();
  if (m_units > 0 && std::isfinite(loss))
    m.Gauge("dust_training_loss", "Mean loss of the last training unit.", loss);
  auto peers = m_node->Peers(NowMs());
  size_t live = 0;
  for (const PeerInfo& p : peers) live += (!p.stale && m_trust.Contains(p.key)) ? 1 : 0;
  m.Gauge("dust_peers", "Peers by state.", static_cast<double>(peers.size()), {{"state", "seen"}});
  m.Gauge("dust_peers", "Peers by state.", static_cast<double>(live), {{"state", "live"}});
  m.Gauge("dust_peers", "Peers by state.", static_cast<double>(m_node->absent_peers()),
          {{"state", "away"}});
  m.Counter("dust_memory_standins_total",
            "Rounds' steps taken for absent peers from their remembered contribution.",
            static_cast<double>(c.standins));
  m.Gauge("dust_peers", "Peers by state.",
          static_cast<double>(m_trust.size() + m_trust.certified_size()), {{"state", "trusted"}});
  m.Gauge("dust_peers", "Peers by state.", static_cast<double>(m_trust.certified_size()),
          {{"state", "certified"}});
  const FleetCounters& fc = m_fleet->counters();
  for (size_t i = 0; i < kFleetDropCount; ++i) {
    const char* reason = FleetDropName(static_cast<FleetDrop>(i));
    m.Counter("dust_fleet_drops_total",
              "Fleet certificates and revocation lists refused, by message and reason.",
              static_cast<double>(fc.certificate_drops[i]),
              {{"message", "certificate"}, {"reason", reason}});
    m.Counter("dust_fleet_drops_total",
              "Fleet certificates and revocation lists refused, by message and reason.",
              static_cast<double>(fc.revocation_drops[i]),
              {{"message", "revocation_list"}, {"reason", reason}});
  }
  m.Counter("dust_fleet_certificates_accepted_total",
            "Peer certificates verified and trusted (first sight or renewal).",
            static_cast<double>(fc.certificates_accepted));
  m.Counter("dust_fleet_revocations_accepted_total", "Newer revocation lists accepted.",
            static_cast<double>(fc.revocations_accepted));
  PeerMetrics(m, peers, m_trust, NowMs());
  m.Counter("dust_control_requests_total", "Control socket requests.",
            static_cast<double>(m_control ? m_control->requests() : 0));
  m.Gauge("dust_control_sessions", "Open control socket connections.",
          static_cast<double>(m_control ? m_control->sessions() : 0));
  m.Gauge("dust_control_watchers", "Control sessions streaming events (watch).",
          static_cast<double>(m_watch.watchers()));
  m.Counter("dust_watch_events_dropped_total",
            "Watch events dropped because a watcher's queue was full.",
            static_cast<double>(m_watch.dropped()));
  m.Counter("dust_model_exports_total", "Live model file sets written to model-export-dir.",
            static_cast<double>(m_export.written));
  m.Counter("dust_model_export_errors_total", "Live model file sets that failed to write.",
            static_cast<double>(m_export.errors));
  m.Counter("dust_checkpoints_total", "Checkpoints written.",
            static_cast<double>(m_checkpoints_written));
  m.Counter("dust_checkpoint_errors_total", "Checkpoints that failed to write.",
            static_cast<double>(m_checkpoint_errors));
  if (m_checkpoint_ms)
    m.Gauge("dust_checkpoint_timestamp_seconds", "When the last checkpoint was written.",
            m_checkpoint_ms / 1000.0);
  m.Gauge("dust_train_samples", "Local training samples.",
          static_cast<double>(m_node->train_size()));
  if (const DpStatus dp = m_node->dp_status(); dp.enabled || dp.steps > 0) {
    m.Gauge("dust_dp_epsilon", "Differential privacy: epsilon spent by local training, ever.",
            dp.epsilon);
    m.Gauge("dust_dp_delta", "Differential privacy: the delta of dust_dp_epsilon.", dp.delta);
    if (dp.epsilon_budget > 0) {
      m.Gauge("dust_dp_epsilon_budget", "Differential privacy: the epsilon budget.",
              dp.epsilon_budget);
    }
    m.Gauge("dust_dp_budget_spent", "1 if the privacy budget stopped local training.",
            dp.exhausted ? 1 : 0);
    m.Counter("dust_dp_noisy_steps_total", "DP-SGD steps composed into epsilon, ever.",
              static_cast<double>(dp.steps));
  }
  m.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
          static_cast<double>(ResidentBytes()));
  m.Gauge("dust_uptime_seconds", "Seconds since the daemon started.",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count());
  return m.str();
}

}  // namespace dust::daemon
