// The dashboard's data (dashboard.h renders it): the node, its peers as `peers` reports them,
// and the history over the range asked for.
#include <set>

#include "daemon.h"
#include "dashboard.h"
#include "dust/net/identity.h"

namespace dust::daemon {

std::string Daemon::DashboardHtml(const std::string& query) {
  DashboardView v;
  const int64_t now = NowMs();
  v.title = m_node->options().display_name;
  v.node_id = FormatNodeId(m_identity.public_key);
#ifdef DUST_VERSION
  v.version = DUST_VERSION;
#endif
  v.state = m_paused ? "paused" : m_node->train_size() == 0 ? "no data" : "running";
  v.accuracy = m_accuracy;
  v.test_accuracy = m_test_accuracy;
  v.steps = Steps();
  v.trusted_peers = m_trust.size() + m_trust.certified_size();
  v.now_ms = now;
  v.range_s = DashboardRange(query);
  v.from_ms = now - int64_t{v.range_s} * 1000;

  std::set<PublicKey> listed;
  for (const PeerInfo& p : m_node->Peers(now)) {
    listed.insert(p.key);
    const TrustedPeer* t = m_trust.Find(p.key);
    DashboardPeer d;
    d.name = !p.display_name.empty() ? p.display_name : (t ? t->display_name : "");
    d.node_id = FormatNodeId(p.key);
    d.trusted_how = t ? TrustKindName(t->kind) : "";
    d.last_seen_ms = p.last_seen_ms;
    if (p.accuracy_bp <= 10000) d.accuracy = p.accuracy_bp / 10000.0;
    d.updates_accepted = p.updates_accepted;
    d.updates_rejected = p.updates_rejected;
    d.outlier_score = p.outlier_score;
    d.live = !p.stale;
    if (d.live && t) ++v.live_peers;
    v.peers.push_back(std::move(d));
  }
  std::vector<TrustedPeer> trusted = m_trust.List();
  for (TrustedPeer& t : m_trust.ListCertified()) trusted.push_back(std::move(t));
  for (const TrustedPeer& t : trusted) {
    if (listed.count(t.key)) continue;
    DashboardPeer d;
    d.name = t.display_name;
    d.node_id = FormatNodeId(t.key);
    d.trusted_how = TrustKindName(t.kind);
    v.peers.push_back(std::move(d));
  }

  const HistoryResolution res =
      History::Pick(HistoryResolution::kAuto, v.from_ms, m_history.node());
  const bool fine = res == HistoryResolution::kFine;
  // At most one point per 2 px of the chart's width.
  constexpr size_t kMaxPoints = 300;
  const auto node =
      History::Select(fine ? m_history.node().fine : m_history.node().coarse, v.from_ms, now,
                      kMaxPoints, [](const NodeSample& s) { return s.t_ms; });
  DashboardSeries mine{v.title + " (this node)", {}};
  for (const NodeSample& s : node) mine.points.emplace_back(s.t_ms, s.accuracy);
  v.accuracy_series.push_back(std::move(mine));
  for (const auto& [key, p] : m_history.peers()) {
    const auto samples =
        History::Select(fine ? p.tiers.fine : p.tiers.coarse, v.from_ms, now, kMaxPoints,
                        [](const PeerSample& s) { return int64_t{s.t_s} * 1000; });
    DashboardSeries s{p.name.empty() ? ShortNodeId(key) : p.name, {}};
    for (const PeerSample& ps : samples) {
      s.points.emplace_back(int64_t{ps.t_s} * 1000,
                            ps.accuracy_bp <= 10000 ? ps.accuracy_bp / 10000.0 : NAN);
    }
    v.accuracy_series.push_back(std::move(s));
  }
  // Drops per interval: the difference of consecutive counters (a smaller counter means the
  // daemon restarted and counted from zero again). "own" (our broadcasts coming back) is not a
  // problem and would drown the others.
  const auto& names = m_history.drop_names();
  for (size_t r = 0; r < names.size(); ++r) {
    if (names[r] == "own") continue;
    DashboardSeries s{names[r], {}};
    bool any = false;
    for (size_t i = 1; i < node.size(); ++i) {
      const uint64_t a = node[i - 1].drops[r], b = node[i].drops[r];
      const uint64_t d = b >= a ? b - a : b;
      any |= d > 0;
      s.points.emplace_back(node[i].t_ms, static_cast<double>(d));
    }
    if (any) v.drop_series.push_back(std::move(s));
  }
  return RenderDashboard(v);
}

}  // namespace dust::daemon
