// dust-sim's command line: the options, their checks, the --attack spec and the learning-rate
// schedule they set.
#include <boost/program_options.hpp>
#include <cmath>
#include <initializer_list>
#include <iostream>

#include "bench_options.h"
#include "model_shape.h"
#include "sim.h"

namespace po = boost::program_options;

namespace dust::sim {

Result<Attack> ParseAttack(const std::string& s) {
  Attack a;
  if (s.empty() || s == "none") return a;
  if (s == "signflip")
    a.kind = Attack::kSignflip;
  else if (s == "noise")
    a.kind = Attack::kNoise;
  else if (s == "labelflip")
    a.kind = Attack::kLabelflip;
  else if (s.starts_with("scale:")) {
    a.kind = Attack::kScale;
    try {
      a.scale = std::stof(s.substr(6));
    } catch (const std::exception&) {
      return Status::InvalidArgument("--attack scale:X needs a number");
    }
  } else {
    return Status::InvalidArgument("--attack: signflip, scale:X, noise or labelflip");
  }
  return a;
}

namespace {

// The options that name one of a few choices: anything else is an error, not a default.
Status CheckChoices(const Config& c) {
  const auto one_of = [](const std::string& v, std::initializer_list<const char*> choices) {
    for (const char* x : choices) {
      if (v == x) return true;
    }
    return false;
  };
  if (!one_of(c.algorithm, {"dust", "fedavg", "local", "centralized"})) {
    return Status::InvalidArgument("--algorithm '" + c.algorithm +
                                   "': dust, fedavg, local or centralized");
  }
  if (!one_of(c.coding, {"int8", "int16", "fp16"})) {
    return Status::InvalidArgument("--coding '" + c.coding + "': int8, int16 or fp16");
  }
  if (!one_of(c.gossip, {"hybrid", "absolute"})) {
    return Status::InvalidArgument("--gossip '" + c.gossip + "': hybrid or absolute");
  }
  if (!one_of(c.memory, {"on", "delta", "anchor", "off"})) {
    return Status::InvalidArgument("--memory '" + c.memory + "': on, delta, anchor or off");
  }
  if (!one_of(c.scaling, {"fleet", "none"})) {
    return Status::InvalidArgument("--scaling '" + c.scaling + "': fleet or none");
  }
  return Status::Ok();
}

// An option given on the command line that the chosen algorithm does not use would leave its
// figures looking like a measurement of that option: refuse it. (--split stays allowed with
// centralized, where it is validated but unused, because the documented commands share one
// prefix across algorithms.)
Status CheckUsed(const Config& c, const po::variables_map& vm) {
  const auto given = [&](const char* name) { return vm.count(name) && !vm[name].defaulted(); };
  std::vector<const char*> unused;
  if (c.algorithm != "dust") {
    // No datagram is delivered (local) or there is no network at all (the baselines).
    for (const char* name :
         {"loss", "partition", "aggregator", "coding", "gossip", "delta-fraction", "no-head",
          "memory", "memory-horizon", "memory-anchor", "fleet"}) {
      unused.push_back(name);
    }
  }
  if (c.algorithm == "centralized" || c.algorithm == "fedavg") {
    for (const char* name : {"churn", "sleep", "shift", "byzantine", "attack"}) {
      unused.push_back(name);
    }
  }
  if (c.algorithm == "fedavg") unused.push_back("batches-per-round");  // one local epoch each
  for (const char* name : unused) {
    if (given(name)) {
      return Status::InvalidArgument("--" + std::string(name) + " does nothing with --algorithm " +
                                     c.algorithm);
    }
  }
  if (c.algorithm != "dust" && c.algorithm != "local") {
    for (const char* name : {"dp-noise", "dp-clip", "dp-budget", "dp-delta"}) {
      if (given(name)) {
        return Status::InvalidArgument("--" + std::string(name) +
                                       " does nothing with --algorithm " + c.algorithm);
      }
    }
  }
  if ((c.dp_noise > 0) != (c.dp_clip > 0)) {
    return Status::InvalidArgument("DP needs both --dp-noise and --dp-clip");
  }
  if ((given("dp-budget") || given("dp-delta")) && !(c.dp_noise > 0)) {
    return Status::InvalidArgument("--dp-budget and --dp-delta need --dp-noise and --dp-clip");
  }
  if (given("attack") && !(c.byzantine > 0)) {
    return Status::InvalidArgument("--attack does nothing without --byzantine");
  }
  return Status::Ok();
}

}  // namespace

float LearningRate(const Config& c, uint32_t round) {
  if (c.lr_final >= 1.0) return static_cast<float>(c.lr);
  double t = static_cast<double>(round) / std::max<uint32_t>(c.rounds, 1);
  double f = c.lr_final + (1 - c.lr_final) * 0.5 * (1 + std::cos(M_PI * t));
  return static_cast<float>(c.lr * f);
}

std::optional<int> ParseSimOptions(int argc, char** argv, Config* config, Attack* attack_out) {
  Config& c = *config;
  std::string partition;
  po::options_description desc(
      "dust-sim: N engine nodes on a virtual network (docs/engine.md)\n\nOptions");
  desc.add_options()("help,h", "this help")("data", po::value<std::string>()->required(),
                                            "data directory (train and test IDX/CSV)")(
      "nodes", po::value(&c.nodes)->default_value(20), "number of nodes")(
      "split", po::value<std::string>()->default_value("iid"), "iid | shards:K | dirichlet:A")(
      "rounds", po::value(&c.rounds)->default_value(400), "rounds (one datagram per node each)")(
      "loss", po::value(&c.loss)->default_value(0.0), "datagram loss probability per receiver")(
      "partition", po::value<std::string>(), "R:H  cut the two halves apart from round R to H")(
      "churn", po::value(&c.churn)->default_value(0.0),
      "every 20 rounds each node is offline for the next 20 with this probability")(
      "sleep", po::value<std::string>(),
      "F:R1:R2  a seed-chosen fraction F of the nodes is offline from round R1 to R2; the "
      "summary reports max_drop (online nodes, all test data, every 10 rounds)")(
      "shift", po::value(&c.shift_round),
      "R  the last class is in no node's data until round R, when one node (the first that "
      "does not --sleep) gets all its training samples; the summary reports how fast the "
      "online nodes learn it")(
      "fleet", po::bool_switch(&c.fleet),
      "trust by fleet certificates: one fleet key signs every node's certificate, each node "
      "learns its peers from them in a trust store of its own (no pairwise trust)")(
      "memory", po::value<std::string>()->default_value("on"),
      "memory of absent peers: on (remembered delta and anchor) | delta (MIFA alone) | "
      "anchor | off")(
      "memory-horizon", po::value(&c.memory_horizon)->default_value(0),
      "rounds after which an absent peer is forgotten (0: the engine's default, 48 h of 1-s "
      "rounds)")(
      "memory-anchor", po::value(&c.memory_anchor)->default_value(-1.0),
      "strength of the pull back to an absent peer's anchor, per unit of learning rate (<0: the "
      "engine's default)")("byzantine", po::value(&c.byzantine)->default_value(0.0),
                           "fraction of malicious nodes")(
      "attack", po::value<std::string>()->default_value("signflip"),
      "signflip | scale:X | noise | labelflip")("aggregator",
                                                po::value<std::string>()->default_value("mean"),
                                                "mean | median | trimmed:B | clip[:TAU]")(
      "algorithm", po::value<std::string>()->default_value("dust"),
      "dust | fedavg | local | centralized")("seed", po::value(&c.seed)->default_value(1), "seed")(
      "eval-every", po::value(&c.eval_every)->default_value(20), "rounds between evaluations")(
      "eval-subset", po::value(&c.eval_subset)->default_value(1000),
      "test samples for intermediate evaluations (0: all; the last one always uses all)")(
      "target", po::value(&c.target)->default_value(0.0),
      "accuracy whose first crossing (mean node accuracy) reports bytes_to_target")(
      "batches-per-round", po::value(&c.batches_per_round)->default_value(1),
      "local SGD steps per node per round")(
      "batch-size", po::value(&c.batch_size)->default_value(32), "SGD batch size")(
      "lr", po::value(&c.lr)->default_value(0.0),
      "learning rate (0: 0.2 for dust, whose merged step averages every node's step; 0.05 for "
      "the others)")("momentum", po::value(&c.momentum)->default_value(0.9), "SGD momentum")(
      "lr-final", po::value(&c.lr_final)->default_value(0.1),
      "cosine-decay the learning rate to lr * this by the last round (1: constant)")(
      "coding", po::value<std::string>()->default_value("int8"),
      "update value coding: int8|int16|fp16")(
      "gossip", po::value<std::string>()->default_value("hybrid"), "hybrid | absolute")(
      "scaling", po::value<std::string>()->default_value("fleet"),
      "input scaling: fleet (nodes agree on one from pooled statistics; the baselines use "
      "that of all the data) | none (raw features)")(
      "delta-fraction", po::value(&c.delta_fraction)->default_value(0.6),
      "hybrid: share of the payload for top-k deltas")(
      "no-head", "do not send the small layers every round (plain round-robin sweep)")(
      "dp-noise", po::value(&c.dp_noise)->default_value(0.0),
      "DP-SGD noise multiplier sigma on every node (with --dp-clip; 0: no DP)")(
      "dp-clip", po::value(&c.dp_clip)->default_value(0.0),
      "DP-SGD per-sample gradient clip norm C (with --dp-noise)")(
      "dp-budget", po::value(&c.dp_budget)->default_value(0.0),
      "DP: each node stops training on its data before its epsilon passes this (0: none)")(
      "dp-delta", po::value(&c.dp_delta)->default_value(0.0),
      "DP: delta of the reported epsilon (0: min(1e-5, 0.1 / the node's samples))")(
      "threads", po::value(&c.threads)->default_value(2),
      "threads for receiving and evaluating (output does not depend on it)")(
      "plot", po::value<std::string>(), "write an SVG of accuracy against rounds and bytes")(
      "layers", po::value<std::string>(),
      "layer sizes, input first, classes last, at least one hidden layer, e.g. 784,64,10; must "
      "agree with the data (default: FEATURES,32,CLASSES from the data)")(
      "csv-label-column", po::value(&c.csv_label_column),
      "CSV header name of the label column (default: \"label\" if a header has it, else the "
      "first column)");
  po::variables_map vm;
  const bench::UsageError usage{.program = "dust-sim", .blank_line = true};
  if (auto rc = bench::ParseCommandLine(argc, argv, desc, usage, &vm)) return *rc;
  c.head = vm.count("no-head") == 0;
  auto str = [&](const char* name) {
    return vm.count(name) ? vm[name].as<std::string>() : std::string();
  };
  c.data = str("data");
  c.split = str("split");
  partition = str("partition");
  c.attack = str("attack");
  c.aggregator_spec = str("aggregator");
  c.algorithm = str("algorithm");
  c.coding = str("coding");
  c.plot = str("plot");
  c.gossip = str("gossip");
  c.scaling = str("scaling");
  c.memory = str("memory");
  if (const std::string sleep = str("sleep"); !sleep.empty()) {
    // F:R1:R2
    const auto a = sleep.find(':');
    const auto b = a == std::string::npos ? a : sleep.find(':', a + 1);
    try {
      if (b == std::string::npos) throw std::invalid_argument("sleep");
      c.sleep_fraction = std::stod(sleep.substr(0, a));
      c.sleep_start = std::stoll(sleep.substr(a + 1, b - a - 1));
      c.sleep_end = std::stoll(sleep.substr(b + 1));
    } catch (const std::exception&) {
      c.sleep_start = -1;
    }
    if (c.sleep_start < 0 || c.sleep_end <= c.sleep_start || !(c.sleep_fraction > 0) ||
        !(c.sleep_fraction < 1)) {
      std::cerr << "dust-sim: --sleep F:R1:R2 needs 0 < F < 1 and 0 <= R1 < R2, e.g. "
                   "0.3:100:300\n";
      return 1;
    }
  }
  if (!partition.empty()) {
    auto colon = partition.find(':');
    try {
      c.partition_start = std::stoll(partition.substr(0, colon));
      c.partition_heal = std::stoll(partition.substr(colon + 1));
    } catch (const std::exception&) {
      c.partition_start = -1;
    }
    if (colon == std::string::npos || c.partition_start < 0 ||
        c.partition_heal <= c.partition_start) {
      std::cerr << "dust-sim: --partition R:H needs 0 <= R < H\n";
      return 1;
    }
  }
  if (c.lr == 0.0) c.lr = c.algorithm == "dust" ? 0.2 : 0.05;
  if (c.nodes == 0 || c.nodes > 10000 || c.rounds == 0 || c.loss < 0 || c.loss > 1 || c.churn < 0 ||
      c.churn > 1 || c.byzantine < 0 || c.byzantine >= 1 || c.batch_size == 0 ||
      c.batches_per_round == 0 || !(c.lr > 0) || !(c.lr_final >= 0) || !(c.momentum >= 0) ||
      !(c.delta_fraction >= 0 && c.delta_fraction <= 1) || !(c.dp_noise >= 0) ||
      !(c.dp_clip >= 0) || !(c.dp_budget >= 0) || !(c.dp_delta >= 0 && c.dp_delta < 1)) {
    std::cerr << "dust-sim: an option is out of range (see --help)\n";
    return 1;
  }
  if (c.sleep_start >= 0 && c.partition_start >= 0) {
    std::cerr << "dust-sim: --sleep and --partition each measure their own window: give one\n";
    return 1;
  }
  if (vm.count("shift") && c.shift_round < 1) {
    std::cerr << "dust-sim: --shift R needs R >= 1\n";
    return 1;
  }
  if (auto st = CheckChoices(c); !st.ok()) {
    std::cerr << "dust-sim: " << st.message() << "\n";
    return 1;
  }
  if (auto st = CheckUsed(c, vm); !st.ok()) {
    std::cerr << "dust-sim: " << st.message() << "\n";
    return 1;
  }
  if (vm.count("layers")) {
    auto layers = bench::ParseLayers(str("layers"));
    // The engine's nodes need a hidden layer; the baselines train the same model.
    if (!layers || layers->size() < 3) {
      std::cerr << "dust-sim: --layers must be comma-separated widths in [1, " << kMaxLayerWidth
                << "], at least one hidden layer, e.g. 784,32,10\n";
      return 1;
    }
    c.layers = std::move(*layers);
  }
  auto attack = ParseAttack(c.attack);
  if (!attack.ok()) {
    std::cerr << "dust-sim: " << attack.status().message() << "\n";
    return 1;
  }
  *attack_out = *attack;
  return std::nullopt;
}

}  // namespace dust::sim
