// The daemon's side of the history (history.h): what a sample reads of the daemon, loading and
// saving the state directory's `history` file, and the `history` control command.
#include <malloc.h>

#include <limits>

#include "daemon.h"
#include "dust/net/identity.h"
#include "log.h"

namespace dust::daemon {
namespace {

float OrNone(const std::optional<double>& v) { return v ? static_cast<float>(*v) : kHistoryNone; }

uint32_t Saturate32(uint64_t v) {
  return static_cast<uint32_t>(std::min<uint64_t>(v, std::numeric_limits<uint32_t>::max()));
}

// NaN (not measured) is null in JSON.
Json Nullable(float v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

}  // namespace

std::vector<std::string> HistoryDropNames() {
  static_assert(kDropReasonCount + 1 <= kHistoryDropSlots);
  std::vector<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    names.emplace_back(DropReasonName(static_cast<DropReason>(i)));
  }
  names.emplace_back("own");
  return names;
}

void Daemon::SampleHistory() {
  const int64_t now = NowMs();
  const NodeCounters c = m_node->counters();
  const GossipCounters& g = m_gossip->counters();
  const auto peers = m_node->Peers(now);
  NodeSample s;
  s.t_ms = now;
  s.accuracy = OrNone(m_accuracy);
  s.test_accuracy = OrNone(m_test_accuracy);
  const float loss = m_node->last_loss();
  if (m_units > 0 && std::isfinite(loss)) s.loss = loss;
  s.learning_rate = static_cast<float>(LearningRate());
  if (const DpStatus dp = m_node->dp_status(); dp.enabled || dp.steps > 0) {
    s.epsilon = static_cast<float>(dp.epsilon);
  }
  std::vector<PublicKey> trusted;
  for (const PeerInfo& p : peers) {
    if (!m_trust.Contains(p.key)) continue;
    trusted.push_back(p.key);
    if (!p.stale) ++s.live_peers;
    PeerSample ps;
    ps.t_s = static_cast<uint32_t>(now / 1000);
    ps.accuracy_bp = p.accuracy_bp <= 10000 ? p.accuracy_bp : 0xFFFF;
    ps.live = p.stale ? 0 : 1;
    ps.updates_accepted = Saturate32(p.updates_accepted);
    ps.updates_rejected = Saturate32(p.updates_rejected);
    const TrustedPeer* t = m_trust.Find(p.key);
    m_history.AddPeer(p.key, !p.display_name.empty() ? p.display_name : t->display_name, ps);
  }
  // Trust removed since the last sample: its series goes too (the history follows the store).
  for (const TrustedPeer& t : m_trust.List()) trusted.push_back(t.key);
  for (const TrustedPeer& t : m_trust.ListCertified()) trusted.push_back(t.key);
  m_history.RetainPeers(trusted);
  s.steps = Steps();
  s.updates_in = c.updates_accepted;
  s.updates_out = c.datagrams_sent;
  s.bytes_in = g.bytes_in;
  s.bytes_out = g.bytes_out;
  size_t i = 0;
  for (const auto& [reason, count] : c.drops) s.drops[i++] = count;
  s.drops[kDropReasonCount] = m_own_datagrams;
  m_history.Add(s);
}

void Daemon::LoadHistory() {
  const std::vector<std::string> names = HistoryDropNames();
  std::optional<History> loaded;
  auto bytes = m_state.LoadHistory(MaxHistoryFileBytes(), [&](const Bytes& b) {
    auto h = DecodeHistoryFile(b, names);
    if (!h.ok()) return h.status();
    loaded.emplace(std::move(*h));
    return Status::Ok();
  });
  if (!bytes || !loaded) {
    LogInfo("history: none kept yet (state-dir/history)");
    return;
  }
  m_history = std::move(*loaded);
  // The file's bytes and the decoder's copy are gone: give that memory back, as after a data
  // scan (the history's own footprint is what stays; docs/benchmarks.md).
  ::malloc_trim(0);
  LogInfo("history: {} samples of this node, {} peer(s) restored",
          m_history.node().coarse.size() + m_history.node().fine.size(), m_history.peers().size());
}

void Daemon::SaveHistory() {
  // A history that cannot be written is not worth failing a checkpoint for: logged, and the next
  // checkpoint tries again.
  if (Status st = m_state.SaveHistory(EncodeHistoryFile(m_history)); !st.ok()) {
    LogError("history: {}", st.message());
  }
}

Result<Json> Daemon::CmdHistory(const Json& request) {
  Result<HistoryArgs> args = ParseHistory(request, NowMs());
  if (!args.ok()) return args.status();
  return HistoryJson(*args);
}

Json Daemon::HistoryJson(const HistoryArgs& a) {
  const HistoryResolution res = History::Pick(a.resolution, a.from_ms, m_history.node());
  const bool fine = res == HistoryResolution::kFine;
  const auto& ring = fine ? m_history.node().fine : m_history.node().coarse;
  auto samples = History::Select(ring, a.from_ms, a.to_ms, a.max_points,
                                 [](const NodeSample& s) { return s.t_ms; });
  Json t = Json::array(), acc = Json::array(), test = Json::array(), loss = Json::array(),
       lr = Json::array(), eps = Json::array(), steps = Json::array(), live = Json::array(),
       uin = Json::array(), uout = Json::array(), bin = Json::array(), bout = Json::array();
  Json drops = Json::object();
  const auto& names = m_history.drop_names();
  for (const auto& n : names) drops[n] = Json::array();
  for (const NodeSample& s : samples) {
    t.push_back(s.t_ms);
    acc.push_back(Nullable(s.accuracy));
    test.push_back(Nullable(s.test_accuracy));
    loss.push_back(Nullable(s.loss));
    lr.push_back(Nullable(s.learning_rate));
    eps.push_back(Nullable(s.epsilon));
    steps.push_back(s.steps);
    live.push_back(s.live_peers);
    uin.push_back(s.updates_in);
    uout.push_back(s.updates_out);
    bin.push_back(s.bytes_in);
    bout.push_back(s.bytes_out);
    for (size_t i = 0; i < names.size(); ++i) drops[names[i]].push_back(s.drops[i]);
  }
  Json node = {{"t_ms", t},           {"accuracy", acc},     {"test_accuracy", test},
               {"loss", loss},        {"learning_rate", lr}, {"epsilon", eps},
               {"steps", steps},      {"live_peers", live},  {"updates_in", uin},
               {"updates_out", uout}, {"bytes_in", bin},     {"bytes_out", bout},
               {"drops", drops}};
  Json peers = Json::array();
  if (a.peers) {
    for (const auto& [key, p] : m_history.peers()) {
      const auto& pr = fine ? p.tiers.fine : p.tiers.coarse;
      auto ps = History::Select(pr, a.from_ms, a.to_ms, a.max_points,
                                [](const PeerSample& s) { return int64_t{s.t_s} * 1000; });
      Json pt = Json::array(), pacc = Json::array(), plive = Json::array(), pa = Json::array(),
           pr_ = Json::array();
      for (const PeerSample& s : ps) {
        pt.push_back(int64_t{s.t_s} * 1000);
        pacc.push_back(s.accuracy_bp <= 10000 ? Json(s.accuracy_bp / 10000.0) : Json(nullptr));
        plive.push_back(s.live != 0);
        pa.push_back(s.updates_accepted);
        pr_.push_back(s.updates_rejected);
      }
      peers.push_back({{"node_id", FormatNodeId(key)},
                       {"display_name", p.name},
                       {"t_ms", pt},
                       {"accuracy", pacc},
                       {"live", plive},
                       {"updates_accepted", pa},
                       {"updates_rejected", pr_}});
    }
  }
  return {{"from_ms", a.from_ms},
          {"to_ms", a.to_ms},
          {"resolution", fine ? "fine" : "coarse"},
          {"interval_s", (fine ? kHistoryFineMs : kHistoryCoarseMs) / 1000},
          {"node", node},
          {"peers", peers}};
}

}  // namespace dust::daemon
