// dustd configuration: every error about the file names the file and line.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "options.h"
#include "testutil/temp_dir.h"

using dust::daemon::ParseConfigText;
using dust::daemon::ParseOptions;
using dust::daemon::ParseOutcome;

namespace {

// Checks that the config `text` (read as test.conf) is refused with a message that contains
// each of `parts`.
void CheckErrorMentions(const std::string& text, std::initializer_list<std::string> parts) {
  auto r = ParseConfigText(text, "test.conf");
  REQUIRE_FALSE(r.ok());
  const std::string msg = r.status().message();
  for (const std::string& part : parts) CHECK_THAT(msg, Catch::Matchers::Contains(part));
}

// The config file shipped in config/dustd.conf.
std::string ShippedConfig() {
  std::ifstream in(std::string(DUST_SOURCE_DIR) + "/config/dustd.conf");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("config: an unknown key is rejected with its file and line", "[daemon][options]") {
  CheckErrorMentions("# comment\nport = 5000\n\nfrobnicate = 3\n", {"test.conf:4:", "frobnicate"});
}

TEST_CASE("config: a line without '=' is rejected with its line", "[daemon][options]") {
  CheckErrorMentions("port = 5000\nthis is not an option\n", {"test.conf:2:"});
}

TEST_CASE("config: a section header is rejected with its line", "[daemon][options]") {
  CheckErrorMentions("\n[network]\nport = 1\n", {"test.conf:2:"});
}

TEST_CASE("config: a repeated key names both lines", "[daemon][options]") {
  CheckErrorMentions("port = 5000\nlog-level = debug\nport = 6000\n", {"test.conf:3:", "line 1"});
}

TEST_CASE("config: a value of the wrong type is rejected with its line", "[daemon][options]") {
  CheckErrorMentions("\n\nport = fast\n", {"test.conf:3:", "port"});
}

TEST_CASE("config: an out-of-range value is rejected with its line and the range",
          "[daemon][options]") {
  CheckErrorMentions("log-level = info\ncpu-budget = 1.5\n", {"test.conf:2: cpu-budget", "(0, 1]"});
  CheckErrorMentions("port = 70000\n", {"test.conf:1: port"});
  CheckErrorMentions("layers = 784,0,10\n", {"test.conf:1: layers"});
  // No hidden layer: the engine could not start with it, so the config check refuses it.
  CheckErrorMentions("layers = 784,10\n", {"hidden layer"});
  CheckErrorMentions("aggregator = vote\n", {"test.conf:1: aggregator"});
  CheckErrorMentions("input-scaling = zscore\n", {"test.conf:1: input-scaling", "fleet nor none"});
  CheckErrorMentions("broadcast = 10.0.0.255, auto\n", {"test.conf:1: broadcast"});
  CheckErrorMentions("peer = nohost\n", {"test.conf:1: peer"});
}

TEST_CASE("config: metrics are refused on a non-loopback address", "[daemon][options]") {
  CheckErrorMentions("metrics-listen = 0.0.0.0:9617\n", {"loopback"});
  CHECK(ParseConfigText("metrics-listen = 127.0.0.1:9617\n", "t").ok());
}

TEST_CASE("config: values from the file are applied, comments ignored", "[daemon][options]") {
  auto r = ParseConfigText(
      "port = 5000   # inline comment\n; semicolon comment\n"
      "broadcast = 127.255.255.255, 10.0.0.255\npeer = 10.1.1.1:48620,[fe80::1]:48620\n"
      "layers = 784, 64, 10\ncpu-budget = 0.25\nbroadcast-never = \n",
      "t");
  REQUIRE_FALSE(r.ok());  // the last line is an unknown key
  auto ok = ParseConfigText(
      "port = 5000   # inline comment\n; semicolon comment\n"
      "broadcast = 127.255.255.255, 10.0.0.255\npeer = 10.1.1.1:48620,[fe80::1]:48620\n"
      "layers = 784, 64, 10\ncpu-budget = 0.25\n",
      "t");
  REQUIRE(ok.ok());
  CHECK(ok->port == 5000);
  CHECK(ok->broadcast == std::vector<std::string>{"127.255.255.255", "10.0.0.255"});
  CHECK(ok->peers.size() == 2);
  CHECK(ok->layers == std::vector<uint32_t>{784, 64, 10});
  CHECK(ok->cpu_budget == 0.25);
  CHECK(ParseConfigText("broadcast = none\n", "t")->broadcast.empty());
}

TEST_CASE("config: how the data dir is read: CSV label column and test-file globs",
          "[daemon][options]") {
  auto defaults = ParseConfigText("", "t");
  REQUIRE(defaults.ok());
  CHECK(defaults->csv_label_column.empty());
  CHECK(defaults->test_files.empty());
  auto set =
      ParseConfigText("csv-label-column = target\ntest-files = test/*, *-holdout.csv\n", "t");
  REQUIRE(set.ok());
  CHECK(set->csv_label_column == "target");
  CHECK(set->test_files == std::vector<std::string>{"test/*", "*-holdout.csv"});
  CheckErrorMentions("\ncsv-label-column = a,b\n", {"test.conf:2: csv-label-column", "comma"});
  CheckErrorMentions("test-files = /var/lib/dust/data/*.csv\n",
                     {"test.conf:1: test-files", "is absolute"});
  dust::testutil::TempDir dir;
  const std::string conf = dir.WriteFile("d.conf", "");
  const char* argv[] = {"dustd", "--config",     conf.c_str(), "--csv-label-column",
                        "y",     "--test-files", "eval/*"};
  ParseOutcome out = ParseOptions(7, argv);
  REQUIRE(out.action == ParseOutcome::Action::kRun);
  CHECK(out.options.csv_label_column == "y");
  CHECK(out.options.test_files == std::vector<std::string>{"eval/*"});
}

TEST_CASE("config: the command line overrides the file", "[daemon][options]") {
  dust::testutil::TempDir dir;
  std::string conf = dir.WriteFile("d.conf", "port = 5000\ncpu-budget = 0.3\n");
  const char* argv[] = {"dustd", "--config", conf.c_str(), "--port", "6000"};
  ParseOutcome out = ParseOptions(5, argv);
  REQUIRE(out.action == ParseOutcome::Action::kRun);
  CHECK(out.options.port == 6000);
  CHECK(out.options.cpu_budget == 0.3);
}

TEST_CASE("config: a bad file is reported by ParseOptions with file and line",
          "[daemon][options]") {
  dust::testutil::TempDir dir;
  std::string conf = dir.WriteFile("d.conf", "port = 5000\n\nnope = 1\n");
  const char* argv[] = {"dustd", "--config", conf.c_str(), "--check-config"};
  ParseOutcome out = ParseOptions(4, argv);
  REQUIRE(out.action == ParseOutcome::Action::kExitError);
  CHECK(out.message.find(conf + ":3:") != std::string::npos);
  // An explicit config file that does not exist is an error too.
  std::string missing = dir.Path("missing.conf");
  const char* argv2[] = {"dustd", "--config", missing.c_str()};
  CHECK(ParseOptions(3, argv2).action == ParseOutcome::Action::kExitError);
}

TEST_CASE("config: the shipped dustd.conf parses and lists every option", "[daemon][options]") {
  const std::string text = ShippedConfig();
  auto r = ParseConfigText(text, "dustd.conf");
  REQUIRE(r.ok());
  for (const std::string& key : dust::daemon::ConfigKeys()) {
    INFO(key);
    CHECK(text.find("\n#" + key + " =") != std::string::npos);
  }
}

TEST_CASE("config: the defaults written in dustd.conf are the built-in defaults",
          "[daemon][options]") {
  std::istringstream in(ShippedConfig());
  std::string line, uncommented;
  while (std::getline(in, line)) {
    // "#key = value" lines are the options; "# text" lines are prose.
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ') line = line.substr(1);
    uncommented += line + "\n";
  }
  auto r = ParseConfigText(uncommented, "dustd.conf (uncommented)");
  REQUIRE(r.ok());
  dust::daemon::Options d;
  CHECK(r->port == d.port);
  CHECK(r->data_dir == d.data_dir);
  CHECK(r->bind_address == d.bind_address);
  CHECK(r->broadcast == d.broadcast);
  CHECK(r->layers == d.layers);
  CHECK(r->init_seed == d.init_seed);
  CHECK(r->learning_rate == d.learning_rate);
  CHECK(r->momentum == d.momentum);
  CHECK(r->batch_size == d.batch_size);
  CHECK(r->batches_per_round == d.batches_per_round);
  CHECK(r->aggregator == d.aggregator);
  CHECK(r->input_scaling == "fleet");
  CHECK(r->cpu_budget == d.cpu_budget);
  CHECK(r->holdout_fraction == d.holdout_fraction);
  CHECK(r->holdout_seed == d.holdout_seed);
  CHECK(r->announce_interval == d.announce_interval);
  CHECK(r->send_interval == d.send_interval);
  CHECK(r->checkpoint_interval == d.checkpoint_interval);
  CHECK(r->rescan_interval == d.rescan_interval);
  CHECK(r->eval_interval == d.eval_interval);
  CHECK(r->log_level == d.log_level);
}

TEST_CASE("config: model-export-dir is off by default and its formats are validated",
          "[daemon][options]") {
  auto d = ParseConfigText("", "t");
  REQUIRE(d.ok());
  CHECK(d->model_export_dir.empty());
  CHECK(d->model_export_formats ==
        std::vector<std::string>{"onnx", "c-header", "safetensors", "json"});
  auto set = ParseConfigText(
      "model-export-dir = /var/lib/dust/model\nmodel-export-formats = onnx, c-header\n", "t");
  REQUIRE(set.ok());
  CHECK(set->model_export_dir == "/var/lib/dust/model");
  CHECK(set->model_export_formats == std::vector<std::string>{"onnx", "c-header"});
  CheckErrorMentions(
      "model-export-formats = onnx,tflite\n",
      {"test.conf:1: model-export-formats", "'tflite'", "onnx, c-header, safetensors, json"});
  CheckErrorMentions("model-export-formats = ,\n", {"test.conf:1: model-export-formats"});
}

TEST_CASE("config: differential privacy options and announce-stats", "[daemon][options]") {
  auto on = ParseConfigText(
      "dp-noise-multiplier = 0.9\ndp-clip = 1.5\ndp-epsilon-budget = 3\ndp-delta = 1e-6\n", "c");
  REQUIRE(on.ok());
  CHECK(on->dp_noise_multiplier == 0.9);
  CHECK(on->dp_clip == 1.5);
  CHECK(on->dp_epsilon_budget == 3);
  CHECK(on->dp_delta == 1e-6);
  CHECK_FALSE(on->announce_stats);  // auto: off with DP
  auto off = ParseConfigText("", "c");
  REQUIRE(off.ok());
  CHECK(off->announce_stats);  // auto: on without DP
  CHECK(off->dp_clip == 0);
  auto forced =
      ParseConfigText("dp-noise-multiplier = 1\ndp-clip = 1\nannounce-stats = true\n", "c");
  REQUIRE(forced.ok());
  CHECK(forced->announce_stats);
  // One of the pair alone, a budget or delta without DP, values out of range: refused, naming
  // the option.
  for (const char* bad :
       {"dp-clip = 1\n", "dp-noise-multiplier = 1\n", "dp-epsilon-budget = 2\n",
        "dp-delta = 1e-6\n", "dp-noise-multiplier = -1\ndp-clip = 1\n",
        "dp-noise-multiplier = 1\ndp-clip = 1\ndp-delta = 0.01\n", "announce-stats = maybe\n"}) {
    INFO(bad);
    auto r = ParseConfigText(bad, "c");
    REQUIRE_FALSE(r.ok());
    const std::string m = r.status().message();
    CHECK((m.find("dp-") != std::string::npos || m.find("announce-stats") != std::string::npos));
  }
}

TEST_CASE("config: reach options: multicast-hops, endpoint, peer exchange, resolve interval",
          "[daemon][options]") {
  auto ok = ParseConfigText(
      "multicast-hops = 8\nendpoint = 192.0.2.7:48620, [2001:db8::7]:48620, dust.example:1\n"
      "peer-exchange-interval = 5\npeer-exchange-ttl = 60\nresolve-interval = 30\n",
      "t");
  REQUIRE(ok.ok());
  CHECK(ok->multicast_hops == 8);
  CHECK(ok->endpoints ==
        std::vector<std::string>{"192.0.2.7:48620", "[2001:db8::7]:48620", "dust.example:1"});
  CHECK(ok->peer_exchange_interval == 5);
  CHECK(ok->peer_exchange_ttl == 60);
  CHECK(ok->resolve_interval == 30);
  CheckErrorMentions("multicast-hops = 0\n", {"test.conf:1: multicast-hops", "1..255"});
  CheckErrorMentions("multicast-hops = 256\n", {"test.conf:1: multicast-hops", "1..255"});
  CheckErrorMentions("endpoint = 192.0.2.7\n", {"test.conf:1: endpoint", "missing :port"});
  CheckErrorMentions("endpoint = a.b:1,a.b:1\n", {"test.conf:1: endpoint", "given twice"});
  CheckErrorMentions("endpoint = a.b:1,a.c:1,a.d:1,a.e:1,a.f:1\n",
                     {"test.conf:1: endpoint", "at most 4"});
  CheckErrorMentions("peer-exchange-interval = 30\npeer-exchange-ttl = 40\n",
                     {"test.conf:2: peer-exchange-ttl", "twice peer-exchange-interval"});
  CheckErrorMentions("resolve-interval = 0\n", {"test.conf:1: resolve-interval"});
  // Off: no exchange, so no constraint on the TTL.
  CHECK(ParseConfigText("peer-exchange-interval = 0\npeer-exchange-ttl = 1\n", "t").ok());
}

TEST_CASE("config: fleet IDs are parsed, normalised and deduplicated; bad ones named",
          "[daemon][options]") {
  // The fleet ID of docs/protocol.md's test vector, and another written in lower case without
  // dashes (as typed).
  const std::string a = "VXAUAEP-YFUOFNX-WKWVJHZ-246YQW4-BWDJQGA-SCSLYGQ-QRRRY3R-253DDQR";
  const std::string b = "FEN73A6-IEGEKHP-27E2YI6-IZ3L5NR-IVQJ6AQ-YAMCDCE-XFUEWNR-BFVPTQQ";
  std::string b_typed = "fen73a6iegekhp27e2yi6iz3l5nrivqj6aqyamcdcexfuewnrbfvptqq";
  auto ok = ParseConfigText("fleet = " + a + ", " + b_typed + ", " + a + "\n", "t");
  REQUIRE(ok.ok());
  CHECK(ok->fleets == std::vector<std::string>{a, b});
  CHECK(ParseConfigText("port = 5000\n", "t")->fleets.empty());
  CheckErrorMentions("\nfleet = " + a.substr(0, 62) + "X\n",
                     {"test.conf:2:", "fleet", "not a fleet ID"});
  const char* argv[] = {"dustd", "--fleet", a.c_str(), "--fleet", b.c_str()};
  ParseOutcome out = ParseOptions(5, argv);
  REQUIRE(out.action == ParseOutcome::Action::kRun);
  CHECK(out.options.fleets == std::vector<std::string>{a, b});
}
