// libFuzzer target for the datagram parser and the whole receive pipeline.
// Whatever ParseDatagram accepts must re-assemble to the same bytes; announce payloads that
// decode must re-encode to the same announce (the same bytes unless extensions this version
// does not know were skipped); Ingress must never crash and must count every input
// exactly once (accepted or dropped). The trust store holds the test-vector key (seed 01..20),
// which signs the seed corpus (tests/fuzz/corpus/datagram/), so mutations reach the verify step.
#include <cstdlib>

#include "dust/net/ingress.h"
#include "dust/net/wire.h"

namespace {

struct World {
  World() {
    if (!dust::InitCrypto().ok()) std::abort();
    std::array<uint8_t, dust::kSeedBytes> seed{};
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i + 1);
    if (!trust.Add(dust::KeyPairFromSeed(seed).public_key, "vector", 0).ok()) std::abort();
    for (size_t i = 0; i < options.model.size(); ++i) {
      options.model[i] = static_cast<uint8_t>(0xA1 + i);
    }
    options.max_skew_ms = INT64_MAX / 4;  // let any timestamp through to reach the verify
  }
  dust::TrustStore trust;
  dust::IngressOptions options;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  static World world;
  const ByteView in(data, size);

  Result<ParsedDatagram> p = ParseDatagram(in);
  if (p.ok()) {
    if (p->payload.size() > kMaxPayloadBytes) std::abort();
    Bytes again = AssembleDatagram(p->header, p->payload, p->signature);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
    if (p->header.type == MessageType::kAnnounce) {
      Result<Announce> a = DecodeAnnounce(p->payload);
      if (a.ok()) {
        // Re-encoding drops only the extensions this version does not know: it decodes to the
        // same announce, and when nothing was dropped it is the same bytes.
        Result<Bytes> enc = EncodeAnnounce(*a);
        if (!enc.ok() || enc->size() > p->payload.size()) std::abort();
        Result<Announce> again = DecodeAnnounce(*enc);
        if (!again.ok() || !(*again == *a)) std::abort();
        if (enc->size() == p->payload.size() &&
            *enc != Bytes(p->payload.begin(), p->payload.end())) {
          std::abort();
        }
      }
    }
  }

  // A fresh pipeline per input keeps runs independent (replay state would otherwise make the
  // outcome depend on earlier inputs).
  Ingress ingress(world.options, &world.trust);
  IngressResult r = ingress.Receive(in, SourceKey::FromIndex(1), 1764000000000);
  if (ingress.drops().Total() + ingress.accepted() != 1) std::abort();
  if (r.accepted() && (!p.ok() || r.datagram.payload.size() != p->payload.size())) std::abort();
  return 0;
}
