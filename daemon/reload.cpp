// SIGHUP: re-reads the config file with the daemon's command line and applies what can change
// at runtime (data dir and how it is read, peers, CPU budget, learning-rate schedule, intervals,
// log level), logs what needs a restart, reloads the trust store and rescans the data directory.
#include "daemon.h"
#include "dust/net/identity.h"
#include "log.h"

namespace dust::daemon {

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
        "the model (layers, init-seed, momentum, batch-size, batches-per-round, aggregator, "
        "input-scaling)",
        &O::layers, &O::init_seed, &O::momentum, &O::batch_size, &O::batches_per_round,
        &O::aggregator, &O::input_scaling);
    restart_needed("control-socket/control-group", &O::control_socket, &O::control_group);
    restart_needed("peer-memory-horizon", &O::peer_memory_horizon);
    restart_needed("fleet", &O::fleets);
    restart_needed("model-export-dir/model-export-formats", &O::model_export_dir,
                   &O::model_export_formats);
    restart_needed("send/announce interval, display-name", &O::send_interval, &O::announce_interval,
                   &O::display_name);
    restart_needed(
        "differential privacy (dp-noise-multiplier, dp-clip, dp-epsilon-budget, "
        "dp-delta, announce-stats)",
        &O::dp_noise_multiplier, &O::dp_clip, &O::dp_epsilon_budget, &O::dp_delta,
        &O::announce_stats);
    restart_needed("metrics-listen, multicast-group, multicast-interface, multicast-hops",
                   &O::metrics_listen, &O::multicast_group, &O::multicast_interface,
                   &O::multicast_hops);
    // What applies at once. (The learning-rate schedule is evaluated before every unit, so a
    // new one applies from the next step.)
    Options keep = m_options;
    auto apply = [&](auto... fields) { ((m_options.*fields = n.*fields), ...); };
    apply(&O::data_dir, &O::csv_label_column, &O::test_files, &O::broadcast, &O::peers,
          &O::cpu_budget, &O::learning_rate, &O::learning_rate_floor, &O::learning_rate_decay_steps,
          &O::holdout_fraction, &O::holdout_seed, &O::checkpoint_interval, &O::rescan_interval,
          &O::eval_interval, &O::log_level, &O::endpoints, &O::peer_exchange_interval,
          &O::peer_exchange_ttl, &O::resolve_interval);
    SetLogLevel(m_options.log_level);
    m_endpoints.set_options(EndpointOptions());
    if (keep.peer_exchange_interval != m_options.peer_exchange_interval ||
        keep.resolve_interval != m_options.resolve_interval) {
      StartReachTimers();
    }
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
    // Watchers hear of each peer the restored store adds or drops.
    for (const TrustedPeer& p : loaded.List()) {
      if (!m_trust.Contains(p.key)) {
        Publish("trust", {{"change", "added"},
                          {"node_id", FormatNodeId(p.key)},
                          {"display_name", p.display_name}});
      }
    }
    for (const TrustedPeer& p : m_trust.List()) {
      if (!loaded.Contains(p.key))
        Publish("trust", {{"change", "removed"}, {"node_id", FormatNodeId(p.key)}});
    }
    // Same object (the node's pointer stays valid), and the certified peers stay.
    m_trust.ReplacePaired(std::move(loaded));
    LogInfo("reload: trust store now has {} peer(s)", m_trust.size());
    TrustEndpointsChanged();
  }
  RescanAsync(true, nullptr);
}

}  // namespace dust::daemon
