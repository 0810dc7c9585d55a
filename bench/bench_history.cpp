// dust-bench history-fill: writes the history file of a daemon that has run for --hours with
// --peers trusted peers (a sample every 5 s, as dustd takes them, through the same History
// class), so bench/history_bench.sh can start a real dustd with it and measure what it costs.
// Also measures, in this process, the heap the history takes (mallinfo2 before and after).
// The peers' node IDs go to --keys (one per line, "name node-ID"): the daemon forgets the
// history of a peer it does not trust, so the script trusts them first. The last stdout line
// is one JSON object.
#include <malloc.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bench_registry.h"
#include "dust/net/identity.h"
#include "dust/net/ingress.h"
#include "dust/util/crypto.h"
#include "dust/util/file.h"
#include "history.h"

namespace dust::bench {
namespace {

int RunHistoryFill(int argc, char** argv) {
  std::string out, keys_path;
  int peers = 50;
  double hours = 24;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--out") {
      out = v;
    } else if (k == "--keys") {
      keys_path = v;
    } else if (k == "--peers") {
      peers = std::stoi(v);
    } else if (k == "--hours") {
      hours = std::stod(v);
    } else {
      std::fprintf(stderr, "history-fill: unknown option %s\n", k.c_str());
      return 1;
    }
  }
  if (out.empty() || keys_path.empty() || peers < 0) {
    std::fprintf(stderr,
                 "usage: dust-bench history-fill --out FILE --keys FILE [--peers 50] "
                 "[--hours 24]\n");
    return 1;
  }
  if (!InitCrypto().ok()) return 1;
  // The daemon's drop slots (daemon/history_sampler.cpp HistoryDropNames).
  std::vector<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    names.emplace_back(DropReasonName(static_cast<DropReason>(i)));
  }
  names.emplace_back("own");

  std::vector<PublicKey> keys;
  std::ofstream kf(keys_path);
  for (int p = 0; p < peers; ++p) {
    std::array<uint8_t, 32> seed{};
    seed[0] = static_cast<uint8_t>(p);
    seed[1] = 0xd5;
    keys.push_back(KeyPairFromSeed(seed).public_key);
    char name[16];
    std::snprintf(name, sizeof(name), "peer-%02d", p);
    kf << name << ' ' << FormatNodeId(keys.back()) << '\n';
  }
  kf.close();

  // In use: small chunks (uordblks) and the large ones malloc maps on their own (hblkhd).
  auto heap = [] {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  const size_t heap_before = heap();
  const int64_t end_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t samples = static_cast<int64_t>(hours * 3600 * 1000 / daemon::kHistoryFineMs);
  auto* h = new daemon::History(names);
  for (int64_t i = 0; i < samples; ++i) {
    const int64_t t = end_ms - (samples - 1 - i) * daemon::kHistoryFineMs;
    daemon::NodeSample s;
    s.t_ms = t;
    s.accuracy = 0.5f + 0.4f * static_cast<float>(i) / static_cast<float>(samples);
    s.test_accuracy = s.accuracy - 0.01f;
    s.loss = 1.0f - s.accuracy;
    s.learning_rate = 0.02f;
    s.live_peers = static_cast<uint32_t>(peers);
    s.steps = static_cast<uint64_t>(i) * 50;
    s.updates_in = static_cast<uint64_t>(i) * 10 * static_cast<uint64_t>(peers);
    s.updates_out = static_cast<uint64_t>(i) * 10;
    s.bytes_in = s.updates_in * 1400;
    s.bytes_out = s.updates_out * 1400;
    s.drops[4] = static_cast<uint64_t>(i / 100);  // a replay now and then
    h->Add(s);
    for (int p = 0; p < peers; ++p) {
      daemon::PeerSample ps;
      ps.t_s = static_cast<uint32_t>(t / 1000);
      ps.accuracy_bp = static_cast<uint16_t>(s.accuracy * 10000 - static_cast<float>(p));
      ps.live = 1;
      ps.updates_accepted = static_cast<uint32_t>(i * 10);
      char name[16];
      std::snprintf(name, sizeof(name), "peer-%02d", p);
      h->AddPeer(keys[static_cast<size_t>(p)], name, ps);
    }
  }
  const size_t heap_after = heap();
  const Bytes file = daemon::EncodeHistoryFile(*h);
  if (Status st = AtomicWriteFile(out, file, 0600); !st.ok()) {
    std::fprintf(stderr, "history-fill: %s\n", st.message().c_str());
    return 1;
  }
  std::printf(
      "{\"hours\": %g, \"peers\": %d, \"node_samples\": %zu, \"peer_samples\": %zu, "
      "\"heap_bytes\": %zu, \"sample_bytes\": %zu, \"file_bytes\": %zu}\n",
      hours, peers, h->node().fine.size() + h->node().coarse.size(),
      h->peers().empty() ? size_t{0}
                         : h->peers().size() * (h->peers().begin()->second.tiers.fine.size() +
                                                h->peers().begin()->second.tiers.coarse.size()),
      heap_after - heap_before, h->SampleBytes(), file.size());
  delete h;
  return 0;
}

const BenchRegistrar kHistoryFill{"history-fill",
                                  "write the history file of a day with N peers (history_bench.sh)",
                                  &RunHistoryFill};

}  // namespace
}  // namespace dust::bench
