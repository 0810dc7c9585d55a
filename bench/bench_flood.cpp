// Load generators and probes for measuring a running dustd (docs/benchmarks.md, "Daemon").
//
//   dust-bench flood --port P [--to 127.0.0.1] [--kind mixed|random|untrusted] [--seconds T]
//       Sends, as fast as one thread can, datagrams that dustd must drop: random bytes
//       (malformed), and well-formed datagrams correctly signed by keys nobody trusts, stamped
//       now, with the default model's fingerprint (untrusted). A pool of 4096 is built first,
//       then sent round-robin. Prints {"sent":..,"per_s":..}.
//
//   dust-bench peers --control SOCK --port P [--count 50] [--data DIR] [--seconds T]
//                    [--send-interval S]
//       Simulates COUNT trusted peers: COUNT real engine nodes (libdust Node, own Ed25519 keys,
//       default model) trained on a small slice of DIR, trusted through dustd's control
//       socket (trust.add), each sending its updates and announces to 127.0.0.1:P every round.
//
//   dust-bench ctl-latency --control SOCK [--count N] [--cmd status] [--gap-ms G]
//       Round-trip latency of control requests, one new connection per request (as dustctl):
//       prints p50, p90, p99 and max in milliseconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
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
#include "dust/ml/model.h"
#include "dust/net/identity.h"
#include "dust/net/trust.h"
#include "dust/net/wire.h"
#include "dust/util/crypto.h"
#include "dust/util/rng.h"

namespace dust::bench {
namespace {
namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

int UdpSocket(const std::string& to, uint16_t port, sockaddr_in* dest) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::memset(dest, 0, sizeof(*dest));
  dest->sin_family = AF_INET;
  dest->sin_port = htons(port);
  if (::inet_pton(AF_INET, to.c_str(), &dest->sin_addr) != 1) {
    std::cerr << "bad IPv4 address " << to << "\n";
    ::close(fd);
    return -1;
  }
  return fd;
}

// One request on a fresh connection; the reply line, or "" on error.
std::string ControlRequest(const std::string& path, const std::string& line) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = line + "\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return "";
  }
  std::string out;
  char buf[65536];
  while (out.find('\n') == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out.substr(0, out.find('\n'));
}

// ---------------------------------------------------------------------------------------------

int RunFlood(int argc, char** argv) {
  po::options_description desc("dust-bench flood: datagrams dustd must drop, as fast as possible");
  // clang-format off
  desc.add_options()
    ("help,h", "this help")
    ("to", po::value<std::string>()->default_value("127.0.0.1"), "destination IPv4 address")
    ("port", po::value<uint16_t>()->required(), "destination UDP port")
    ("kind", po::value<std::string>()->default_value("mixed"), "mixed | random | untrusted")
    ("seconds", po::value<double>()->default_value(10), "duration");
  // clang-format on
  po::variables_map vm;
  if (auto rc = ParseCommandLine(argc, argv, desc, {argv[0]}, &vm)) return *rc;
  if (!InitCrypto().ok()) return 1;
  std::string kind = vm["kind"].as<std::string>();
  if (kind != "mixed" && kind != "random" && kind != "untrusted") {
    std::cerr << "flood: --kind must be mixed, random or untrusted\n";
    return 1;
  }
  std::vector<Bytes> pool;
  Rng rng(42);
  const auto fp = Fingerprint(Mlp::DefaultLayers(), 1);
  for (size_t i = 0; i < 4096; ++i) {
    bool random = kind == "random" || (kind == "mixed" && i % 2 == 0);
    if (random) {
      Bytes b(1 + rng.Below(kMaxDatagramBytes));
      for (auto& x : b) x = static_cast<uint8_t>(rng.Next());
      if (i % 4 == 0 && b.size() > 4) b[0] = 'D', b[1] = 'S', b[2] = 'T', b[3] = 1;  // magic ok
      pool.push_back(std::move(b));
    } else {
      KeyPair key = GenerateKeyPair();
      DatagramHeader h;
      h.type = MessageType::kUpdate;
      h.counter = i;
      h.timestamp_ms = NowMs();
      std::copy(fp.begin(), fp.end(), h.model.begin());
      h.sample_weight = 100;
      Bytes payload(1 + rng.Below(kMaxPayloadBytes));
      for (auto& x : payload) x = static_cast<uint8_t>(rng.Next());
      auto d = EncodeDatagram(h, payload, key);
      if (d.ok()) pool.push_back(std::move(*d));
    }
  }
  sockaddr_in dest{};
  int fd = UdpSocket(vm["to"].as<std::string>(), vm["port"].as<uint16_t>(), &dest);
  if (fd < 0) return 1;
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(vm["seconds"].as<double>()));
  uint64_t sent = 0, bytes = 0, errors = 0;
  auto start = Clock::now();
  for (size_t i = 0; Clock::now() < end; ++i) {
    for (int k = 0; k < 256; ++k, ++i) {
      const Bytes& d = pool[i % pool.size()];
      ssize_t n =
          ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&dest), sizeof(dest));
      if (n < 0) {
        ++errors;
      } else {
        ++sent;
        bytes += d.size();
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  nlohmann::json out = {{"bench", "flood"},    {"kind", kind},     {"sent", sent},
                        {"bytes", bytes},      {"errors", errors}, {"seconds", secs},
                        {"per_s", sent / secs}};
  std::cout << out.dump() << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------

int RunPeers(int argc, char** argv) {
  po::options_description desc("dust-bench peers: COUNT trusted engine nodes sending to a dustd");
  // clang-format off
  desc.add_options()
    ("help,h", "this help")
    ("control", po::value<std::string>()->required(), "dustd's control socket (to trust the peers)")
    ("to", po::value<std::string>()->default_value("127.0.0.1"), "dustd's IPv4 address")
    ("port", po::value<uint16_t>()->required(), "dustd's UDP port")
    ("count", po::value<uint32_t>()->default_value(50), "number of peers")
    ("data", po::value<std::string>()->default_value("data/mnist-10k"), "training data for the peers")
    ("samples", po::value<uint32_t>()->default_value(200), "training samples per peer")
    ("send-interval", po::value<double>()->default_value(0.5), "seconds per round")
    ("seconds", po::value<double>()->default_value(60), "duration");
  // clang-format on
  po::variables_map vm;
  if (auto rc = ParseCommandLine(argc, argv, desc, {argv[0]}, &vm)) return *rc;
  if (!InitCrypto().ok()) return 1;
  const uint32_t count = vm["count"].as<uint32_t>();
  const std::string control = vm["control"].as<std::string>();
  auto contents = daemon::ScanDataDir(vm["data"].as<std::string>(), LoadOptions{}, false);
  if (!contents.ok()) {
    std::cerr << "peers: " << contents.status().ToString() << "\n";
    return 1;
  }
  const uint32_t per = vm["samples"].as<uint32_t>();
  TrustStore trust;  // the simulated peers trust nobody: they only send
  std::vector<Node> nodes;
  nodes.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::array<uint8_t, kSeedBytes> seed{};
    seed[0] = 0xBE;
    seed[1] = static_cast<uint8_t>(i);
    seed[2] = static_cast<uint8_t>(i >> 8);
    KeyPair key = KeyPairFromSeed(seed);
    std::vector<uint32_t> idx;
    for (uint32_t k = 0; k < per; ++k) {
      idx.push_back(
          static_cast<uint32_t>((static_cast<uint64_t>(i) * per + k) % contents->train.size()));
    }
    NodeOptions o;
    o.send_interval_ms = static_cast<int64_t>(vm["send-interval"].as<double>() * 1000);
    o.announce_interval_ms = 5000;
    o.display_name = "sim-peer-" + std::to_string(i);
    auto node = Node::Create(o, key, &trust, contents->train.Subset(idx), i);
    if (!node.ok()) {
      std::cerr << "peers: " << node.status().ToString() << "\n";
      return 1;
    }
    nlohmann::json req = {{"cmd", "trust.add"},
                          {"public_key", ToHex(key.public_key)},
                          {"display_name", o.display_name}};
    std::string reply = ControlRequest(control, req.dump());
    if (reply.find("\"ok\":true") == std::string::npos) {
      std::cerr << "peers: trust.add failed: " << reply << "\n";
      return 1;
    }
    nodes.push_back(std::move(*node));
  }
  sockaddr_in dest{};
  int fd = UdpSocket(vm["to"].as<std::string>(), vm["port"].as<uint16_t>(), &dest);
  if (fd < 0) return 1;
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(vm["seconds"].as<double>()));
  uint64_t sent = 0, bytes = 0;
  const int64_t round_ms = nodes.front().options().send_interval_ms;
  int64_t last_round = -1;
  while (Clock::now() < end) {
    int64_t now = NowMs();
    int64_t round = now / round_ms;
    if (round != last_round) {
      last_round = round;
      for (Node& n : nodes) n.TrainUnit();
    }
    for (Node& n : nodes) {
      std::vector<Bytes> out;
      n.OnTick(now, &out);
      for (const Bytes& d : out) {
        if (::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&dest), sizeof(dest)) >
            0) {
          ++sent;
          bytes += d.size();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(fd);
  nlohmann::json out = {{"bench", "peers"}, {"count", count}, {"sent", sent}, {"bytes", bytes}};
  std::cout << out.dump() << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------

int RunCtlLatency(int argc, char** argv) {
  po::options_description desc("dust-bench ctl-latency: control socket round trips");
  // clang-format off
  desc.add_options()
    ("help,h", "this help")
    ("control", po::value<std::string>()->required(), "dustd's control socket")
    ("count", po::value<uint32_t>()->default_value(1000), "requests")
    ("cmd", po::value<std::string>()->default_value("status"), "command to send")
    ("gap-ms", po::value<double>()->default_value(5), "pause between requests");
  // clang-format on
  po::variables_map vm;
  if (auto rc = ParseCommandLine(argc, argv, desc, {argv[0]}, &vm)) return *rc;
  const std::string control = vm["control"].as<std::string>();
  const std::string req = nlohmann::json({{"cmd", vm["cmd"].as<std::string>()}}).dump();
  std::vector<double> ms;
  uint32_t failures = 0;
  const uint32_t count = vm["count"].as<uint32_t>();
  const auto gap = std::chrono::duration<double, std::milli>(vm["gap-ms"].as<double>());
  for (uint32_t i = 0; i < count; ++i) {
    auto t0 = Clock::now();
    std::string reply = ControlRequest(control, req);
    double dt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (reply.find("\"ok\":true") == std::string::npos) {
      ++failures;
    } else {
      ms.push_back(dt);
    }
    std::this_thread::sleep_for(gap);
  }
  if (ms.empty()) {
    std::cerr << "ctl-latency: no successful request\n";
    return 1;
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  nlohmann::json out = {{"bench", "ctl-latency"}, {"cmd", vm["cmd"].as<std::string>()},
                        {"requests", count},      {"failures", failures},
                        {"p50_ms", pct(0.50)},    {"p90_ms", pct(0.90)},
                        {"p99_ms", pct(0.99)},    {"max_ms", ms.back()}};
  std::cout << out.dump() << std::endl;
  return failures == 0 ? 0 : 1;
}

const BenchRegistrar kFlood{"flood", "datagrams a dustd must drop, as fast as possible", &RunFlood};
const BenchRegistrar kPeers{"peers", "N trusted engine nodes sending to a dustd", &RunPeers};
const BenchRegistrar kCtlLatency{"ctl-latency", "control socket round-trip latency percentiles",
                                 &RunCtlLatency};

}  // namespace
}  // namespace dust::bench
