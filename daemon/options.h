// dustd's configuration: every option, its default, and the parser for the INI file and the
// command line.
//
// Sources, lowest precedence first: built-in defaults, the config file (`--config`, default
// /etc/dust/dustd.conf; a missing default file is fine, a missing explicit one is an error),
// then command-line options. The file is "key = value" lines, '#' or ';' comments, no sections.
// Boost.Program_options parses it, but it does not report line numbers, so the file is first
// scanned here: every error about the file (unknown key, malformed line, repeated key, bad
// value) names "<file>:<line>: <reason>".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dust/util/status.h"

namespace dust::daemon {

inline constexpr uint16_t kDefaultPort = 48620;
inline constexpr const char* kDefaultConfigPath = "/etc/dust/dustd.conf";
inline constexpr const char* kDefaultSocketPath = "/run/dust/dustd.sock";
inline constexpr const char* kDefaultStateDir = "/var/lib/dust";

struct Options {
  // Files and directories.
  std::string config_path;  // the file actually read ("" if none)
  std::string data_dir = "/var/lib/dust/data";
  // How the data directory is read (data_dir.h, docs/operations.md "What the daemon reads").
  std::string csv_label_column;         // "" -> "label" if a CSV has a header with it, else first
  std::vector<std::string> test_files;  // globs; empty -> the naming rule (IsTestDataName)
  std::string state_dir = kDefaultStateDir;  // $STATE_DIRECTORY wins over the default
  std::string control_socket;  // "" -> $RUNTIME_DIRECTORY/dustd.sock or kDefaultSocketPath
  std::string control_group;   // "" -> the daemon's own gid
  // Live model files for apps: written to this directory ("" = off) at start and at each
  // checkpoint when the model changed, in these formats (dust/export/export.h names).
  std::string model_export_dir;
  std::vector<std::string> model_export_formats{"onnx", "c-header", "safetensors", "json"};

  // Network.
  uint16_t port = kDefaultPort;
  std::string bind_address = "0.0.0.0";
  std::vector<std::string> broadcast{"auto"};  // IPv4 addresses, "auto", or "none"
  std::vector<std::string> peers;              // unicast "host:port" (IPv4 or [IPv6])
  // Fleet IDs (identity.h FormatNodeId form, deduplicated) whose certificates are trusted.
  std::vector<std::string> fleets;
  std::string multicast_group;      // IPv6 group, "" = off
  std::string multicast_interface;  // interface name for the group ("" = default)
  std::string metrics_listen;       // "127.0.0.1:9617" style; "" = off
  uint32_t multicast_hops = 1;      // IPv6 multicast hop limit, 1..255
  // Beyond one broadcast domain (docs/operations.md, "Across sites"): this node's own unicast
  // endpoints for its pairing URI (endpoint.h host:port, at most 4), how often it sends the
  // endpoints of its trusted peers (0 = never), how long an endpoint learned from a peer
  // exchange or from a peer's unicast datagrams is kept without news of it, and how often
  // host names (peer, endpoints) are resolved again.
  std::vector<std::string> endpoints;
  double peer_exchange_interval = 30.0;
  double peer_exchange_ttl = 600.0;
  double resolve_interval = 300.0;

  // Learning.
  std::string display_name;  // "" -> host name
  std::vector<uint32_t> layers{784, 32, 10};
  uint64_t init_seed = 1;
  // Learning-rate schedule (schedule.h): from learning_rate down to learning_rate_floor along
  // a half cosine over the model's first learning_rate_decay_steps SGD steps, then constant.
  double learning_rate = 0.2;                 // the engine's merged step averages every node's step
  double learning_rate_floor = 0.02;          // default: learning_rate / 10
  uint64_t learning_rate_decay_steps = 1000;  // 0: constant learning_rate
  uint32_t batches_per_round = 1;
  double momentum = 0.9;
  uint32_t batch_size = 32;
  std::string aggregator = "mean";
  // fleet: agree with the peers on one input scaling (docs/engine.md, "Feature scaling");
  // none: raw features. Every peer must use the same.
  std::string input_scaling = "fleet";
  // Memory of absent peers (docs/engine.md, "Peers that sleep"): seconds after which a peer
  // that stays away is forgotten (full weight for the first half); 0 = no memory.
  double peer_memory_horizon = 48 * 3600.0;
  // Differential privacy (docs/privacy.md): DP-SGD when both noise multiplier and clip are > 0.
  double dp_noise_multiplier = 0;
  double dp_clip = 0;
  double dp_epsilon_budget = 0;  // 0: none
  double dp_delta = 0;           // 0: min(1e-5, 0.1 / local samples)
  // Announce held-out accuracy and sample count (default: yes without DP, no with it).
  bool announce_stats = true;
  double cpu_budget = 0.5;
  double holdout_fraction = 0.1;
  uint64_t holdout_seed = 7;

  // Timers, in seconds.
  double announce_interval = 5.0;
  double send_interval = 0.5;
  double checkpoint_interval = 60.0;
  double rescan_interval = 300.0;
  double eval_interval = 10.0;

  std::string log_level = "info";

  // Not options in the file: what the command line asked for.
  bool check_config = false;
};

// What ParseOptions decided: run, or exit at once with a message (help, version, error).
struct ParseOutcome {
  enum class Action { kRun, kExitOk, kExitError };
  Action action = Action::kRun;
  std::string message;  // help text, version, or the error (to stdout for ok, stderr for errors)
  Options options;
};

// Parses argv (and the config file it names). Never throws.
ParseOutcome ParseOptions(int argc, const char* const* argv);

// Parses a config file's text (no command line); `path` is only used in messages. For tests
// and --check-config.
Result<Options> ParseConfigText(const std::string& text, const std::string& path);

// Every key the config file accepts (also --key on the command line).
std::vector<std::string> ConfigKeys();

// The help text (all options with defaults).
std::string OptionsHelp();

// Resolved paths (environment variables applied).
std::string ResolveSocketPath(const Options& options);

// "host:port" -> (host, port). IPv6 hosts in brackets. Error names what was wrong.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& text);

}  // namespace dust::daemon
