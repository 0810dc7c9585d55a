#include "options.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "data_dir.h"
#include "dust/engine/merge.h"
#include "dust/export/export.h"
#include "dust/net/endpoint.h"
#include "dust/net/fleet_trust.h"
#include "dust/net/identity.h"
#include "dust/util/file.h"

namespace dust::daemon {
namespace po = boost::program_options;
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
// About 30 years of 10 steps a second: any larger value is a typo.
constexpr uint64_t kMaxDecaySteps = 10'000'000'000ull;

// Options that can appear in the file and on the command line. Each value is kept as a string
// or a number here; conversion to Options (with range checks) happens in Build.
po::options_description FileOptions() {
  Options d;
  po::options_description desc(
      "Options (config file keys; also accepted as --key on the command line)");
  auto dbl = [](double v) { return po::value<double>()->default_value(v); };
  // clang-format off
  desc.add_options()
    ("data-dir", po::value<std::string>()->default_value(d.data_dir),
       "directory with training data (IDX pairs and *.csv); rescanned periodically")
    ("csv-label-column", po::value<std::string>()->default_value(""),
       "CSV header name of the label column (default: the column named label if a file has a "
       "header, else the first column)")
    ("test-files", po::value<std::string>()->default_value(""),
       "comma-separated globs of test files, relative to data-dir (default: files in test/, "
       "and names with a component 'test' or starting 't10k')")
    ("state-dir", po::value<std::string>()->default_value(d.state_dir),
       "identity key, trust store, checkpoint, counters ($STATE_DIRECTORY if set)")
    ("control-socket", po::value<std::string>()->default_value(""),
       "control socket path (default $RUNTIME_DIRECTORY/dustd.sock, else /run/dust/dustd.sock)")
    ("control-group", po::value<std::string>()->default_value(""),
       "group allowed on the control socket (default: the daemon's group)")
    ("model-export-dir", po::value<std::string>()->default_value(""),
       "directory for the live model files apps read (written at start and at each checkpoint "
       "when the model changed), empty = off")
    ("model-export-formats", po::value<std::string>()->default_value("onnx,c-header,safetensors,json"),
       "comma-separated formats written to model-export-dir: onnx, c-header, safetensors, json")
    ("port", po::value<uint32_t>()->default_value(d.port), "UDP port for gossip")
    ("bind-address", po::value<std::string>()->default_value(d.bind_address),
       "local address the UDP socket binds")
    ("broadcast", po::value<std::string>()->default_value("auto"),
       "comma-separated IPv4 broadcast addresses, 'auto' (all up interfaces) or 'none'")
    ("peer", po::value<std::string>()->default_value(""),
       "comma-separated unicast peers host:port (routed networks, loopback tests)")
    ("fleet", po::value<std::vector<std::string>>()->composing(),
       "fleet ID (the fleet key's, as `dustctl fleet init` prints it) whose certified devices "
       "are trusted like paired ones; several comma-separated (or --fleet repeated)")
    ("multicast-group", po::value<std::string>()->default_value(""),
       "IPv6 multicast group to join and send to (e.g. ff02::114), empty = off")
    ("multicast-interface", po::value<std::string>()->default_value(""),
       "interface for the IPv6 multicast group (empty = system default)")
    ("multicast-hops", po::value<uint32_t>()->default_value(d.multicast_hops),
       "IPv6 multicast hop limit, 1..255 (1: the local link only)")
    ("endpoint", po::value<std::string>()->default_value(""),
       "comma-separated host:port where peers beyond the broadcast domain can reach this node "
       "(at most 4; put in the pairing URI of trust show)")
    ("peer-exchange-interval", dbl(d.peer_exchange_interval),
       "seconds between peer exchanges (endpoints of trusted peers sent to the others), 0 = off")
    ("peer-exchange-ttl", dbl(d.peer_exchange_ttl),
       "seconds an endpoint learned from a peer exchange or a peer's unicast datagrams is kept "
       "without news of it")
    ("resolve-interval", dbl(d.resolve_interval),
       "seconds between resolutions of the host names of peer and of peers' endpoints")
    ("metrics-listen", po::value<std::string>()->default_value(""),
       "serve Prometheus metrics (/metrics) and the dashboard (/) over HTTP on this loopback "
       "host:port, empty = off")
    ("display-name", po::value<std::string>()->default_value(""),
       "name shown to peers (default: host name)")
    ("layers", po::value<std::string>()->default_value("784,32,10"),
       "MLP layer sizes, input first, classes last")
    ("init-seed", po::value<uint64_t>()->default_value(d.init_seed),
       "model initialisation seed (peers must agree to merge)")
    ("learning-rate", dbl(d.learning_rate), "SGD learning rate of a fresh model (step 0)")
    ("learning-rate-floor", dbl(0),
       "learning rate from learning-rate-decay-steps on, (0, learning-rate] (default: a tenth "
       "of learning-rate)")
    ("learning-rate-decay-steps",
       po::value<uint64_t>()->default_value(d.learning_rate_decay_steps),
       "SGD steps of the model (ever, kept across restarts) over which the rate falls from "
       "learning-rate to learning-rate-floor (half cosine); 0 = constant learning-rate")
    ("momentum", dbl(d.momentum), "SGD momentum")
    ("batch-size", po::value<uint32_t>()->default_value(d.batch_size), "SGD batch size")
    ("batches-per-round", po::value<uint32_t>()->default_value(d.batches_per_round),
       "local SGD steps per gossip round (one round per send-interval)")
    ("aggregator", po::value<std::string>()->default_value(d.aggregator),
       "how peer updates are merged: mean, median, trimmed:B, clip, clip:TAU")
    ("input-scaling", po::value<std::string>()->default_value(d.input_scaling),
       "fleet (peers agree on one per-feature scaling of the raw features) or none")
    ("peer-memory-horizon", dbl(d.peer_memory_horizon),
       "seconds an absent peer's contribution is remembered and applied for it (full weight for "
       "the first half, then fading), 0 = no memory, at most 2592000 (30 days)")
    ("dp-noise-multiplier", dbl(0),
       "DP-SGD noise multiplier sigma (with dp-clip; 0 = no differential privacy; "
       "dustctl privacy plan picks it for an epsilon)")
    ("dp-clip", dbl(0), "DP-SGD per-sample gradient clip norm C (with dp-noise-multiplier)")
    ("dp-epsilon-budget", dbl(0),
       "stop training on local data before the epsilon spent passes this (0 = no budget)")
    ("dp-delta", dbl(0),
       "delta of the epsilon reported, (0, 1e-3]; default min(1e-5, 0.1 / local samples)")
    ("announce-stats", po::value<std::string>()->default_value("auto"),
       "announce held-out accuracy and sample count: true, false, or auto (false with DP)")
    ("cpu-budget", dbl(d.cpu_budget), "fraction of one core training may use, (0, 1]")
    ("holdout-fraction", dbl(d.holdout_fraction),
       "fraction of local training data held out for evaluation, [0, 0.9]")
    ("holdout-seed", po::value<uint64_t>()->default_value(d.holdout_seed),
       "seed of the deterministic holdout split")
    ("announce-interval", dbl(d.announce_interval), "seconds between announcements")
    ("send-interval", dbl(d.send_interval), "seconds between model updates sent")
    ("checkpoint-interval", dbl(d.checkpoint_interval), "seconds between checkpoints")
    ("rescan-interval", dbl(d.rescan_interval), "seconds between data dir rescans (0 = only on SIGHUP)")
    ("eval-interval", dbl(d.eval_interval), "seconds between holdout evaluations")
    ("log-level", po::value<std::string>()->default_value(d.log_level),
       "trace, debug, info, warn, error, critical, off");
  // clang-format on
  return desc;
}

po::options_description CommandLineOnly() {
  po::options_description desc("Command line");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("version", "print the version and exit")
    ("config,c", po::value<std::string>(), "config file (default /etc/dust/dustd.conf if it exists)")
    ("check-config", "parse and validate the configuration, print it, and exit");
  // clang-format on
  return desc;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = Trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Where each option's value came from, for messages.
struct Provenance {
  std::string file;
  std::map<std::string, int> line;  // key -> line in the file
  std::set<std::string> command_line;

  std::string Where(const std::string& key) const {
    if (command_line.count(key)) return "command line: --" + key;
    auto it = line.find(key);
    if (it != line.end()) return file + ":" + std::to_string(it->second) + ": " + key;
    return "default " + key;
  }
};

// Scans the config text line by line and stores each line's option into `vm` (values already
// stored, i.e. from the command line, win). Every problem is reported with its line number.
Status StoreConfigText(const std::string& text, const std::string& path,
                       const po::options_description& desc, po::variables_map& vm,
                       Provenance* prov) {
  prov->file = path;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string where = path + ":" + std::to_string(line_no) + ": ";
    // Program_options strips '#' comments anywhere on the line; do the same.
    std::string line = raw;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    line = Trim(line);
    if (line.empty() || line[0] == ';') continue;
    if (line[0] == '[') {
      return Status::InvalidArgument(where + "sections are not used in dustd.conf; remove '" +
                                     line + "'");
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(where + "expected 'key = value', got '" + line + "'");
    }
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (key.empty()) return Status::InvalidArgument(where + "missing key before '='");
    if (!desc.find_nothrow(key, false)) {
      return Status::InvalidArgument(where + "unknown option '" + key +
                                     "' (see dustd --help for the list)");
    }
    if (auto it = prov->line.find(key); it != prov->line.end()) {
      return Status::InvalidArgument(where + "'" + key + "' is already set at line " +
                                     std::to_string(it->second) +
                                     " (lists take comma-separated values on one line)");
    }
    prov->line[key] = line_no;
    try {
      std::istringstream one(key + "=" + value + "\n");
      po::store(po::parse_config_file(one, desc, false), vm);
    } catch (const po::error& e) {
      return Status::InvalidArgument(where + e.what());
    }
  }
  return Status::Ok();
}

template <typename T>
T Get(const po::variables_map& vm, const std::string& key) {
  return vm[key].as<T>();
}

Result<Options> Build(const po::variables_map& vm, const Provenance& prov) {
  Options o;
  auto bad = [&](const std::string& key, const std::string& why) {
    return Status::InvalidArgument(prov.Where(key) + ": " + why);
  };
  o.data_dir = Get<std::string>(vm, "data-dir");
  o.state_dir = Get<std::string>(vm, "state-dir");
  if (!vm["state-dir"].defaulted() || !std::getenv("STATE_DIRECTORY")) {
    // explicit value, or no systemd-provided one
  } else {
    // systemd's StateDirectory= may list several, colon-separated: the first is ours.
    std::string env = std::getenv("STATE_DIRECTORY");
    o.state_dir = env.substr(0, env.find(':'));
  }
  if (o.data_dir.empty()) return bad("data-dir", "must not be empty");
  if (o.state_dir.empty()) return bad("state-dir", "must not be empty");
  o.csv_label_column = Get<std::string>(vm, "csv-label-column");
  if (o.csv_label_column.find(',') != std::string::npos) {
    return bad("csv-label-column",
               "'" + o.csv_label_column + "' contains a comma, which no CSV column name can");
  }
  o.test_files = SplitList(Get<std::string>(vm, "test-files"));
  if (Status st = CheckTestFileGlobs(o.test_files); !st.ok())
    return bad("test-files", st.message());
  o.control_socket = Get<std::string>(vm, "control-socket");
  o.control_group = Get<std::string>(vm, "control-group");
  o.model_export_dir = Get<std::string>(vm, "model-export-dir");
  o.model_export_formats = SplitList(Get<std::string>(vm, "model-export-formats"));
  if (o.model_export_formats.empty())
    return bad("model-export-formats",
               "must name at least one format (" + ExportFormatNames() + ")");
  for (const std::string& f : o.model_export_formats) {
    if (FindExportFormat(f) == nullptr) {
      return bad("model-export-formats",
                 "'" + f + "' is not a format; valid: " + ExportFormatNames());
    }
  }

  uint32_t port = Get<uint32_t>(vm, "port");
  if (port == 0 || port > 65535)
    return bad("port", "must be in 1..65535, got " + std::to_string(port));
  o.port = static_cast<uint16_t>(port);
  o.bind_address = Get<std::string>(vm, "bind-address");
  boost::system::error_code ec;
  boost::asio::ip::make_address(o.bind_address, ec);
  if (ec) return bad("bind-address", "'" + o.bind_address + "' is not an IP address");

  o.broadcast = SplitList(Get<std::string>(vm, "broadcast"));
  if (o.broadcast.empty()) return bad("broadcast", "empty; use 'none' to disable broadcast");
  for (const auto& b : o.broadcast) {
    if (b == "auto" || b == "none") {
      if (o.broadcast.size() != 1)
        return bad("broadcast", "'" + b + "' cannot be mixed with addresses");
      continue;
    }
    auto addr = boost::asio::ip::make_address(b, ec);
    if (ec || !addr.is_v4()) return bad("broadcast", "'" + b + "' is not an IPv4 address");
  }
  if (o.broadcast.size() == 1 && o.broadcast[0] == "none") o.broadcast.clear();
  o.peers = SplitList(Get<std::string>(vm, "peer"));
  for (const auto& p : o.peers) {
    auto hp = SplitHostPort(p);
    if (!hp.ok()) return bad("peer", hp.status().message());
  }
  if (vm.count("fleet") != 0) {
    for (const std::string& item : Get<std::vector<std::string>>(vm, "fleet")) {
      for (const std::string& id : SplitList(item)) {
        Result<PublicKey> key = ParseNodeId(id);
        if (!key.ok())
          return bad("fleet", "'" + id + "' is not a fleet ID: " + key.status().message());
        std::string canonical = FormatNodeId(*key);
        if (std::find(o.fleets.begin(), o.fleets.end(), canonical) == o.fleets.end()) {
          o.fleets.push_back(canonical);
        }
      }
    }
    if (o.fleets.size() > kMaxFleets) {
      return bad("fleet", "at most " + std::to_string(kMaxFleets) + " fleets");
    }
  }
  o.multicast_group = Get<std::string>(vm, "multicast-group");
  if (!o.multicast_group.empty()) {
    auto addr = boost::asio::ip::make_address(o.multicast_group, ec);
    if (ec || !addr.is_v6() || !addr.is_multicast()) {
      return bad("multicast-group", "'" + o.multicast_group + "' is not an IPv6 multicast address");
    }
  }
  o.multicast_interface = Get<std::string>(vm, "multicast-interface");
  o.multicast_hops = Get<uint32_t>(vm, "multicast-hops");
  if (o.multicast_hops < 1 || o.multicast_hops > 255) {
    return bad("multicast-hops", "must be in 1..255, got " + std::to_string(o.multicast_hops));
  }
  o.endpoints = SplitList(Get<std::string>(vm, "endpoint"));
  if (o.endpoints.size() > kMaxUriEndpoints) {
    return bad("endpoint", "at most " + std::to_string(kMaxUriEndpoints) + " endpoints");
  }
  for (size_t i = 0; i < o.endpoints.size(); ++i) {
    if (Status st = ValidateEndpoint(o.endpoints[i]); !st.ok())
      return bad("endpoint", st.message());
    for (size_t j = 0; j < i; ++j) {
      if (o.endpoints[j] == o.endpoints[i]) return bad("endpoint", o.endpoints[i] + " given twice");
    }
  }
  o.metrics_listen = Get<std::string>(vm, "metrics-listen");
  if (!o.metrics_listen.empty()) {
    auto hp = SplitHostPort(o.metrics_listen);
    if (!hp.ok()) return bad("metrics-listen", hp.status().message());
    auto addr = boost::asio::ip::make_address(hp->first, ec);
    if (ec || !addr.is_loopback()) {
      return bad("metrics-listen", "'" + hp->first +
                                       "' is not a loopback address (metrics are served on "
                                       "loopback only; use a reverse proxy to expose them)");
    }
  }

  o.display_name = Get<std::string>(vm, "display-name");
  if (o.display_name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) == 0) o.display_name = host;
  }
  if (o.display_name.size() > 64) return bad("display-name", "longer than 64 bytes");

  o.layers.clear();
  for (const auto& item : SplitList(Get<std::string>(vm, "layers"))) {
    char* end = nullptr;
    unsigned long v = std::strtoul(item.c_str(), &end, 10);
    if (*end != '\0' || v == 0 || v > 65536) {
      return bad("layers", "'" + item + "' is not a layer width in 1..65536");
    }
    o.layers.push_back(static_cast<uint32_t>(v));
  }
  if (o.layers.size() < 3 || o.layers.size() > 17) {
    // The engine needs a hidden layer (node.cpp): fail here, in --check-config, not at start.
    return bad("layers", "needs 3 to 17 sizes: input, at least one hidden layer, classes");
  }
  if (o.layers.back() < 2 || o.layers.back() > 256) return bad("layers", "classes must be 2..256");
  o.init_seed = Get<uint64_t>(vm, "init-seed");
  o.learning_rate = Get<double>(vm, "learning-rate");
  if (!(o.learning_rate > 0 && o.learning_rate <= 10))
    return bad("learning-rate", "must be in (0, 10]");
  if (vm["learning-rate-floor"].defaulted()) {
    o.learning_rate_floor = o.learning_rate / 10;
  } else {
    o.learning_rate_floor = Get<double>(vm, "learning-rate-floor");
    // A floor of 0 would stop a long-running daemon from ever learning new data.
    if (!(o.learning_rate_floor > 0 && o.learning_rate_floor <= o.learning_rate)) {
      std::ostringstream lr;
      lr << o.learning_rate;
      return bad("learning-rate-floor",
                 "must be in (0, learning-rate] = (0, " + lr.str() +
                     "]; a rate of 0 would never learn new data (for a constant rate set "
                     "learning-rate-decay-steps = 0)");
    }
  }
  o.learning_rate_decay_steps = Get<uint64_t>(vm, "learning-rate-decay-steps");
  if (o.learning_rate_decay_steps > kMaxDecaySteps) {
    return bad("learning-rate-decay-steps", "must be at most " + std::to_string(kMaxDecaySteps));
  }
  o.momentum = Get<double>(vm, "momentum");
  if (!(o.momentum >= 0 && o.momentum < 1)) return bad("momentum", "must be in [0, 1)");
  o.batch_size = Get<uint32_t>(vm, "batch-size");
  if (o.batch_size == 0 || o.batch_size > 4096) return bad("batch-size", "must be in 1..4096");
  o.batches_per_round = Get<uint32_t>(vm, "batches-per-round");
  if (o.batches_per_round == 0 || o.batches_per_round > 1000) {
    return bad("batches-per-round", "must be in 1..1000");
  }
  o.aggregator = Get<std::string>(vm, "aggregator");
  if (auto agg = ParseAggregator(o.aggregator); !agg.ok()) {
    return bad("aggregator",
               agg.status().message() + " (use mean, median, trimmed:B, clip or clip:TAU)");
  }
  o.input_scaling = Get<std::string>(vm, "input-scaling");
  if (o.input_scaling != "fleet" && o.input_scaling != "none") {
    return bad("input-scaling", "'" + o.input_scaling + "' is neither fleet nor none");
  }
  o.peer_memory_horizon = Get<double>(vm, "peer-memory-horizon");
  if (!(o.peer_memory_horizon >= 0 && o.peer_memory_horizon <= 30 * 86400.0)) {
    return bad("peer-memory-horizon", "must be between 0 (off) and 2592000 seconds (30 days)");
  }
  o.dp_noise_multiplier = Get<double>(vm, "dp-noise-multiplier");
  if (!(o.dp_noise_multiplier >= 0 && o.dp_noise_multiplier <= 1e4)) {
    return bad("dp-noise-multiplier", "must be in [0, 10000]");
  }
  o.dp_clip = Get<double>(vm, "dp-clip");
  if (!(o.dp_clip >= 0 && o.dp_clip <= 1e6)) return bad("dp-clip", "must be in [0, 1e6]");
  if ((o.dp_noise_multiplier > 0) != (o.dp_clip > 0)) {
    return bad(o.dp_clip > 0 ? "dp-clip" : "dp-noise-multiplier",
               "differential privacy needs both dp-noise-multiplier and dp-clip > 0");
  }
  const bool dp = o.dp_clip > 0;
  o.dp_epsilon_budget = Get<double>(vm, "dp-epsilon-budget");
  if (!(o.dp_epsilon_budget >= 0 && o.dp_epsilon_budget <= 1e6)) {
    return bad("dp-epsilon-budget", "must be in [0, 1e6]");
  }
  o.dp_delta = Get<double>(vm, "dp-delta");
  if (!(o.dp_delta >= 0 && o.dp_delta <= 1e-3))
    return bad("dp-delta", "must be 0 (automatic) or in (0, 1e-3]");
  if (!dp && (o.dp_epsilon_budget > 0 || o.dp_delta > 0)) {
    return bad(o.dp_delta > 0 ? "dp-delta" : "dp-epsilon-budget",
               "does nothing without dp-noise-multiplier and dp-clip");
  }
  const std::string stats = Get<std::string>(vm, "announce-stats");
  if (stats != "auto" && stats != "true" && stats != "false") {
    return bad("announce-stats", "'" + stats + "' is not true, false or auto");
  }
  o.announce_stats = stats == "auto" ? !dp : stats == "true";
  o.cpu_budget = Get<double>(vm, "cpu-budget");
  if (!(o.cpu_budget > 0 && o.cpu_budget <= 1)) return bad("cpu-budget", "must be in (0, 1]");
  o.holdout_fraction = Get<double>(vm, "holdout-fraction");
  if (!(o.holdout_fraction >= 0 && o.holdout_fraction <= 0.9)) {
    return bad("holdout-fraction", "must be in [0, 0.9]");
  }
  o.holdout_seed = Get<uint64_t>(vm, "holdout-seed");

  struct Interval {
    const char* key;
    double* field;
    double min;
  };
  for (const Interval& iv : {Interval{"announce-interval", &o.announce_interval, 0.05},
                             Interval{"send-interval", &o.send_interval, 0.01},
                             Interval{"checkpoint-interval", &o.checkpoint_interval, 1},
                             Interval{"rescan-interval", &o.rescan_interval, 0},
                             Interval{"eval-interval", &o.eval_interval, 0.1},
                             Interval{"peer-exchange-interval", &o.peer_exchange_interval, 0},
                             Interval{"peer-exchange-ttl", &o.peer_exchange_ttl, 1},
                             Interval{"resolve-interval", &o.resolve_interval, 1}}) {
    *iv.field = Get<double>(vm, iv.key);
    if (!std::isfinite(*iv.field) || *iv.field < iv.min || *iv.field > 86400 * 7) {
      return bad(iv.key, "must be between " + std::to_string(iv.min) + " and 604800 seconds");
    }
  }
  if (o.peer_exchange_interval > 0 && o.peer_exchange_ttl < 2 * o.peer_exchange_interval) {
    // An endpoint must outlive the gap between two exchanges that refresh it (and one loss).
    return bad("peer-exchange-ttl", "must be at least twice peer-exchange-interval");
  }
  o.log_level = Get<std::string>(vm, "log-level");
  static const std::set<std::string> kLevels{"trace", "debug",    "info", "warn",
                                             "error", "critical", "off"};
  if (!kLevels.count(o.log_level)) return bad("log-level", "'" + o.log_level + "' is not a level");
  o.config_path = prov.file;
  return o;
}

}  // namespace

std::vector<std::string> ConfigKeys() {
  std::vector<std::string> keys;
  const po::options_description desc = FileOptions();
  for (const auto& opt : desc.options()) keys.push_back(opt->long_name());
  return keys;
}

std::string OptionsHelp() {
  std::ostringstream out;
  out << "Usage: dustd [--config FILE] [--check-config] [--KEY VALUE]...\n"
         "The Neural Dust peer daemon: learns from a data directory and from trusted peers.\n\n"
      << CommandLineOnly() << "\n"
      << FileOptions();
  return out.str();
}

Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("'" + text + "' is not [IPv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return Status::InvalidArgument("'" + text + "' is not host:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  char* end = nullptr;
  unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (host.empty() || port.empty() || *end != '\0' || p == 0 || p > 65535) {
    return Status::InvalidArgument("'" + text + "': port must be in 1..65535");
  }
  return std::make_pair(host, static_cast<uint16_t>(p));
}

std::string ResolveSocketPath(const Options& options) {
  if (!options.control_socket.empty()) return options.control_socket;
  if (const char* rt = std::getenv("RUNTIME_DIRECTORY"); rt && *rt) {
    std::string dir = rt;
    return dir.substr(0, dir.find(':')) + "/dustd.sock";
  }
  return kDefaultSocketPath;
}

Result<Options> ParseConfigText(const std::string& text, const std::string& path) {
  try {
    po::options_description desc = FileOptions();
    po::variables_map vm;
    Provenance prov;
    DUST_RETURN_IF_ERROR(StoreConfigText(text, path, desc, vm, &prov));
    // Fill in the defaults of everything the file did not set.
    po::store(po::parsed_options(&desc), vm);
    po::notify(vm);
    return Build(vm, prov);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
}

ParseOutcome ParseOptions(int argc, const char* const* argv) {
  ParseOutcome out;
  auto fail = [&](const std::string& msg) {
    out.action = ParseOutcome::Action::kExitError;
    out.message = "dustd: " + msg + "\n";
    return out;
  };
  try {
    po::options_description file_opts = FileOptions();
    po::options_description all;
    all.add(CommandLineOnly()).add(file_opts);
    po::variables_map vm;
    Provenance prov;
    po::parsed_options cli = po::command_line_parser(argc, argv).options(all).run();
    for (const auto& opt : cli.options) prov.command_line.insert(opt.string_key);
    po::store(cli, vm);
    if (vm.count("help")) {
      out.action = ParseOutcome::Action::kExitOk;
      out.message = OptionsHelp();
      return out;
    }
    if (vm.count("version")) {
      out.action = ParseOutcome::Action::kExitOk;
#ifdef DUST_VERSION
      out.message = std::string("dustd ") + DUST_VERSION + "\n";
#else
      out.message = "dustd (unknown version)\n";
#endif
      return out;
    }
    std::string config_path = kDefaultConfigPath;
    bool explicit_config = vm.count("config") > 0;
    if (explicit_config) config_path = vm["config"].as<std::string>();
    auto text = ReadFile(config_path, kMaxConfigBytes);
    if (text.ok()) {
      std::string s(text->begin(), text->end());
      Status st = StoreConfigText(s, config_path, file_opts, vm, &prov);
      if (!st.ok()) return fail(st.message());
    } else if (explicit_config || text.status().code() != StatusCode::kNotFound) {
      return fail("config file " + text.status().message());
    }
    po::store(po::parsed_options(&all), vm);
    po::notify(vm);
    auto built = Build(vm, prov);
    if (!built.ok()) return fail(built.status().message());
    out.options = std::move(built.value());
    out.options.check_config = vm.count("check-config") > 0;
    return out;
  } catch (const std::exception& e) {
    return fail(std::string(e.what()) + " (see dustd --help)");
  }
}

}  // namespace dust::daemon
