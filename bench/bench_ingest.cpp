// dust-bench ingest: the receive path's throughput against its physical floor, Ed25519 verify.
//
// Builds realistic signed update datagrams (a sparse int8 update of the 784-32-10 MLP, sized to
// fill a datagram to about 1,400 bytes, from many trusted senders, each datagram distinct) and
// measures, in one run, on the same datagrams:
//   verify: libsodium's crypto_sign_verify_detached over each datagram's signed region;
//   ingest: the whole receive path: Ingress::Receive (parse, trust lookup, model and freshness
//           checks, read-only replay check, rate limit, verify, replay update), then the update
//           codec's DecodeUpdate with its caps, then handing the values to a merge accumulator
//           (weighted sum into a parameter-sized buffer, the work every aggregator starts with);
//   node:   the engine's Node::OnDatagram on the same datagrams, with a TrainUnit (which merges
//           the buffered updates with the configured aggregator) after every round of senders.
// Each phase runs --reps times, interleaved, and the best rate of each is kept (the machine is
// shared; best-of filters out preemption). Rates are reported on wall time and on this
// thread's CPU time. Progress on stderr; the last stdout line is one JSON object.
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "bench_registry.h"
#include "dust/engine/node.h"
#include "dust/ml/model.h"
#include "dust/net/codec.h"
#include "dust/net/ingress.h"
#include "dust/net/wire.h"
#include "dust/util/rng.h"

namespace dust::bench {
namespace {

constexpr uint32_t kParams = 784 * 32 + 32 + 32 * 10 + 10;  // 25,450
constexpr int64_t kNowMs = 1764000000000;

double WallSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Options {
  size_t senders = 64;
  size_t datagrams = 20000;
  int reps = 5;
  uint64_t seed = 1;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](uint64_t* v) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      *v = std::strtoull(argv[++i], &end, 10);
      return end != nullptr && *end == '\0';
    };
    uint64_t v = 0;
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: dust-bench ingest [--senders N (64)] [--datagrams N (20000)] [--reps N (5)] "
          "[--seed S (1)]\n");
      std::exit(0);
    } else if (a == "--senders" && next(&v) && v > 0) {
      o->senders = v;
    } else if (a == "--datagrams" && next(&v) && v > 0) {
      o->datagrams = v;
    } else if (a == "--reps" && next(&v) && v > 0) {
      o->reps = static_cast<int>(v);
    } else if (a == "--seed" && next(&v)) {
      o->seed = v;
    } else {
      std::fprintf(stderr, "dust-bench ingest: bad argument '%s' (see --help)\n", a.c_str());
      return false;
    }
  }
  return true;
}

// A sparse int8 update with as many random entries as fit in the payload budget.
Bytes MakePayload(Rng& rng, bool* lz4) {
  size_t entries = 700;
  while (true) {
    std::vector<uint32_t> idx;
    idx.reserve(entries);
    // Random distinct indices, sorted: the shape of a top-k selection.
    std::vector<uint8_t> taken(kParams, 0);
    while (idx.size() < entries) {
      uint32_t i = static_cast<uint32_t>(rng.Below(kParams));
      if (!taken[i]) {
        taken[i] = 1;
        idx.push_back(i);
      }
    }
    std::sort(idx.begin(), idx.end());
    std::vector<float> values(entries);
    for (float& v : values) v = static_cast<float>(rng.Normal()) * 0.01f;
    UpdatePayload p;
    p.segments.push_back(MakeSparseSegment(idx, values, ValueCoding::kInt8, true));
    Bytes out;
    if (EncodeUpdate(p, &out, lz4).ok() && out.size() <= kMaxPayloadBytes - 20) return out;
    entries -= 20;
  }
}

int RunIngest(int argc, char** argv) {
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) return 1;
  if (!InitCrypto().ok()) return 1;
  Rng rng(opt.seed);

  std::fprintf(stderr, "ingest: building %zu datagrams from %zu senders...\n", opt.datagrams,
               opt.senders);
  std::vector<KeyPair> keys;
  TrustStore trust;
  for (size_t s = 0; s < opt.senders; ++s) {
    std::array<uint8_t, kSeedBytes> seed{};
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(rng.Next());
    keys.push_back(KeyPairFromSeed(seed));
    if (!trust.Add(keys.back().public_key, "peer-" + std::to_string(s), 0).ok()) return 1;
  }
  // The default model's fingerprint, so the engine's Node accepts the datagrams too.
  const WireFingerprint model = Fingerprint(Mlp::DefaultLayers(), 1);
  std::vector<Bytes> payloads;
  std::vector<bool> payload_lz4;
  for (int i = 0; i < 16; ++i) {
    bool lz4 = false;
    payloads.push_back(MakePayload(rng, &lz4));
    payload_lz4.push_back(lz4);
  }
  std::vector<Bytes> datagrams;
  datagrams.reserve(opt.datagrams);
  size_t total_bytes = 0;
  for (size_t n = 0; n < opt.datagrams; ++n) {
    size_t sender = n % opt.senders;
    size_t which = n % payloads.size();
    DatagramHeader h;
    h.type = MessageType::kUpdate;
    h.flags = payload_lz4[which] ? kFlagPayloadLz4 : 0;
    h.counter = n / opt.senders;
    h.timestamp_ms = kNowMs - static_cast<int64_t>(n % 1000);
    h.model = model;
    h.sample_weight = 32;
    h.round = n / opt.senders;
    Result<Bytes> d = EncodeDatagram(h, payloads[which], keys[sender]);
    if (!d.ok()) {
      std::fprintf(stderr, "ingest: %s\n", d.status().ToString().c_str());
      return 1;
    }
    total_bytes += d->size();
    datagrams.push_back(std::move(*d));
  }
  const double mean_bytes = static_cast<double>(total_bytes) / static_cast<double>(opt.datagrams);

  // Signed regions and signatures located once for the raw verify loop (its floor is the
  // verify alone, not our parser).
  struct Raw {
    const uint8_t* msg;
    size_t len;
    const uint8_t* sig;
    const uint8_t* pk;
  };
  std::vector<Raw> raw;
  for (const Bytes& d : datagrams) {
    size_t len = d.size() - kSignatureBytes;
    raw.push_back({d.data(), len, d.data() + len, d.data() + 10});
  }

  std::vector<float> accumulator(kParams, 0.0f);
  double best_verify_wall = 0, best_verify_cpu = 0, best_ingest_wall = 0, best_ingest_cpu = 0;
  uint64_t accepted_last = 0, decoded_last = 0;
  const double n = static_cast<double>(opt.datagrams);
  for (int rep = 0; rep < opt.reps; ++rep) {
    // verify
    double w0 = WallSeconds(), c0 = CpuSeconds();
    size_t ok = 0;
    for (const Raw& r : raw) ok += crypto_sign_verify_detached(r.sig, r.msg, r.len, r.pk) == 0;
    double w1 = WallSeconds(), c1 = CpuSeconds();
    if (ok != raw.size()) {
      std::fprintf(stderr, "ingest: raw verify failed on %zu datagrams\n", raw.size() - ok);
      return 1;
    }
    const double verify_rate = n / (w1 - w0);
    best_verify_wall = std::max(best_verify_wall, verify_rate);
    best_verify_cpu = std::max(best_verify_cpu, n / (c1 - c0));

    // ingest (fresh pipeline each rep: replay windows start empty)
    IngressOptions io;
    io.model = model;
    io.rate.tokens_per_s = 1e9;  // one source here; the limiter's cost is measured, not its limit
    io.rate.burst = 1e9;
    Ingress ingress(io, &trust);
    const SourceKey source = SourceKey::FromBytes(Bytes{192, 168, 1, 20});
    uint64_t accepted = 0, decoded = 0;
    w0 = WallSeconds();
    c0 = CpuSeconds();
    for (const Bytes& d : datagrams) {
      IngressResult r = ingress.Receive(d, source, kNowMs);
      if (!r.accepted()) continue;
      ++accepted;
      const DatagramHeader& h = r.datagram.header;
      Result<UpdatePayload> u =
          DecodeUpdate(r.datagram.payload, (h.flags & kFlagPayloadLz4) != 0, kParams);
      if (!u.ok()) {
        ingress.CountDrop(DropReason::kBadPayload);
        continue;
      }
      ++decoded;
      const float w = static_cast<float>(h.sample_weight);
      for (const UpdateSegment& s : u->segments) {
        for (size_t k = 0; k < s.size(); ++k) accumulator[s.index(k)] += w * s.value(k);
      }
    }
    w1 = WallSeconds();
    c1 = CpuSeconds();
    accepted_last = accepted;
    decoded_last = decoded;
    if (decoded != datagrams.size()) {
      std::fprintf(stderr, "ingest: only %llu of %zu datagrams accepted and decoded\n",
                   static_cast<unsigned long long>(decoded), datagrams.size());
      return 1;
    }
    best_ingest_wall = std::max(best_ingest_wall, n / (w1 - w0));
    best_ingest_cpu = std::max(best_ingest_cpu, n / (c1 - c0));
    std::fprintf(stderr, "ingest: rep %d: verify %.0f/s, ingest %.0f/s (wall)\n", rep + 1,
                 verify_rate, n / (w1 - w0));
  }
  // node: the same datagrams through the engine's Node::OnDatagram (Ingress, decode, peer
  // table, buffering for the merge), with one TrainUnit per round of `senders` datagrams, which
  // merges what was buffered (no local data here, so it trains nothing). This is the receive
  // path the daemon and the simulator run, merge included.
  double best_node_wall = 0, best_node_cpu = 0;
  uint64_t node_accepted_last = 0;
  std::string node_drop;
  for (int rep = 0; rep < opt.reps; ++rep) {
    NodeOptions no;
    no.rate_limit.tokens_per_s = 1e9;
    no.rate_limit.burst = 1e9;
    no.max_clock_skew_ms = 5 * 60 * 1000;
    std::array<uint8_t, kSeedBytes> own_seed{};
    own_seed.fill(0xee);
    Result<Node> node = Node::Create(no, KeyPairFromSeed(own_seed), &trust, Dataset(), 1);
    if (!node.ok()) {
      std::fprintf(stderr, "ingest: %s\n", node.status().ToString().c_str());
      return 1;
    }
    const SourceKey source = SourceKey::FromBytes(Bytes{192, 168, 1, 20});
    uint64_t accepted = 0;
    const double w0 = WallSeconds(), c0 = CpuSeconds();
    for (size_t k = 0; k < datagrams.size(); ++k) {
      DatagramOutcome out = node->OnDatagram(datagrams[k], source, kNowMs);
      if (out.accepted) {
        ++accepted;
      } else if (node_drop.empty()) {
        node_drop = DropReasonName(*out.drop);
      }
      if ((k + 1) % opt.senders == 0) node->TrainUnit();
    }
    const double w1 = WallSeconds(), c1 = CpuSeconds();
    node_accepted_last = accepted;
    best_node_wall = std::max(best_node_wall, n / (w1 - w0));
    best_node_cpu = std::max(best_node_cpu, n / (c1 - c0));
    std::fprintf(stderr, "ingest: rep %d: node %.0f/s (wall), %llu accepted\n", rep + 1,
                 n / (w1 - w0), static_cast<unsigned long long>(accepted));
  }
  if (!node_drop.empty()) {
    std::fprintf(stderr, "ingest: the node dropped some datagrams, first as '%s'\n",
                 node_drop.c_str());
  }
  float checksum = 0;
  for (float v : accumulator) checksum += v;

  std::printf(
      "{\"bench\":\"ingest\",\"senders\":%zu,\"datagrams\":%zu,\"mean_datagram_bytes\":%.1f,"
      "\"reps\":%d,\"accepted\":%llu,\"decoded\":%llu,\"verify_per_s\":%.0f,\"ingest_per_s\":%.0f,"
      "\"ratio\":%.3f,\"verify_per_cpu_s\":%.0f,\"ingest_per_cpu_s\":%.0f,\"ratio_cpu\":%.3f,"
      "\"node_accepted\":%llu,\"node_per_s\":%.0f,\"node_ratio\":%.3f,\"node_per_cpu_s\":%.0f,"
      "\"node_ratio_cpu\":%.3f,"
      "\"accumulator_sum\":%.6g}\n",
      opt.senders, opt.datagrams, mean_bytes, opt.reps,
      static_cast<unsigned long long>(accepted_last), static_cast<unsigned long long>(decoded_last),
      best_verify_wall, best_ingest_wall, best_ingest_wall / best_verify_wall, best_verify_cpu,
      best_ingest_cpu, best_ingest_cpu / best_verify_cpu,
      static_cast<unsigned long long>(node_accepted_last), best_node_wall,
      best_node_wall / best_verify_wall, best_node_cpu, best_node_cpu / best_verify_cpu,
      static_cast<double>(checksum));
  return 0;
}

const BenchRegistrar kIngest{
    "ingest", "receive path (Ingress + decode + merge) vs raw Ed25519 verify", &RunIngest};

}  // namespace
}  // namespace dust::bench
