// What the daemon keeps on disk besides its identity: checkpoints of the model with the step
// and round counts (each one followed by the live model files), and the trust store after a
// change; and the peer events of watchers, which compare the peer table over time.
#include "daemon.h"
#include "dust/net/identity.h"
#include "log.h"

namespace dust::daemon {

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
  SaveHistory();
  m_checkpoint_ms = d.written_ms;
  m_checkpoint_steps = d.steps;
  LogDebug("checkpoint written: {} steps, {} rounds", d.steps, d.rounds);
  Publish("checkpoint", {{"path", m_state.Path("checkpoint")},
                         {"steps", d.steps},
                         {"rounds", d.rounds},
                         {"written_ms", d.written_ms}});
  ExportModelFiles();
  return st;
}

void Daemon::WatchPeers() {
  std::map<PublicKey, bool> now;
  for (const PeerInfo& p : m_node->Peers(NowMs())) {
    now[p.key] = p.stale;
    auto before = m_peer_stale.find(p.key);
    const char* state = nullptr;
    if (before == m_peer_stale.end()) {
      state = p.stale ? nullptr : "seen";  // a peer first met already stale: nothing to say
    } else if (before->second != p.stale) {
      state = p.stale ? "stale" : "back";
    }
    if (!state) continue;
    const TrustedPeer* t = m_trust.Find(p.key);
    std::string name = !p.display_name.empty() ? p.display_name : (t ? t->display_name : "");
    Publish("peer", {{"state", state},
                     {"node_id", FormatNodeId(p.key)},
                     {"display_name", name.empty() ? Json(nullptr) : Json(name)},
                     {"trusted", t != nullptr},
                     {"last_seen_ms", p.last_seen_ms}});
  }
  m_peer_stale = std::move(now);
}

Status Daemon::SaveTrust() {
  Status st = m_state.SaveTrust(m_trust);
  if (!st.ok()) LogError("trust store: {}", st.message());
  return st;
}
}  // namespace dust::daemon
