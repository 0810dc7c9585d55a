// dust-bench attacker: a TEST-ONLY malicious peer for the network suite (tests/e2e/netns.sh).
//
//   dust-bench attacker --data DIR --to ADDR --port P --attack signflip|scale:X|noise
//                       [--key FILE] [--uri-out FILE] [--name NAME] [--send-interval S]
//                       [--seconds T]
//
// It is a real engine node (the same libdust Node as dustd, with its own Ed25519 identity) that
// trains on DIR and broadcasts correctly signed, well-formed update datagrams to ADDR:P, but
// tampers with every update's values before they are signed (NodeOptions::tamper_outgoing,
// the hook dust-sim's --byzantine uses): "signflip" negates them, "scale:X" multiplies them by
// X, "noise" adds N(0, 1). Once an operator has trusted its pairing URI (written to --uri-out),
// its updates pass every check of the receive path, so only the aggregator can stop them: this
// is what "a compromised trusted device" looks like on the wire. It receives nothing.
// On SIGTERM/SIGINT (or after --seconds) it prints one JSON object with what it sent.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.h"
#include "bench_registry.h"
#include "bench_time.h"
#include "data_dir.h"
#include "dust/engine/node.h"
#include "dust/ml/dataset.h"
#include "dust/net/identity.h"
#include "dust/net/trust.h"
#include "dust/util/crypto.h"
#include "dust/util/rng.h"

namespace dust::bench {
namespace {

namespace po = boost::program_options;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int RunAttacker(int argc, char** argv) {
  po::options_description desc(
      "dust-bench attacker: TEST-ONLY peer that signs and broadcasts poisoned updates");
  std::string data_dir, to, attack, key_path, uri_out, name;
  uint32_t port = 0;
  double send_interval = 1.0, seconds = 0;
  uint64_t init_seed = 1;
  desc.add_options()("help,h", "this help")("data", po::value(&data_dir)->required(),
                                            "training data directory (IDX/CSV)")(
      "to", po::value(&to)->required(), "IPv4 address to send to (a broadcast address)")(
      "port", po::value(&port)->default_value(48620), "UDP port of the daemons")(
      "attack", po::value(&attack)->default_value("signflip"), "signflip | scale:X | noise")(
      "key", po::value(&key_path)->default_value(""), "identity key file (created if missing)")(
      "uri-out", po::value(&uri_out)->default_value(""), "write the pairing URI to this file")(
      "name", po::value(&name)->default_value("attacker"), "display name")(
      "send-interval", po::value(&send_interval)->default_value(1.0), "seconds per update")(
      "init-seed", po::value(&init_seed)->default_value(1), "model init seed (as the daemons)")(
      "seconds", po::value(&seconds)->default_value(0), "stop after this long (0: on SIGTERM)");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(argc, argv, desc, {"dust-bench attacker"}, &vm)) return *rc;
  auto fail = [](const std::string& m) {
    std::cerr << "dust-bench attacker: " << m << "\n";
    return 1;
  };
  if (Status st = InitCrypto(); !st.ok()) return fail(st.ToString());

  NodeOptions o;
  o.init_seed = init_seed;
  o.send_interval_ms = static_cast<int64_t>(send_interval * 1000);
  o.announce_interval_ms = 2 * o.send_interval_ms;
  o.display_name = name;
  o.listen_port = static_cast<uint16_t>(port);
  if (attack == "signflip") {
    o.tamper_outgoing = [](uint64_t, std::vector<uint32_t>&, std::vector<float>& v) {
      for (float& x : v) x = -x;
    };
  } else if (attack.rfind("scale:", 0) == 0) {
    float f = 0;
    try {
      f = std::stof(attack.substr(6));
    } catch (const std::exception&) {
      return fail("--attack scale:X needs a number");
    }
    o.tamper_outgoing = [f](uint64_t, std::vector<uint32_t>&, std::vector<float>& v) {
      for (float& x : v) x *= f;
    };
  } else if (attack == "noise") {
    auto rng = std::make_shared<Rng>(99);
    o.tamper_outgoing = [rng](uint64_t, std::vector<uint32_t>&, std::vector<float>& v) {
      for (float& x : v) x += static_cast<float>(rng->Normal());
    };
  } else {
    return fail("--attack '" + attack + "': expected signflip, scale:X or noise");
  }

  KeyPair key;
  if (key_path.empty()) {
    key = GenerateKeyPair();
  } else {
    bool created = false;
    auto loaded = LoadOrCreateIdentity(key_path, &created);
    if (!loaded.ok()) return fail(loaded.status().ToString());
    key = *loaded;
  }
  auto uri = FormatPairingUri(key.public_key, name);
  if (!uri.ok()) return fail(uri.status().ToString());
  std::cerr << "attacker " << FormatNodeId(key.public_key) << " " << *uri << "\n";

  auto contents = daemon::ScanDataDir(data_dir, LoadOptions{}, /*strict=*/false);
  if (!contents.ok()) return fail(contents.status().ToString());
  TrustStore trust;  // trusts nobody: it only sends
  auto node = Node::Create(std::move(o), key, &trust, std::move(contents->train), 1234);
  if (!node.ok()) return fail(node.status().ToString());

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("socket: " + std::string(std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, to.c_str(), &dst.sin_addr) != 1) return fail("--to: not an IPv4 address");

  if (!uri_out.empty()) {
    std::ofstream f(uri_out + ".tmp");
    f << *uri << "\n";
    f.close();
    if (!f || std::rename((uri_out + ".tmp").c_str(), uri_out.c_str()) != 0) {
      return fail("cannot write " + uri_out);
    }
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  const int64_t start = NowMs();
  uint64_t sent = 0, send_errors = 0, bytes = 0;
  std::vector<Bytes> out;
  while (!g_stop && (seconds <= 0 || NowMs() - start < static_cast<int64_t>(seconds * 1000))) {
    node->TrainUnit();
    out.clear();
    node->OnTick(NowMs(), &out);
    for (const Bytes& d : out) {
      if (sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) <
          0) {
        ++send_errors;
      } else {
        ++sent;
        bytes += d.size();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  close(fd);
  nlohmann::json summary = {{"node_id", FormatNodeId(key.public_key)},
                            {"attack", attack},
                            {"datagrams_sent", sent},
                            {"bytes_sent", bytes},
                            {"send_errors", send_errors},
                            {"seconds", (NowMs() - start) / 1000.0}};
  std::cout << summary.dump() << std::endl;
  return 0;
}

const BenchRegistrar kAttacker{
    "attacker", "TEST ONLY: a trusted-looking peer broadcasting poisoned updates", &RunAttacker};

}  // namespace
}  // namespace dust::bench
