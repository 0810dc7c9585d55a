// What the daemon keeps on disk besides its identity: checkpoints of the model with the step
// and round counts, and the trust store after a change.
#include "daemon.h"
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
}  // namespace dust::daemon
