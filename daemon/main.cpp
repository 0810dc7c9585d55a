// dustd: the Neural Dust peer daemon. Parses options, sets up logging, runs the Daemon.
// Exceptions are caught here (one of the three boundaries in STYLE.md); everything below
// reports errors as Status.
#include <grp.h>
#include <net/if.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "daemon.h"
#include "log.h"
#include "options.h"

namespace {

void PrintConfig(const dust::daemon::Options& o) {
  auto list = [](const auto& v) {
    std::string s;
    for (const auto& x : v) {
      if (!s.empty()) s += ",";
      if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) {
        s += x;
      } else {
        s += std::to_string(x);
      }
    }
    return s;
  };
  std::printf("config file: %s\n",
              o.config_path.empty() ? "(none, defaults)" : o.config_path.c_str());
  std::printf("data-dir = %s\nstate-dir = %s\ncontrol-socket = %s\ncontrol-group = %s\n",
              o.data_dir.c_str(), o.state_dir.c_str(), dust::daemon::ResolveSocketPath(o).c_str(),
              o.control_group.c_str());
  std::printf("csv-label-column = %s\ntest-files = %s\n", o.csv_label_column.c_str(),
              list(o.test_files).c_str());
  std::printf("port = %u\nbind-address = %s\nbroadcast = %s\npeer = %s\n", o.port,
              o.bind_address.c_str(), o.broadcast.empty() ? "none" : list(o.broadcast).c_str(),
              list(o.peers).c_str());
  std::printf("multicast-group = %s\nmulticast-interface = %s\nmetrics-listen = %s\n",
              o.multicast_group.c_str(), o.multicast_interface.c_str(), o.metrics_listen.c_str());
  std::printf("display-name = %s\nlayers = %s\ninit-seed = %llu\n", o.display_name.c_str(),
              list(o.layers).c_str(), static_cast<unsigned long long>(o.init_seed));
  std::printf("learning-rate = %g\nlearning-rate-floor = %g\nlearning-rate-decay-steps = %llu\n",
              o.learning_rate, o.learning_rate_floor,
              static_cast<unsigned long long>(o.learning_rate_decay_steps));
  std::printf("momentum = %g\nbatch-size = %u\nbatches-per-round = %u\naggregator = %s\n",
              o.momentum, o.batch_size, o.batches_per_round, o.aggregator.c_str());
  std::printf("cpu-budget = %g\nholdout-fraction = %g\nholdout-seed = %llu\n", o.cpu_budget,
              o.holdout_fraction, static_cast<unsigned long long>(o.holdout_seed));
  std::printf("announce-interval = %g\nsend-interval = %g\ncheckpoint-interval = %g\n",
              o.announce_interval, o.send_interval, o.checkpoint_interval);
  std::printf("rescan-interval = %g\neval-interval = %g\nlog-level = %s\n", o.rescan_interval,
              o.eval_interval, o.log_level.c_str());
}

// What the configuration names on this machine and dustd checks only when it starts: warned
// about, not refused, because a configuration is often checked on another machine (an image
// build, a package test) than the one that runs it.
int WarnAboutThisMachine(const dust::daemon::Options& o) {
  int warnings = 0;
  if (!o.control_group.empty() && ::getgrnam(o.control_group.c_str()) == nullptr) {
    std::fprintf(stderr,
                 "warning: control-group = %s: no such group on this machine; dustd would refuse "
                 "to start here (create it, or set control-group to an existing group)\n",
                 o.control_group.c_str());
    ++warnings;
  }
  if (!o.multicast_interface.empty() && ::if_nametoindex(o.multicast_interface.c_str()) == 0) {
    std::fprintf(stderr,
                 "warning: multicast-interface = %s: no such network interface on this machine "
                 "(see `ip link`); dustd would refuse to start here\n",
                 o.multicast_interface.c_str());
    ++warnings;
  }
  return warnings;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    dust::daemon::ParseOutcome parsed = dust::daemon::ParseOptions(argc, argv);
    switch (parsed.action) {
      case dust::daemon::ParseOutcome::Action::kExitOk:
        std::fputs(parsed.message.c_str(), stdout);
        return 0;
      case dust::daemon::ParseOutcome::Action::kExitError:
        std::fputs(parsed.message.c_str(), stderr);
        return 2;
      case dust::daemon::ParseOutcome::Action::kRun:
        break;
    }
    if (parsed.options.check_config) {
      PrintConfig(parsed.options);
      const int warnings = WarnAboutThisMachine(parsed.options);
      if (warnings == 0) {
        std::printf("configuration OK\n");
      } else {
        std::printf("configuration OK (with %d warning%s about this machine)\n", warnings,
                    warnings == 1 ? "" : "s");
      }
      return 0;
    }
    dust::daemon::SetupLogging(parsed.options.log_level);
    std::vector<std::string> args(argv, argv + argc);
    dust::daemon::Daemon daemon(parsed.options, std::move(args));
    return daemon.Run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dustd: fatal: %s\n", e.what());
    return 1;
  }
}
